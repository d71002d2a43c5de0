#include "client/statesctl/commands.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace mozuma::states::statesctl {
namespace {

constexpr std::size_t kAny = std::numeric_limits<std::size_t>::max();

constexpr char kValidateHelp[] =
    "Usage: statesctl validate [--type] [--json] NAME...\n"
    "\n"
    "Checks dotted state keys (backend.architecture[.extra...].training_id)\n"
    "against MoZuMa's name rules, as the server enforces them.\n"
    "\n"
    "Flags:\n"
    "  --type   read each NAME as a state type,\n"
    "           backend.architecture[.extra...], instead of a state key\n"
    "  --json   print {\"results\":[...]}, one result per NAME, in order\n"
    "\n"
    "Exit codes: 0 every NAME is valid, 1 some NAME is invalid (each\n"
    "violation is printed), 2 usage error, 3 no answer.\n"
    "\n"
    "Examples:\n"
    "  statesctl validate pytorch.resnet18.cls1000.imagenet\n"
    "  statesctl validate --type pytorch.resnet18 pytorch.resnet18.cls1000\n";

constexpr char kCompatHelp[] =
    "Usage: statesctl compat [--json] TYPE CANDIDATE...\n"
    "\n"
    "Tells whether states of each CANDIDATE state type can be loaded into a\n"
    "model of state type TYPE: EXACT (same backend, architecture and\n"
    "extra), COMPATIBLE (only the extra differs: MoZuMa loads it) or\n"
    "INCOMPATIBLE. Types are dotted: backend.architecture[.extra...].\n"
    "\n"
    "Exit codes: 0 every CANDIDATE is compatible, 1 some is not (or a type\n"
    "is invalid), 2 usage error, 3 no answer.\n"
    "\n"
    "Example:\n"
    "  statesctl compat pytorch.resnet18 pytorch.resnet18.cls1000 "
    "pytorch.resnet50\n";

constexpr char kParseHelp[] =
    "Usage: statesctl parse [--json] NAME\n"
    "\n"
    "Splits a dotted state key into its fields: the first part is the\n"
    "backend, the second the architecture, the last the training id, and\n"
    "the parts between are the extras.\n"
    "\n"
    "Exit codes: 0 parsed, 1 NAME is not a valid state key, 2 usage error,\n"
    "3 no answer.\n"
    "\n"
    "Example:\n"
    "  statesctl parse pytorch.densenet161.cls365.places365\n";

constexpr char kRegisterHelp[] =
    "Usage: statesctl register NAME URI [--sha256=HEX] [--size_bytes=N]\n"
    "                          [--label=KEY=VALUE]... [--overwrite] [--json]\n"
    "\n"
    "Registers the trained state NAME, whose weights are at URI.\n"
    "\n"
    "Arguments:\n"
    "  NAME   the dotted state key, backend.architecture[.extra...]"
    ".training_id,\n"
    "         as MoZuMa names its state files without the .pt\n"
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
    "invalid, 2 usage error, 3 no answer.\n"
    "\n"
    "Examples:\n"
    "  statesctl register pytorch.resnet18.cls1000.imagenet \\\n"
    "      file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt \\\n"
    "      --size_bytes=46830571 --label=framework_version=2.1\n"
    "  statesctl register --overwrite pytorch.clip-image-rn50.clip \\\n"
    "      s3://models/pytorch.clip-image-rn50.clip.pt\n";

constexpr char kGetHelp[] =
    "Usage: statesctl get [--json] NAME\n"
    "\n"
    "Prints the state registered under the dotted state key NAME: its\n"
    "fields, URI, SHA-256, size, labels, times and revision (--json: the\n"
    "State message as JSON).\n"
    "\n"
    "Exit codes: 0 found, 1 not registered (or NAME is invalid), 2 usage\n"
    "error, 3 no answer.\n"
    "\n"
    "Example:\n"
    "  statesctl get pytorch.resnet18.cls1000.imagenet\n";

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
    "  --json             one State as JSON per line (JSON Lines), in the\n"
    "                     proto's field order\n"
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
    "Usage: statesctl delete NAME [--expected_revision=N] [--json]\n"
    "\n"
    "Deletes the state registered under the dotted state key NAME, and\n"
    "prints the revision of the deletion.\n"
    "\n"
    "Flags:\n"
    "  --expected_revision=N   delete only if the state's revision is still "
    "N\n"
    "                          (get prints it): nothing changed since you "
    "read it\n"
    "  --json                  print the DeleteStateResponse as JSON\n"
    "\n"
    "Exit codes: 0 deleted, 1 not registered or its revision is not N,\n"
    "2 usage error, 3 no answer.\n"
    "\n"
    "Example:\n"
    "  statesctl delete pytorch.resnet18.cls1000.imagenet "
    "--expected_revision=12\n";

constexpr char kWatchHelp[] =
    "Usage: statesctl watch [STATE_TYPE] [--exact] [--training_id=ID]\n"
    "                       [--start_revision=N] [--json]\n"
    "\n"
    "Follows the changes to the registered states, until interrupted\n"
    "(Ctrl-C, SIGTERM). STATE_TYPE, --exact and --training_id select states\n"
    "as for list.\n"
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
    "before the snapshot is printed again.\n"
    "\n"
    "Flags:\n"
    "  --exact, --training_id=ID   as for list\n"
    "  --start_revision=N   print the changes after revision N instead of a\n"
    "                       snapshot (resume from the last rev printed)\n"
    "  --json               one JSON object per line: each event as a\n"
    "                       StateEvent (type, state, revision), then\n"
    "                       {\"snapshot_complete\":true,\"revision\":\"R\"}, "
    "and\n"
    "                       {\"snapshot_restart\":true} before a restarted "
    "snapshot\n"
    "\n"
    "Exit codes: 0 interrupted by SIGINT or SIGTERM, 1 the server refused "
    "the\n"
    "watch (invalid filter; N too old or ahead of the store: watch without\n"
    "--start_revision), 2 usage error, 3 the server failed the watch.\n"
    "\n"
    "Examples:\n"
    "  statesctl watch\n"
    "  statesctl watch pytorch/resnet18 --start_revision=42\n";

constexpr char kImportHelp[] =
    "Usage: statesctl import DIR [--overwrite] [--uri_prefix=PREFIX]\n"
    "\n"
    "Registers every state file of the MoZuMa local store DIR: each file\n"
    "named backend.architecture[.extra...].training_id.pt, in name order.\n"
    "The URI is file:// and the file's absolute path (percent-encoded), the\n"
    "size and SHA-256 are computed from its content (with progress on\n"
    "stderr for files over 64 MiB). Files not ending in .pt are skipped\n"
    "with a note; a .pt file whose name is no valid state key fails.\n"
    "Re-running is safe: a file registered with the same content is\n"
    "\"unchanged\". Prints one line per file, then a summary:\n"
    "  imported 10: 8 created, 2 unchanged, 0 replaced, 0 failed\n"
    "\n"
    "Flags:\n"
    "  --overwrite           replace states registered with different\n"
    "                        content (without it, such a file fails)\n"
    "  --uri_prefix=PREFIX   register PREFIX followed by the percent-encoded\n"
    "                        file name as the URI, for files copied there\n"
    "                        (s3://bucket/states/)\n"
    "\n"
    "Exit codes: 0 every file registered, 1 some file failed or DIR cannot\n"
    "be read, 2 usage error, 3 the server could not be reached (the import\n"
    "stops).\n"
    "\n"
    "Examples:\n"
    "  statesctl import ~/.cache/mozuma/states\n"
    "  statesctl import /srv/states --uri_prefix=s3://models/states/\n";

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command>* const commands = new std::vector<Command>{
      {"validate",
       "validate NAME...",
       "Checks dotted names against MoZuMa's name rules.",
       kValidateHelp,
       {"type", "json"},
       1,
       kAny,
       "validate takes at least one NAME",
       false,
       RunValidate},
      {"compat",
       "compat TYPE CANDIDATE...",
       "Tells which CANDIDATE types load into a TYPE model.",
       kCompatHelp,
       {"json"},
       2,
       kAny,
       "compat takes a TYPE and at least one CANDIDATE",
       false,
       RunCompat},
      {"parse",
       "parse NAME",
       "Splits a dotted state key into its fields.",
       kParseHelp,
       {"json"},
       1,
       1,
       "parse takes exactly one NAME",
       false,
       RunParse},
      {"register",
       "register NAME URI",
       "Registers the state NAME with the weights at URI.",
       kRegisterHelp,
       {"sha256", "size_bytes", "label", "overwrite", "json"},
       2,
       2,
       "register takes a NAME and a URI",
       false,
       RunRegister},
      {"get",
       "get NAME",
       "Prints the state registered under NAME.",
       kGetHelp,
       {"json"},
       1,
       1,
       "get takes exactly one NAME",
       false,
       RunGet},
      {"list",
       "list [STATE_TYPE]",
       "Lists registered states, all or of one state type.",
       kListHelp,
       {"exact", "training_id", "page_size", "json"},
       0,
       1,
       "list takes at most one STATE_TYPE",
       false,
       RunList},
      {"delete",
       "delete NAME",
       "Deletes the state registered under NAME.",
       kDeleteHelp,
       {"expected_revision", "json"},
       1,
       1,
       "delete takes exactly one NAME",
       false,
       RunDelete},
      {"watch",
       "watch [STATE_TYPE]",
       "Prints the states, then every change, until stopped.",
       kWatchHelp,
       {"exact", "training_id", "start_revision", "json"},
       0,
       1,
       "watch takes at most one STATE_TYPE",
       true,
       RunWatch},
      {"import",
       "import DIR",
       "Registers the state files of a MoZuMa local store.",
       kImportHelp,
       {"overwrite", "uri_prefix"},
       1,
       1,
       "import takes exactly one DIR",
       false,
       RunImport},
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

std::string UsageText() {
  std::string text =
      "Talks to statesd, the MoZuMa state identity service and registry.\n"
      "\n"
      "Usage: statesctl [--server=HOST:PORT] [--timeout=10s] COMMAND "
      "ARGS...\n"
      "       statesctl COMMAND --help    (or: statesctl help COMMAND)\n"
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
      "same without the training id (pytorch.resnet18.cls1000).\n"
      "\n"
      "Global flags:\n"
      "  --server=ADDRESS   statesd's address: host:port, dns:///host:port "
      "or\n"
      "                     unix:/path (default 127.0.0.1:50051)\n"
      "  --timeout=D        deadline of each call (default 10s; watch has "
      "none)\n"
      "  --json             JSON output: one document on stdout (errors "
      "too);\n"
      "                     list and watch print one object per line "
      "(not import)\n"
      "\n"
      "Exit codes: 0 yes (all valid / all compatible / parsed / done), 1 no\n"
      "(invalid, incompatible, not found, already registered, revision\n"
      "mismatch, a failed import), 2 usage error, 3 no answer (server\n"
      "unreachable or call failed).\n"
      "\n"
      "Examples:\n"
      "  statesctl validate pytorch.resnet18.cls1000.imagenet\n"
      "  statesctl compat pytorch.resnet18 pytorch.resnet18.cls1000 "
      "pytorch.resnet50\n"
      "  statesctl --json parse pytorch.clip-image-rn50.clip\n"
      "  statesctl register pytorch.resnet18.cls1000.imagenet "
      "file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt\n"
      "  statesctl list pytorch/resnet18\n"
      "  statesctl import ~/.cache/mozuma/states\n");
  return text;
}

}  // namespace mozuma::states::statesctl
