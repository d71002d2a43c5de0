// How statesctl prints: exit codes, JSON in the proto3 JSON mapping, errors,
// and the small formatters its commands share.
//
// JSON output is the proto3 JSON mapping, exactly as `buf curl` and every
// protobuf library print it: lowerCamelCase field names, 64-bit integers as
// strings, enums by name, fields at their default value left out. It is
// compact, one document per line, with map entries sorted by key. A failed
// command prints one line instead (see ReportError()):
//
//   {"error":{"code":5,"status":"NOT_FOUND","message":"...","details":[
//     {"@type":"type.googleapis.com/google.rpc.ErrorInfo",
//      "reason":"STATE_NOT_FOUND","domain":"mozuma.states.v1",...}]}}
//
// that is a google.rpc.Status in the proto3 JSON mapping (`code` the
// google.rpc.Code number, `details` the server's ErrorInfo and BadRequest
// as Any), plus `status`, the code's name, under `error`, as Google's JSON
// APIs report errors (AIP-193).
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_OUTPUT_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_OUTPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace mozuma::states::statesctl {

// The exit codes, for scripts (see the usage text).
enum ExitCode { kYes = 0, kNo = 1, kUsage = 2, kNoAnswer = 3 };

// The ErrorInfo of a usage error under --json.
inline constexpr char kUsageErrorDomain[] = "statesctl";
inline constexpr char kUsageErrorReason[] = "USAGE_ERROR";

// Returns `message` as one line of JSON in the proto3 JSON mapping
// (lowerCamelCase names, int64 as strings, enums by name, defaults left
// out), fields in the proto's order and map entries sorted by key, so that
// the output reads the same from one run to the next.
std::string Json(const google::protobuf::Message& message);

// Returns `text`, whole, as a JSON string. JSON output must be UTF-8 and
// argv need not be: each byte that is not part of well-formed UTF-8 is
// written as the four characters \xHH.
std::string JsonString(absl::string_view text);

// Returns JSON object `object` with `"name": value` inserted first.
std::string WithFieldFirst(absl::string_view name, absl::string_view value,
                           absl::string_view object);

// Prints a failed call (stderr, or with `json` one `{"error":...}` line on
// stdout, see above) and returns its exit code: kNo when the server gave a
// definite answer about what we sent (INVALID_ARGUMENT, NOT_FOUND,
// ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE), kNoAnswer otherwise.
// In text, a server that could not be reached (UNAVAILABLE or
// DEADLINE_EXCEEDED without details) gets a hint on what to check.
int ReportError(const absl::Status& status, bool json);

// The `{"error":...}` line of ReportError() for `status`, without the
// newline.
std::string JsonError(const absl::Status& status);

// A failed call in one line: `NOT_FOUND (STATE_NOT_FOUND): message`.
std::string DescribeStatus(const absl::Status& status);

// Prints a usage error and returns kUsage: "statesctl: MESSAGE" and where
// to read the usage (the command's help once SetUsageCommand() named it) on
// stderr; under --json, the `{"error":...}` line on stdout instead, code
// INVALID_ARGUMENT with an ErrorInfo of domain "statesctl" and reason
// USAGE_ERROR (as no server error has), so that scripts tell it apart.
int UsageError(absl::string_view message);

// Names the command being run, for UsageError() to point to its help.
void SetUsageCommand(absl::string_view command);

// `size` for people: "512 B", "44.7 MiB".
std::string HumanBytes(std::int64_t size);

// The number of characters of UTF-8 `text` (code points), for aligning
// columns.
std::size_t DisplayWidth(absl::string_view text);

// Formats `rows` (the first one the header) as columns separated by two
// spaces, each as wide as its widest cell; columns whose index is in
// `right_aligned` are aligned right. The last column is never padded.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<std::size_t>& right_aligned = {});

}  // namespace mozuma::states::statesctl

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_OUTPUT_H_
