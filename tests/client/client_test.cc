// The client over a substituted stub: no network, no server. One test runs
// the watcher over a loopback channel to a scripted service, to see a
// real call cancelled.
#include "client/client.h"

#include <grpcpp/grpcpp.h>

#include <deque>
#include <map>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "service/rpc/grpc_status.h"

namespace mozuma::states {
namespace {

using ::testing::HasSubstr;
using v1::StateService;

// One scripted WatchStates stream: its messages, then its status.
struct Stream {
  std::vector<v1::WatchStatesResponse> messages;
  grpc::Status status;
};

// Plays one Stream as a ClientReaderInterface.
class ScriptedReader
    : public grpc::ClientReaderInterface<v1::WatchStatesResponse> {
 public:
  explicit ScriptedReader(Stream stream) : stream_(std::move(stream)) {}

  bool Read(v1::WatchStatesResponse* message) override {
    if (next_ >= stream_.messages.size()) return false;
    *message = stream_.messages[next_++];
    return true;
  }
  bool NextMessageSize(uint32_t* size) override {
    *size = 1 << 20;
    return next_ < stream_.messages.size();
  }
  void WaitForInitialMetadata() override {}
  grpc::Status Finish() override { return stream_.status; }

 private:
  const Stream stream_;
  std::size_t next_ = 0;
};

// A stub without the callback interface (as a test double usually is):
// answers ParseStateKey from `answer`, records the deadline it was given;
// answers GetState from `get_answer`, ListStates from `pages` (by page
// token), and WatchStates from `streams`, one per call, recording every
// request. Once the streams are used up, a watch ends with OUT_OF_RANGE.
class FakeStub : public StateService::StubInterface {
 public:
  grpc::Status answer = grpc::Status::OK;
  std::string seen_name;
  std::chrono::system_clock::time_point seen_deadline;

  grpc::Status get_answer = grpc::Status::OK;
  std::map<std::string, v1::ListStatesResponse> pages;
  std::vector<v1::ListStatesRequest> list_requests;
  v1::RegisterStateRequest register_request;
  v1::DeleteStateRequest delete_request;
  v1::BatchGetStatesRequest batch_request;

  std::deque<Stream> streams;                          // guarded by mutex
  std::vector<v1::WatchStatesRequest> watch_requests;  // guarded by mutex
  mutable std::mutex mutex;

  std::vector<v1::WatchStatesRequest> WatchRequests() const {
    std::lock_guard<std::mutex> lock(mutex);
    return watch_requests;
  }

  grpc::Status ParseStateKey(grpc::ClientContext* context,
                             const v1::ParseStateKeyRequest& request,
                             v1::ParseStateKeyResponse* response) override {
    seen_name = request.name();
    seen_deadline = context->deadline();
    if (answer.ok()) {
      response->mutable_state_key()->set_training_id("from-fake");
    }
    return answer;
  }
  grpc::Status GetState(grpc::ClientContext*, const v1::GetStateRequest&,
                        v1::GetStateResponse* response) override {
    if (get_answer.ok()) response->mutable_state()->set_revision(7);
    return get_answer;
  }
  grpc::Status ListStates(grpc::ClientContext*,
                          const v1::ListStatesRequest& request,
                          v1::ListStatesResponse* response) override {
    list_requests.push_back(request);
    auto page = pages.find(request.page_token());
    if (page == pages.end()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "bad token");
    }
    *response = page->second;
    return grpc::Status::OK;
  }
  grpc::Status RegisterState(grpc::ClientContext*,
                             const v1::RegisterStateRequest& request,
                             v1::RegisterStateResponse* response) override {
    register_request = request;
    *response->mutable_state() = request.state();
    response->set_created(true);
    response->set_changed(true);
    return grpc::Status::OK;
  }
  grpc::Status DeleteState(grpc::ClientContext*,
                           const v1::DeleteStateRequest& request,
                           v1::DeleteStateResponse* response) override {
    delete_request = request;
    response->set_revision(9);
    return grpc::Status::OK;
  }
  grpc::Status BatchGetStates(grpc::ClientContext*,
                              const v1::BatchGetStatesRequest& request,
                              v1::BatchGetStatesResponse* response) override {
    batch_request = request;
    for (const v1::StateKey& key : request.state_keys()) {
      *response->add_results()->mutable_state_key() = key;
    }
    return grpc::Status::OK;
  }
  grpc::Status ValidateStateTypes(grpc::ClientContext*,
                                  const v1::ValidateStateTypesRequest&,
                                  v1::ValidateStateTypesResponse*) override {
    return Unused();
  }
  grpc::Status ValidateStateKeys(grpc::ClientContext*,
                                 const v1::ValidateStateKeysRequest&,
                                 v1::ValidateStateKeysResponse*) override {
    return Unused();
  }
  grpc::Status CheckCompatibility(grpc::ClientContext*,
                                  const v1::CheckCompatibilityRequest&,
                                  v1::CheckCompatibilityResponse*) override {
    return Unused();
  }

