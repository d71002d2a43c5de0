// The StateStore conformance suite (state_store_conformance.h). Every test
// states one clause of the contract in service/storage/state_store.h.
#include "tests/storage/state_store_conformance.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "core/errors.h"
#include "core/state_filter.h"
#include "core/state_record.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"
#include "tests/testing/listing_order.h"
#include "tests/testing/state_builders.h"

namespace mozuma::states {

std::string StoreFactoryName(
    const ::testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

void PrintTo(const StoreFactory& factory, std::ostream* os) {
  *os << factory.name;
}

void StateStoreConformanceTest::SetUp() {
  store_ = MakeStore();
  ASSERT_NE(store_, nullptr);
}

std::unique_ptr<StateStore> StateStoreConformanceTest::MakeStore(
    HistoryOptions options) const {
  return GetParam().make(options);
}

namespace {

using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// Nanosecond precision on purpose: the store must keep `now` exactly.
absl::Time Time1() { return absl::FromUnixNanos(1700000000123456789); }
absl::Time Time2() { return absl::FromUnixNanos(1700000100987654321); }
absl::Time Time3() { return absl::FromUnixNanos(1700000200000000001); }

std::int64_t Nanos(const google::protobuf::Timestamp& timestamp) {
  return TimeUtil::TimestampToNanoseconds(timestamp);
}

v1::StateKey Key(std::string backend, std::string architecture,
                 std::vector<std::string> extras, std::string training_id) {
  return MakeStateKey(MakeStateType(std::move(backend), std::move(architecture),
                                    std::move(extras)),
                      std::move(training_id));
}

// The key most tests use; its dotted form is kName.
v1::StateKey ResnetKey() {
  return Key("pytorch", "resnet18", {"cls1000"}, "imagenet");
}
constexpr char kName[] = "pytorch.resnet18.cls1000.imagenet";

v1::State MakeState(const v1::StateKey& key, std::string uri) {
  v1::State state;
  *state.mutable_state_key() = key;
  state.set_uri(std::move(uri));
  return state;
}

// A state with every content field set.
v1::State FullState(const v1::StateKey& key) {
  v1::State state = MakeState(key, "file:///srv/states/weights.pt");
  state.set_sha256(std::string(64, 'a'));
  state.set_size_bytes(44'700'000);
  (*state.mutable_labels())["framework_version"] = "2.1";
  (*state.mutable_labels())["\xE6\xA8\xA1\xE5\x9E\x8B"] = "\xC3\xA9t\xC3\xA9";
  (*state.mutable_labels())["empty"] = "";
  return state;
}

std::vector<std::string> Names(const std::vector<v1::State>& states) {
  std::vector<std::string> names;
  for (const v1::State& state : states) names.push_back(state.name());
  return names;
}

std::string ReasonOf(const absl::Status& status) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  return info.has_value() ? info->reason() : "<no ErrorInfo>";
}

std::string MetadataOf(const absl::Status& status, const std::string& key) {
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (!info.has_value()) return "<no ErrorInfo>";
  auto it = info->metadata().find(key);
  return it == info->metadata().end() ? "<no " + key + ">" : it->second;
}

// Every matching state, in one call.
StateFilter AnyState() { return StateFilter(); }

StateFilter Compatible(v1::StateType state_type) {
  StateFilter filter;
  filter.state_type = std::move(state_type);
  return filter;
}

StateFilter Exact(v1::StateType state_type) {
  StateFilter filter;
  filter.state_type = std::move(state_type);
  filter.exact = true;
  return filter;
}

StateFilter WithTrainingId(StateFilter filter, std::string training_id) {
  filter.training_id = std::move(training_id);
  return filter;
}

// Waits until `count` threads have arrived, so that they start together.
class StartGate {
 public:
  explicit StartGate(int count) : count_(count) {}
  void ArriveAndWait() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (--count_ == 0) {
      ready_.notify_all();
    } else {
      ready_.wait(lock, [this] { return count_ == 0; });
    }
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  int count_;
};

// Runs `call(t)` for t in [0, threads) on as many threads, started together,
// and returns the results in thread order.
template <typename Result>
std::vector<Result> RunTogether(int threads,
                                const std::function<Result(int)>& call) {
  StartGate gate(threads);
  std::vector<Result> results(threads, absl::UnknownError("not run"));
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      gate.ArriveAndWait();
      results[t] = call(t);
    });
  }
  for (std::thread& thread : running) thread.join();
  return results;
}

// Stops and joins threads when it goes out of scope, also when an ASSERT
// returns early from the test.
class ThreadJoiner {
 public:
  ThreadJoiner(std::atomic<bool>& done, std::vector<std::thread>& threads)
      : done_(done), threads_(threads) {}
  ~ThreadJoiner() {
    done_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

 private:
  std::atomic<bool>& done_;
  std::vector<std::thread>& threads_;
};

// Registers a state with a distinct URI for each of `keys`, at Time1().
void RegisterAll(StateStore& store, const std::vector<v1::StateKey>& keys) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    STATES_ASSERT_OK_AND_ASSIGN(
        RegisterResult result,
        store.Register(MakeState(keys[i], absl::StrCat("file:///k/", i)), false,
                       Time1()));
    ASSERT_TRUE(result.created) << keys[i].ShortDebugString();
  }
}

// Lists every state matching `filter` in one call.
void ListAll(StateStore& store, const StateFilter& filter,
             std::vector<v1::State>* states) {
  STATES_ASSERT_OK_AND_ASSIGN(ListResult page, store.List(filter, "", 100000));
  EXPECT_FALSE(page.more);
  *states = std::move(page.states);
}

// Follows pages of `page_size` from the start, passing the SortKey() of the
// last state of each page as the next `after`, and checks `more` on the
// way: every page but the last is full and says more, the last says no
// more, and no page after the first is empty.
void WalkPages(StateStore& store, const StateFilter& filter,
               std::size_t page_size, std::vector<v1::State>* states) {
  states->clear();
  std::string after;
  for (int page_number = 0;; ++page_number) {
    ASSERT_LT(page_number, 100000) << "the listing does not end";
    STATES_ASSERT_OK_AND_ASSIGN(ListResult page,
                                store.List(filter, after, page_size));
    ASSERT_LE(page.states.size(), page_size);
    if (page_number > 0) {
      ASSERT_FALSE(page.states.empty())
          << "the previous page said more states follow, but page "
          << page_number << " is empty";
    }
    for (v1::State& state : page.states) states->push_back(std::move(state));
    if (!page.more) return;
    ASSERT_EQ(page.states.size(), page_size)
        << "a page that says more follow must be full";
    after = SortKey(states->back().state_key());
  }
}

// Reads every change after `after_revision` in calls of at most `limit`,
// up to the store's current revision.
void ReadAllChanges(StateStore& store, std::int64_t after_revision,
                    const StateFilter& filter, std::size_t limit,
                    std::vector<v1::StateEvent>* events) {
  events->clear();
  STATES_ASSERT_OK_AND_ASSIGN(const std::int64_t current,
                              store.CurrentRevision());
  std::int64_t scanned = after_revision;
  while (scanned < current) {
    STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch batch,
                                store.ReadChanges(scanned, filter, limit));
    ASSERT_GT(batch.scanned_through, scanned)
        << "changes remain but scanned_through did not advance";
    ASSERT_LE(batch.scanned_through, scanned + static_cast<std::int64_t>(limit))
        << "examined more than `limit` changes";
    for (v1::StateEvent& event : batch.events) {
      ASSERT_GT(event.revision(), scanned);
      ASSERT_LE(event.revision(), batch.scanned_through);
      events->push_back(std::move(event));
    }
    scanned = batch.scanned_through;
  }
  ASSERT_EQ(scanned, current);
}

// ---------------------------------------------------------------------------
// A new store.

TEST_P(StateStoreConformanceTest, NewStoreIsEmptyAtRevisionZero) {
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 0);

  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store_->List(AnyState(), "", 100));
  EXPECT_THAT(list.states, IsEmpty());
  EXPECT_FALSE(list.more);
  EXPECT_EQ(list.revision, 0);

  STATES_ASSERT_OK_AND_ASSIGN(BatchGetResult batch,
                              store_->BatchGet({ResnetKey()}));
  ASSERT_THAT(batch.states, SizeIs(1));
  EXPECT_FALSE(batch.states[0].has_value());
  EXPECT_EQ(batch.revision, 0);

  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(0, AnyState(), 100));
  EXPECT_THAT(changes.events, IsEmpty());
  EXPECT_EQ(changes.scanned_through, 0);
}

// ---------------------------------------------------------------------------
// Register.

TEST_P(StateStoreConformanceTest, RegisterCreatesAndSetsOutputOnlyFields) {
  const v1::State input = FullState(ResnetKey());
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult result,
                              store_->Register(input, false, Time1()));
  EXPECT_TRUE(result.created);
  EXPECT_TRUE(result.changed);
  EXPECT_EQ(result.state.name(), kName);
  EXPECT_EQ(Nanos(result.state.create_time()), absl::ToUnixNanos(Time1()));
  EXPECT_EQ(Nanos(result.state.update_time()), absl::ToUnixNanos(Time1()));
  EXPECT_EQ(result.state.revision(), 1);
  EXPECT_THAT(ContentOnly(result.state), EqualsProto(input));

  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(result.state));
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 1);

  // The next key takes the next revision and its own times.
  const v1::StateKey other = Key("pytorch", "resnet18", {}, "imagenet");
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult second,
      store_->Register(MakeState(other, "s3://bucket/r18.pt"), false, Time2()));
  EXPECT_TRUE(second.created);
  EXPECT_TRUE(second.changed);
  EXPECT_EQ(second.state.name(), "pytorch.resnet18.imagenet");
  EXPECT_EQ(second.state.revision(), 2);
  EXPECT_EQ(Nanos(second.state.create_time()), absl::ToUnixNanos(Time2()));
  EXPECT_EQ(Nanos(second.state.update_time()), absl::ToUnixNanos(Time2()));
  EXPECT_FALSE(second.state.has_size_bytes());
  EXPECT_THAT(second.state.labels(), IsEmpty());
  STATES_ASSERT_OK_AND_ASSIGN(revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 2);
  // The first state is unchanged.
  STATES_ASSERT_OK_AND_ASSIGN(stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(result.state));
}

