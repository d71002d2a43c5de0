// The StateStore conformance suite: one set of tests that pins down the
// contract of service/storage/state_store.h and runs against every
// implementation.
//
// The tests live in state_store_conformance.cc, which each backend's test
// binary compiles in; the binary instantiates them with a factory:
//
//   INSTANTIATE_TEST_SUITE_P(
//       Memory, StateStoreConformanceTest,
//       ::testing::Values(StoreFactory{"Memory", [](HistoryOptions options) {
//         return std::make_unique<MemoryStateStore>(options);
//       }}),
//       StoreFactoryName);
#ifndef MOZUMA_STATES_TESTS_STORAGE_STATE_STORE_CONFORMANCE_H_
#define MOZUMA_STATES_TESTS_STORAGE_STATE_STORE_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "service/storage/state_store.h"

// Fails the test (and returns) unless the absl::Status `expr` is OK.
#define STATES_ASSERT_OK(expr)                              \
  do {                                                      \
    const ::absl::Status states_assert_ok_status_ = (expr); \
    ASSERT_TRUE(states_assert_ok_status_.ok())              \
        << #expr << ": " << states_assert_ok_status_;       \
  } while (0)

// Evaluates the absl::StatusOr<T> `rexpr`; fails the test (and returns)
// unless it is OK, and otherwise moves its value into `lhs`, which may be a
// declaration.
#define STATES_ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  STATES_ASSERT_OK_AND_ASSIGN_IMPL_(            \
      STATES_CONFORMANCE_CONCAT_(states_statusor_, __LINE__), lhs, rexpr)
#define STATES_CONFORMANCE_CONCAT_INNER_(a, b) a##b
#define STATES_CONFORMANCE_CONCAT_(a, b) STATES_CONFORMANCE_CONCAT_INNER_(a, b)
#define STATES_ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr)      \
  auto statusor = (rexpr);                                           \
  ASSERT_TRUE(statusor.ok()) << #rexpr << ": " << statusor.status(); \
  lhs = std::move(statusor).value()

namespace mozuma::states {

// Matches a protobuf message equal to `expected` (maps compared as maps).
MATCHER_P(EqualsProto, expected,
          std::string(negation ? "differs from " : "equals ") +
              expected.ShortDebugString()) {
  std::string differences;
  ::google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&differences);
  if (differencer.Compare(arg, expected)) return true;
  *result_listener << "which is " << arg.ShortDebugString()
                   << "\ndifferences:\n"
                   << differences;
  return false;
}

// Makes a new, empty store of one implementation. Every call must return
// an independent store (its own database), so that tests do not see each
// other's states.
struct StoreFactory {
  // The test name suffix: letters, digits and `_` only.
  std::string name;
  std::function<std::unique_ptr<StateStore>(HistoryOptions)> make;
};

// For gtest's parameter names and failure messages.
std::string StoreFactoryName(
    const ::testing::TestParamInfo<StoreFactory>& info);
void PrintTo(const StoreFactory& factory, std::ostream* os);

// Each test starts with `store_`, a fresh store with the default history.
class StateStoreConformanceTest
    : public ::testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override;

  // Another fresh store, with `options`.
  std::unique_ptr<StateStore> MakeStore(HistoryOptions options = {}) const;

  std::unique_ptr<StateStore> store_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_TESTS_STORAGE_STATE_STORE_CONFORMANCE_H_