 private:
  static grpc::Status Unused() {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not in this fake");
  }

  grpc::ClientReaderInterface<v1::WatchStatesResponse>* WatchStatesRaw(
      grpc::ClientContext*, const v1::WatchStatesRequest& request) override {
    std::lock_guard<std::mutex> lock(mutex);
    watch_requests.push_back(request);
    if (streams.empty()) {
      return new ScriptedReader(
          {{}, grpc::Status(grpc::StatusCode::OUT_OF_RANGE, "no more")});
    }
    Stream stream = std::move(streams.front());
    streams.pop_front();
    return new ScriptedReader(std::move(stream));
  }

  // The asynchronous forms, which Client never uses with this stub.
  template <typename Response>
  using Reader = grpc::ClientAsyncResponseReaderInterface<Response>;
#define MOZUMA_STATES_UNUSED_ASYNC(Method)                 \
  Reader<v1::Method##Response>* Async##Method##Raw(        \
      grpc::ClientContext*, const v1::Method##Request&,    \
      grpc::CompletionQueue*) override {                   \
    return nullptr;                                        \
  }                                                        \
  Reader<v1::Method##Response>* PrepareAsync##Method##Raw( \
      grpc::ClientContext*, const v1::Method##Request&,    \
      grpc::CompletionQueue*) override {                   \
    return nullptr;                                        \
  }
  MOZUMA_STATES_UNUSED_ASYNC(ValidateStateTypes)
  MOZUMA_STATES_UNUSED_ASYNC(ValidateStateKeys)
  MOZUMA_STATES_UNUSED_ASYNC(CheckCompatibility)
  MOZUMA_STATES_UNUSED_ASYNC(ParseStateKey)
  MOZUMA_STATES_UNUSED_ASYNC(RegisterState)
  MOZUMA_STATES_UNUSED_ASYNC(GetState)
  MOZUMA_STATES_UNUSED_ASYNC(BatchGetStates)
  MOZUMA_STATES_UNUSED_ASYNC(ListStates)
  MOZUMA_STATES_UNUSED_ASYNC(DeleteState)
#undef MOZUMA_STATES_UNUSED_ASYNC
  grpc::ClientAsyncReaderInterface<v1::WatchStatesResponse>*
  AsyncWatchStatesRaw(grpc::ClientContext*, const v1::WatchStatesRequest&,
                      grpc::CompletionQueue*, void*) override {
    return nullptr;
  }
  grpc::ClientAsyncReaderInterface<v1::WatchStatesResponse>*
  PrepareAsyncWatchStatesRaw(grpc::ClientContext*,
                             const v1::WatchStatesRequest&,
                             grpc::CompletionQueue*) override {
    return nullptr;
  }
};

v1::StateKey Key(const std::string& training_id) {
  v1::StateKey key;
  key.mutable_state_type()->set_backend("pytorch");
  key.mutable_state_type()->set_architecture("resnet18");
  key.set_training_id(training_id);
  return key;
}

v1::State StateNamed(const std::string& training_id) {
  v1::State state;
  *state.mutable_state_key() = Key(training_id);
  state.set_uri("file:///srv/" + training_id + ".pt");
  return state;
}

TEST(ClientTest, SubstitutedStubAnswersThroughTheBlockingPath) {
  auto stub = std::make_shared<FakeStub>();
  ClientOptions options;
  options.timeout = absl::Seconds(7);
  Client client(stub, options);
  const auto before = std::chrono::system_clock::now();

  absl::StatusOr<v1::StateKey> key = client.ParseStateKey("a.b.c");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->training_id(), "from-fake");
  EXPECT_EQ(stub->seen_name, "a.b.c");
  // Every call carries the default deadline.
  EXPECT_GE(stub->seen_deadline, before + std::chrono::seconds(6));
  EXPECT_LE(stub->seen_deadline,
            std::chrono::system_clock::now() + std::chrono::seconds(7));
}