TEST_P(StateStoreConformanceTest, RegisterIgnoresOutputOnlyFieldsOfInput) {
  v1::State input = FullState(ResnetKey());
  input.set_name("tensorflow.other.name");
  input.set_revision(42);
  *input.mutable_create_time() = TimeUtil::SecondsToTimestamp(1);
  *input.mutable_update_time() = TimeUtil::SecondsToTimestamp(2);
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult result,
                              store_->Register(input, false, Time1()));
  EXPECT_TRUE(result.created);
  EXPECT_EQ(result.state.name(), kName);
  EXPECT_EQ(result.state.revision(), 1);
  EXPECT_EQ(Nanos(result.state.create_time()), absl::ToUnixNanos(Time1()));
  EXPECT_EQ(Nanos(result.state.update_time()), absl::ToUnixNanos(Time1()));
  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(result.state));
}

TEST_P(StateStoreConformanceTest, RegisterKeepsEveryContentField) {
  v1::State input = FullState(ResnetKey());
  input.set_uri("https://example.com/w/r%C3%A9snet.pt?x=1&y=%20#frag");
  input.set_size_bytes(std::int64_t{1} << 50);
  input.clear_labels();
  // The most labels a state may have, each with the longest value.
  for (int i = 0; i < 64; ++i) {
    (*input.mutable_labels())[absl::StrCat("k", i)] =
        std::string(1024, static_cast<char>('a' + i % 26));
  }
  input.mutable_labels()->erase("k0");
  (*input.mutable_labels())["k0"] = "\xF0\x9D\x94\xB8 \xE6\xA8\xA1";
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult result,
                              store_->Register(input, false, Time1()));
  EXPECT_THAT(ContentOnly(result.state), EqualsProto(input));
  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(ContentOnly(stored), EqualsProto(input));
}

TEST_P(StateStoreConformanceTest, RegisterSameContentIsANoOp) {
  const v1::State input = FullState(ResnetKey());
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult first,
                              store_->Register(input, false, Time1()));

  // The same content, with the labels inserted in the opposite order and
  // junk in the output-only fields, at a later time.
  v1::State retry = MakeState(ResnetKey(), input.uri());
  retry.set_sha256(input.sha256());
  retry.set_size_bytes(input.size_bytes());
  std::vector<std::pair<std::string, std::string>> labels(
      input.labels().begin(), input.labels().end());
  std::sort(labels.rbegin(), labels.rend());
  for (const auto& [key, value] : labels)
    (*retry.mutable_labels())[key] = value;
  retry.set_name("junk");
  retry.set_revision(99);
  *retry.mutable_update_time() = TimeUtil::SecondsToTimestamp(5);

  for (bool allow_overwrite : {false, true}) {
    SCOPED_TRACE(absl::StrCat("allow_overwrite=", allow_overwrite));
    STATES_ASSERT_OK_AND_ASSIGN(
        RegisterResult again,
        store_->Register(retry, allow_overwrite, Time2()));
    EXPECT_FALSE(again.created);
    EXPECT_FALSE(again.changed);
    EXPECT_THAT(again.state, EqualsProto(first.state));
    EXPECT_EQ(again.state.revision(), 1);
    EXPECT_EQ(Nanos(again.state.update_time()), absl::ToUnixNanos(Time1()));
  }
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 1);
  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(first.state));
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(0, AnyState(), 100));
  EXPECT_THAT(changes.events, SizeIs(1));
}

TEST_P(StateStoreConformanceTest, RegisterDifferentContentIsAlreadyExists) {
  const v1::State input = FullState(ResnetKey());
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult first,
                              store_->Register(input, false, Time1()));

  struct Variant {
    std::string what;
    v1::State state;
  };
  std::vector<Variant> variants;
  auto add = [&](std::string what, auto change) {
    v1::State state = input;
    change(state);
    variants.push_back({std::move(what), std::move(state)});
  };
  add("uri", [](v1::State& s) { s.set_uri("file:///srv/states/other.pt"); });
  add("uri case",
      [](v1::State& s) { s.set_uri("FILE:///srv/states/weights.pt"); });
  add("sha256", [](v1::State& s) { s.set_sha256(std::string(64, 'b')); });
  add("sha256 cleared", [](v1::State& s) { s.clear_sha256(); });
  add("size_bytes", [](v1::State& s) { s.set_size_bytes(1); });
  add("size_bytes 0", [](v1::State& s) { s.set_size_bytes(0); });
  add("size_bytes unset", [](v1::State& s) { s.clear_size_bytes(); });
  add("label value",
      [](v1::State& s) { (*s.mutable_labels())["framework_version"] = "2.2"; });
  add("empty label value",
      [](v1::State& s) { (*s.mutable_labels())["empty"] = " "; });
  add("label added", [](v1::State& s) { (*s.mutable_labels())["new"] = "x"; });
  add("label removed",
      [](v1::State& s) { s.mutable_labels()->erase("empty"); });
  add("label key renamed", [](v1::State& s) {
    s.mutable_labels()->erase("empty");
    (*s.mutable_labels())["empty2"] = "";
  });
  add("labels cleared", [](v1::State& s) { s.clear_labels(); });

  for (const Variant& variant : variants) {
    SCOPED_TRACE(variant.what);
    absl::StatusOr<RegisterResult> result =
        store_->Register(variant.state, false, Time2());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists)
        << result.status();
    EXPECT_EQ(ReasonOf(result.status()), "STATE_ALREADY_EXISTS");
    EXPECT_EQ(MetadataOf(result.status(), "name"), kName);
    EXPECT_EQ(MetadataOf(result.status(), "revision"), "1");
  }
  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(first.state));
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 1);
}

TEST_P(StateStoreConformanceTest, AlreadyExistsReportsTheCurrentRevision) {
  const v1::State input = FullState(ResnetKey());
  STATES_ASSERT_OK(store_->Register(input, false, Time1()).status());
  STATES_ASSERT_OK(
      store_
          ->Register(MakeState(Key("a", "b", {}, "c"), "file:///x"), false,
                     Time1())
          .status());
  v1::State replacement = input;
  replacement.set_uri("file:///replaced");
  STATES_ASSERT_OK(store_->Register(replacement, true, Time2()).status());
  absl::StatusOr<RegisterResult> result =
      store_->Register(input, false, Time3());
  ASSERT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(MetadataOf(result.status(), "revision"), "3");
}

TEST_P(StateStoreConformanceTest, SizeBytesUnsetAndZeroAreDifferentContent) {
  const v1::StateKey unset_key = Key("pytorch", "unset", {}, "t");
  const v1::StateKey zero_key = Key("pytorch", "zero", {}, "t");
  v1::State unset = MakeState(unset_key, "file:///w");
  v1::State zero = MakeState(zero_key, "file:///w");
  zero.set_size_bytes(0);
  STATES_ASSERT_OK(store_->Register(unset, false, Time1()).status());
  STATES_ASSERT_OK(store_->Register(zero, false, Time1()).status());

  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(unset_key));
  EXPECT_FALSE(stored.has_size_bytes());
  STATES_ASSERT_OK_AND_ASSIGN(stored, store_->Get(zero_key));
  EXPECT_TRUE(stored.has_size_bytes());
  EXPECT_EQ(stored.size_bytes(), 0);

  v1::State unset_as_zero = unset;
  unset_as_zero.set_size_bytes(0);
  EXPECT_EQ(store_->Register(unset_as_zero, false, Time2()).status().code(),
            absl::StatusCode::kAlreadyExists);
  v1::State zero_as_unset = zero;
  zero_as_unset.clear_size_bytes();
  EXPECT_EQ(store_->Register(zero_as_unset, false, Time2()).status().code(),
            absl::StatusCode::kAlreadyExists);

  // Overwriting switches presence both ways.
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult result,
                              store_->Register(unset_as_zero, true, Time2()));
  EXPECT_TRUE(result.changed);
  EXPECT_TRUE(result.state.has_size_bytes());
  STATES_ASSERT_OK_AND_ASSIGN(result,
                              store_->Register(zero_as_unset, true, Time2()));
  EXPECT_TRUE(result.changed);
  EXPECT_FALSE(result.state.has_size_bytes());
  STATES_ASSERT_OK_AND_ASSIGN(stored, store_->Get(unset_key));
  EXPECT_TRUE(stored.has_size_bytes());
  EXPECT_EQ(stored.size_bytes(), 0);
  STATES_ASSERT_OK_AND_ASSIGN(stored, store_->Get(zero_key));
  EXPECT_FALSE(stored.has_size_bytes());
}

