// The one place where the server turns an absl::Status into a gRPC status.
#ifndef MOZUMA_STATES_SERVICE_RPC_GRPC_STATUS_H_
#define MOZUMA_STATES_SERVICE_RPC_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace mozuma::states {

// Returns the gRPC status for `status`: the same canonical code and message,
// and every payload of `status` (keyed by type URL, as core/errors.h makes
// them) packed as an `Any` into a `google.rpc.Status` sent in the
// `grpc-status-details-bin` trailer. A non-OK status without an ErrorInfo
// gets one, domain `mozuma.states.v1`, whose reason is the code's name
// (`INTERNAL`), so that every error carries one.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_GRPC_STATUS_H_