TEST(ClientTest, ErrorsKeepTheServersDetails) {
  auto stub = std::make_shared<FakeStub>();
  v1::Violation violation;
  violation.set_field("name");
  violation.set_reason(v1::VIOLATION_REASON_TOO_FEW_PARTS);
  violation.set_description("has 2 dot-separated part(s)");
  stub->answer =
      ToGrpcStatus(InvalidFieldsError(reason::kInvalidStateName, {violation}));
  Client client(stub, ClientOptions{});

  absl::StatusOr<v1::StateKey> key = client.ParseStateKey("a.b");
  ASSERT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(GetErrorInfo(key.status()).has_value());
  EXPECT_EQ(GetErrorInfo(key.status())->reason(), "INVALID_STATE_NAME");
  EXPECT_EQ(GetErrorInfo(key.status())->metadata().at("name"), "TOO_FEW_PARTS");
  ASSERT_TRUE(GetBadRequest(key.status()).has_value());
  EXPECT_EQ(GetBadRequest(key.status())->field_violations(0).description(),
            "has 2 dot-separated part(s)");
}

TEST(ClientTest, UnreachableServerIsUnavailableWithinTheDeadline) {
  ClientOptions options;
  options.timeout = absl::Seconds(5);
  // Port 1 on loopback: nothing listens there.
  auto client = Client::Connect("127.0.0.1:1", options);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::StateKey> key = client->ParseStateKey("a.b.c");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
}

TEST(ChannelTargetTest, TakesHttpUrlsAndLeavesGrpcTargetsAlone) {
  const std::pair<const char*, const char*> cases[] = {
      {"http://127.0.0.1:50051", "127.0.0.1:50051"},
      {"http://127.0.0.1:50051/", "127.0.0.1:50051"},
      {"HTTP://localhost:8080", "localhost:8080"},
      {"grpc://states.internal:443", "states.internal:443"},
      {"http://[::1]:50051", "[::1]:50051"},
      {"127.0.0.1:50051", "127.0.0.1:50051"},
      {"dns:///states.internal:50051", "dns:///states.internal:50051"},
      {"unix:/run/statesd.sock", "unix:/run/statesd.sock"},
      {"unix:///run/statesd.sock", "unix:///run/statesd.sock"},
      {"ipv4:127.0.0.1:1,127.0.0.1:2", "ipv4:127.0.0.1:1,127.0.0.1:2"},
  };
  for (const auto& [address, target] : cases) {
    absl::StatusOr<std::string> got = ChannelTarget(address);
    ASSERT_TRUE(got.ok()) << address << ": " << got.status();
    EXPECT_EQ(*got, target) << address;
  }
}

TEST(ChannelTargetTest, RefusesWhatCannotWorkAndSaysWhatToWrite) {
  const std::pair<const char*, const char*> cases[] = {
      {"https://127.0.0.1:50051", "write http://127.0.0.1:50051 instead"},
      {"grpcs://h:1/x", "write http://h:1 instead"},
      {"http://127.0.0.1", "has no port"},
      {"http://127.0.0.1:", "has no port"},
      {"http://:50051", "has no host"},
      {"http://h:0", "from 1 to 65535"},
      {"http://h:65536", "from 1 to 65535"},
      {"http://h:5o051", "from 1 to 65535"},
      {"http://h:50051/mozuma.states.v1.StateService/GetState", "has a path"},
      {"http://h:50051?x=1", "has a path"},
      {"http://me@h:50051", "user information"},
      {"http://::1:50051", "without brackets"},
      {"http://[::1", "closing ']'"},
      {"", "is empty"},
  };
  for (const auto& [address, message] : cases) {
    absl::StatusOr<std::string> got = ChannelTarget(address);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument)
        << address;
    EXPECT_THAT(std::string(got.status().message()), HasSubstr(message))
        << address;
  }
}

