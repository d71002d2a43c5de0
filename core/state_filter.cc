#include "core/state_filter.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "core/state_validation.h"

namespace mozuma::states {
namespace {

// Separators of SortKey(). They sort below every byte of a valid name.
constexpr char kFieldEnd = '\x00';
constexpr char kExtraStart = '\x01';

template <typename Request>
StateFilter FilterFromFields(const Request& request) {
  StateFilter filter;
  if (request.has_state_type()) {
    filter.state_type = request.state_type();
    filter.exact = request.match() == v1::STATE_TYPE_MATCH_EXACT;
  }
  filter.training_id = request.training_id();
  return filter;
}

void AppendStateTypeViolations(const v1::StateType& state_type,
                               const NameRules& rules, absl::string_view prefix,
                               std::vector<v1::Violation>& violations) {
  std::vector<v1::Violation> found =
      ValidateStateType(state_type, rules, absl::StrCat(prefix, "state_type."));
  violations.insert(violations.end(), std::make_move_iterator(found.begin()),
                    std::make_move_iterator(found.end()));
}

void AppendTrainingIdViolations(const std::string& training_id,
                                const NameRules& rules,
                                absl::string_view prefix,
                                std::vector<v1::Violation>& violations) {
  // Empty means any training id, not an empty name.
  if (training_id.empty()) return;
  AppendNameViolations(training_id, absl::StrCat(prefix, "training_id"), rules,
                       violations);
}

template <typename Request>
std::vector<v1::Violation> ValidateFields(const Request& request,
                                          const NameRules& rules) {
  std::vector<v1::Violation> violations;
  if (request.has_state_type()) {
    AppendStateTypeViolations(request.state_type(), rules, "", violations);
  }
  // Checked even without `state_type`, where a valid value is ignored: a
  // number this server does not know may be a newer client's match mode,
  // and reading it as the default would list the wrong states.
  AppendEnumViolation(*v1::StateTypeMatch_descriptor(), request.match(),
                      "match", "unset (0) means STATE_TYPE_MATCH_COMPATIBLE",
                      violations);
  AppendTrainingIdViolations(request.training_id(), rules, "", violations);
  return violations;
}

}  // namespace

StateFilter FilterFromRequest(const v1::ListStatesRequest& request) {
  return FilterFromFields(request);
}

StateFilter FilterFromRequest(const v1::WatchStatesRequest& request) {
  return FilterFromFields(request);
}

std::vector<v1::Violation> ValidateFilterFields(
    const v1::ListStatesRequest& request, const NameRules& rules) {
  return ValidateFields(request, rules);
}

std::vector<v1::Violation> ValidateFilterFields(
    const v1::WatchStatesRequest& request, const NameRules& rules) {
  return ValidateFields(request, rules);
}

std::vector<v1::Violation> ValidateFilter(const StateFilter& filter,
                                          const NameRules& rules,
                                          absl::string_view prefix) {
  std::vector<v1::Violation> violations;
  if (filter.state_type.has_value()) {
    AppendStateTypeViolations(*filter.state_type, rules, prefix, violations);
  }
  AppendTrainingIdViolations(filter.training_id, rules, prefix, violations);
  return violations;
}

bool Matches(const StateFilter& filter, const v1::StateKey& key) {
  if (!filter.training_id.empty() &&
      key.training_id() != filter.training_id) {
    return false;
  }
  if (!filter.state_type.has_value()) return true;
  const v1::StateType& want = *filter.state_type;
  const v1::StateType& have = key.state_type();
  if (have.backend() != want.backend() ||
      have.architecture() != want.architecture()) {
    return false;
  }
  return !filter.exact ||
         std::equal(have.extra().begin(), have.extra().end(),
                    want.extra().begin(), want.extra().end());
}

std::string CanonicalFilter(const StateFilter& filter) {
  std::string text;
  if (filter.state_type.has_value()) {
    const v1::StateType& type = *filter.state_type;
    absl::StrAppend(&text, filter.exact ? "exact" : "compatible", "\n",
                    type.backend(), "\n", type.architecture());
    for (const std::string& extra : type.extra()) {
      absl::StrAppend(&text, "\x01", extra);
    }
  } else {
    text = "any";
  }
  absl::StrAppend(&text, "\n", filter.training_id);
  return text;
}

std::string SortKey(const v1::StateKey& key) {
  const v1::StateType& type = key.state_type();
  std::string sort_key;
  absl::StrAppend(&sort_key, type.backend(), std::string(1, kFieldEnd),
                  type.architecture());
  for (const std::string& extra : type.extra()) {
    absl::StrAppend(&sort_key, std::string(1, kExtraStart), extra);
  }
  absl::StrAppend(&sort_key, std::string(1, kFieldEnd), key.training_id());
  return sort_key;
}

}  // namespace mozuma::states
