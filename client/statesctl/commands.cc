#include "client/statesctl/commands.h"

#include <algorithm>
#include <iostream>
#include <limits>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/statesctl/output.h"
#include "mozuma/states/v1/state.pb.h"

#ifndef MOZUMA_STATES_VERSION
#error "client/CMakeLists.txt defines MOZUMA_STATES_VERSION"
#endif

namespace mozuma::states::statesctl {
namespace {

// FileExtensions() as the help texts list them; statesctl_lib_test keeps the
// two the same.
#define STATESCTL_FILE_EXTENSIONS \
  "pt, pth, ckpt, bin, safetensors, onnx, h5, pkl, gz, gzip, zip"

// How get and delete read their NAME.
#define STATESCTL_KEY_NAME_HELP                                              \
  "NAME is the dotted state key, backend.architecture[.extra...]"            \
  ".training_id,\n"                                                          \
  "or the same with slashes, backend/architecture[/extra...]/training_id.\n" \
  "A NAME whose training id is a weights-file extension\n"                   \
  "(" STATESCTL_FILE_EXTENSIONS                                              \
  ")\n"                                                                      \
  "is refused as a pasted file name (exit 2, with the NAME it probably\n"    \
  "meant); pass --allow_file_extension if that really is the training id.\n"

constexpr std::size_t kAny = std::numeric_limits<std::size_t>::max();

constexpr char kValidateHelp[] =
    "Usage: statesctl validate [--type] [--allow_file_extension] [--json] "
    "NAME...\n"
    "\n"
    "Checks dotted state keys (backend.architecture[.extra...].training_id)\n"
    "against MoZuMa's name rules, as the server enforces them. A NAME may\n"
    "also be written with slashes, backend/architecture[/extra...]/"
    "training_id.\n"
    "Every problem is reported: a NAME with too few parts also gets the bad\n"
    "characters of each of its parts (validate 'ResNet 18': TOO_FEW_PARTS\n"
    "and the space).\n"
    "\n"
    "A valid NAME whose training id is a weights-file extension (pt, pth,\n"
    "ckpt, bin, safetensors, onnx, h5, pkl, gz, gzip, zip) gets a warning:\n"
    "it looks like a pasted file name, which register, get, delete and\n"
    "parse refuse. The warning does not change the answer or the exit code.\n"
    "\n"
    "Flags:\n"
    "  --type                   read each NAME as a state type,\n"
    "                           backend.architecture[.extra...], instead of "
    "a\n"
    "                           state key\n"
    "  --allow_file_extension   no warning for a training id such as pt\n"
    "  --json                   print {\"results\":[...]}, one result per "
    "NAME,\n"
    "                           in order; a result with a warning has\n"
    "                           \"warnings\":[\"...\"]\n"
    "\n"
    "Exit codes: 0 every NAME is valid (warnings or not), 1 some NAME is\n"
    "invalid (each violation is printed), 2 usage error, 3 no answer.\n"
    "\n"
    "Examples:\n"
    "  statesctl validate pytorch.resnet18.cls1000.imagenet\n"
    "  statesctl validate --type pytorch.resnet18 pytorch/resnet18/cls1000\n";

constexpr char kCompatHelp[] =
    "Usage: statesctl compat [--json] TYPE CANDIDATE...\n"
    "\n"
    "Tells whether states of each CANDIDATE state type can be loaded into a\n"
    "model of state type TYPE: EXACT (same backend, architecture and\n"
    "extra), COMPATIBLE (only the extra differs: MoZuMa loads it) or\n"
    "INCOMPATIBLE. Types are dotted, backend.architecture[.extra...], or\n"
    "written with slashes, backend/architecture[/extra...].\n"
    "\n"
    "Exit codes: 0 every CANDIDATE is compatible, 1 some is not (or a type\n"
    "is invalid), 2 usage error, 3 no answer.\n"
    "\n"
    "Example:\n"
    "  statesctl compat pytorch.resnet18 pytorch.resnet18.cls1000 "
    "pytorch.resnet50\n";

constexpr char kParseHelp[] =
    "Usage: statesctl parse [--allow_file_extension] [--json] NAME\n"
    "\n"
    "Splits a dotted state key into its fields: the first part is the\n"
    "backend, the second the architecture, the last the training id, and\n"
    "the parts between are the extras. NAME may also be written with\n"
    "slashes: backend/architecture[/extra...]/training_id.\n"
    "\n"
    "A NAME whose training id is a weights-file extension\n"
    "(" STATESCTL_FILE_EXTENSIONS
    ")\n"
    "is refused as a pasted file name (exit 2) unless --allow_file_extension\n"
    "is given.\n"
    "\n"
    "Exit codes: 0 parsed, 1 NAME is not a valid state key, 2 usage error\n"
    "(or a file name), 3 no answer.\n"
    "\n"
    "Example:\n"
    "  statesctl parse pytorch.densenet161.cls365.places365\n";

constexpr char kRegisterHelp[] =
    "Usage: statesctl register NAME URI [--sha256=HEX] [--size_bytes=N]\n"
    "                          [--label=KEY=VALUE]... [--overwrite]\n"
    "                          [--allow_file_extension] [--json]\n"
    "\n"
    "Registers the trained state NAME, whose weights are at URI.\n"
    "\n"
    "Arguments:\n"
    "  NAME   the dotted state key, backend.architecture[.extra...]"
    ".training_id,\n"
    "         as MoZuMa names its state files without the .pt, or the same\n"
    "         with slashes: backend/architecture[/extra...]/training_id.\n"
    "         A NAME whose training id is a weights-file extension\n"
    "         (" STATESCTL_FILE_EXTENSIONS
    ")\n"
    "         is refused as a pasted file name (exit 2); to register the\n"
    "         files of a folder, use 'statesctl import DIR'\n"
    "  URI    where the weights are, as an absolute URI: file:///..., \n"
    "         s3://bucket/..., https://...\n"
    "\n"
    "Flags:\n"
    "  --sha256=HEX         the SHA-256 of the weights, 64 lowercase hex "
    "digits\n"
    "  --size_bytes=N       the size of the weights in bytes\n"
    "  --label=KEY=VALUE    a free-form label; repeat for several\n"
    "  --overwrite          replace the state if NAME is registered with\n"
    "                       different content (keeps its create time)\n"
    "  --allow_file_extension\n"
    "                       take a training id such as pt as it is\n"
    "  --json               print the RegisterStateResponse as JSON\n"
    "\n"
    "Prints one line: \"created\", \"unchanged\" (the same content is "
    "registered\n"
    "already, so re-running is safe) or \"replaced\", then NAME and the "
    "state's\n"
    "revision.\n"
    "\n"
    "Exit codes: 0 registered (created, unchanged or replaced), 1 NAME is\n"
    "registered with different content (use --overwrite) or a field is\n"
    "invalid, 2 usage error (or a NAME that is a file name), 3 no answer.\n"
    "\n"
    "Examples:\n"
    "  statesctl register pytorch.resnet18.cls1000.imagenet \\\n"
    "      file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt \\\n"
    "      --size_bytes=46830571 --label=framework_version=2.1\n"
    "  statesctl register --overwrite pytorch.clip-image-rn50.clip \\\n"
    "      s3://models/pytorch.clip-image-rn50.clip.pt\n";

constexpr char kGetHelp[] =
    "Usage: statesctl get [--allow_file_extension] [--json] NAME\n"
    "\n"
    "Prints the state registered under the state key NAME: its fields, URI,\n"
    "SHA-256, size, labels, times and revision (--json: the State message\n"
    "as JSON).\n"
    "\n" STATESCTL_KEY_NAME_HELP
    "\n"
    "Exit codes: 0 found, 1 not registered (or NAME is invalid), 2 usage\n"
    "error (or a NAME that is a file name), 3 no answer.\n"
    "\n"
    "Examples:\n"
    "  statesctl get pytorch.resnet18.cls1000.imagenet\n"
    "  statesctl get pytorch/resnet18/cls1000/imagenet\n";

constexpr char kListHelp[] =
    "Usage: statesctl list [STATE_TYPE] [--exact] [--training_id=ID]\n"
    "                      [--page_size=N] [--json]\n"
    "\n"
    "Lists the registered states, ordered by backend, architecture, extra "
    "and\n"
    "training id, reading every page.\n"
    "\n"
    "Arguments:\n"
    "  STATE_TYPE   only states of this type: backend.architecture[.extra"
    "...]\n"
    "               or, the same, backend/architecture[/extra...]. Without\n"
    "               --exact, every state whose backend and architecture are\n"
    "               these, whatever its extra (MoZuMa's get_state_keys).\n"
    "               Names are compared whole: pytorch/resnet18 lists no\n"
    "               resnet180 or resnet18-v2 state.\n"
    "\n"
    "Flags:\n"
    "  --exact            only states whose extra is STATE_TYPE's too\n"
    "  --training_id=ID   only states with this training id\n"
    "  --page_size=N      states per call to the server (default 100)\n"
    "  --json             one State per line (JSON Lines), in the proto3\n"
    "                     JSON mapping, fields in the proto's order\n"
    "\n"
    "The text output is a table: NAME, REVISION, SIZE, SHA256 (its first 12\n"
    "digits) and URI; \"-\" for an unknown size or digest. Nothing is "
    "printed\n"
    "on stdout when no state matches.\n"
    "\n"
    "Exit codes: 0 listed (even none), 1 invalid filter, 2 usage error,\n"
    "3 no answer.\n"
    "\n"
    "Examples:\n"
    "  statesctl list\n"
    "  statesctl list pytorch/resnet18\n"
    "  statesctl list pytorch.resnet18.cls1000 --exact --training_id=imagenet"
    "\n";

constexpr char kDeleteHelp[] =
    "Usage: statesctl delete NAME [--expected_revision=N]\n"
    "                        [--allow_file_extension] [--json]\n"
    "\n"
    "Deletes the state registered under the state key NAME, and prints the\n"
    "revision of the deletion.\n"
    "\n" STATESCTL_KEY_NAME_HELP
    "\n"
    "Flags:\n"
    "  --expected_revision=N   delete only if the state's revision is still "
    "N\n"
    "                          (get prints it): nothing changed since you "
    "read it\n"
    "  --json                  print the DeleteStateResponse as JSON\n"
    "\n"
    "Exit codes: 0 deleted, 1 not registered or its revision is not N,\n"
    "2 usage error (or a NAME that is a file name), 3 no answer.\n"
    "\n"
    "Example:\n"
    "  statesctl delete pytorch.resnet18.cls1000.imagenet "
    "--expected_revision=12\n";

constexpr char kWatchHelp[] =
    "Usage: statesctl watch [STATE_TYPE] [--exact] [--training_id=ID]\n"
    "                       [--start_revision=N] [--wait] [--json]\n"
    "\n"
    "Follows the changes to the registered states, until interrupted\n"
    "(Ctrl-C, SIGTERM). STATE_TYPE (backend.architecture[.extra...] or\n"
    "backend/architecture[/extra...]), --exact and --training_id select\n"
    "states as for list.\n"
    "\n"
    "First prints every matching state as an ADDED line, then the line\n"
    "  # snapshot complete: N states at rev R\n"
    "then one line per change as it happens:\n"
    "  ADDED pytorch.resnet18.cls1000.imagenet rev 12 file:///srv/...\n"
    "  UPDATED ... / DELETED ... (the record as it was)\n"
    "Each line is flushed at once. When the connection breaks or the server\n"
    "restarts, statesctl reconnects (with backoff, noted on stderr) and goes\n"
    "on from the last revision seen, so no change is missed or repeated; if\n"
    "it broke during the snapshot, the line \"# snapshot restarts\" comes\n"
    "before the snapshot is printed again. Once the server answers again,\n"
    "one line on stderr says so:\n"
    "  statesctl: watch resumed from rev 12 after 3 failed attempts\n"
    "(--json: {\"resumed\":true,\"revision\":\"12\"} on stdout), as soon\n"
    "as the server took the watch again, even when nothing has changed.\n"
    "\n"
    "When the server has never answered (nothing listens at --server, the\n"
    "host is down), watch gives up after --timeout (default 10s) with exit\n"
    "code 3 and says why; with --wait it keeps trying until the server\n"
    "comes up, saying so once.\n"
    "\n"
    "Flags:\n"
    "  --exact, --training_id=ID   as for list\n"
    "  --start_revision=N   print the changes after revision N instead of a\n"
    "                       snapshot (resume from the last rev printed)\n"
    "  --wait               wait for a server that is not up yet instead of\n"
    "                       giving up after --timeout\n"
    "  --json               one JSON object per line, in the proto3 JSON\n"
    "                       mapping: each event as a StateEvent\n"
    "                       ({\"type\":\"TYPE_ADDED\",\"state\":...,"
    "\"revision\":\"12\"}),\n"
    "                       then {\"snapshotComplete\":true,\"revision\":"
    "\"R\"}\n"
    "                       (a WatchStatesResponse), and "
    "{\"snapshotRestart\":true}\n"
    "                       before a restarted snapshot. The text form is\n"
    "                       for people (ADDED); the JSON form is the proto's\n"
    "                       (TYPE_ADDED)\n"
    "\n"
    "Exit codes: 0 interrupted by SIGINT or SIGTERM after the server "
    "answered,\n"
    "1 the server refused the watch (invalid filter; N too old or ahead of\n"
    "the store: watch without --start_revision), 2 usage error, 3 the\n"
    "server failed the watch or never answered (within --timeout, or before\n"
    "SIGINT or SIGTERM with --wait).\n"
    "\n"
    "Examples:\n"
    "  statesctl watch\n"
    "  statesctl watch pytorch/resnet18 --start_revision=42\n"
    "  statesctl watch --wait --server=models.internal:50051\n";

constexpr char kImportHelp[] =
    "Usage: statesctl import DIR [--overwrite] [--uri_prefix=PREFIX] "
    "[--json]\n"
    "\n"
    "Registers every state file of the MoZuMa local store DIR: each file\n"
    "named backend.architecture[.extra...].training_id.pt, in name order.\n"
    "The URI is file:// and the file's absolute path (percent-encoded), the\n"
    "size and SHA-256 are computed from its content (with progress on\n"
    "stderr for files over 64 MiB). Files not ending in .pt are skipped\n"
    "with a note; a .pt file whose name is no valid state key fails, as\n"
    "does one whose name still ends in a file extension (x.pth.pt).\n"
    "Re-running is safe: a file registered with the same content is\n"
    "\"unchanged\". A state registered with the same bytes (SHA-256 and\n"
    "size) under another URI, as after the folder was moved or copied, is\n"
    "\"moved\": only its URI is updated, its labels are kept, and no\n"
    "--overwrite is needed (one whose labels alone differ is \"unchanged\").\n"
    "Different bytes still need --overwrite. Prints one line per file, then\n"
    "a summary:\n"
    "  created pytorch.resnet18.cls1000.imagenet rev 12\n"
    "  moved pytorch.vgg16.imagenet rev 13 (was file:///old/...)\n"
    "  imported 10: 8 created, 1 unchanged, 1 moved, 0 replaced, 0 failed\n"
    "\n"
    "Two writers racing: RegisterState has no compare-and-set on overwrite\n"
    "yet, so a move or --overwrite reads the state, then replaces it; a\n"
    "change another writer makes to that state in between is replaced too\n"
    "(the last write wins, and watch shows both).\n"
    "\n"
    "Flags:\n"
    "  --overwrite           replace states registered with different\n"
    "                        content (without it, such a file fails)\n"
    "  --uri_prefix=PREFIX   register PREFIX followed by the percent-encoded\n"
    "                        file name as the URI, for files copied there\n"
    "                        (s3://bucket/states/)\n"
    "  --json                one JSON object per line instead: per file\n"
    "                        {\"file\",\"outcome\",\"state\"} (\"was\": "
    "the old\n"
    "                        URI of a moved state; \"error\" or "
    "\"reason\" for\n"
    "                        a failed or skipped file), then {\"summary\":"
    "{...}}\n"
    "                        with the counts\n"
    "\n"
    "Exit codes: 0 every file registered, 1 some file failed or DIR cannot\n"
    "be read, 2 usage error, 3 the server could not be reached (the import\n"
    "stops).\n"
    "\n"
    "Examples:\n"
    "  statesctl import ~/.cache/mozuma/states\n"
    "  statesctl import /srv/states --uri_prefix=s3://models/states/\n";

constexpr char kCompletionHelp[] =
    "Usage: statesctl completion bash\n"
    "\n"
    "Prints a bash completion script for statesctl, made from its own table\n"
    "of commands: it completes the commands, the global flags, each\n"
    "command's flags, the commands after help, and folders after import.\n"
    "Needs no server. cmake --install puts the script where bash-completion\n"
    "finds it (share/bash-completion/completions/statesctl).\n"
    "\n"
    "Exit codes: 0 printed, 2 usage error (a shell other than bash).\n"
    "\n"
    "Examples:\n"
    "  source <(statesctl completion bash)        # this shell only\n"
    "  statesctl completion bash > ~/.local/share/bash-completion/"
    "completions/statesctl\n";

// The flags of `command` as the completion offers them: `--name=` for a
// flag that takes a value, `--name` for a boolean one.
std::string CompletionWords(const std::vector<std::string>& flags) {
  std::vector<std::string> words;
  for (const std::string& flag : flags) {
    const absl::CommandLineFlag* found = absl::FindCommandLineFlag(flag);
    const bool boolean = found != nullptr && found->IsOfType<bool>();
    words.push_back(absl::StrCat("--", flag, boolean ? "" : "="));
  }
  return absl::StrJoin(words, " ");
}

#undef STATESCTL_KEY_NAME_HELP
#undef STATESCTL_FILE_EXTENSIONS

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const commands = new std::vector<Command>{
      {"validate",
       "validate NAME...",
       "Checks dotted names against MoZuMa's name rules.",
       kValidateHelp,
       {"type", "allow_file_extension", "json"},
       1,
       kAny,
       "validate takes at least one NAME",
       false,
       RunValidate,
       false},
      {"compat",
       "compat TYPE CANDIDATE...",
       "Tells which CANDIDATE types load into a TYPE model.",
       kCompatHelp,
       {"json"},
       2,
       kAny,
       "compat takes a TYPE and at least one CANDIDATE",
       false,
       RunCompat,
       false},
      {"parse",
       "parse NAME",
       "Splits a dotted state key into its fields.",
       kParseHelp,
       {"allow_file_extension", "json"},
       1,
       1,
       "parse takes exactly one NAME",
       false,
       RunParse,
       false},
      {"register",
       "register NAME URI",
       "Registers the state NAME with the weights at URI.",
       kRegisterHelp,
       {"sha256", "size_bytes", "label", "overwrite", "allow_file_extension",
        "json"},
       2,
       2,
       "register takes a NAME and a URI",
       false,
       RunRegister,
       false},
      {"get",
       "get NAME",
       "Prints the state registered under NAME.",
       kGetHelp,
       {"allow_file_extension", "json"},
       1,
       1,
       "get takes exactly one NAME",
       false,
       RunGet,
       false},
      {"list",
       "list [STATE_TYPE]",
       "Lists registered states, all or of one state type.",
       kListHelp,
       {"exact", "training_id", "page_size", "json"},
       0,
       1,
       "list takes at most one STATE_TYPE",
       false,
       RunList,
       false},
      {"delete",
       "delete NAME",
       "Deletes the state registered under NAME.",
       kDeleteHelp,
       {"expected_revision", "allow_file_extension", "json"},
       1,
       1,
       "delete takes exactly one NAME",
       false,
       RunDelete,
       false},
      {"watch",
       "watch [STATE_TYPE]",
       "Prints the states, then every change, until stopped.",
       kWatchHelp,
       {"exact", "training_id", "start_revision", "wait", "json"},
       0,
       1,
       "watch takes at most one STATE_TYPE",
       true,
       RunWatch,
       false},
      {"import",
       "import DIR",
       "Registers the state files of a MoZuMa local store.",
       kImportHelp,
       {"overwrite", "uri_prefix", "json"},
       1,
       1,
       "import takes exactly one DIR",
       false,
       RunImport,
       false},
      {"completion",
       "completion bash",
       "Prints a bash completion script for statesctl.",
       kCompletionHelp,
       {},
       1,
       1,
       "completion takes the name of the shell: statesctl completion bash",
       false,
       RunCompletion,
       true},
  };
  return *commands;
}

const Command* FindCommand(absl::string_view name) {
  for (const Command& command : Commands()) {
    if (name == command.name) return &command;
  }
  return nullptr;
}

const std::set<std::string>& CommandSpecificFlags() {
  static const std::set<std::string>* const flags = [] {
    auto* all = new std::set<std::string>;
    for (const Command& command : Commands()) {
      all->insert(command.flags.begin(), command.flags.end());
    }
    return all;
  }();
  return *flags;
}

const std::vector<std::string>& GlobalFlags() {
  static const std::vector<std::string>* const flags =
      new std::vector<std::string>{"server", "timeout"};
  return *flags;
}

std::vector<std::string> KnownFlags(const Command* command) {
  std::vector<std::string> known;
  const auto add = [&known](const std::string& flag) {
    if (std::find(known.begin(), known.end(), flag) == known.end()) {
      known.push_back(flag);
    }
  };
  if (command != nullptr) {
    for (const std::string& flag : command->flags) add(flag);
  }
  for (const std::string& flag : GlobalFlags()) add(flag);
  for (const std::string& flag : CommandSpecificFlags()) add(flag);
  return known;
}

std::string UsageText() {
  std::string text =
      "Talks to statesd, the MoZuMa state identity service and registry.\n"
      "\n"
      "Usage: statesctl [--server=ADDRESS] [--timeout=10s] [--json] COMMAND "
      "ARGS...\n"
      "       statesctl COMMAND --help    (or: statesctl help COMMAND)\n"
      "       statesctl --version\n"
      "\n"
      "Commands:\n";
  for (const Command& command : Commands()) {
    std::string synopsis = absl::StrCat("  ", command.synopsis);
    if (synopsis.size() < 24) {
      synopsis.resize(24, ' ');
    } else {
      synopsis += "\n" + std::string(24, ' ');
    }
    absl::StrAppend(&text, synopsis, command.summary, "\n");
  }
  absl::StrAppend(
      &text,
      "\n"
      "NAME is a dotted state key such as pytorch.resnet18.cls1000.imagenet\n"
      "(backend.architecture[.extra...].training_id); a state type is the\n"
      "same without the training id (pytorch.resnet18.cls1000). Both may be\n"
      "written with slashes instead (pytorch/resnet18/cls1000/imagenet).\n"
      "\n"
      "Global flags:\n"
      "  --server=ADDRESS   statesd's address (default 127.0.0.1:50051):\n"
      "                     host:port, http://host:port (plaintext, as in\n"
      "                     buf curl), dns:///host:port or unix:/path\n"
      "  --timeout=D        deadline of each call: 10s (default), 500ms, 1m;\n"
      "                     a bare number is seconds; a watch stream has\n"
      "                     none, but gives up on a server that never\n"
      "                     answered after it (unless --wait)\n"
      "  --json             JSON output: the proto3 JSON mapping,\n"
      "                     as buf curl prints it, one document per line on\n"
      "                     stdout; list and watch print one object per "
      "line.\n"
      "                     Errors too, usage errors included, as one line:\n"
      "                     {\"error\":{\"code\":5,\"status\":\"NOT_FOUND\","
      "\"message\":...,\n"
      "                     \"details\":[...]}} (a google.rpc.Status)\n"
      "  --version          print statesctl's release and API, then exit\n"
      "\n"
      "Exit codes, the same for every command and error:\n"
      "  0  yes: all valid / all compatible / parsed / found / done\n"
      "  1  no: invalid, incompatible, not found, already registered with\n"
      "     other content, revision mismatch, a failed import\n"
      "  2  usage error: unknown command or flag, bad flag value, wrong\n"
      "     arguments (nothing was sent to the server)\n"
      "  3  no answer: the server could not be reached, took longer than\n"
      "     --timeout, or failed the call\n"
      "\n"
      "Examples:\n"
      "  statesctl validate pytorch.resnet18.cls1000.imagenet\n"
      "  statesctl compat pytorch.resnet18 pytorch.resnet18.cls1000 "
      "pytorch.resnet50\n"
      "  statesctl --json parse pytorch.clip-image-rn50.clip\n"
      "  statesctl register pytorch.resnet18.cls1000.imagenet "
      "file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt\n"
      "  statesctl list pytorch/resnet18\n"
      "  statesctl --server=http://127.0.0.1:50051 get "
      "pytorch.resnet18.cls1000.imagenet\n"
      "  statesctl import ~/.cache/mozuma/states\n"
      "  source <(statesctl completion bash)\n");
  return text;
}

std::string VersionText() {
  return absl::StrCat("statesctl ", MOZUMA_STATES_VERSION, " (API ",
                      v1::State::descriptor()->file()->package(), ")");
}

std::string VersionJson() {
  return absl::StrCat(
      "{\"version\":", JsonString(MOZUMA_STATES_VERSION),
      ",\"api\":", JsonString(v1::State::descriptor()->file()->package()), "}");
}

std::string BashCompletionScript() {
  std::vector<std::string> names;
  for (const Command& command : Commands()) names.push_back(command.name);
  names.push_back("help");
  std::vector<std::string> value_flags;
  for (const std::string& flag : KnownFlags(nullptr)) {
    const absl::CommandLineFlag* found = absl::FindCommandLineFlag(flag);
    if (found == nullptr || !found->IsOfType<bool>()) {
      value_flags.push_back(flag);
    }
  }
  std::string cases;
  for (const Command& command : Commands()) {
    absl::StrAppend(&cases, "    ", command.name, ") flags=\"$flags ",
                    CompletionWords(command.flags), " --help\" ;;\n");
  }

  std::string script = absl::StrCat(
      "# bash completion for statesctl, generated by `statesctl completion "
      "bash`\n# from ",
      VersionText(),
      ". Load it with: source <(statesctl completion bash)\n"
      "\n"
      "_statesctl() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
      "  local prev=\"\"\n"
      "  (( COMP_CWORD > 0 )) && prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
      "  local commands=\"",
      absl::StrJoin(names, " "),
      "\"\n"
      // Padded with spaces, for matching \" $name \".
      "  local value_flags=\" ",
      absl::StrJoin(value_flags, " "),
      " \"\n"
      "  local command=\"\" word name ended=0 count=0 i\n"
      "  COMPREPLY=()\n"
      "\n"
      // Find the command and count its arguments. With '=' in
      // COMP_WORDBREAKS (the default) bash splits --flag=value into three
      // words: --flag, = and value.
      "  for (( i = 1; i < COMP_CWORD; i++ )); do\n"
      "    word=\"${COMP_WORDS[i]}\"\n"
      "    if (( ! ended )); then\n"
      "      if [[ $word == -- ]]; then ended=1; continue; fi\n"
      "      if [[ $word == = ]]; then (( i++ )); continue; fi\n"
      "      if [[ $word == -?* ]]; then\n"
      "        name=\"${word#-}\"; name=\"${name#-}\"\n"
      "        if [[ $name != *=* && $value_flags == *\" $name \"* &&\n"
      "              ${COMP_WORDS[i+1]} != = ]]; then\n"
      "          (( i++ ))\n"
      "        fi\n"
      "        continue\n"
      "      fi\n"
      "    fi\n"
      "    if [[ -z $command ]]; then command=\"$word\"; else (( count++ )); "
      "fi\n"
      "  done\n"
      "\n"
      // A flag's value: after `--flag=` or `--flag `. Nothing to offer.
      "  if [[ $cur == = || $prev == = ]]; then return 0; fi\n"
      "  if [[ $prev == -?* && $prev != *=* ]]; then\n"
      "    name=\"${prev#-}\"; name=\"${name#-}\"\n"
      "    if [[ $value_flags == *\" $name \"* ]]; then return 0; fi\n"
      "  fi\n"
      "\n"
      "  if (( ! ended )) && [[ $cur == -* ]]; then\n"
      "    local flags=\"",
      CompletionWords(GlobalFlags()),
      "\"\n"
      "    case $command in\n"
      "    \"\") flags=\"$flags --json --help --version\" ;;\n",
      cases,
      "    *) flags=\"$flags --help\" ;;\n"
      "    esac\n"
      "    COMPREPLY=( $(compgen -W \"$flags\" -- \"$cur\") )\n"
      // After --flag= comes its value: no space.
      "    if [[ ${#COMPREPLY[@]} == 1 && ${COMPREPLY[0]} == *= ]]; then\n"
      "      compopt -o nospace 2>/dev/null\n"
      "    fi\n"
      "    return 0\n"
      "  fi\n"
      "\n"
      "  if [[ -z $command ]]; then\n"
      "    COMPREPLY=( $(compgen -W \"$commands\" -- \"$cur\") )\n"
      "    return 0\n"
      "  fi\n"
      "  case $command in\n"
      "  help) (( count == 0 )) &&\n"
      "        COMPREPLY=( $(compgen -W \"$commands\" -- \"$cur\") ) ;;\n"
      "  completion) (( count == 0 )) &&\n"
      "        COMPREPLY=( $(compgen -W \"bash\" -- \"$cur\") ) ;;\n"
      "  import) if (( count == 0 )); then\n"
      "        compopt -o filenames 2>/dev/null\n"
      "        COMPREPLY=( $(compgen -d -- \"$cur\") )\n"
      "      fi ;;\n"
      "  esac\n"
      "  return 0\n"
      "}\n"
      "\n"
      "complete -F _statesctl statesctl\n");
  return script;
}

int RunCompletion(const Client& /*client*/, const Invocation& invocation) {
  if (invocation.args[0] != "bash") {
    return UsageError(absl::StrCat(
        "statesctl completes only bash, not \"", invocation.args[0],
        "\" (zsh loads it after 'autoload bashcompinit && bashcompinit'): "
        "statesctl completion bash"));
  }
  std::cout << BashCompletionScript() << std::flush;
  return kYes;
}

}  // namespace mozuma::states::statesctl