TEST(ClientTest, ExistsIsFalseOnlyForNotFound) {
  auto stub = std::make_shared<FakeStub>();
  Client client(stub, ClientOptions{});

  absl::StatusOr<bool> found = client.Exists(Key("imagenet"));
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(*found);

  stub->get_answer = ToGrpcStatus(MakeError(
      absl::StatusCode::kNotFound, reason::kStateNotFound, "no such state"));
  absl::StatusOr<bool> missing = client.Exists(Key("imagenet"));
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(*missing);
  EXPECT_EQ(client.Get(Key("imagenet")).status().code(),
            absl::StatusCode::kNotFound);

  stub->get_answer = grpc::Status(grpc::StatusCode::UNAVAILABLE, "down");
  EXPECT_EQ(client.Exists(Key("imagenet")).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST(ClientTest, ListWalksEveryPageWithTheSameFilter) {
  auto stub = std::make_shared<FakeStub>();
  v1::ListStatesResponse& first = stub->pages[""];
  *first.add_states() = StateNamed("a");
  *first.add_states() = StateNamed("b");
  first.set_next_page_token("page2");
  // A page may be empty while more follow.
  stub->pages["page2"].set_next_page_token("page3");
  *stub->pages["page3"].add_states() = StateNamed("c");
  Client client(stub, ClientOptions{});

  v1::ListStatesRequest request;
  request.mutable_state_type()->set_backend("pytorch");
  request.mutable_state_type()->set_architecture("resnet18");
  request.set_page_size(2);
  absl::StatusOr<std::vector<v1::State>> states = client.List(request);
  ASSERT_TRUE(states.ok()) << states.status();
  ASSERT_EQ(states->size(), 3u);
  EXPECT_EQ((*states)[0].state_key().training_id(), "a");
  EXPECT_EQ((*states)[1].state_key().training_id(), "b");
  EXPECT_EQ((*states)[2].state_key().training_id(), "c");

  ASSERT_EQ(stub->list_requests.size(), 3u);
  EXPECT_EQ(stub->list_requests[1].page_token(), "page2");
  EXPECT_EQ(stub->list_requests[2].page_token(), "page3");
  for (const v1::ListStatesRequest& sent : stub->list_requests) {
    EXPECT_EQ(sent.state_type().architecture(), "resnet18");
    EXPECT_EQ(sent.page_size(), 2);
  }

  absl::StatusOr<v1::ListStatesResponse> page = client.ListStates(request);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->next_page_token(), "page2");
}

TEST(ClientTest, ListEndsOnTheFirstErrorAndOnARepeatedToken) {
  auto stub = std::make_shared<FakeStub>();
  *stub->pages[""].add_states() = StateNamed("a");
  stub->pages[""].set_next_page_token("gone");
  Client client(stub, ClientOptions{});
  EXPECT_EQ(client.List({}).status().code(),
            absl::StatusCode::kInvalidArgument);

  stub->pages["gone"].set_next_page_token("gone");
  EXPECT_EQ(client.List({}).status().code(), absl::StatusCode::kInternal);
}

TEST(ClientTest, ShorthandsFillTheirRequests) {
  auto stub = std::make_shared<FakeStub>();
  Client client(stub, ClientOptions{});

  absl::StatusOr<v1::RegisterStateResponse> registered =
      client.Register(StateNamed("imagenet"), /*allow_overwrite=*/true);
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_TRUE(stub->register_request.allow_overwrite());
  EXPECT_EQ(stub->register_request.state().uri(), "file:///srv/imagenet.pt");

  absl::StatusOr<v1::DeleteStateResponse> deleted =
      client.Delete(Key("imagenet"), 12);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->revision(), 9);
  EXPECT_EQ(stub->delete_request.expected_revision(), 12);
  EXPECT_EQ(stub->delete_request.state_key().training_id(), "imagenet");

  absl::StatusOr<v1::BatchGetStatesResponse> batch =
      client.BatchGet({Key("x"), Key("y")});
  ASSERT_TRUE(batch.ok()) << batch.status();
  ASSERT_EQ(batch->results_size(), 2);
  EXPECT_EQ(batch->results(1).state_key().training_id(), "y");

  absl::StatusOr<v1::State> state = client.Get(Key("imagenet"));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->revision(), 7);
}

// --- StateWatcher ---

v1::WatchStatesResponse Snapshot(const std::string& training_id) {
  v1::WatchStatesResponse response;
  v1::StateEvent& event = *response.add_events();
  event.set_type(v1::StateEvent::TYPE_ADDED);
  *event.mutable_state() = StateNamed(training_id);
  event.set_revision(3);
  return response;  // revision 0: a snapshot message
}

v1::WatchStatesResponse SnapshotComplete(std::int64_t revision) {
  v1::WatchStatesResponse response;
  response.set_snapshot_complete(true);
  response.set_revision(revision);
  return response;
}

v1::WatchStatesResponse Change(std::int64_t revision) {
  v1::WatchStatesResponse response;
  v1::StateEvent& event = *response.add_events();
  event.set_type(v1::StateEvent::TYPE_ADDED);
  *event.mutable_state() = StateNamed("live");
  event.set_revision(revision);
  response.set_revision(revision);
  return response;
}

grpc::Status Unavailable() {
  return ToGrpcStatus(MakeError(absl::StatusCode::kUnavailable,
                                reason::kServerDraining, "draining"));
}

grpc::Status TooSlow() {
  return ToGrpcStatus(MakeError(absl::StatusCode::kResourceExhausted,
                                reason::kWatchTooSlow, "too slow"));
}

WatchOptions FastBackoff() {
  WatchOptions options;
  options.initial_backoff = absl::Milliseconds(1);
  options.max_backoff = absl::Milliseconds(4);
  options.jitter = 0;
  return options;
}

// What the callbacks saw. Read it after StateWatcher::Wait(), which orders
// the callbacks before it.
struct Seen {
  std::vector<v1::WatchStatesResponse> messages;
  std::vector<WatchRetry> retries;
  std::vector<absl::Status> done;
  absl::Notification first_retry;

