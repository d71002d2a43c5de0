// Turns the bytes of a request into its message.
//
// Proto3 parsers reject a whole message when one `string` field holds
// invalid UTF-8, and gRPC would then answer INTERNAL with no word on which
// field. ParseRequest() keeps such strings as they are, so that validation
// can answer with the field path and reason INVALID_UTF8 like for any other
// bad name.
#ifndef MOZUMA_STATES_SERVICE_RPC_REQUEST_PARSER_H_
#define MOZUMA_STATES_SERVICE_RPC_REQUEST_PARSER_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"

namespace mozuma::states {

// Parses `buffer` into `message` (which is cleared first). String fields
// may hold any bytes; everything else must be well-formed protobuf, nested
// at most 100 deep. Returns INVALID_ARGUMENT, reason MALFORMED_REQUEST,
// otherwise. Thread-compatible; `buffer` is not modified.
absl::Status ParseRequest(const grpc::ByteBuffer& buffer,
                          google::protobuf::Message& message);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_REQUEST_PARSER_H_
