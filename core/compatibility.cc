#include "core/compatibility.h"

#include <algorithm>

namespace mozuma::states {

bool IsCompatible(const v1::StateType& a, const v1::StateType& b) {
  return a.backend() == b.backend() && a.architecture() == b.architecture();
}

v1::CompatibilityResult CompareStateTypes(const v1::StateType& state_type,
                                          const v1::StateType& candidate) {
  v1::CompatibilityResult result;
  if (state_type.backend() != candidate.backend()) {
    result.add_differing_fields("backend");
  }
  if (state_type.architecture() != candidate.architecture()) {
    result.add_differing_fields("architecture");
  }
  if (!std::equal(state_type.extra().begin(), state_type.extra().end(),
                  candidate.extra().begin(), candidate.extra().end())) {
    result.add_differing_fields("extra");
  }
  if (result.differing_fields().empty()) {
    result.set_compatibility(v1::COMPATIBILITY_EXACT);
  } else if (IsCompatible(state_type, candidate)) {
    result.set_compatibility(v1::COMPATIBILITY_COMPATIBLE);
  } else {
    result.set_compatibility(v1::COMPATIBILITY_INCOMPATIBLE);
  }
  return result;
}

}  // namespace mozuma::states
