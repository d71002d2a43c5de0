// The flags of statesctl, for the files that implement its commands.
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_FLAGS_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

// Global: every command.
ABSL_DECLARE_FLAG(std::string, server);
ABSL_DECLARE_FLAG(bool, json);
ABSL_DECLARE_FLAG(absl::Duration, timeout);

// Per command; statesctl rejects a flag given to a command it does not
// apply to (see Command::flags in commands.h).
ABSL_DECLARE_FLAG(bool, type);
ABSL_DECLARE_FLAG(bool, exact);
ABSL_DECLARE_FLAG(std::string, training_id);
ABSL_DECLARE_FLAG(std::int32_t, page_size);
ABSL_DECLARE_FLAG(std::int64_t, start_revision);
ABSL_DECLARE_FLAG(std::int64_t, expected_revision);
ABSL_DECLARE_FLAG(bool, overwrite);
ABSL_DECLARE_FLAG(std::string, sha256);
ABSL_DECLARE_FLAG(std::int64_t, size_bytes);
ABSL_DECLARE_FLAG(std::string, uri_prefix);
ABSL_DECLARE_FLAG(bool, allow_file_extension);
ABSL_DECLARE_FLAG(bool, wait);

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_FLAGS_H_