  WatchCallbacks Callbacks() {
    WatchCallbacks callbacks;
    callbacks.on_message = [this](const v1::WatchStatesResponse& response) {
      messages.push_back(response);
    };
    callbacks.on_retry = [this](const WatchRetry& retry) {
      retries.push_back(retry);
      if (!first_retry.HasBeenNotified()) first_retry.Notify();
    };
    callbacks.on_done = [this](const absl::Status& status) {
      done.push_back(status);
    };
    return callbacks;
  }
};

TEST(StateWatcherTest, ResumesFromTheLastRevisionAfterResumableErrors) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back(
      {{Snapshot("a"), SnapshotComplete(5), Change(7)}, Unavailable()});
  stub->streams.push_back({{Change(8)}, TooSlow()});
  stub->streams.push_back(
      {{},
       ToGrpcStatus(MakeError(absl::StatusCode::kOutOfRange,
                              reason::kHistoryCompacted, "compacted",
                              {{"oldest_revision", "20"}}))});
  Client client(stub, ClientOptions{});
  Seen seen;
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), FastBackoff());

  const absl::Status status = watcher->Wait();
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  ASSERT_TRUE(GetErrorInfo(status).has_value());
  EXPECT_EQ(GetErrorInfo(status)->reason(), "HISTORY_COMPACTED");
  EXPECT_EQ(watcher->last_revision(), 8);

  const std::vector<v1::WatchStatesRequest> requests = stub->WatchRequests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].start_revision(), 0);
  EXPECT_EQ(requests[1].start_revision(), 7);
  EXPECT_EQ(requests[2].start_revision(), 8);

  ASSERT_EQ(seen.messages.size(), 4u);
  EXPECT_TRUE(seen.messages[1].snapshot_complete());
  ASSERT_EQ(seen.retries.size(), 2u);
  EXPECT_EQ(seen.retries[0].error.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(GetErrorInfo(seen.retries[0].error)->reason(), "SERVER_DRAINING");
  EXPECT_EQ(seen.retries[0].start_revision, 7);
  EXPECT_FALSE(seen.retries[0].restarts_snapshot);
  EXPECT_EQ(seen.retries[1].error.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(seen.retries[1].start_revision, 8);
  ASSERT_EQ(seen.done.size(), 1u);
  EXPECT_EQ(seen.done[0].code(), absl::StatusCode::kOutOfRange);
}

TEST(StateWatcherTest, RestartsTheSnapshotWhenItBrokeBeforeCompleting) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{Snapshot("a")}, Unavailable()});
  stub->streams.push_back(
      {{Snapshot("a"), Snapshot("b"), SnapshotComplete(4)},
       grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "stop here")});
  Client client(stub, ClientOptions{});
  Seen seen;
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), FastBackoff());

  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<v1::WatchStatesRequest> requests = stub->WatchRequests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].start_revision(), 0);
  ASSERT_EQ(seen.retries.size(), 1u);
  EXPECT_TRUE(seen.retries[0].restarts_snapshot);
  EXPECT_EQ(seen.retries[0].start_revision, 0);
  EXPECT_EQ(seen.messages.size(), 4u);
}

TEST(StateWatcherTest, ASnapshotIsRestartedOnlyOnceSomethingOfItArrived) {
  auto stub = std::make_shared<FakeStub>();
  // Nothing delivered: the next snapshot repeats nothing.
  stub->streams.push_back({{}, Unavailable()});
  stub->streams.push_back({{}, Unavailable()});
  // An empty store's snapshot, at revision 0: the next stream sends a
  // second snapshot_complete.
  stub->streams.push_back({{SnapshotComplete(0)}, Unavailable()});
  stub->streams.push_back({{}, Unavailable()});
  Client client(stub, ClientOptions{});
  Seen seen;
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), FastBackoff());

  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kOutOfRange);
  ASSERT_EQ(seen.retries.size(), 4u);
  EXPECT_FALSE(seen.retries[0].restarts_snapshot);
  EXPECT_FALSE(seen.retries[1].restarts_snapshot);
  EXPECT_TRUE(seen.retries[2].restarts_snapshot);
  EXPECT_FALSE(seen.retries[3].restarts_snapshot);
  for (const v1::WatchStatesRequest& request : stub->WatchRequests()) {
    EXPECT_EQ(request.start_revision(), 0);
  }
}

