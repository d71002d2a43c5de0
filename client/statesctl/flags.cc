#include "client/statesctl/flags.h"

#include "absl/flags/flag.h"

ABSL_FLAG(
    std::string, server, "127.0.0.1:50051",
    "Address of statesd: host:port, http://host:port (plaintext), "
    "dns:///host:port or unix:/path (see mozuma::states::ChannelTarget).");
ABSL_FLAG(bool, json, false,
          "Print results in the proto3 JSON mapping (as buf curl does) "
          "instead of text: one document per line on stdout, errors too.");
ABSL_FLAG(absl::Duration, timeout, absl::Seconds(10),
          "Deadline of each call to the server: 10s, 500ms, 1m; a bare "
          "number is seconds (watch streams have none; watch gives up on a "
          "server that never answered after it, unless --wait).");
ABSL_FLAG(bool, type, false,
          "validate: read each NAME as a state type "
          "(backend.architecture[.extra...]) instead of a state key.");
ABSL_FLAG(bool, exact, false,
          "list, watch: only states whose extra equals STATE_TYPE's too "
          "(default: any extra, as MoZuMa's get_state_keys).");
ABSL_FLAG(std::string, training_id, "",
          "list, watch: only states with this training id.");
ABSL_FLAG(std::int32_t, page_size, 0,
          "list: states per call to the server (0: the server's default, "
          "100). statesctl reads every page either way.");
ABSL_FLAG(std::int64_t, start_revision, 0,
          "watch: send the changes after this revision instead of a snapshot "
          "first (0).");
ABSL_FLAG(std::int64_t, expected_revision, 0,
          "delete: delete only if the state's revision is still this one "
          "(0: whatever it is).");
ABSL_FLAG(bool, overwrite, false,
          "register, import: replace a state registered with different "
          "content instead of failing.");
ABSL_FLAG(std::string, sha256, "",
          "register: the SHA-256 of the weights, 64 lowercase hex digits.");
ABSL_FLAG(std::int64_t, size_bytes, -1,
          "register: the size of the weights in bytes (default: unknown).");
ABSL_FLAG(std::string, uri_prefix, "",
          "import: register each file's URI as this prefix followed by its "
          "percent-encoded file name, instead of file:// and its absolute "
          "path.");
ABSL_FLAG(bool, allow_file_extension, false,
          "register, get, delete, parse, validate: take a NAME whose training "
          "id is a file extension (pt, pth, ckpt, bin, safetensors, onnx, h5, "
          "pkl, gz, gzip, zip) as it is, instead of refusing it as a pasted "
          "file name.");
ABSL_FLAG(bool, wait, false,
          "watch: when the server does not answer, keep trying until it "
          "comes up instead of giving up after --timeout.");
