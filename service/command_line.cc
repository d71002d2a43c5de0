#include "service/command_line.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "core/closest_name.h"

namespace mozuma::states {
namespace {

// What a flag's value must look like, for the message about a bad one.
std::string Expected(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<absl::Duration>()) {
    return "a duration such as 500ms, 10s or 1m30s";
  }
  if (flag.IsOfType<int64_t>() || flag.IsOfType<int32_t>()) {
    return "a whole number";
  }
  if (flag.IsOfType<uint64_t>() || flag.IsOfType<uint32_t>() ||
      flag.IsOfType<std::size_t>()) {
    return "a whole number, 0 or more";
  }
  return "a value";
}

// " (did you mean --NAME?)" for the known flag closest to `name`, when one
// is close: a typo, or a part of the name (--grace for --drain_grace).
std::string Suggestion(absl::string_view name,
                       const std::set<std::string, std::less<>>& known) {
  // Names other servers use.
  static const auto* const kAliases = new std::map<std::string, std::string>{
      {"port", "listen"},        {"host", "listen"}, {"address", "listen"},
      {"addr", "listen"},        {"bind", "listen"}, {"database", "db"},
      {"store", "db"},           {"data", "db"},     {"grace", "drain_grace"},
      {"timeout", "drain_grace"}};
  if (auto alias = kAliases->find(std::string(name));
      alias != kAliases->end() && known.count(alias->second) > 0) {
    return absl::StrCat(" (did you mean --", alias->second, "?)");
  }
  const std::string closest =
      ClosestName(name, std::vector<std::string>(known.begin(), known.end()));
  return closest.empty() ? ""
                         : absl::StrCat(" (did you mean --", closest, "?)");
}

bool IsHelp(absl::string_view name) {
  return name == "h" || name == "help" || name == "helpfull" ||
         name == "helpshort";
}

}  // namespace

absl::StatusOr<ParsedCommandLine> ParseStatesdCommandLine(
    int argc, char** argv, const std::vector<FlagGroup>& groups) {
  std::set<std::string, std::less<>> known;
  for (const FlagGroup& group : groups) {
    for (const FlagHelp& flag : group.flags) known.insert(flag.name);
  }
  // Help and version first: asking for help must work on a line that is
  // otherwise wrong.
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--")) absl::ConsumePrefix(&arg, "-");
    if (IsHelp(arg)) return ParsedCommandLine{CommandLineAction::kHelp, {}};
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "--")) absl::ConsumePrefix(&arg, "-");
    if (arg == "version") {
      return ParsedCommandLine{CommandLineAction::kVersion, {}};
    }
  }

  ParsedCommandLine parsed;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view written = argv[i];
    absl::string_view arg = written;
    if (arg == "--") {
      if (i + 1 < argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument \"", argv[i + 1],
                         "\": statesd takes flags only (--help lists them)"));
      }
      break;
    }
    if (!absl::ConsumePrefix(&arg, "--") && !absl::ConsumePrefix(&arg, "-")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", written,
                       "\": statesd takes flags only (--help lists them)"));
    }
    const std::size_t equals = arg.find('=');
    const std::string name(arg.substr(0, equals));
    if (known.count(name) == 0) {
      const std::string suggestion = Suggestion(name, known);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag --", name,
          suggestion.empty() ? " (--help lists the flags)" : suggestion));
    }
    std::string value;
    if (equals != absl::string_view::npos) {
      value = std::string(arg.substr(equals + 1));
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value, as in --", name, "=..."));
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) {
      return absl::InternalError(absl::StrCat("no flag named --", name));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--", name, "=", value, " is not valid: --", name, " takes ",
          Expected(*flag), ", e.g. --", name, "=", flag->DefaultValue()));
    }
    parsed.given.insert(name);
  }
  return parsed;
}

std::string WrapText(absl::string_view text, int indent, int width) {
  std::string out;
  const std::string margin(indent, ' ');
  for (absl::string_view paragraph : absl::StrSplit(text, '\n')) {
    std::string line = margin;
    bool empty = true;
    for (absl::string_view word :
         absl::StrSplit(paragraph, ' ', absl::SkipEmpty())) {
      if (!empty && static_cast<int>(line.size() + 1 + word.size()) > width) {
        absl::StrAppend(&out, line, "\n");
        line = margin;
        empty = true;
      }
      absl::StrAppend(&line, empty ? "" : " ", word);
      empty = false;
    }
    absl::StrAppend(&out, empty ? "" : line, "\n");
  }
  return out;
}

std::string FormatFlagGroups(const std::vector<FlagGroup>& groups) {
  std::string out;
  for (const FlagGroup& group : groups) {
    absl::StrAppend(&out, group.title, ":\n");
    for (const FlagHelp& help : group.flags) {
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(help.name);
      if (flag == nullptr) continue;
      absl::StrAppend(&out, "  --", help.name, "=", help.value, "\n");
      absl::StrAppend(&out, WrapText(flag->Help(), 6));
      std::string default_text = help.default_text;
      if (default_text.empty()) default_text = flag->DefaultValue();
      absl::StrAppend(&out, WrapText("default: " + default_text, 6));
    }
    absl::StrAppend(&out, "\n");
  }
  return out;
}

}  // namespace mozuma::states