TEST_P(StateStoreConformanceTest, AllowOverwriteReplacesTheWholeRecord) {
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult first,
      store_->Register(FullState(ResnetKey()), false, Time1()));
  const v1::StateKey other_key = Key("pytorch", "resnet50", {}, "imagenet");
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult other,
      store_->Register(MakeState(other_key, "file:///other"), false, Time1()));

  // No sha256, no size, other labels: nothing of the old record survives.
  v1::State replacement = MakeState(ResnetKey(), "s3://bucket/new.pt");
  (*replacement.mutable_labels())["only"] = "this";
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult replaced,
                              store_->Register(replacement, true, Time2()));
  EXPECT_FALSE(replaced.created);
  EXPECT_TRUE(replaced.changed);
  EXPECT_EQ(replaced.state.name(), kName);
  EXPECT_EQ(replaced.state.revision(), 3);
  EXPECT_EQ(Nanos(replaced.state.create_time()), absl::ToUnixNanos(Time1()));
  EXPECT_EQ(Nanos(replaced.state.update_time()), absl::ToUnixNanos(Time2()));
  EXPECT_THAT(ContentOnly(replaced.state), EqualsProto(replacement));

  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(replaced.state));
  STATES_ASSERT_OK_AND_ASSIGN(stored, store_->Get(other_key));
  EXPECT_THAT(stored, EqualsProto(other.state));
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 3);

  // A second replacement keeps the first create_time still.
  replacement.set_uri("s3://bucket/newer.pt");
  STATES_ASSERT_OK_AND_ASSIGN(replaced,
                              store_->Register(replacement, true, Time3()));
  EXPECT_EQ(replaced.state.revision(), 4);
  EXPECT_EQ(Nanos(replaced.state.create_time()), absl::ToUnixNanos(Time1()));
  EXPECT_EQ(Nanos(replaced.state.update_time()), absl::ToUnixNanos(Time3()));

  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(2, AnyState(), 100));
  ASSERT_THAT(changes.events, SizeIs(2));
  EXPECT_EQ(changes.events[0].type(), v1::StateEvent::TYPE_UPDATED);
  EXPECT_EQ(changes.events[0].revision(), 3);
  EXPECT_EQ(changes.events[1].type(), v1::StateEvent::TYPE_UPDATED);
  EXPECT_THAT(changes.events[1].state(), EqualsProto(replaced.state));
}

TEST_P(StateStoreConformanceTest, AllowOverwriteOfANewKeyCreatesIt) {
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult result,
      store_->Register(FullState(ResnetKey()), true, Time1()));
  EXPECT_TRUE(result.created);
  EXPECT_TRUE(result.changed);
  EXPECT_EQ(result.state.revision(), 1);
  EXPECT_EQ(Nanos(result.state.create_time()), absl::ToUnixNanos(Time1()));
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(0, AnyState(), 100));
  ASSERT_THAT(changes.events, SizeIs(1));
  EXPECT_EQ(changes.events[0].type(), v1::StateEvent::TYPE_ADDED);
}

// ---------------------------------------------------------------------------
// Get and BatchGet.

TEST_P(StateStoreConformanceTest, GetOfAnAbsentKeyIsNotFound) {
  absl::StatusOr<v1::State> missing = store_->Get(ResnetKey());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound)
      << missing.status();
  EXPECT_EQ(ReasonOf(missing.status()), "STATE_NOT_FOUND");
  EXPECT_EQ(MetadataOf(missing.status(), "name"), kName);

  STATES_ASSERT_OK(
      store_
          ->Register(MakeState(Key("pytorch", "resnet18", {}, "imagenet"),
                               "file:///w"),
                     false, Time1())
          .status());
  missing = store_->Get(ResnetKey());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(MetadataOf(missing.status(), "name"), kName);
}

TEST_P(StateStoreConformanceTest, KeysAreEqualOnlyWhenEveryFieldIs) {
  // Keys that a careless encoding (prefixes, concatenation without
  // separators, extras flattened into the training id) would confuse.
  const std::vector<v1::StateKey> keys = {
      Key("pytorch", "resnet18", {}, "imagenet"),
      Key("pytorch", "resnet18", {"cls1000"}, "imagenet"),
      Key("pytorch", "resnet18", {"cls1000", "x"}, "imagenet"),
      Key("pytorch", "resnet18", {"cls1000x"}, "imagenet"),
      Key("pytorch", "resnet18", {"cls1000"}, "ximagenet"),
      Key("pytorch", "resnet18", {"cls1000"}, "imagenet1k"),
      Key("pytorch", "resnet18", {"imagenet"}, "cls1000"),
      Key("pytorch", "resnet18", {}, "cls1000"),
      Key("pytorch", "resnet180", {}, "imagenet"),
      Key("pytorch", "resnet1", {"8"}, "imagenet"),
      Key("pytorch2", "resnet18", {}, "imagenet"),
      Key("pytorc", "hresnet18", {}, "imagenet"),
      Key("Pytorch", "resnet18", {}, "imagenet"),
      Key("resnet18", "pytorch", {}, "imagenet"),
  };
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, keys));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(keys[i]));
    EXPECT_EQ(stored.uri(), absl::StrCat("file:///k/", i))
        << keys[i].ShortDebugString();
    EXPECT_EQ(stored.revision(), static_cast<std::int64_t>(i) + 1);
  }
  for (const v1::StateKey& absent : {
           Key("pytorch", "resnet18", {"cls"}, "imagenet"),
           Key("pytorch", "resnet1", {}, "imagenet"),
           Key("pytorch", "resnet18", {"cls1000", "x", "y"}, "imagenet"),
           Key("pytorch", "resnet18", {}, "imagenet1k"),
           Key("pytorch", "resnet18", {"x"}, "imagenet"),
       }) {
    EXPECT_EQ(store_->Get(absent).status().code(), absl::StatusCode::kNotFound)
        << absent.ShortDebugString();
  }
}

TEST_P(StateStoreConformanceTest, BatchGetAnswersInRequestOrder) {
  const v1::StateKey a = Key("pytorch", "a", {}, "t");
  const v1::StateKey b = Key("pytorch", "b", {"x"}, "t");
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult stored_a,
      store_->Register(MakeState(a, "file:///a"), false, Time1()));
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult stored_b,
      store_->Register(MakeState(b, "file:///b"), false, Time1()));
  const v1::StateKey missing = Key("pytorch", "b", {}, "t");

  STATES_ASSERT_OK_AND_ASSIGN(BatchGetResult batch,
                              store_->BatchGet({b, missing, a, b, missing, a}));
  ASSERT_THAT(batch.states, SizeIs(6));
  ASSERT_TRUE(batch.states[0].has_value());
  EXPECT_THAT(*batch.states[0], EqualsProto(stored_b.state));
  EXPECT_FALSE(batch.states[1].has_value());
  ASSERT_TRUE(batch.states[2].has_value());
  EXPECT_THAT(*batch.states[2], EqualsProto(stored_a.state));
  ASSERT_TRUE(batch.states[3].has_value());
  EXPECT_THAT(*batch.states[3], EqualsProto(stored_b.state));
  EXPECT_FALSE(batch.states[4].has_value());
  ASSERT_TRUE(batch.states[5].has_value());
  EXPECT_THAT(*batch.states[5], EqualsProto(stored_a.state));
  EXPECT_EQ(batch.revision, 2);

  STATES_ASSERT_OK_AND_ASSIGN(batch, store_->BatchGet({}));
  EXPECT_THAT(batch.states, IsEmpty());
  EXPECT_EQ(batch.revision, 2);

  STATES_ASSERT_OK(store_->Delete(a, 0).status());
  STATES_ASSERT_OK_AND_ASSIGN(batch, store_->BatchGet({a, b}));
  ASSERT_THAT(batch.states, SizeIs(2));
  EXPECT_FALSE(batch.states[0].has_value());
  EXPECT_TRUE(batch.states[1].has_value());
  EXPECT_EQ(batch.revision, 3);
}

// ---------------------------------------------------------------------------
// List: which states a filter selects.

// Keys whose names are prefixes or extensions of one another.
std::vector<v1::StateKey> LookalikeKeys() {
  return {
      Key("pytorch", "resnet18", {}, "imagenet"),
      Key("pytorch", "resnet18", {"cls1000"}, "imagenet"),
      Key("pytorch", "resnet18", {"cls1000", "x"}, "imagenet"),
      Key("pytorch", "resnet18", {"cls1000"}, "imagenet21k"),
      Key("pytorch", "resnet18", {}, "imagenet-v2"),
      Key("pytorch", "resnet180", {}, "imagenet"),
      Key("pytorch", "resnet18-v2", {}, "imagenet"),
      Key("pytorch", "resnet18-v2", {"cls1000"}, "imagenet"),
      Key("pytorch", "resnet1", {}, "imagenet"),
      Key("pytorch", "resnet", {"18"}, "imagenet"),
      Key("pytorch2", "resnet18", {}, "imagenet"),
      Key("pytorc", "resnet18", {}, "imagenet"),
      Key("pytorc", "hresnet18", {}, "imagenet"),
      Key("pytorch-lightning", "resnet18", {}, "imagenet"),
      Key("tensorflow", "resnet18", {}, "imagenet"),
      Key("pytorch", "resnet18", {}, "imagene"),
  };
}

TEST_P(StateStoreConformanceTest, CompatibleFilterComparesWholeNames) {
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, LookalikeKeys()));
  const std::vector<std::string> resnet18 = {
      "pytorch.resnet18.imagene",
      "pytorch.resnet18.imagenet",
      "pytorch.resnet18.imagenet-v2",
      "pytorch.resnet18.cls1000.imagenet",
      "pytorch.resnet18.cls1000.imagenet21k",
      "pytorch.resnet18.cls1000.x.imagenet",
  };
  std::vector<v1::State> states;
  // Whatever the filter's extra.
  for (const std::vector<std::string>& extras :
       std::vector<std::vector<std::string>>{
           {}, {"cls1000"}, {"cls1000", "x"}, {"zzz"}}) {
    SCOPED_TRACE(absl::StrCat("extras: ", extras.size()));
    ASSERT_NO_FATAL_FAILURE(ListAll(
        *store_, Compatible(MakeStateType("pytorch", "resnet18", extras)),
        &states));
    EXPECT_THAT(Names(states), ElementsAreArray(resnet18));
  }
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_, Compatible(MakeStateType("pytorch", "resnet1")), &states));
  EXPECT_THAT(Names(states), ElementsAre("pytorch.resnet1.imagenet"));
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_, Compatible(MakeStateType("pytorch", "resnet")), &states));
  EXPECT_THAT(Names(states), ElementsAre("pytorch.resnet.18.imagenet"));
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_, Compatible(MakeStateType("pytorch", "resnet18-v2")), &states));
  EXPECT_THAT(Names(states),
              ElementsAre("pytorch.resnet18-v2.imagenet",
                          "pytorch.resnet18-v2.cls1000.imagenet"));
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_, Compatible(MakeStateType("pytorc", "resnet18")), &states));
  EXPECT_THAT(Names(states), ElementsAre("pytorc.resnet18.imagenet"));
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_, Compatible(MakeStateType("pytorch", "resnet18x")), &states));
  EXPECT_THAT(states, IsEmpty());
  ASSERT_NO_FATAL_FAILURE(
      ListAll(*store_, Compatible(MakeStateType("pytorc", "h")), &states));
  EXPECT_THAT(states, IsEmpty());
}

