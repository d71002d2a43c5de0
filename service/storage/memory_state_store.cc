#include "service/storage/memory_state_store.h"

#include <utility>

#include "absl/time/time.h"
#include "core/state_names.h"
#include "core/state_record.h"
#include "google/protobuf/util/time_util.h"
#include "service/storage/store_errors.h"
#include "service/storage/token_key.h"

namespace mozuma::states {

MemoryStateStore::MemoryStateStore(HistoryOptions options)
    : options_(options), token_key_(NewTokenKey()) {}

void MemoryStateStore::AppendChange(v1::StateEvent::Type type,
                                    const v1::State& state) {
  v1::StateEvent& event = changes_.emplace_back();
  event.set_type(type);
  *event.mutable_state() = state;
  event.set_revision(revision_);
  while (static_cast<std::int64_t>(changes_.size()) > options_.history) {
    changes_.pop_front();
  }
}

absl::StatusOr<RegisterResult> MemoryStateStore::Register(
    const v1::State& state, bool allow_overwrite, absl::Time now) {
  const std::string sort_key = SortKey(state.state_key());
  const google::protobuf::Timestamp timestamp =
      google::protobuf::util::TimeUtil::NanosecondsToTimestamp(
          absl::ToUnixNanos(now));
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = states_.find(sort_key);
  RegisterResult result;
  if (it != states_.end()) {
    if (SameContent(it->second, state)) {
      result.state = it->second;
      return result;
    }
    if (!allow_overwrite) return StateAlreadyExistsError(it->second);
  }
  v1::State stored = ContentOnly(state);
  stored.set_name(FormatStateKey(state.state_key()));
  *stored.mutable_create_time() =
      it == states_.end() ? timestamp : it->second.create_time();
  *stored.mutable_update_time() = timestamp;
  stored.set_revision(++revision_);
  result.created = it == states_.end();
  result.changed = true;
  AppendChange(result.created ? v1::StateEvent::TYPE_ADDED
                              : v1::StateEvent::TYPE_UPDATED,
               stored);
  states_[sort_key] = stored;
  result.state = std::move(stored);
  return result;
}

absl::StatusOr<DeleteResult> MemoryStateStore::Delete(
    const v1::StateKey& key, std::int64_t expected_revision) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = states_.find(SortKey(key));
  if (it == states_.end()) return StateNotFoundError(key);
  if (expected_revision > 0 && it->second.revision() != expected_revision) {
    return RevisionMismatchError(it->second, expected_revision);
  }
  DeleteResult result;
  result.state = std::move(it->second);
  states_.erase(it);
  result.revision = ++revision_;
  AppendChange(v1::StateEvent::TYPE_DELETED, result.state);
  return result;
}

absl::StatusOr<v1::State> MemoryStateStore::Get(const v1::StateKey& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = states_.find(SortKey(key));
  if (it == states_.end()) return StateNotFoundError(key);
  return it->second;
}

absl::StatusOr<BatchGetResult> MemoryStateStore::BatchGet(
    const std::vector<v1::StateKey>& keys) {
  BatchGetResult result;
  result.states.reserve(keys.size());
  std::lock_guard<std::mutex> lock(mutex_);
  for (const v1::StateKey& key : keys) {
    auto it = states_.find(SortKey(key));
    if (it == states_.end()) {
      result.states.emplace_back(std::nullopt);
    } else {
      result.states.emplace_back(it->second);
    }
  }
  result.revision = revision_;
  return result;
}

absl::StatusOr<ListResult> MemoryStateStore::List(const StateFilter& filter,
                                                  absl::string_view after,
                                                  std::size_t limit) {
  ListResult result;
  std::lock_guard<std::mutex> lock(mutex_);
  result.revision = revision_;
  for (auto it = states_.upper_bound(std::string(after)); it != states_.end();
       ++it) {
    if (!Matches(filter, it->second.state_key())) continue;
    if (result.states.size() == limit) {
      result.more = true;
      break;
    }
    result.states.push_back(it->second);
  }
  return result;
}

absl::StatusOr<ChangeBatch> MemoryStateStore::ReadChanges(
    std::int64_t after_revision, const StateFilter& filter,
    std::size_t limit) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (after_revision > revision_) {
    return FutureRevisionError(after_revision, revision_);
  }
  // The history holds revisions (revision_ - changes_.size(), revision_].
  const std::int64_t oldest =
      revision_ - static_cast<std::int64_t>(changes_.size());
  if (after_revision < oldest) {
    return HistoryCompactedError(after_revision, oldest);
  }
  ChangeBatch batch;
  batch.scanned_through = after_revision;
  std::size_t index = static_cast<std::size_t>(after_revision - oldest);
  for (std::size_t scanned = 0; index < changes_.size() && scanned < limit;
       ++index, ++scanned) {
    const v1::StateEvent& event = changes_[index];
    if (Matches(filter, event.state().state_key())) {
      batch.events.push_back(event);
    }
    batch.scanned_through = event.revision();
  }
  return batch;
}

absl::StatusOr<std::int64_t> MemoryStateStore::CurrentRevision() {
  std::lock_guard<std::mutex> lock(mutex_);
  return revision_;
}

}  // namespace mozuma::states
