#include "client/statesctl/command_line.h"

#include <algorithm>
#include <cstdint>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "core/closest_name.h"

namespace mozuma::states::statesctl {
namespace {

bool IsBoolFlag(absl::string_view name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && flag->IsOfType<bool>();
}

// True for `5`, `2.5`, `.5`: what people mean as seconds.
bool IsBareNumber(absl::string_view text) {
  if (text.empty() || text == ".") return false;
  bool dot = false;
  for (const char c : text) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

// What a valid value of `flag` looks like, for the error message.
std::string ValueHint(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<absl::Duration>()) {
    return "a duration such as 5s, 500ms or 1m (a bare number is seconds)";
  }
  if (flag.IsOfType<std::int32_t>()) return "a whole number, such as 50";
  if (flag.IsOfType<std::int64_t>()) return "a whole number, such as 42";
  return "a valid value";
}

}  // namespace

ScannedCommandLine ScanCommandLine(int argc, char** argv) {
  ScannedCommandLine scan;
  bool flags_ended = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      if (scan.positional.empty()) scan.command = std::string(arg);
      scan.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    absl::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
    const std::size_t equals = name.find('=');
    const bool has_value = equals != absl::string_view::npos;
    absl::string_view value;
    if (has_value) {
      value = name.substr(equals + 1);
      name = name.substr(0, equals);
    }
    if (name == "help" || name == "h") {
      scan.help = true;
      continue;
    }
    if (name == "version") {
      scan.version = true;
      continue;
    }

    FlagArgument flag;
    flag.spelling = std::string(arg);
    bool missing_value = false;
    if (absl::StartsWith(name, "no") && !IsBoolFlag(name) &&
        IsBoolFlag(name.substr(2))) {
      name = name.substr(2);
      flag.negated_with_value = has_value;
      value = "false";
    } else if (!has_value && (IsBoolFlag(name) ||
                              (name != "label" &&
                               absl::FindCommandLineFlag(name) == nullptr))) {
      // A boolean flag, or one statesctl does not know (an error anyway):
      // no value to take from the next argument.
      value = "true";
    } else if (!has_value) {
      if (i + 1 < argc) {
        value = argv[++i];
        absl::StrAppend(&flag.spelling, " ", value);
      } else {
        missing_value = true;
        if (scan.error.empty()) {
          scan.error = absl::StrCat(arg, " needs a value: ", arg, "=",
                                    name == "label" ? "KEY=VALUE" : "VALUE");
        }
      }
    }
    flag.name = std::string(name);
    flag.value = std::string(value);
    scan.flags.insert(flag.name);
    if (missing_value) continue;
    if (flag.name == "label") {
      scan.labels.push_back(flag.value);
      continue;
    }
    scan.flag_arguments.push_back(std::move(flag));
  }
  return scan;
}

absl::Status ApplyFlags(const ScannedCommandLine& scan,
                        const std::vector<std::string>& known) {
  absl::Status first;
  for (const FlagArgument& argument : scan.flag_arguments) {
    absl::Status status;
    absl::CommandLineFlag* flag =
        std::find(known.begin(), known.end(), argument.name) == known.end()
            ? nullptr
            : absl::FindCommandLineFlag(argument.name);
    if (flag == nullptr) {
      std::vector<std::string> names = known;
      names.push_back("help");
      names.push_back("version");
      const std::string closest = ClosestName(argument.name, names);
      std::string message = absl::StrCat(
          "unknown flag ",
          argument.spelling.substr(0, argument.spelling.find_first_of(" =")));
      if (!closest.empty()) {
        absl::StrAppend(&message, "; did you mean --", closest, "?");
      }
      status = absl::InvalidArgumentError(message);
    } else if (argument.negated_with_value) {
      status = absl::InvalidArgumentError(
          absl::StrCat(argument.spelling, ": --no", argument.name,
                       " takes no value; write --", argument.name, "=false"));
    } else {
      std::string value = argument.value;
      if (flag->IsOfType<absl::Duration>() && IsBareNumber(value)) {
        value += "s";
      }
      std::string error;
      if (!flag->ParseFrom(value, &error)) {
        status = absl::InvalidArgumentError(
            absl::StrCat("invalid --", argument.name, " \"", argument.value,
                         "\": give ", ValueHint(*flag)));
      }
    }
    if (first.ok()) first = status;
  }
  return first;
}

}  // namespace mozuma::states::statesctl