TEST_P(StateStoreConformanceTest, ExactFilterRequiresEqualExtra) {
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, LookalikeKeys()));
  std::vector<v1::State> states;
  ASSERT_NO_FATAL_FAILURE(
      ListAll(*store_, Exact(MakeStateType("pytorch", "resnet18")), &states));
  EXPECT_THAT(Names(states), ElementsAre("pytorch.resnet18.imagene",
                                         "pytorch.resnet18.imagenet",
                                         "pytorch.resnet18.imagenet-v2"));
  ASSERT_NO_FATAL_FAILURE(
      ListAll(*store_, Exact(MakeStateType("pytorch", "resnet18", {"cls1000"})),
              &states));
  EXPECT_THAT(Names(states),
              ElementsAre("pytorch.resnet18.cls1000.imagenet",
                          "pytorch.resnet18.cls1000.imagenet21k"));
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_, Exact(MakeStateType("pytorch", "resnet18", {"cls1000", "x"})),
      &states));
  EXPECT_THAT(Names(states),
              ElementsAre("pytorch.resnet18.cls1000.x.imagenet"));
  for (const std::vector<std::string>& extras :
       std::vector<std::vector<std::string>>{{"x"},
                                             {"cls100"},
                                             {"cls1000x"},
                                             {"cls1000", "x", "y"},
                                             {"x", "cls1000"}}) {
    ASSERT_NO_FATAL_FAILURE(ListAll(
        *store_, Exact(MakeStateType("pytorch", "resnet18", extras)), &states));
    EXPECT_THAT(states, IsEmpty()) << extras.size();
  }
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_, Exact(MakeStateType("pytorch", "resnet", {"18"})), &states));
  EXPECT_THAT(Names(states), ElementsAre("pytorch.resnet.18.imagenet"));
}

TEST_P(StateStoreConformanceTest, TrainingIdFilterAloneAndCombined) {
  const std::vector<v1::StateKey> keys = LookalikeKeys();
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, keys));
  std::vector<v1::State> states;

  // Alone: every state with exactly this training id, in listing order.
  for (const std::string training_id :
       {"imagenet", "imagene", "imagenet21k", "imagenet-v2", "imagenet2",
        "magenet"}) {
    SCOPED_TRACE(training_id);
    std::vector<v1::StateKey> expected;
    for (const v1::StateKey& key : keys) {
      if (key.training_id() == training_id) expected.push_back(key);
    }
    std::sort(expected.begin(), expected.end(), DocumentedLess);
    ASSERT_NO_FATAL_FAILURE(
        ListAll(*store_, WithTrainingId(AnyState(), training_id), &states));
    ASSERT_THAT(states, SizeIs(expected.size()));
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(SortKey(states[i].state_key()), SortKey(expected[i]));
    }
  }

  ASSERT_NO_FATAL_FAILURE(
      ListAll(*store_,
              WithTrainingId(Compatible(MakeStateType("pytorch", "resnet18")),
                             "imagenet"),
              &states));
  EXPECT_THAT(Names(states),
              ElementsAre("pytorch.resnet18.imagenet",
                          "pytorch.resnet18.cls1000.imagenet",
                          "pytorch.resnet18.cls1000.x.imagenet"));
  ASSERT_NO_FATAL_FAILURE(ListAll(
      *store_,
      WithTrainingId(Exact(MakeStateType("pytorch", "resnet18", {"cls1000"})),
                     "imagenet21k"),
      &states));
  EXPECT_THAT(Names(states),
              ElementsAre("pytorch.resnet18.cls1000.imagenet21k"));
  ASSERT_NO_FATAL_FAILURE(
      ListAll(*store_,
              WithTrainingId(Compatible(MakeStateType("pytorch", "resnet180")),
                             "imagenet21k"),
              &states));
  EXPECT_THAT(states, IsEmpty());
}

TEST_P(StateStoreConformanceTest, NoFilterListsEveryState) {
  std::vector<v1::StateKey> keys = LookalikeKeys();
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, keys));
  std::sort(keys.begin(), keys.end(), DocumentedLess);
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store_->List(AnyState(), "", 1000));
  EXPECT_FALSE(list.more);
  EXPECT_EQ(list.revision, static_cast<std::int64_t>(keys.size()));
  ASSERT_THAT(list.states, SizeIs(keys.size()));
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_THAT(list.states[i].state_key(), EqualsProto(keys[i]));
    // Listed states are complete records.
    EXPECT_FALSE(list.states[i].name().empty());
    EXPECT_GT(list.states[i].revision(), 0);
    EXPECT_TRUE(list.states[i].has_create_time());
    EXPECT_FALSE(list.states[i].uri().empty());
  }
}

// ---------------------------------------------------------------------------
// List: the order.

TEST_P(StateStoreConformanceTest, ListsInDocumentedOrder) {
  std::vector<v1::StateKey> keys = ListingOrderKeys();
  // Registration order must not matter.
  std::shuffle(keys.begin(), keys.end(), std::mt19937(20240229));
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, keys));

  std::vector<v1::StateKey> documented = keys;
  std::sort(documented.begin(), documented.end(), DocumentedLess);
  std::vector<v1::StateKey> by_sort_key = keys;
  std::sort(by_sort_key.begin(), by_sort_key.end(),
            [](const v1::StateKey& a, const v1::StateKey& b) {
              return SortKey(a) < SortKey(b);
            });
  // SortKey() agrees with the documented order (else the expectation
  // below would be meaningless).
  for (std::size_t i = 0; i < keys.size(); ++i) {
    ASSERT_THAT(by_sort_key[i], EqualsProto(documented[i])) << i;
  }
  // Spot checks of the documented order itself.
  auto position = [&](const v1::StateKey& key) {
    for (std::size_t i = 0; i < documented.size(); ++i) {
      if (SortKey(documented[i]) == SortKey(key)) return i;
    }
    return documented.size();
  };
  EXPECT_LT(position(Key("pytorch", "resnet18", {}, "t")),
            position(Key("pytorch", "resnet18", {"a"}, "a")));
  EXPECT_LT(position(Key("pytorch", "resnet18", {"a"}, "t")),
            position(Key("pytorch", "resnet18", {"a", "b"}, "t")));
  EXPECT_LT(position(Key("pytorch", "resnet18", {"a", "c"}, "t")),
            position(Key("pytorch", "resnet18", {"b"}, "a")));
  EXPECT_LT(position(Key("pytorch", "\xEF\xBD\x9A", {}, "t")),
            position(Key("pytorch", "\xF0\x9D\x94\xB8", {}, "t")));
  EXPECT_LT(position(Key("py", "torch", {}, "a")),
            position(Key("pytorc", "z", {}, "z")));

  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store_->List(AnyState(), "", 1000));
  ASSERT_THAT(list.states, SizeIs(documented.size()));
  for (std::size_t i = 0; i < documented.size(); ++i) {
    EXPECT_THAT(list.states[i].state_key(), EqualsProto(documented[i]))
        << "position " << i;
  }

  // The order holds under a filter and across pages too.
  std::vector<v1::State> walked;
  ASSERT_NO_FATAL_FAILURE(WalkPages(
      *store_, Compatible(MakeStateType("pytorch", "resnet18")), 4, &walked));
  std::vector<v1::StateKey> expected;
  for (const v1::StateKey& key : documented) {
    if (key.state_type().backend() == "pytorch" &&
        key.state_type().architecture() == "resnet18") {
      expected.push_back(key);
    }
  }
  ASSERT_THAT(walked, SizeIs(expected.size()));
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_THAT(walked[i].state_key(), EqualsProto(expected[i]));
  }
}

// ---------------------------------------------------------------------------
// List: pages.

std::vector<v1::StateKey> NumberedKeys(const std::string& architecture,
                                       int count, int step = 1) {
  std::vector<v1::StateKey> keys;
  for (int i = 0; i < count * step; i += step) {
    keys.push_back(
        Key("pytorch", architecture, {}, absl::StrFormat("t%02d", i)));
  }
  return keys;
}

TEST_P(StateStoreConformanceTest, ListLimitIsExactAndMoreIsExact) {
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("m", 10)));
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("n", 10)));
  const StateFilter only_m = Compatible(MakeStateType("pytorch", "m"));

  struct Case {
    std::size_t limit;
    std::size_t size;
    bool more;
  };
  for (const Case& c :
       {Case{1, 1, true}, Case{3, 3, true}, Case{9, 9, true},
        Case{10, 10, false}, Case{11, 10, false}, Case{1000, 10, false}}) {
    SCOPED_TRACE(absl::StrCat("limit ", c.limit));
    // States of `n` follow, but they do not match: `more` counts matching
    // states only.
    STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                                store_->List(only_m, "", c.limit));
    EXPECT_THAT(list.states, SizeIs(c.size));
    EXPECT_EQ(list.more, c.more);
    EXPECT_EQ(list.revision, 20);
    if (!list.states.empty()) {
      EXPECT_EQ(list.states.front().name(), "pytorch.m.t00");
    }
  }
  // Without a filter, the same limits see 20 states.
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store_->List(AnyState(), "", 10));
  EXPECT_THAT(list.states, SizeIs(10));
  EXPECT_TRUE(list.more);
  STATES_ASSERT_OK_AND_ASSIGN(list, store_->List(AnyState(), "", 20));
  EXPECT_THAT(list.states, SizeIs(20));
  EXPECT_FALSE(list.more);

  // Matching states far apart, with non-matching ones between them.
  const StateFilter only_t05 = WithTrainingId(AnyState(), "t05");
  STATES_ASSERT_OK_AND_ASSIGN(list, store_->List(only_t05, "", 1));
  EXPECT_THAT(Names(list.states), ElementsAre("pytorch.m.t05"));
  EXPECT_TRUE(list.more);
  STATES_ASSERT_OK_AND_ASSIGN(list, store_->List(only_t05, "", 2));
  EXPECT_THAT(Names(list.states),
              ElementsAre("pytorch.m.t05", "pytorch.n.t05"));
  EXPECT_FALSE(list.more);
  STATES_ASSERT_OK_AND_ASSIGN(
      list, store_->List(only_t05, SortKey(Key("pytorch", "m", {}, "t05")), 1));
  EXPECT_THAT(Names(list.states), ElementsAre("pytorch.n.t05"));
  EXPECT_FALSE(list.more);
}

