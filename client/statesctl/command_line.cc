#include "client/statesctl/command_line.h"

#include <cstring>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace mozuma::states::statesctl {
namespace {

bool IsBoolFlag(absl::string_view name) {
  const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
  return flag != nullptr && flag->IsOfType<bool>();
}

}  // namespace

ScannedCommandLine ScanCommandLine(int argc, char** argv) {
  ScannedCommandLine scan;
  if (argc > 0) scan.argv.push_back(argv[0]);
  bool flags_ended = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (flags_ended || arg.size() < 2 || arg[0] != '-') {
      if (scan.command.empty()) scan.command = std::string(arg);
      scan.argv.push_back(argv[i]);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      scan.argv.push_back(argv[i]);
      continue;
    }
    absl::string_view name = arg.substr(arg[1] == '-' ? 2 : 1);
    const std::size_t equals = name.find('=');
    const bool has_value = equals != absl::string_view::npos;
    if (has_value) name = name.substr(0, equals);
    if (name == "help" || name == "h") {
      // statesctl answers these itself; Abseil never sees them.
      scan.help = true;
      continue;
    }

    if (name == "label") {
      if (has_value) {
        scan.labels.emplace_back(arg.substr(arg.find('=') + 1));
      } else if (i + 1 < argc) {
        scan.labels.emplace_back(argv[++i]);
      } else {
        scan.error = "--label needs a value: --label=KEY=VALUE";
      }
      scan.flags.insert("label");
      continue;
    }

    scan.argv.push_back(argv[i]);
    if (absl::StartsWith(name, "no") && !IsBoolFlag(name) &&
        IsBoolFlag(name.substr(2))) {
      name = name.substr(2);
    }
    scan.flags.insert(std::string(name));
    // A flag that takes a value and has none here takes the next argument,
    // which then is no positional argument.
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (!has_value && flag != nullptr && !flag->IsOfType<bool>() &&
        i + 1 < argc) {
      scan.argv.push_back(argv[++i]);
    }
  }
  return scan;
}

}  // namespace mozuma::states::statesctl
