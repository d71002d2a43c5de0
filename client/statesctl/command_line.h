// Reading statesctl's command line: the command and its positional
// arguments, the flags with their values, a request for help or for the
// version, and the repeatable --label flag (an Abseil flag keeps only its
// last value).
//
// statesctl does not call absl::ParseCommandLine(): in Abseil 20220623 it
// exits 1 on an unknown flag or a bad value, where statesctl's usage errors
// exit 2 (and print JSON under --json), and that version has no parser that
// returns its errors instead. So ScanCommandLine() splits argv the way
// Abseil does, and ApplyFlags() hands each value to Abseil's own parser for
// the flag's type (absl::CommandLineFlag::ParseFrom), turning its refusals
// into messages that say what a valid value looks like.
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_COMMAND_LINE_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_COMMAND_LINE_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mozuma::states::statesctl {

// One flag as the command line gave it.
struct FlagArgument {
  // The name, without dashes, value or the `no` of a negated boolean flag
  // (`--nojson` gives `json`).
  std::string name;
  // The value: what follows `=` or, for a flag that takes a value, the next
  // argument; "true" for a bare boolean flag, "false" for a negated one.
  std::string value;
  // The argument as written (`--exactt`, `--timeout=5`), for messages.
  std::string spelling;
  // True for `--noNAME=VALUE`, which Abseil refuses too.
  bool negated_with_value = false;
};

struct ScannedCommandLine {
  // The positional arguments (the command first), in order, including
  // those after `--`.
  std::vector<std::string> positional;
  // Every flag other than --help, --version and --label, in order.
  std::vector<FlagArgument> flag_arguments;
  // The values of the --label flags, in order.
  std::vector<std::string> labels;
  // The first positional argument: the command. Empty when there is none.
  std::string command;
  // True when --help, -help or -h was given (before any `--`).
  bool help = false;
  // True when --version or -version was given (before any `--`).
  bool version = false;
  // The name of every flag given (FlagArgument::name; `label` for --label).
  std::set<std::string> flags;
  // Not empty when the command line cannot be read: a flag that takes a
  // value and has none (a --label or --timeout at the end).
  std::string error;
};

// Scans `argv` as Abseil would parse it: flags may come before or after the
// positional arguments, one dash or two, a flag that is not boolean may take
// its value from the next argument, and `--` ends the flags. Learns which
// flags take a value from Abseil's registry, so it must run after every
// flag is defined (any time in main()).
ScannedCommandLine ScanCommandLine(int argc, char** argv);

// Sets the flags of `scan` through Abseil, all of them even after an error
// (so that --json holds for the error too). `known` lists the flags statesctl
// takes here (others, Abseil's own included, are unknown). Returns
// INVALID_ARGUMENT for the first flag that is unknown (naming the closest
// known one, when one is close) or whose value does not parse (saying what
// a valid one looks like). A bare number is accepted as --timeout in
// seconds.
absl::Status ApplyFlags(const ScannedCommandLine& scan,
                        const std::vector<std::string>& known);

}  // namespace mozuma::states::statesctl

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_COMMAND_LINE_H_
