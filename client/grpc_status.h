// The one place where the client library turns a gRPC status into an
// absl::Status.
#ifndef MOZUMA_STATES_CLIENT_GRPC_STATUS_H_
#define MOZUMA_STATES_CLIENT_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace mozuma::states {

// Returns `status` as an absl::Status with the same code and message. Each
// detail of the `google.rpc.Status` in its `grpc-status-details-bin`
// trailer becomes a payload keyed by the detail's type URL, so that
// GetErrorInfo() and GetBadRequest() from core/errors.h read them.
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CLIENT_GRPC_STATUS_H_