TEST_P(StateStoreConformanceTest, ListAfterIsExclusiveAndNeedNotBeStored) {
  // t00, t02, ..., t18.
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("m", 10, 2)));
  auto after_key = [](const std::string& architecture,
                      const std::string& training_id) {
    return SortKey(Key("pytorch", architecture, {}, training_id));
  };
  STATES_ASSERT_OK_AND_ASSIGN(
      ListResult list, store_->List(AnyState(), after_key("m", "t04"), 2));
  EXPECT_THAT(Names(list.states),
              ElementsAre("pytorch.m.t06", "pytorch.m.t08"));
  EXPECT_TRUE(list.more);
  // A key that is not stored.
  STATES_ASSERT_OK_AND_ASSIGN(
      list, store_->List(AnyState(), after_key("m", "t05"), 2));
  EXPECT_THAT(Names(list.states),
              ElementsAre("pytorch.m.t06", "pytorch.m.t08"));
  STATES_ASSERT_OK_AND_ASSIGN(
      list, store_->List(AnyState(), after_key("m", "t1"), 3));
  EXPECT_THAT(Names(list.states),
              ElementsAre("pytorch.m.t10", "pytorch.m.t12", "pytorch.m.t14"));
  // A stored key with an extra: after it come the keys with longer extras.
  STATES_ASSERT_OK_AND_ASSIGN(
      list,
      store_->List(AnyState(), SortKey(Key("pytorch", "m", {"x"}, "t00")), 5));
  EXPECT_THAT(list.states, IsEmpty());
  EXPECT_FALSE(list.more);
  // Before everything, and after everything.
  STATES_ASSERT_OK_AND_ASSIGN(
      list, store_->List(AnyState(), after_key("a", "t99"), 100));
  EXPECT_THAT(list.states, SizeIs(10));
  EXPECT_FALSE(list.more);
  STATES_ASSERT_OK_AND_ASSIGN(
      list, store_->List(AnyState(), after_key("m", "t18"), 100));
  EXPECT_THAT(list.states, IsEmpty());
  EXPECT_FALSE(list.more);
  STATES_ASSERT_OK_AND_ASSIGN(
      list, store_->List(AnyState(), after_key("z", "a"), 100));
  EXPECT_THAT(list.states, IsEmpty());
  EXPECT_FALSE(list.more);
  // Any byte string: a cut-off sort key sorts before the keys it starts.
  std::string cut = after_key("m", "t00");
  cut.resize(cut.size() - 3);  // "pytorch\0m\0"
  STATES_ASSERT_OK_AND_ASSIGN(list, store_->List(AnyState(), cut, 100));
  EXPECT_THAT(list.states, SizeIs(10));
  // With a filter.
  STATES_ASSERT_OK_AND_ASSIGN(list,
                              store_->List(WithTrainingId(AnyState(), "t06"),
                                           after_key("m", "t06"), 100));
  EXPECT_THAT(list.states, IsEmpty());
  EXPECT_FALSE(list.more);
  STATES_ASSERT_OK_AND_ASSIGN(list,
                              store_->List(WithTrainingId(AnyState(), "t06"),
                                           after_key("m", "t05"), 100));
  EXPECT_THAT(Names(list.states), ElementsAre("pytorch.m.t06"));
}

TEST_P(StateStoreConformanceTest, AnyEmptyAfterAndAnyLimitWork) {
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("m", 5)));
  // An empty `after` in any form starts at the beginning: a
  // default-constructed string_view has no data pointer at all.
  for (absl::string_view after : {absl::string_view(), absl::string_view(""),
                                  absl::string_view("x", 0)}) {
    STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                                store_->List(AnyState(), after, 100));
    EXPECT_THAT(list.states, SizeIs(5));
    STATES_ASSERT_OK_AND_ASSIGN(
        list, store_->List(Exact(MakeStateType("pytorch", "m")), after, 100));
    EXPECT_THAT(list.states, SizeIs(5));
  }
  // The largest limit (what a watch's snapshot asks for).
  STATES_ASSERT_OK_AND_ASSIGN(
      ListResult list,
      store_->List(AnyState(), "", std::numeric_limits<std::size_t>::max()));
  EXPECT_THAT(list.states, SizeIs(5));
  EXPECT_FALSE(list.more);
  STATES_ASSERT_OK_AND_ASSIGN(
      ChangeBatch changes,
      store_->ReadChanges(0, AnyState(),
                          std::numeric_limits<std::size_t>::max()));
  EXPECT_THAT(changes.events, SizeIs(5));
  EXPECT_EQ(changes.scanned_through, 5);
}

TEST_P(StateStoreConformanceTest, WalkingPagesListsEveryStateOnce) {
  std::vector<v1::StateKey> keys = LookalikeKeys();
  for (const v1::StateKey& key : ListingOrderKeys()) keys.push_back(key);
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, keys));

  for (const StateFilter& filter :
       {AnyState(), Compatible(MakeStateType("pytorch", "resnet18")),
        Exact(MakeStateType("pytorch", "resnet18")),
        WithTrainingId(AnyState(), "imagenet"),
        WithTrainingId(AnyState(), "none")}) {
    SCOPED_TRACE(CanonicalFilter(filter));
    std::vector<v1::State> all;
    ASSERT_NO_FATAL_FAILURE(ListAll(*store_, filter, &all));
    for (std::size_t page_size : {1, 2, 3, 5, 7}) {
      SCOPED_TRACE(absl::StrCat("page size ", page_size));
      std::vector<v1::State> walked;
      ASSERT_NO_FATAL_FAILURE(WalkPages(*store_, filter, page_size, &walked));
      EXPECT_EQ(Names(walked), Names(all));
    }
    // A page size equal to the number of states: one page, no more.
    if (!all.empty()) {
      STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                                  store_->List(filter, "", all.size()));
      EXPECT_THAT(list.states, SizeIs(all.size()));
      EXPECT_FALSE(list.more);
    }
  }
}

TEST_P(StateStoreConformanceTest, PagesStayCorrectUnderConcurrentWrites) {
  // Stable states exist for the whole test (some are replaced, which does
  // not remove them); churn states come and go right next to them in the
  // listing order.
  constexpr int kStable = 60;
  std::vector<v1::StateKey> stable;
  std::set<std::string> stable_sort_keys;
  for (int i = 0; i < kStable; ++i) {
    stable.push_back(Key("pytorch", "m", {}, absl::StrFormat("s%03d", i)));
    stable_sort_keys.insert(SortKey(stable.back()));
  }
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, stable));

  std::atomic<bool> done{false};
  std::atomic<int> writes{0};
  std::atomic<int> write_errors{0};
  std::vector<std::thread> writers;
  ThreadJoiner joiner(done, writers);
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 random(w);
      for (int n = 0; !done.load(); ++n) {
        const int i = static_cast<int>(random() % kStable);
        const v1::StateKey churn =
            Key("pytorch", "m", {}, absl::StrFormat("s%03dc%d", i, w));
        absl::Status status =
            store_->Register(MakeState(churn, "file:///c"), false, Time1())
                .status();
        if (status.ok()) status = store_->Delete(churn, 0).status();
        if (!status.ok()) ++write_errors;
        writes += 2;
      }
    });
  }
  writers.emplace_back([&] {
    for (int n = 0; !done.load(); ++n) {
      const absl::Status status =
          store_
              ->Register(MakeState(stable[n % kStable],
                                   absl::StrCat("file:///replaced/", n)),
                         true, Time2())
              .status();
      if (!status.ok()) ++write_errors;
      ++writes;
    }
  });

  // Make sure the walks overlap writes.
  while (writes.load() < 10) std::this_thread::yield();
  const int writes_before = writes.load();
  for (int walk = 0; walk < 4; ++walk) {
    SCOPED_TRACE(absl::StrCat("walk ", walk));
    std::string after;
    std::set<std::string> seen;
    std::string previous;
    for (int page_number = 0;; ++page_number) {
      ASSERT_LT(page_number, 10000);
      absl::StatusOr<ListResult> page = store_->List(AnyState(), after, 3);
      ASSERT_TRUE(page.ok()) << page.status();
      for (const v1::State& state : page->states) {
        const std::string sort_key = SortKey(state.state_key());
        EXPECT_GT(sort_key, previous)
            << "out of order or repeated: " << state.name();
        EXPECT_TRUE(seen.insert(sort_key).second) << state.name();
        // One consistent revision per read.
        EXPECT_LE(state.revision(), page->revision) << state.name();
        previous = sort_key;
      }
      if (!page->more) break;
      ASSERT_FALSE(page->states.empty());
      after = SortKey(page->states.back().state_key());
      std::this_thread::yield();
    }
    for (const std::string& sort_key : stable_sort_keys) {
      EXPECT_EQ(seen.count(sort_key), 1u)
          << "a state that existed for the whole walk was skipped";
    }

    // A consistent BatchGet too.
    absl::StatusOr<BatchGetResult> batch = store_->BatchGet(stable);
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (const std::optional<v1::State>& state : batch->states) {
      ASSERT_TRUE(state.has_value());
      EXPECT_LE(state->revision(), batch->revision);
    }
  }
  done = true;
  for (std::thread& writer : writers) writer.join();
  writers.clear();
  EXPECT_EQ(write_errors.load(), 0);
  EXPECT_GT(writes.load(), writes_before) << "no write overlapped the walks";
}

