// Projections of violation lists, for matchers such as ElementsAre.
#ifndef MOZUMA_STATES_TESTS_TESTING_VIOLATIONS_H_
#define MOZUMA_STATES_TESTS_TESTING_VIOLATIONS_H_

#include <string>
#include <vector>

#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// The `field` of each violation, in order.
inline std::vector<std::string> Fields(
    const std::vector<v1::Violation>& violations) {
  std::vector<std::string> fields;
  for (const v1::Violation& violation : violations) {
    fields.push_back(violation.field());
  }
  return fields;
}

// The `reason` of each violation, in order.
inline std::vector<v1::ViolationReason> Reasons(
    const std::vector<v1::Violation>& violations) {
  std::vector<v1::ViolationReason> reasons;
  for (const v1::Violation& violation : violations) {
    reasons.push_back(violation.reason());
  }
  return reasons;
}

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_TESTS_TESTING_VIOLATIONS_H_