TEST(StateWatcherTest, ACancellationItDidNotAskForIsResumed) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back(
      {{SnapshotComplete(4)},
       grpc::Status(grpc::StatusCode::CANCELLED, "server shutdown")});
  Client client(stub, ClientOptions{});
  Seen seen;
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), FastBackoff());

  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kOutOfRange);
  ASSERT_EQ(seen.retries.size(), 1u);
  EXPECT_EQ(seen.retries[0].error.code(), absl::StatusCode::kCancelled);
  const std::vector<v1::WatchStatesRequest> requests = stub->WatchRequests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].start_revision(), 4);
}

TEST(StateWatcherTest, KeepsTheRequestedStartRevisionUntilAMessageArrives) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{}, Unavailable()});
  Client client(stub, ClientOptions{});
  Seen seen;
  v1::WatchStatesRequest request;
  request.set_training_id("imagenet");
  request.set_start_revision(40);
  std::unique_ptr<StateWatcher> watcher =
      client.Watch(request, seen.Callbacks(), FastBackoff());

  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kOutOfRange);
  const std::vector<v1::WatchStatesRequest> requests = stub->WatchRequests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].start_revision(), 40);
  EXPECT_EQ(requests[1].training_id(), "imagenet");
  ASSERT_EQ(seen.retries.size(), 1u);
  EXPECT_FALSE(seen.retries[0].restarts_snapshot);
  EXPECT_EQ(watcher->last_revision(), 0);
}

TEST(StateWatcherTest, OtherErrorsEndTheWatchAtOnce) {
  for (const grpc::StatusCode code :
       {grpc::StatusCode::OUT_OF_RANGE, grpc::StatusCode::INVALID_ARGUMENT,
        grpc::StatusCode::INTERNAL, grpc::StatusCode::UNIMPLEMENTED}) {
    auto stub = std::make_shared<FakeStub>();
    stub->streams.push_back({{}, grpc::Status(code, "no")});
    Client client(stub, ClientOptions{});
    Seen seen;
    std::unique_ptr<StateWatcher> watcher =
        client.Watch({}, seen.Callbacks(), FastBackoff());
    EXPECT_EQ(watcher->Wait().code(), static_cast<absl::StatusCode>(code));
    EXPECT_TRUE(watcher->done());
    EXPECT_EQ(stub->WatchRequests().size(), 1u);
    EXPECT_TRUE(seen.retries.empty());
  }
}

TEST(StateWatcherTest, AStreamEndedWithOkIsAnInternalError) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{SnapshotComplete(1)}, grpc::Status::OK});
  Client client(stub, ClientOptions{});
  std::unique_ptr<StateWatcher> watcher = client.Watch({}, {}, FastBackoff());
  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kInternal);
}

TEST(StateWatcherTest, BackoffDoublesUpToItsBoundAndResetsAfterAMessage) {
  auto stub = std::make_shared<FakeStub>();
  for (int i = 0; i < 4; ++i) stub->streams.push_back({{}, Unavailable()});
  stub->streams.push_back({{Change(2)}, Unavailable()});
  Client client(stub, ClientOptions{});
  Seen seen;
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), FastBackoff());

  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kOutOfRange);
  ASSERT_EQ(seen.retries.size(), 5u);
  std::vector<absl::Duration> delays;
  std::vector<int> attempts;
  for (const WatchRetry& retry : seen.retries) {
    delays.push_back(retry.delay);
    attempts.push_back(retry.attempt);
  }
  EXPECT_EQ(attempts, (std::vector<int>{1, 2, 3, 4, 1}));
  EXPECT_EQ(delays, (std::vector<absl::Duration>{
                        absl::Milliseconds(1), absl::Milliseconds(2),
                        absl::Milliseconds(4), absl::Milliseconds(4),
                        absl::Milliseconds(1)}));
}

TEST(StateWatcherTest, JitterOnlyShortensTheWait) {
  auto stub = std::make_shared<FakeStub>();
  for (int i = 0; i < 20; ++i) stub->streams.push_back({{}, Unavailable()});
  Client client(stub, ClientOptions{});
  Seen seen;
  WatchOptions options = FastBackoff();
  options.initial_backoff = options.max_backoff = absl::Milliseconds(2);
  options.jitter = 0.5;
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), options);
  ASSERT_EQ(watcher->Wait().code(), absl::StatusCode::kOutOfRange);
  for (const WatchRetry& retry : seen.retries) {
    EXPECT_LE(retry.delay, absl::Milliseconds(2));
    EXPECT_GE(retry.delay, absl::Milliseconds(1));
  }
}

