// A StateStore held in memory: nothing survives the process. For tests and
// throwaway servers (`statesd --db=memory:`); it also keeps the
// StateStore interface honest by being a second implementation.
#ifndef MOZUMA_STATES_SERVICE_STORAGE_MEMORY_STATE_STORE_H_
#define MOZUMA_STATES_SERVICE_STORAGE_MEMORY_STATE_STORE_H_

#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "service/storage/state_store.h"

namespace mozuma::states {

class MemoryStateStore final : public StateStore {
 public:
  explicit MemoryStateStore(HistoryOptions options = {});

  absl::StatusOr<RegisterResult> Register(const v1::State& state,
                                          bool allow_overwrite,
                                          absl::Time now) override;
  absl::StatusOr<DeleteResult> Delete(const v1::StateKey& key,
                                      std::int64_t expected_revision) override;
  absl::StatusOr<v1::State> Get(const v1::StateKey& key) override;
  absl::StatusOr<BatchGetResult> BatchGet(
      const std::vector<v1::StateKey>& keys) override;
  absl::StatusOr<ListResult> List(const StateFilter& filter,
                                  absl::string_view after,
                                  std::size_t limit) override;
  absl::StatusOr<ChangeBatch> ReadChanges(std::int64_t after_revision,
                                          const StateFilter& filter,
                                          std::size_t limit) override;
  absl::StatusOr<std::int64_t> CurrentRevision() override;
  std::string PageTokenKey() const override { return token_key_; }

 private:
  // Records `event` at the next revision and drops history beyond
  // `options_.history`. Requires mutex_.
  void AppendChange(v1::StateEvent::Type type, const v1::State& state);

  const HistoryOptions options_;
  const std::string token_key_;
  std::mutex mutex_;
  std::map<std::string, v1::State> states_;  // by SortKey(); guarded
  std::deque<v1::StateEvent> changes_;       // oldest first; guarded
  std::int64_t revision_ = 0;                // guarded
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_STORAGE_MEMORY_STATE_STORE_H_
