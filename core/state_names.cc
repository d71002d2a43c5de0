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

// The violation of a dotted name with fewer than `min_parts` parts: EMPTY
// for an empty name, else TOO_FEW_PARTS with the count.
v1::Violation TooFewPartsViolation(absl::string_view name,
                                   absl::string_view field,
                                   absl::string_view form,
                                   std::size_t min_parts) {
  if (name.empty()) {
    return MakeViolation(field, name, v1::VIOLATION_REASON_EMPTY,
                         "must not be empty");
  }
  return MakeViolation(
      field, name, v1::VIOLATION_REASON_TOO_FEW_PARTS,
      absl::StrFormat(
          "has %d dot-separated part(s); a dotted name has at least %d: %s",
          std::count(name.begin(), name.end(), '.') + 1, min_parts, form));
}

absl::Status TooFewPartsError(absl::string_view name, absl::string_view field,
                              absl::string_view form, std::size_t min_parts) {
  return InvalidFieldsError(
      reason::kInvalidStateName,
      {TooFewPartsViolation(name, field, form, min_parts)});
}

// The problems of every part of a name too short to say which field each
// part is: "part 1, character ... is not allowed".
void AppendPartViolations(absl::string_view name, const NameRules& rules,
                          absl::string_view field,
                          std::vector<v1::Violation>& violations) {
  std::size_t number = 0;
  for (absl::string_view part : absl::StrSplit(name, '.')) {
    ++number;
    for (NameProblem& problem : CheckName(part, rules)) {
      violations.push_back(MakeViolation(
          field, part, problem.reason,
          absl::StrFormat("part %d, %s", number, problem.description)));
    }
  }
}

constexpr char kTypeForm[] = "backend.architecture[.extra...]";
constexpr char kKeyForm[] = "backend.architecture[.extra...].training_id";

// Turns the violations of the split-out item into violations of the one
// request field that held the dotted name; each description says which
// dotted part (1-based) the problem is in. `training_part` is the part that
// holds the training id (0 for a state type, which has none).
std::vector<v1::Violation> ToNameViolations(
    const std::vector<v1::Violation>& item_violations, absl::string_view field,
    std::size_t training_part) {
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
  return violations;
}

// The TOO_MANY_EXTRAS violation of a name with more extras than `rules`
// allow, found before it is split, so that a request of a few MiB of dots
// costs no more than its own size; empty when the count is fine.
// `fixed_parts` is the number of parts that are not extras.
std::vector<v1::Violation> CheckExtrasBeforeSplit(absl::string_view name,
                                                  std::size_t fixed_parts,
                                                  const NameRules& rules,
                                                  absl::string_view field) {
  const std::size_t parts = std::count(name.begin(), name.end(), '.') + 1;
  if (parts <= fixed_parts || parts - fixed_parts <= rules.max_extras) {
    return {};
  }
  return ToNameViolations(
      {TooManyExtrasViolation("extra", parts - fixed_parts, rules)}, field, 0);
}

// What CheckStateTypeName() and CheckStateKeyName() share up to the split:
// the violations, or none with `*enough_parts` set when the name has at
// least `min_parts` parts and is to be split and checked field by field.
std::vector<v1::Violation> CheckBeforeSplit(
    absl::string_view name, std::size_t min_parts, absl::string_view form,
    const NameRules& rules, absl::string_view field, bool* enough_parts) {
  *enough_parts = false;
  if (name.empty()) return {TooFewPartsViolation(name, field, form, min_parts)};
  std::vector<v1::Violation> violations =
      CheckExtrasBeforeSplit(name, min_parts, rules, field);
  if (!violations.empty()) return violations;
  if (static_cast<std::size_t>(std::count(name.begin(), name.end(), '.')) + 1 <
      min_parts) {
    violations.push_back(TooFewPartsViolation(name, field, form, min_parts));
    AppendPartViolations(name, rules, field, violations);
    return violations;
  }
  *enough_parts = true;
  return violations;
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

std::vector<v1::Violation> CheckStateTypeName(absl::string_view name,
                                              const NameRules& rules,
                                              absl::string_view field) {
  bool enough_parts;
  std::vector<v1::Violation> violations =
      CheckBeforeSplit(name, 2, kTypeForm, rules, field, &enough_parts);
  if (!enough_parts) return violations;
  absl::StatusOr<v1::StateType> state_type = SplitStateTypeName(name, field);
  if (!state_type.ok()) {
    return {TooFewPartsViolation(name, field, kTypeForm, 2)};
  }
  return ToNameViolations(ValidateStateType(*state_type, rules), field, 0);
}

std::vector<v1::Violation> CheckStateKeyName(absl::string_view name,
                                             const NameRules& rules,
                                             absl::string_view field) {
  bool enough_parts;
  std::vector<v1::Violation> violations =
      CheckBeforeSplit(name, 3, kKeyForm, rules, field, &enough_parts);
  if (!enough_parts) return violations;
  absl::StatusOr<v1::StateKey> state_key = SplitStateKeyName(name, field);
  if (!state_key.ok()) {
    return {TooFewPartsViolation(name, field, kKeyForm, 3)};
  }
  return ToNameViolations(ValidateStateKey(*state_key, rules), field,
                          state_key->state_type().extra_size() + 3);
}

absl::StatusOr<v1::StateType> ParseStateTypeName(absl::string_view name,
                                                 const NameRules& rules,
                                                 absl::string_view field) {
  std::vector<v1::Violation> violations =
      CheckStateTypeName(name, rules, field);
  if (!violations.empty()) {
    return InvalidFieldsError(reason::kInvalidStateName, violations);
  }
  return SplitStateTypeName(name, field);
}

absl::StatusOr<v1::StateKey> ParseStateKeyName(absl::string_view name,
                                               const NameRules& rules,
                                               absl::string_view field) {
  std::vector<v1::Violation> violations = CheckStateKeyName(name, rules, field);
  if (!violations.empty()) {
    return InvalidFieldsError(reason::kInvalidStateName, violations);
  }
  return SplitStateKeyName(name, field);
}

}  // namespace mozuma::states
