#include "client/statesctl/arguments.h"

#include <limits>

#include "absl/flags/flag.h"
#include "absl/strings/str_replace.h"
#include "client/statesctl/flags.h"
#include "core/names.h"
#include "core/state_names.h"

namespace mozuma::states::statesctl {
namespace {

// The server's limits on name length and extras are flags of its own
// (--max_name_bytes, --max_extras); checking them here could refuse what
// the server accepts. The characters are the same everywhere, and the
// local check explains a bad one best.
NameRules LocalRules() {
  NameRules rules;
  rules.max_name_bytes = std::numeric_limits<std::size_t>::max();
  rules.max_extras = std::numeric_limits<std::size_t>::max();
  return rules;
}

}  // namespace

absl::StatusOr<v1::StateKey> ParseNameArgument(absl::string_view name) {
  return ParseStateKeyName(name, LocalRules(), "name");
}

absl::StatusOr<v1::StateType> ParseStateTypeArgument(absl::string_view text) {
  // A name holds no `/` any more than a `.`, so either separates parts.
  return ParseStateTypeName(absl::StrReplaceAll(text, {{"/", "."}}),
                            LocalRules(), "state_type");
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
