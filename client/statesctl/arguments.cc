#include "client/statesctl/arguments.h"

#include <limits>

#include "absl/flags/flag.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "client/statesctl/flags.h"
#include "core/names.h"
#include "core/state_names.h"

namespace mozuma::states::statesctl {

std::string NormalizeNameArgument(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"/", "."}});
}

// The server's limits on name length and extras are flags of its own
// (--max_name_bytes, --max_extras); checking them here could refuse what
// the server accepts. The characters are the same everywhere, and the
// local check explains a bad one best.
NameRules LocalNameRules() {
  NameRules rules;
  rules.max_name_bytes = std::numeric_limits<std::size_t>::max();
  rules.max_extras = std::numeric_limits<std::size_t>::max();
  return rules;
}

absl::StatusOr<v1::StateKey> ParseNameArgument(absl::string_view name) {
  return ParseStateKeyName(NormalizeNameArgument(name), LocalNameRules(),
                           "name");
}

absl::StatusOr<v1::StateType> ParseStateTypeArgument(absl::string_view text) {
  return ParseStateTypeName(NormalizeNameArgument(text), LocalNameRules(),
                            "state_type");
}

const std::vector<std::string>& FileExtensions() {
  static const std::vector<std::string>* const extensions =
      new std::vector<std::string>{"pt",          "pth",  "ckpt", "bin",
                                   "safetensors", "onnx", "h5",   "pkl",
                                   "gz",          "gzip", "zip"};
  return *extensions;
}

namespace {

bool IsFileExtension(absl::string_view part) {
  const std::string lower = absl::AsciiStrToLower(part);
  for (const std::string& extension : FileExtensions()) {
    if (lower == extension) return true;
  }
  return false;
}

}  // namespace

std::optional<FileNameProblem> CheckFileName(absl::string_view name) {
  if (absl::GetFlag(FLAGS_allow_file_extension)) return std::nullopt;
  const std::string dotted = NormalizeNameArgument(name);
  std::vector<absl::string_view> parts = absl::StrSplit(dotted, '.');
  if (parts.size() < 2 || !IsFileExtension(parts.back())) return std::nullopt;
  FileNameProblem problem;
  problem.extension = std::string(parts.back());
  // `.pt.gz` and the like: strip every trailing extension, as long as a
  // key (three parts) remains.
  while (parts.size() > 3 && IsFileExtension(parts.back())) parts.pop_back();
  if (parts.size() >= 3 && !IsFileExtension(parts.back())) {
    problem.suggestion = absl::StrJoin(parts, ".");
  }
  const std::string printable = PrintableValue(name);
  problem.message = absl::StrCat(
      printable, " looks like a file name: its training id would be \"",
      PrintableValue(problem.extension), "\", a weights-file extension");
  if (!problem.suggestion.empty()) {
    absl::StrAppend(&problem.message, "; did you mean ",
                    PrintableValue(problem.suggestion), "?");
  } else {
    absl::StrAppend(&problem.message,
                    "; a state key is backend.architecture[.extra...]"
                    ".training_id, without the file's extension.");
  }
  absl::StrAppend(
      &problem.message,
      " To register the state files of a folder, run 'statesctl import "
      "DIR'. If \"",
      PrintableValue(problem.extension),
      "\" really is the training id, pass --allow_file_extension.");
  return problem;
}

absl::StatusOr<Filter> FilterFromArguments(
    const std::vector<std::string>& args) {
  Filter filter;
  if (!args.empty()) {
    absl::StatusOr<v1::StateType> state_type = ParseStateTypeArgument(args[0]);
    if (!state_type.ok()) return state_type.status();
    filter.state_type = *std::move(state_type);
    filter.has_state_type = true;
  }
  if (absl::GetFlag(FLAGS_exact)) filter.match = v1::STATE_TYPE_MATCH_EXACT;
  filter.training_id = absl::GetFlag(FLAGS_training_id);
  return filter;
}

}  // namespace mozuma::states::statesctl
