// Builders for the state messages that every test needs.
#ifndef MOZUMA_STATES_TESTS_TESTING_STATE_BUILDERS_H_
#define MOZUMA_STATES_TESTS_TESTING_STATE_BUILDERS_H_

#include <string>
#include <utility>
#include <vector>

#include "mozuma/states/v1/state.pb.h"

namespace mozuma::states {

inline v1::StateType MakeStateType(std::string backend,
                                   std::string architecture,
                                   std::vector<std::string> extras = {}) {
  v1::StateType state_type;
  state_type.set_backend(std::move(backend));
  state_type.set_architecture(std::move(architecture));
  for (std::string& extra : extras) state_type.add_extra(std::move(extra));
  return state_type;
}

inline v1::StateKey MakeStateKey(v1::StateType state_type,
                                 std::string training_id) {
  v1::StateKey state_key;
  *state_key.mutable_state_type() = std::move(state_type);
  state_key.set_training_id(std::move(training_id));
  return state_key;
}

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_TESTS_TESTING_STATE_BUILDERS_H_
