#include "client/statesctl/commands.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace mozuma::states::statesctl {
namespace {

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
    "A NAME whose training id is a weights-file extension (pt, pth, ckpt,\n"
    "bin, safetensors, onnx, h5, pkl, gz, gzip, zip) is refused as a pasted\n"
    "file name (exit 2) unless --allow_file_extension is given.\n"
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
    "         A NAME whose training id is a weights-file extension (pt, pth,\n"
    "         ckpt, bin, safetensors, onnx, h5, pkl, gz, gzip, zip) is\n"
    "         refused as a pasted file name (exit 2); to register the files\n"
    "         of a folder, use 'statesctl import DIR'\n"
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
    "\n"
    "NAME is the dotted state key, backend.architecture[.extra...]"
    ".training_id,\n"
    "or the same with slashes, backend/architecture[/extra...]/training_id.\n"
    "A NAME whose training id is a weights-file extension (pt, pth, ckpt,\n"
    "bin, safetensors, onnx, h5, pkl, gz, gzip, zip) is refused as a pasted\n"
    "file name (exit 2, with the NAME it probably meant); pass\n"
    "--allow_file_extension if that really is the training id.\n"    "\n"
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
    "Usage: statesctl delete NAME [--expected_revision=N]\n"
    "                        [--allow_file_extension] [--json]\n"
    "\n"
    "Deletes the state registered under the state key NAME, and prints the\n"
    "revision of the deletion.\n"
    "\n"
    "NAME is the dotted state key, backend.architecture[.extra...]"
    ".training_id,\n"
    "or the same with slashes, backend/architecture[/extra...]/training_id.\n"
    "A NAME whose training id is a weights-file extension (pt, pth, ckpt,\n"
    "bin, safetensors, onnx, h5, pkl, gz, gzip, zip) is refused as a pasted\n"
    "file name (exit 2, with the NAME it probably meant); pass\n"
    "--allow_file_extension if that really is the training id.\n"    "\n"
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
    "(--json: {\"resumed\":true,\"revision\":\"12\"} on stdout). A "
    "resumed\n"
    "watch from a revision says it with the first change it prints.\n"
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
    "  --json               one JSON object per line: each event as a\n"
    "                       StateEvent (type, state, revision), then\n"
    "                       {\"snapshot_complete\":true,\"revision\":\"R\"}, "
    "and\n"
    "                       {\"snapshot_restart\":true} before a restarted "
    "snapshot\n"
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
    "with a note; a .pt file whose name is no valid state key fails.\n"
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
       {"allow_file_extension", "json"},
       1,
       1,
       "parse takes exactly one NAME",
       false,
       RunParse},
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
       RunRegister},
      {"get",
       "get NAME",
       "Prints the state registered under NAME.",
       kGetHelp,
       {"allow_file_extension", "json"},
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
       {"expected_revision", "allow_file_extension", "json"},
       1,
       1,
       "delete takes exactly one NAME",
       false,
       RunDelete},
      {"watch",
       "watch [STATE_TYPE]",
       "Prints the states, then every change, until stopped.",
       kWatchHelp,
       {"exact", "training_id", "start_revision", "wait", "json"},
       0,
       1,
       "watch takes at most one STATE_TYPE",
       true,
       RunWatch},
      {"import",
       "import DIR",
       "Registers the state files of a MoZuMa local store.",
       kImportHelp,
       {"overwrite", "uri_prefix", "json"},
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