TEST(StateWatcherTest, StopCutsTheBackoffShort) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{}, Unavailable()});
  Client client(stub, ClientOptions{});
  Seen seen;
  WatchOptions options;
  options.initial_backoff = absl::Seconds(60);
  options.max_backoff = absl::Seconds(60);
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), options);
  ASSERT_TRUE(
      seen.first_retry.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(watcher->WaitFor(absl::Milliseconds(50)));

  const absl::Time start = absl::Now();
  watcher->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_TRUE(watcher->done());
  EXPECT_EQ(watcher->status().code(), absl::StatusCode::kCancelled);
  ASSERT_EQ(seen.done.size(), 1u);
  EXPECT_EQ(seen.done[0].code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(stub->WatchRequests().size(), 1u);
  watcher->Stop();  // idempotent
  EXPECT_EQ(seen.done.size(), 1u);
}

TEST(StateWatcherTest, StopFromACallbackEndsTheWatch) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{SnapshotComplete(1), Change(2)}, Unavailable()});
  Client client(stub, ClientOptions{});
  StateWatcher* self = nullptr;
  absl::Notification started;
  WatchCallbacks callbacks;
  callbacks.on_message = [&](const v1::WatchStatesResponse&) {
    started.WaitForNotification();
    self->Stop();
  };
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, std::move(callbacks), FastBackoff());
  self = watcher.get();
  started.Notify();
  ASSERT_TRUE(watcher->WaitFor(absl::Seconds(5)));
  EXPECT_EQ(watcher->status().code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(stub->WatchRequests().size(), 1u);
}

TEST(StateWatcherTest, SaysOnceWhenABrokenWatchResumed) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back(
      {{Snapshot("a"), SnapshotComplete(5)}, Unavailable()});
  stub->streams.push_back({{}, Unavailable()});
  stub->streams.push_back({{Change(7), Change(8)}, TooSlow()});
  stub->streams.push_back({{Change(9)}, grpc::Status::OK});
  Client client(stub, ClientOptions{});
  // Every callback in order, as one trace.
  std::vector<std::string> trace;
  std::vector<WatchResume> resumes;
  WatchCallbacks callbacks;
  callbacks.on_message = [&](const v1::WatchStatesResponse& response) {
    trace.push_back(absl::StrCat("message@", response.revision()));
  };
  callbacks.on_retry = [&](const WatchRetry& retry) {
    trace.push_back(absl::StrCat("retry", retry.attempt));
    EXPECT_TRUE(retry.answered);
  };
  callbacks.on_resume = [&](const WatchResume& resume) {
    trace.push_back(absl::StrCat("resume@", resume.start_revision));
    resumes.push_back(resume);
  };
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, std::move(callbacks), FastBackoff());

  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(trace,
            (std::vector<std::string>{
                "message@0", "message@5", "retry1", "retry2", "resume@5",
                "message@7", "message@8", "retry1", "resume@8", "message@9"}));
  ASSERT_EQ(resumes.size(), 2u);
  EXPECT_EQ(resumes[0].failed_attempts, 2);
  EXPECT_TRUE(resumes[0].answered_before);
  EXPECT_FALSE(resumes[0].restarts_snapshot);
  EXPECT_EQ(GetErrorInfo(resumes[0].error)->reason(), "SERVER_DRAINING");
  EXPECT_EQ(resumes[1].failed_attempts, 1);
  EXPECT_EQ(resumes[1].error.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(watcher->answered());
  EXPECT_EQ(watcher->failed_attempts(), 0);
}

TEST(StateWatcherTest, AResumedSnapshotSaysSo) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{Snapshot("a")}, Unavailable()});
  stub->streams.push_back({{Snapshot("a"), SnapshotComplete(3)}, TooSlow()});
  Client client(stub, ClientOptions{});
  std::vector<WatchResume> resumes;
  WatchCallbacks callbacks;
  callbacks.on_resume = [&](const WatchResume& resume) {
    resumes.push_back(resume);
  };
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, std::move(callbacks), FastBackoff());
  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kOutOfRange);
  ASSERT_EQ(resumes.size(), 1u);
  EXPECT_TRUE(resumes[0].restarts_snapshot);
  EXPECT_EQ(resumes[0].start_revision, 0);
}

// gRPC's own UNAVAILABLE, as when nothing listens at the address: no
// google.rpc details.
grpc::Status CannotConnect() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "failed to connect to all addresses");
}

TEST(StateWatcherTest, KnowsWhenTheServerNeverAnswered) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{}, CannotConnect()});
  stub->streams.push_back({{}, CannotConnect()});
  Client client(stub, ClientOptions{});
  Seen seen;
  WatchOptions options = FastBackoff();
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), options);
  ASSERT_TRUE(
      seen.first_retry.WaitForNotificationWithTimeout(absl::Seconds(5)));
  // The fake ends the third stream with OUT_OF_RANGE: an answer.
  EXPECT_EQ(watcher->Wait().code(), absl::StatusCode::kOutOfRange);
  ASSERT_EQ(seen.retries.size(), 2u);
  EXPECT_FALSE(seen.retries[0].answered);
  EXPECT_FALSE(seen.retries[1].answered);
  EXPECT_TRUE(watcher->answered());
}