// ---------------------------------------------------------------------------
// Delete.

TEST_P(StateStoreConformanceTest, DeleteOfAnAbsentKeyIsNotFound) {
  STATES_ASSERT_OK(
      store_
          ->Register(MakeState(Key("pytorch", "resnet18", {}, "imagenet"),
                               "file:///w"),
                     false, Time1())
          .status());
  for (std::int64_t expected_revision : {0, 1}) {
    absl::StatusOr<DeleteResult> result =
        store_->Delete(ResnetKey(), expected_revision);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound)
        << result.status();
    EXPECT_EQ(ReasonOf(result.status()), "STATE_NOT_FOUND");
    EXPECT_EQ(MetadataOf(result.status(), "name"), kName);
  }
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 1);
}

TEST_P(StateStoreConformanceTest, DeleteWithAStaleRevisionDeletesNothing) {
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult first,
      store_->Register(FullState(ResnetKey()), false, Time1()));
  v1::State replacement = FullState(ResnetKey());
  replacement.set_uri("file:///replaced");
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult replaced,
                              store_->Register(replacement, true, Time2()));
  ASSERT_EQ(replaced.state.revision(), 2);

  for (std::int64_t stale : {1, 3, 100}) {
    absl::StatusOr<DeleteResult> result = store_->Delete(ResnetKey(), stale);
    EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition)
        << result.status();
    EXPECT_EQ(ReasonOf(result.status()), "REVISION_MISMATCH");
    EXPECT_EQ(MetadataOf(result.status(), "expected_revision"),
              absl::StrCat(stale));
    EXPECT_EQ(MetadataOf(result.status(), "revision"), "2");
  }
  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(replaced.state));
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 2);

  STATES_ASSERT_OK_AND_ASSIGN(DeleteResult deleted,
                              store_->Delete(ResnetKey(), 2));
  EXPECT_THAT(deleted.state, EqualsProto(replaced.state));
  EXPECT_EQ(deleted.revision, 3);
}

TEST_P(StateStoreConformanceTest, DeleteReturnsTheStateAndItsRevision) {
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult a,
      store_->Register(FullState(ResnetKey()), false, Time1()));
  const v1::StateKey other_key = Key("pytorch", "resnet18", {}, "imagenet");
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult b,
      store_->Register(MakeState(other_key, "file:///b"), false, Time1()));

  STATES_ASSERT_OK_AND_ASSIGN(DeleteResult deleted,
                              store_->Delete(ResnetKey(), 1));
  EXPECT_THAT(deleted.state, EqualsProto(a.state));
  EXPECT_EQ(deleted.revision, 3);
  EXPECT_EQ(store_->Get(ResnetKey()).status().code(),
            absl::StatusCode::kNotFound);
  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(other_key));
  EXPECT_THAT(stored, EqualsProto(b.state));
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 3);
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store_->List(AnyState(), "", 100));
  EXPECT_THAT(Names(list.states), ElementsAre("pytorch.resnet18.imagenet"));

  // expected_revision 0 deletes whatever the revision; a second delete
  // finds nothing.
  STATES_ASSERT_OK_AND_ASSIGN(deleted, store_->Delete(other_key, 0));
  EXPECT_THAT(deleted.state, EqualsProto(b.state));
  EXPECT_EQ(deleted.revision, 4);
  EXPECT_EQ(store_->Delete(other_key, 0).status().code(),
            absl::StatusCode::kNotFound);
  STATES_ASSERT_OK_AND_ASSIGN(list, store_->List(AnyState(), "", 100));
  EXPECT_THAT(list.states, IsEmpty());
}

TEST_P(StateStoreConformanceTest, RegisterAfterDeleteCreatesAgain) {
  STATES_ASSERT_OK(
      store_->Register(FullState(ResnetKey()), false, Time1()).status());
  STATES_ASSERT_OK(store_->Delete(ResnetKey(), 0).status());
  // Different content from the deleted state: no conflict with the past.
  v1::State again = MakeState(ResnetKey(), "file:///again");
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult result,
                              store_->Register(again, false, Time3()));
  EXPECT_TRUE(result.created);
  EXPECT_TRUE(result.changed);
  EXPECT_EQ(result.state.revision(), 3);
  EXPECT_EQ(Nanos(result.state.create_time()), absl::ToUnixNanos(Time3()));
  EXPECT_EQ(Nanos(result.state.update_time()), absl::ToUnixNanos(Time3()));
  EXPECT_THAT(ContentOnly(result.state), EqualsProto(again));
  STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(ResnetKey()));
  EXPECT_THAT(stored, EqualsProto(result.state));
}

// ---------------------------------------------------------------------------
// Revisions.

TEST_P(StateStoreConformanceTest, EveryChangeAndOnlyChangesTakeARevision) {
  auto current = [&]() -> std::int64_t {
    absl::StatusOr<std::int64_t> revision = store_->CurrentRevision();
    EXPECT_TRUE(revision.ok()) << revision.status();
    return revision.value_or(-1);
  };
  const v1::State input = FullState(ResnetKey());
  v1::State other_content = input;
  other_content.set_uri("file:///other");
  const v1::StateKey absent = Key("pytorch", "absent", {}, "t");

  EXPECT_EQ(current(), 0);
  STATES_ASSERT_OK(store_->Register(input, false, Time1()).status());
  EXPECT_EQ(current(), 1);
  STATES_ASSERT_OK(store_->Register(input, false, Time2()).status());
  EXPECT_EQ(current(), 1);  // no-op
  EXPECT_FALSE(store_->Register(other_content, false, Time2()).ok());
  EXPECT_EQ(current(), 1);  // rejected
  STATES_ASSERT_OK(store_->Register(other_content, true, Time2()).status());
  EXPECT_EQ(current(), 2);  // replaced
  STATES_ASSERT_OK(store_->Register(other_content, true, Time3()).status());
  EXPECT_EQ(current(), 2);  // no-op even with allow_overwrite
  EXPECT_FALSE(store_->Delete(absent, 0).ok());
  EXPECT_EQ(current(), 2);
  EXPECT_FALSE(store_->Delete(ResnetKey(), 1).ok());
  EXPECT_EQ(current(), 2);
  STATES_ASSERT_OK(store_->Get(ResnetKey()).status());
  STATES_ASSERT_OK(store_->List(AnyState(), "", 10).status());
  STATES_ASSERT_OK(store_->BatchGet({ResnetKey(), absent}).status());
  STATES_ASSERT_OK(store_->ReadChanges(0, AnyState(), 10).status());
  EXPECT_EQ(current(), 2);  // reads change nothing
  STATES_ASSERT_OK(store_->Delete(ResnetKey(), 2).status());
  EXPECT_EQ(current(), 3);
  STATES_ASSERT_OK(store_->Register(input, false, Time3()).status());
  EXPECT_EQ(current(), 4);

  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store_->List(AnyState(), "", 10));
  EXPECT_EQ(list.revision, 4);
  STATES_ASSERT_OK_AND_ASSIGN(BatchGetResult batch, store_->BatchGet({absent}));
  EXPECT_EQ(batch.revision, 4);
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(0, AnyState(), 100));
  std::vector<std::int64_t> revisions;
  std::vector<v1::StateEvent::Type> types;
  for (const v1::StateEvent& event : changes.events) {
    revisions.push_back(event.revision());
    types.push_back(event.type());
  }
  EXPECT_THAT(revisions, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(
      types,
      ElementsAre(v1::StateEvent::TYPE_ADDED, v1::StateEvent::TYPE_UPDATED,
                  v1::StateEvent::TYPE_DELETED, v1::StateEvent::TYPE_ADDED));
  EXPECT_EQ(changes.scanned_through, 4);
}

// ---------------------------------------------------------------------------
// ReadChanges.

TEST_P(StateStoreConformanceTest, ReadChangesReportsEveryKindOfChange) {
  STATES_ASSERT_OK_AND_ASSIGN(
      RegisterResult added,
      store_->Register(FullState(ResnetKey()), false, Time1()));
  v1::State replacement = MakeState(ResnetKey(), "file:///v2");
  STATES_ASSERT_OK_AND_ASSIGN(RegisterResult updated,
                              store_->Register(replacement, true, Time2()));
  STATES_ASSERT_OK_AND_ASSIGN(DeleteResult deleted,
                              store_->Delete(ResnetKey(), 0));

  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(0, AnyState(), 100));
  ASSERT_THAT(changes.events, SizeIs(3));
  EXPECT_EQ(changes.scanned_through, 3);

  EXPECT_EQ(changes.events[0].type(), v1::StateEvent::TYPE_ADDED);
  EXPECT_EQ(changes.events[0].revision(), 1);
  EXPECT_THAT(changes.events[0].state(), EqualsProto(added.state));

  EXPECT_EQ(changes.events[1].type(), v1::StateEvent::TYPE_UPDATED);
  EXPECT_EQ(changes.events[1].revision(), 2);
  EXPECT_THAT(changes.events[1].state(), EqualsProto(updated.state));

  // A deletion carries the state as it was, at its own revision.
  EXPECT_EQ(changes.events[2].type(), v1::StateEvent::TYPE_DELETED);
  EXPECT_EQ(changes.events[2].revision(), 3);
  EXPECT_EQ(deleted.revision, 3);
  EXPECT_THAT(changes.events[2].state(), EqualsProto(updated.state));
  EXPECT_EQ(changes.events[2].state().revision(), 2);
  EXPECT_EQ(changes.events[2].state().name(), kName);

  // From the middle.
  STATES_ASSERT_OK_AND_ASSIGN(changes, store_->ReadChanges(1, AnyState(), 100));
  ASSERT_THAT(changes.events, SizeIs(2));
  EXPECT_EQ(changes.events[0].revision(), 2);
  EXPECT_EQ(changes.events[1].revision(), 3);
  EXPECT_EQ(changes.scanned_through, 3);
}

