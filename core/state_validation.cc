#include "core/state_validation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace mozuma::states {

void AppendNameViolations(absl::string_view name, absl::string_view field,
                          const NameRules& rules,
                          std::vector<v1::Violation>& violations) {
  for (NameProblem& problem : CheckName(name, rules)) {
    v1::Violation& violation = violations.emplace_back();
    violation.set_field(std::string(field));
    violation.set_value(PrintableValue(name));
    violation.set_reason(problem.reason);
    violation.set_description(std::move(problem.description));
  }
}

v1::Violation MakeViolation(absl::string_view field, absl::string_view value,
                            v1::ViolationReason reason,
                            std::string description) {
  v1::Violation violation;
  violation.set_field(std::string(field));
  violation.set_value(PrintableValue(value));
  violation.set_reason(reason);
  violation.set_description(std::move(description));
  return violation;
}

void AppendEnumViolation(const google::protobuf::EnumDescriptor& type,
                         int value, absl::string_view field,
                         absl::string_view usage,
                         std::vector<v1::Violation>& violations) {
  if (type.FindValueByNumber(value) != nullptr) return;
  std::vector<std::string> declared;
  declared.reserve(type.value_count());
  for (int i = 0; i < type.value_count(); ++i) {
    declared.push_back(absl::StrCat(type.value(i)->name(), " (",
                                    type.value(i)->number(), ")"));
  }
  // "A, B or C": the values are listed in declaration order.
  std::string choices = declared.empty() ? "" : declared.back();
  if (declared.size() > 1) {
    declared.pop_back();
    choices = absl::StrCat(absl::StrJoin(declared, ", "), " or ", choices);
  }
  std::string description =
      absl::StrCat("is ", value, ", which is not a value of ", type.name(),
                   ": use ", choices);
  if (!usage.empty()) absl::StrAppend(&description, "; ", usage);
  violations.push_back(MakeViolation(field, absl::StrCat(value),
                                     v1::VIOLATION_REASON_UNKNOWN_ENUM_VALUE,
                                     std::move(description)));
}

v1::Violation TooManyExtrasViolation(absl::string_view field,
                                     std::size_t extras,
                                     const NameRules& rules) {
  v1::Violation violation;
  violation.set_field(std::string(field));
  violation.set_value(absl::StrCat(extras));
  violation.set_reason(v1::VIOLATION_REASON_TOO_MANY_EXTRAS);
  violation.set_description(
      absl::StrFormat("has %d elements; a state type has at most %d extras",
                      extras, rules.max_extras));
  return violation;
}

std::vector<v1::Violation> ValidateStateType(const v1::StateType& state_type,
                                             const NameRules& rules,
                                             absl::string_view prefix) {
  std::vector<v1::Violation> violations;
  AppendNameViolations(state_type.backend(), absl::StrCat(prefix, "backend"),
                       rules, violations);
  AppendNameViolations(state_type.architecture(),
                       absl::StrCat(prefix, "architecture"), rules, violations);
  const std::size_t extras = state_type.extra_size();
  if (extras > rules.max_extras) {
    violations.push_back(
        TooManyExtrasViolation(absl::StrCat(prefix, "extra"), extras, rules));
    // The elements are not checked one by one: a request could otherwise
    // make the response grow without bound.
    return violations;
  }
  for (std::size_t i = 0; i < extras; ++i) {
    AppendNameViolations(state_type.extra(i),
                         absl::StrCat(prefix, "extra[", i, "]"), rules,
                         violations);
  }
  return violations;
}

std::vector<v1::Violation> ValidateStateKey(const v1::StateKey& state_key,
                                            const NameRules& rules,
                                            absl::string_view prefix) {
  std::vector<v1::Violation> violations;
  if (!state_key.has_state_type()) {
    v1::Violation& violation = violations.emplace_back();
    violation.set_field(absl::StrCat(prefix, "state_type"));
    violation.set_reason(v1::VIOLATION_REASON_MISSING);
    violation.set_description("is required");
  } else {
    violations = ValidateStateType(state_key.state_type(), rules,
                                   absl::StrCat(prefix, "state_type."));
  }
  AppendNameViolations(state_key.training_id(),
                       absl::StrCat(prefix, "training_id"), rules, violations);
  return violations;
}

v1::ValidationResult MakeValidationResult(std::vector<v1::Violation> violations,
                                          std::string name) {
  v1::ValidationResult result;
  result.set_valid(violations.empty());
  if (violations.empty()) {
    result.set_name(std::move(name));
  } else {
    for (v1::Violation& violation : violations) {
      *result.add_violations() = std::move(violation);
    }
  }
  return result;
}

}  // namespace mozuma::states