TEST(StateWatcherTest, ConnectionFailuresAloneAreNoAnswer) {
  auto stub = std::make_shared<FakeStub>();
  stub->streams.push_back({{}, CannotConnect()});
  Client client(stub, ClientOptions{});
  Seen seen;
  WatchOptions options;
  options.initial_backoff = absl::Seconds(60);
  options.max_backoff = absl::Seconds(60);
  std::unique_ptr<StateWatcher> watcher =
      client.Watch({}, seen.Callbacks(), options);
  ASSERT_TRUE(
      seen.first_retry.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(watcher->answered());
  EXPECT_EQ(watcher->failed_attempts(), 1);
  watcher->Stop();
  EXPECT_FALSE(watcher->answered());
  ASSERT_EQ(seen.retries.size(), 1u);
  EXPECT_FALSE(seen.retries[0].answered);

  // The server's own UNAVAILABLE (SERVER_DRAINING, with details) is an
  // answer.
  auto draining = std::make_shared<FakeStub>();
  draining->streams.push_back({{}, Unavailable()});
  Client draining_client(draining, ClientOptions{});
  Seen seen_draining;
  std::unique_ptr<StateWatcher> drained =
      draining_client.Watch({}, seen_draining.Callbacks(), options);
  ASSERT_TRUE(seen_draining.first_retry.WaitForNotificationWithTimeout(
      absl::Seconds(5)));
  EXPECT_TRUE(drained->answered());
  drained->Stop();
  ASSERT_EQ(seen_draining.retries.size(), 1u);
  EXPECT_TRUE(seen_draining.retries[0].answered);
}

// Streams one snapshot_complete message, then holds the call open until the
// client cancels it.
class HoldingService : public StateService::Service {
 public:
  absl::Notification cancelled;
  std::atomic<int> calls{0};

  grpc::Status WatchStates(
      grpc::ServerContext* context, const v1::WatchStatesRequest*,
      grpc::ServerWriter<v1::WatchStatesResponse>* writer) override {
    ++calls;
    writer->Write(SnapshotComplete(1));
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!context->IsCancelled() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    if (context->IsCancelled()) cancelled.Notify();
    return grpc::Status::CANCELLED;
  }
};

// Answers ParseStateKey with the name it was sent as training id.
class EchoService : public StateService::Service {
 public:
  grpc::Status ParseStateKey(grpc::ServerContext*,
                             const v1::ParseStateKeyRequest* request,
                             v1::ParseStateKeyResponse* response) override {
    response->mutable_state_key()->set_training_id(request->name());
    return grpc::Status::OK;
  }
};

TEST(ClientTest, ConnectTakesTheHttpUrlOfAServer) {
  EchoService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  for (const std::string& address :
       {"http://127.0.0.1:" + std::to_string(port) + "/",
        "grpc://127.0.0.1:" + std::to_string(port),
        "dns:///127.0.0.1:" + std::to_string(port)}) {
    ClientOptions options;
    options.timeout = absl::Seconds(5);
    absl::StatusOr<v1::StateKey> key =
        Client::Connect(address, options)->ParseStateKey("x");
    ASSERT_TRUE(key.ok()) << address << ": " << key.status();
    EXPECT_EQ(key->training_id(), "x");
  }
  server->Shutdown(std::chrono::system_clock::now());
}

TEST(StateWatcherTest, StopCancelsTheCallInFlight) {
  HoldingService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_NE(port, 0);

  // A short unary timeout: the watch must not inherit it.
  ClientOptions options;
  options.timeout = absl::Milliseconds(200);
  auto client = Client::Connect("127.0.0.1:" + std::to_string(port), options);
  absl::Notification first_message;
  WatchCallbacks callbacks;
  callbacks.on_message = [&](const v1::WatchStatesResponse&) {
    if (!first_message.HasBeenNotified()) first_message.Notify();
  };
  std::unique_ptr<StateWatcher> watcher = client->Watch({}, callbacks);
  ASSERT_TRUE(first_message.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_FALSE(watcher->WaitFor(absl::Milliseconds(500)));
  EXPECT_EQ(watcher->last_revision(), 1);

  const absl::Time start = absl::Now();
  watcher->Stop();
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(watcher->status().code(), absl::StatusCode::kCancelled);
  EXPECT_TRUE(
      service.cancelled.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(service.calls.load(), 1);
  server->Shutdown(std::chrono::system_clock::now());
}

}  // namespace
}  // namespace mozuma::states
