// How statesctl prints: exit codes, JSON in the proto's field order, errors,
// and the small formatters its commands share.
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

// Returns `message` as one line of JSON, proto field names kept, fields in
// the proto's order, default values printed; map entries sorted by key, so
// that the output reads the same from one run to the next.
std::string Json(const google::protobuf::Message& message);

// Returns `text` as a JSON string. JSON output must be UTF-8 and argv need
// not be: invalid bytes are written as \xHH.
std::string JsonString(absl::string_view text);

// Returns JSON object `object` with `"name": value` inserted first.
std::string WithFieldFirst(absl::string_view name, absl::string_view value,
                           absl::string_view object);

// Prints a failed call (stderr, or with `json` one `{"error":...}` line on
// stdout) and returns its exit code: kNo when the server gave a definite
// answer about what we sent (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS,
// FAILED_PRECONDITION, OUT_OF_RANGE), kNoAnswer otherwise.
int ReportError(const absl::Status& status, bool json);

// A failed call in one line: `NOT_FOUND (STATE_NOT_FOUND): message`.
std::string DescribeStatus(const absl::Status& status);

// Prints "statesctl: MESSAGE" and the pointer to --help on stderr; returns
// kUsage.
int UsageError(absl::string_view message);

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
