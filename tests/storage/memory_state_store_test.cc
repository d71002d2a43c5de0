// MemoryStateStore against the StateStore conformance suite.
#include "service/storage/memory_state_store.h"

#include <memory>

#include "gtest/gtest.h"
#include "service/storage/state_store.h"
#include "tests/storage/state_store_conformance.h"

namespace mozuma::states {
namespace {

INSTANTIATE_TEST_SUITE_P(
    Memory, StateStoreConformanceTest,
    ::testing::Values(StoreFactory{
        "Memory",
        [](HistoryOptions options) -> std::unique_ptr<StateStore> {
          return std::make_unique<MemoryStateStore>(options);
        }}),
    StoreFactoryName);

}  // namespace
}  // namespace mozuma::states