TEST_P(StateStoreConformanceTest, ReadChangesAppliesTheFilter) {
  const v1::StateKey a = Key("pytorch", "resnet18", {}, "imagenet");
  const v1::StateKey a_extra = Key("pytorch", "resnet18", {"x"}, "imagenet");
  const v1::StateKey b = Key("pytorch", "resnet180", {}, "imagenet");
  const v1::StateKey c = Key("pytorch", "resnet18", {}, "other");
  STATES_ASSERT_OK(store_->Register(MakeState(a, "file:///1"), false, Time1())
                       .status());  // 1
  STATES_ASSERT_OK(store_->Register(MakeState(b, "file:///2"), false, Time1())
                       .status());  // 2
  STATES_ASSERT_OK(
      store_->Register(MakeState(a_extra, "file:///3"), false, Time1())
          .status());  // 3
  STATES_ASSERT_OK(store_->Register(MakeState(c, "file:///4"), false, Time1())
                       .status());  // 4
  STATES_ASSERT_OK(store_->Register(MakeState(b, "file:///5"), true, Time1())
                       .status());                  // 5
  STATES_ASSERT_OK(store_->Delete(a, 0).status());  // 6
  STATES_ASSERT_OK(store_->Delete(b, 0).status());  // 7

  auto revisions = [&](const StateFilter& filter) {
    std::vector<std::int64_t> out;
    absl::StatusOr<ChangeBatch> changes = store_->ReadChanges(0, filter, 100);
    EXPECT_TRUE(changes.ok()) << changes.status();
    if (!changes.ok()) return out;
    EXPECT_EQ(changes->scanned_through, 7);
    for (const v1::StateEvent& event : changes->events) {
      out.push_back(event.revision());
    }
    return out;
  };
  EXPECT_THAT(revisions(Compatible(MakeStateType("pytorch", "resnet18"))),
              ElementsAre(1, 3, 4, 6));
  EXPECT_THAT(revisions(Exact(MakeStateType("pytorch", "resnet18"))),
              ElementsAre(1, 4, 6));
  EXPECT_THAT(
      revisions(WithTrainingId(Compatible(MakeStateType("pytorch", "resnet18")),
                               "imagenet")),
      ElementsAre(1, 3, 6));
  EXPECT_THAT(revisions(Compatible(MakeStateType("pytorch", "resnet180"))),
              ElementsAre(2, 5, 7));
  EXPECT_THAT(revisions(Compatible(MakeStateType("pytorch", "resnet1"))),
              IsEmpty());
  EXPECT_THAT(revisions(WithTrainingId(AnyState(), "other")), ElementsAre(4));
  EXPECT_THAT(revisions(AnyState()), ElementsAre(1, 2, 3, 4, 5, 6, 7));
}

TEST_P(StateStoreConformanceTest, ReadChangesLimitBoundsTheChangesExamined) {
  // Revisions 1-6 do not match; 7-12 alternate.
  for (int i = 0; i < 6; ++i) {
    STATES_ASSERT_OK(
        store_
            ->Register(MakeState(Key("other", "x", {}, absl::StrCat("t", i)),
                                 "file:///o"),
                       false, Time1())
            .status());
  }
  for (int i = 0; i < 6; ++i) {
    const std::string architecture = i % 2 == 0 ? "wanted" : "unwanted";
    STATES_ASSERT_OK(store_
                         ->Register(MakeState(Key("pytorch", architecture, {},
                                                  absl::StrCat("t", i)),
                                              "file:///w"),
                                    false, Time1())
                         .status());
  }
  const StateFilter wanted = Compatible(MakeStateType("pytorch", "wanted"));

  // Nothing matches among the first changes, yet the scan advances.
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch batch,
                              store_->ReadChanges(0, wanted, 3));
  EXPECT_THAT(batch.events, IsEmpty());
  EXPECT_GT(batch.scanned_through, 0);
  EXPECT_LE(batch.scanned_through, 3);

  STATES_ASSERT_OK_AND_ASSIGN(batch, store_->ReadChanges(6, wanted, 1));
  ASSERT_THAT(batch.events, SizeIs(1));
  EXPECT_EQ(batch.events[0].revision(), 7);
  EXPECT_EQ(batch.scanned_through, 7);
  STATES_ASSERT_OK_AND_ASSIGN(batch, store_->ReadChanges(7, wanted, 1));
  EXPECT_THAT(batch.events, IsEmpty());
  EXPECT_EQ(batch.scanned_through, 8);
  STATES_ASSERT_OK_AND_ASSIGN(batch, store_->ReadChanges(7, wanted, 2));
  ASSERT_THAT(batch.events, SizeIs(1));
  EXPECT_EQ(batch.events[0].revision(), 9);

  // Whatever the limit, reading on from scanned_through yields exactly
  // the matching changes.
  for (std::size_t limit : {1, 2, 3, 5, 12, 100}) {
    SCOPED_TRACE(absl::StrCat("limit ", limit));
    std::vector<v1::StateEvent> events;
    ASSERT_NO_FATAL_FAILURE(ReadAllChanges(*store_, 0, wanted, limit, &events));
    std::vector<std::int64_t> revisions;
    for (const v1::StateEvent& event : events) {
      revisions.push_back(event.revision());
    }
    EXPECT_THAT(revisions, ElementsAre(7, 9, 11));
  }
  // A limit that covers every change examines them all.
  STATES_ASSERT_OK_AND_ASSIGN(batch, store_->ReadChanges(0, wanted, 12));
  EXPECT_EQ(batch.scanned_through, 12);
  EXPECT_THAT(batch.events, SizeIs(3));
}

TEST_P(StateStoreConformanceTest, ReadChangesAtTheCurrentRevisionIsEmpty) {
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("m", 4)));
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch batch,
                              store_->ReadChanges(4, AnyState(), 100));
  EXPECT_THAT(batch.events, IsEmpty());
  EXPECT_EQ(batch.scanned_through, 4);
}

TEST_P(StateStoreConformanceTest, ReadChangesAheadOfTheStoreIsFutureRevision) {
  for (std::int64_t after : {1, 10}) {
    absl::StatusOr<ChangeBatch> batch =
        store_->ReadChanges(after, AnyState(), 100);
    EXPECT_EQ(batch.status().code(), absl::StatusCode::kOutOfRange)
        << batch.status();
    EXPECT_EQ(ReasonOf(batch.status()), "FUTURE_REVISION");
    EXPECT_EQ(MetadataOf(batch.status(), "revision"), "0");
  }
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("m", 3)));
  absl::StatusOr<ChangeBatch> batch = store_->ReadChanges(4, AnyState(), 100);
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kOutOfRange)
      << batch.status();
  EXPECT_EQ(ReasonOf(batch.status()), "FUTURE_REVISION");
  EXPECT_EQ(MetadataOf(batch.status(), "revision"), "3");
  EXPECT_EQ(MetadataOf(batch.status(), "start_revision"), "4");
}

TEST_P(StateStoreConformanceTest, OldHistoryIsCompacted) {
  constexpr std::int64_t kHistory = 5;
  std::unique_ptr<StateStore> store = MakeStore(HistoryOptions{kHistory});
  ASSERT_NE(store, nullptr);
  // 12 registrations, 3 deletions, 3 replacements: 18 revisions.
  std::vector<v1::StateKey> keys = NumberedKeys("m", 12);
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store, keys));
  for (int i = 0; i < 3; ++i) {
    STATES_ASSERT_OK(store->Delete(keys[i], 0).status());
    STATES_ASSERT_OK(
        store->Register(MakeState(keys[3 + i], "file:///new"), true, Time2())
            .status());
  }
  constexpr std::int64_t kCurrent = 18;
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t current, store->CurrentRevision());
  ASSERT_EQ(current, kCurrent);

  // The latest `history` revisions are kept.
  STATES_ASSERT_OK_AND_ASSIGN(
      ChangeBatch batch,
      store->ReadChanges(kCurrent - kHistory, AnyState(), 100));
  ASSERT_THAT(batch.events, SizeIs(kHistory));
  EXPECT_EQ(batch.scanned_through, kCurrent);

  // Starting from revision 0 is too old, whatever the filter.
  for (const StateFilter& filter :
       {AnyState(), Compatible(MakeStateType("nothing", "matches"))}) {
    absl::StatusOr<ChangeBatch> old = store->ReadChanges(0, filter, 100);
    ASSERT_EQ(old.status().code(), absl::StatusCode::kOutOfRange)
        << old.status();
    EXPECT_EQ(ReasonOf(old.status()), "HISTORY_COMPACTED");
  }
  absl::StatusOr<ChangeBatch> old = store->ReadChanges(0, AnyState(), 100);
  std::int64_t oldest = -1;
  ASSERT_TRUE(
      absl::SimpleAtoi(MetadataOf(old.status(), "oldest_revision"), &oldest))
      << old.status();
  EXPECT_GT(oldest, 0);
  EXPECT_LE(oldest, kCurrent - kHistory);

  // oldest_revision is exactly where a watch can start: from it every
  // later change is there, one before it is compacted.
  STATES_ASSERT_OK_AND_ASSIGN(batch,
                              store->ReadChanges(oldest, AnyState(), 100));
  EXPECT_EQ(batch.scanned_through, kCurrent);
  ASSERT_THAT(batch.events, SizeIs(kCurrent - oldest));
  for (std::size_t i = 0; i < batch.events.size(); ++i) {
    EXPECT_EQ(batch.events[i].revision(), oldest + 1 + static_cast<int>(i));
  }
  EXPECT_EQ(batch.events.back().type(), v1::StateEvent::TYPE_UPDATED);
  absl::StatusOr<ChangeBatch> before =
      store->ReadChanges(oldest - 1, AnyState(), 100);
  EXPECT_EQ(before.status().code(), absl::StatusCode::kOutOfRange)
      << before.status();
  EXPECT_EQ(ReasonOf(before.status()), "HISTORY_COMPACTED");
  EXPECT_EQ(MetadataOf(before.status(), "oldest_revision"),
            absl::StrCat(oldest));

  // Compaction affects the history only: every state is still there.
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store->List(AnyState(), "", 100));
  EXPECT_THAT(list.states, SizeIs(9));
}

