#include "core/state_names.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/errors.h"
#include "core/state_validation.h"
#include "core/status_macros.h"

namespace mozuma::states {
namespace {

absl::Status TooFewPartsError(absl::string_view name, absl::string_view field,
                              absl::string_view form, std::size_t min_parts) {
  v1::Violation violation;
  violation.set_field(std::string(field));
  violation.set_value(PrintableValue(name));
  if (name.empty()) {
    violation.set_reason(v1::VIOLATION_REASON_EMPTY);
    violation.set_description("must not be empty");
  } else {
    violation.set_reason(v1::VIOLATION_REASON_TOO_FEW_PARTS);
    violation.set_description(absl::StrFormat(
        "has %d dot-separated part(s); a dotted name has at least %d: %s",
        std::vector<absl::string_view>(absl::StrSplit(name, '.')).size(),
        min_parts, form));
  }
  return InvalidFieldsError(reason::kInvalidStateName, {violation});
}

constexpr char kTypeForm[] = "backend.architecture[.extra...]";
constexpr char kKeyForm[] = "backend.architecture[.extra...].training_id";

// Turns the violations of the split-out item into violations of the one
// request field that held the dotted name; each description says which
// dotted part (1-based) the problem is in. `training_part` is the part that
// holds the training id (0 for a state type, which has none).
absl::Status ToNameError(const std::vector<v1::Violation>& item_violations,
                         absl::string_view field, std::size_t training_part) {
  std::vector<v1::Violation> violations;
  for (const v1::Violation& item : item_violations) {
    // Item paths are `backend`, `architecture`, `extra`, `extra[i]` and
    // `training_id`, possibly under `state_type.`.
    absl::string_view path = item.field();
    absl::ConsumePrefix(&path, "state_type.");
    std::string where;
    if (path == "backend") {
      where = "part 1, the backend,";
    } else if (path == "architecture") {
      where = "part 2, the architecture,";
    } else if (path == "training_id") {
      where = absl::StrFormat("part %d, the training id,", training_part);
    } else if (path == "extra") {
      where = "the extras (parts 3 and on)";
    } else {
      std::size_t index = 0;
      absl::ConsumePrefix(&path, "extra[");
      absl::ConsumeSuffix(&path, "]");
      if (!absl::SimpleAtoi(path, &index)) index = 0;
      where = absl::StrFormat("part %d, extra[%d],", index + 3, index);
    }
    v1::Violation& violation = violations.emplace_back(item);
    violation.set_field(std::string(field));
    violation.set_description(absl::StrCat(where, " ", item.description()));
  }
  return InvalidFieldsError(reason::kInvalidStateName, violations);
}

// Rejects a name with more extras than `rules` allow before it is split,
// so that a request of a few MiB of dots costs no more than its own size.
// `fixed_parts` is the number of parts that are not extras.
absl::Status CheckExtrasBeforeSplit(absl::string_view name,
                                    std::size_t fixed_parts,
                                    const NameRules& rules,
                                    absl::string_view field) {
  const std::size_t parts = std::count(name.begin(), name.end(), '.') + 1;
  if (parts <= fixed_parts || parts - fixed_parts <= rules.max_extras) {
    return absl::OkStatus();
  }
  return ToNameError(
      {TooManyExtrasViolation("extra", parts - fixed_parts, rules)}, field, 0);
}

}  // namespace

std::string FormatStateType(const v1::StateType& state_type) {
  std::string out =
      absl::StrCat(state_type.backend(), ".", state_type.architecture());
  for (const std::string& extra : state_type.extra()) {
    absl::StrAppend(&out, ".", extra);
  }
  return out;
}

std::string FormatStateKey(const v1::StateKey& state_key) {
  return absl::StrCat(FormatStateType(state_key.state_type()), ".",
                      state_key.training_id());
}

absl::StatusOr<v1::StateType> SplitStateTypeName(absl::string_view name,
                                                 absl::string_view field) {
  std::vector<absl::string_view> parts = absl::StrSplit(name, '.');
  if (name.empty() || parts.size() < 2) {
    return TooFewPartsError(name, field, kTypeForm, 2);
  }
  v1::StateType state_type;
  state_type.set_backend(std::string(parts[0]));
  state_type.set_architecture(std::string(parts[1]));
  for (std::size_t i = 2; i < parts.size(); ++i) {
    state_type.add_extra(std::string(parts[i]));
  }
  return state_type;
}

absl::StatusOr<v1::StateKey> SplitStateKeyName(absl::string_view name,
                                               absl::string_view field) {
  const std::size_t last_dot = name.rfind('.');
  if (name.empty() || last_dot == absl::string_view::npos ||
      name.substr(0, last_dot).find('.') == absl::string_view::npos) {
    return TooFewPartsError(name, field, kKeyForm, 3);
  }
  v1::StateKey state_key;
  ASSIGN_OR_RETURN(*state_key.mutable_state_type(),
                   SplitStateTypeName(name.substr(0, last_dot), field));
  state_key.set_training_id(std::string(name.substr(last_dot + 1)));
  return state_key;
}

absl::StatusOr<v1::StateType> ParseStateTypeName(absl::string_view name,
                                                 const NameRules& rules,
                                                 absl::string_view field) {
  RETURN_IF_ERROR(CheckExtrasBeforeSplit(name, 2, rules, field));
  ASSIGN_OR_RETURN(v1::StateType state_type, SplitStateTypeName(name, field));
  std::vector<v1::Violation> violations = ValidateStateType(state_type, rules);
  if (!violations.empty()) return ToNameError(violations, field, 0);
  return state_type;
}

absl::StatusOr<v1::StateKey> ParseStateKeyName(absl::string_view name,
                                               const NameRules& rules,
                                               absl::string_view field) {
  RETURN_IF_ERROR(CheckExtrasBeforeSplit(name, 3, rules, field));
  ASSIGN_OR_RETURN(v1::StateKey state_key, SplitStateKeyName(name, field));
  std::vector<v1::Violation> violations = ValidateStateKey(state_key, rules);
  if (!violations.empty()) {
    return ToNameError(violations, field,
                       state_key.state_type().extra_size() + 3);
  }
  return state_key;
}

}  // namespace mozuma::states