TEST_P(StateStoreConformanceTest, HistoryOfOneKeepsTheLastChange) {
  std::unique_ptr<StateStore> store = MakeStore(HistoryOptions{1});
  ASSERT_NE(store, nullptr);
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store, NumberedKeys("m", 3)));
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch batch,
                              store->ReadChanges(2, AnyState(), 100));
  ASSERT_THAT(batch.events, SizeIs(1));
  EXPECT_EQ(batch.events[0].revision(), 3);
  STATES_ASSERT_OK_AND_ASSIGN(batch, store->ReadChanges(3, AnyState(), 100));
  EXPECT_THAT(batch.events, IsEmpty());
  absl::StatusOr<ChangeBatch> old = store->ReadChanges(1, AnyState(), 100);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ReasonOf(old.status()), "HISTORY_COMPACTED");
  EXPECT_EQ(MetadataOf(old.status(), "oldest_revision"), "2");
}

TEST_P(StateStoreConformanceTest, ADefaultHistoryKeepsEveryRecentChange) {
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("m", 30)));
  std::vector<v1::StateEvent> events;
  ASSERT_NO_FATAL_FAILURE(ReadAllChanges(*store_, 0, AnyState(), 7, &events));
  ASSERT_THAT(events, SizeIs(30));
  for (std::size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].revision(), static_cast<std::int64_t>(i) + 1);
    EXPECT_EQ(events[i].state().revision(), events[i].revision());
  }
}

// ---------------------------------------------------------------------------
// Concurrency.

TEST_P(StateStoreConformanceTest, ConcurrentRegistrationsOfOneKey) {
  constexpr int kThreads = 16;
  // Identical content: one creates, the others find it.
  {
    const std::vector<absl::StatusOr<RegisterResult>> results =
        RunTogether<absl::StatusOr<RegisterResult>>(kThreads, [&](int) {
          return store_->Register(FullState(ResnetKey()), false, Time1());
        });
    int created = 0;
    for (const auto& result : results) {
      ASSERT_TRUE(result.ok()) << result.status();
      created += result->created;
      EXPECT_EQ(result->changed, result->created);
      EXPECT_EQ(result->state.revision(), 1);
    }
    EXPECT_EQ(created, 1);
  }
  // Different content: one creates, the others conflict.
  const v1::StateKey contested = Key("pytorch", "contested", {}, "t");
  {
    const std::vector<absl::StatusOr<RegisterResult>> results =
        RunTogether<absl::StatusOr<RegisterResult>>(kThreads, [&](int t) {
          return store_->Register( MakeState(contested, absl::StrCat("file:///", t)), false, Time1());
        });
    int created = 0;
    int conflicts = 0;
    std::string winner;
    for (const auto& result : results) {
      if (result.ok()) {
        EXPECT_TRUE(result->created);
        ++created;
        winner = result->state.uri();
      } else {
        EXPECT_EQ(result.status().code(), absl::StatusCode::kAlreadyExists)
            << result.status();
        EXPECT_EQ(MetadataOf(result.status(), "revision"), "2");
        ++conflicts;
      }
    }
    EXPECT_EQ(created, 1);
    EXPECT_EQ(conflicts, kThreads - 1);
    STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(contested));
    EXPECT_EQ(stored.uri(), winner);
    EXPECT_EQ(stored.revision(), 2);
  }
  // Overwrites: one creates, each of the others replaces, each at its own
  // revision.
  const v1::StateKey overwritten = Key("pytorch", "overwritten", {}, "t");
  {
    const std::vector<absl::StatusOr<RegisterResult>> results =
        RunTogether<absl::StatusOr<RegisterResult>>(kThreads, [&](int t) {
          return store_->Register( MakeState(overwritten, absl::StrCat("file:///", t)), true, Time1());
        });
    int created = 0;
    std::set<std::int64_t> revisions;
    std::int64_t last_revision = 0;
    std::string last_uri;
    for (const auto& result : results) {
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_TRUE(result->changed);
      created += result->created;
      revisions.insert(result->state.revision());
      if (result->state.revision() > last_revision) {
        last_revision = result->state.revision();
        last_uri = result->state.uri();
      }
    }
    EXPECT_EQ(created, 1);
    EXPECT_THAT(revisions, SizeIs(kThreads));
    EXPECT_EQ(*revisions.begin(), 3);
    EXPECT_EQ(*revisions.rbegin(), 2 + kThreads);
    STATES_ASSERT_OK_AND_ASSIGN(v1::State stored, store_->Get(overwritten));
    EXPECT_EQ(stored.uri(), last_uri);
    EXPECT_EQ(stored.revision(), last_revision);
  }
  // Deletes: one deletes, the others find nothing.
  {
    const std::vector<absl::StatusOr<DeleteResult>> results =
        RunTogether<absl::StatusOr<DeleteResult>>(kThreads, [&](int) {
          return store_->Delete(contested, 0);
        });
    int deleted = 0;
    for (const auto& result : results) {
      if (result.ok()) {
        ++deleted;
      } else {
        EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound)
            << result.status();
      }
    }
    EXPECT_EQ(deleted, 1);
  }
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t revision, store_->CurrentRevision());
  EXPECT_EQ(revision, 2 + kThreads + 1);
}

TEST_P(StateStoreConformanceTest, ConcurrentRegistrationsRaceOnManyKeys) {
  // Every thread registers the same keys in the same order, so that
  // threads keep colliding on one key: each key is created exactly once.
  constexpr int kThreads = 8;
  constexpr int kKeys = 100;
  std::vector<v1::StateKey> keys = NumberedKeys("race", kKeys);
  StartGate gate(kThreads);
  // created[t][k]: thread t created key k; revision[t][k]: what it saw.
  std::vector<std::vector<int>> created(kThreads, std::vector<int>(kKeys));
  std::vector<std::vector<std::int64_t>> seen(kThreads,
                                              std::vector<std::int64_t>(kKeys));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      gate.ArriveAndWait();
      for (int k = 0; k < kKeys; ++k) {
        absl::StatusOr<RegisterResult> result = store_->Register(
            MakeState(keys[k], "file:///same"), false, Time1());
        if (!result.ok()) {
          ++failures;
          continue;
        }
        created[t][k] = result->created;
        seen[t][k] = result->state.revision();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);
  for (int k = 0; k < kKeys; ++k) {
    int creators = 0;
    for (int t = 0; t < kThreads; ++t) {
      creators += created[t][k];
      EXPECT_EQ(seen[t][k], seen[0][k]) << "key " << k;
    }
    EXPECT_EQ(creators, 1) << "key " << k;
  }
  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t current, store_->CurrentRevision());
  EXPECT_EQ(current, kKeys);
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(0, AnyState(), 1000));
  EXPECT_THAT(changes.events, SizeIs(kKeys));
}

TEST_P(StateStoreConformanceTest, ConcurrentRegistrationsOfDistinctKeys) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 16;
  constexpr int kTotal = kThreads * kPerThread;
  StartGate gate(kThreads);
  std::vector<std::vector<std::int64_t>> revisions(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      gate.ArriveAndWait();
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<RegisterResult> result =
            store_->Register(MakeState(Key("pytorch", absl::StrCat("arch", t),
                                           {}, absl::StrCat("t", i)),
                                       "file:///w"),
                             false, Time1());
        if (!result.ok() || !result->created) {
          ++failures;
          continue;
        }
        revisions[t].push_back(result->state.revision());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);

  std::set<std::int64_t> all;
  for (const std::vector<std::int64_t>& mine : revisions) {
    // One thread's writes take increasing revisions.
    EXPECT_TRUE(std::is_sorted(mine.begin(), mine.end()));
    all.insert(mine.begin(), mine.end());
  }
  ASSERT_THAT(all, SizeIs(kTotal));
  EXPECT_EQ(*all.begin(), 1);
  EXPECT_EQ(*all.rbegin(), kTotal);

  STATES_ASSERT_OK_AND_ASSIGN(std::int64_t current, store_->CurrentRevision());
  EXPECT_EQ(current, kTotal);
  STATES_ASSERT_OK_AND_ASSIGN(ListResult list,
                              store_->List(AnyState(), "", 1000));
  EXPECT_THAT(list.states, SizeIs(kTotal));
  STATES_ASSERT_OK_AND_ASSIGN(ChangeBatch changes,
                              store_->ReadChanges(0, AnyState(), 1000));
  ASSERT_THAT(changes.events, SizeIs(kTotal));
  for (int i = 0; i < kTotal; ++i) {
    EXPECT_EQ(changes.events[i].revision(), i + 1);
    EXPECT_EQ(changes.events[i].state().revision(), i + 1);
    EXPECT_EQ(changes.events[i].type(), v1::StateEvent::TYPE_ADDED);
  }
}

// ---------------------------------------------------------------------------
// PageTokenKey.

TEST_P(StateStoreConformanceTest, PageTokenKeyIsLongAndStable) {
  const std::string key = store_->PageTokenKey();
  EXPECT_GE(key.size(), 32u);
  EXPECT_NE(key, std::string(key.size(), '\0'));
  EXPECT_EQ(store_->PageTokenKey(), key);
  ASSERT_NO_FATAL_FAILURE(RegisterAll(*store_, NumberedKeys("m", 3)));
  EXPECT_EQ(store_->PageTokenKey(), key);
  // A secret: each store makes its own.
  std::unique_ptr<StateStore> other = MakeStore();
  ASSERT_NE(other, nullptr);
  EXPECT_NE(other->PageTokenKey(), key);
}

}  // namespace
}  // namespace mozuma::states
