// statesd as a real process on a loopback port, called over the network by
// the C++ client library.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <random>
#include <string>

#include "client/client.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.pb.h"
#include "gtest/gtest.h"
#include "tests/testing/state_builders.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mozuma::states {
namespace {

using ::mozuma::states::testing::RunCommand;
using ::mozuma::states::testing::StatesdProcess;
using ::testing::HasSubstr;

constexpr char kService[] = "/mozuma.states.v1.StateService/";

std::unique_ptr<StatesdProcess> StartStatesd(
    const std::vector<std::string>& flags = {}) {
  absl::StatusOr<std::unique_ptr<StatesdProcess>> server =
      StatesdProcess::Start(flags);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// Sends raw bytes to `method` and returns the status and response bytes.
std::pair<grpc::Status, std::string> CallRaw(const std::string& address,
                                             const std::string& method,
                                             const std::string& payload) {
  grpc::GenericStub stub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(10));
  grpc::Slice slice(payload);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status status) { done.set_value(status); });
  grpc::Status status = done.get_future().get();
  std::string bytes;
  std::vector<grpc::Slice> slices;
  if (status.ok() && response.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return {status, bytes};
}

TEST(StatesdTest, AnswersEveryRpcOverLoopback) {
  auto server = StartStatesd();
  ASSERT_NE(server, nullptr);
  auto client = Client::Connect(server->address());

  v1::ValidateStateKeysRequest keys;
  v1::StateKey* good = keys.add_state_keys();
  *good->mutable_state_type() =
      MakeStateType("pytorch", "resnet18", {"cls1000"});
  good->set_training_id("imagenet");
  v1::StateKey* bad = keys.add_state_keys();
  *bad->mutable_state_type() =
      MakeStateType("pytorch", "resnet18", {"e\xCC\x81"});
  bad->set_training_id("imagenet\n");
  absl::StatusOr<v1::ValidateStateKeysResponse> validated =
      client->ValidateStateKeys(keys);
  ASSERT_TRUE(validated.ok()) << validated.status();
  ASSERT_EQ(validated->results_size(), 2);
  EXPECT_TRUE(validated->results(0).valid());
  EXPECT_EQ(validated->results(0).name(), "pytorch.resnet18.cls1000.imagenet");
  EXPECT_FALSE(validated->results(1).valid());
  EXPECT_EQ(validated->results(1).name(), "");
  ASSERT_EQ(validated->results(1).violations_size(), 2);
  EXPECT_EQ(validated->results(1).violations(0).field(), "state_type.extra[0]");
  EXPECT_EQ(validated->results(1).violations(0).reason(),
            v1::VIOLATION_REASON_INVALID_CHARACTER);
  EXPECT_THAT(validated->results(1).violations(0).description(),
              HasSubstr("U+0301 COMBINING ACUTE ACCENT at index 1"));
  EXPECT_EQ(validated->results(1).violations(1).field(), "training_id");

  v1::CheckCompatibilityRequest compat;
  *compat.mutable_state_type() =
      MakeStateType("pytorch", "resnet18", {"cls1000"});
  *compat.add_candidates() = MakeStateType("pytorch", "resnet18", {"cls1000"});
  *compat.add_candidates() = MakeStateType("pytorch", "resnet18");
  *compat.add_candidates() = MakeStateType("pytorch", "resnet180", {"cls1000"});
  absl::StatusOr<v1::CheckCompatibilityResponse> compared =
      client->CheckCompatibility(compat);
  ASSERT_TRUE(compared.ok()) << compared.status();
  ASSERT_EQ(compared->results_size(), 3);
  EXPECT_EQ(compared->results(0).compatibility(), v1::COMPATIBILITY_EXACT);
  EXPECT_EQ(compared->results(1).compatibility(), v1::COMPATIBILITY_COMPATIBLE);
  EXPECT_EQ(compared->results(2).compatibility(),
            v1::COMPATIBILITY_INCOMPATIBLE);
  EXPECT_THAT(compared->results(2).differing_fields(),
              ::testing::ElementsAre("architecture"));

  absl::StatusOr<v1::StateKey> parsed =
      client->ParseStateKey("pytorch.densenet161.cls365.places365");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->state_type().architecture(), "densenet161");
  EXPECT_EQ(parsed->training_id(), "places365");
}

TEST(StatesdTest, RejectedRequestsCarryBadRequestAndErrorInfo) {
  auto server = StartStatesd();
  ASSERT_NE(server, nullptr);
  auto client = Client::Connect(server->address());

  v1::CheckCompatibilityRequest request;
  *request.mutable_state_type() = MakeStateType("", "resnet18");
  *request.add_candidates() = MakeStateType("pytorch", "resnet18");
  *request.add_candidates() =
      MakeStateType("pytorch", "resnet18", {"cls 1000"});
  absl::StatusOr<v1::CheckCompatibilityResponse> response =
      client->CheckCompatibility(request);
  ASSERT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(response.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "INVALID_STATE_TYPE");
  EXPECT_EQ(info->domain(), "mozuma.states.v1");
  EXPECT_EQ(info->metadata().at("state_type.backend"), "EMPTY");
  EXPECT_EQ(info->metadata().at("candidates[1].extra[0]"), "INVALID_CHARACTER");
  std::optional<google::rpc::BadRequest> bad = GetBadRequest(response.status());
  ASSERT_TRUE(bad.has_value());
  ASSERT_EQ(bad->field_violations_size(), 2);
  EXPECT_EQ(bad->field_violations(0).field(), "state_type.backend");
  EXPECT_EQ(bad->field_violations(1).field(), "candidates[1].extra[0]");
  EXPECT_THAT(bad->field_violations(1).description(),
              HasSubstr("U+0020 SPACE"));
  EXPECT_THAT(std::string(response.status().message()),
              HasSubstr("candidates[1].extra[0]"));
}

TEST(StatesdTest, InvalidUtf8IsAViolationNotAFailedCall) {
  auto server = StartStatesd();
  ASSERT_NE(server, nullptr);
  auto client = Client::Connect(server->address());

  // The C++ protobuf runtime sends invalid UTF-8 in a string field as it is;
  // strict proto3 parsing on the server would reject the whole call.
  v1::ValidateStateTypesRequest request;
  *request.add_state_types() =
      MakeStateType("\xC0\xAF", "resnet18", {"\xED\xA0\x80"});
  *request.add_state_types() = MakeStateType("pytorch", "resnet18");
  absl::StatusOr<v1::ValidateStateTypesResponse> response =
      client->ValidateStateTypes(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 2);
  const v1::ValidationResult& result = response->results(0);
  ASSERT_EQ(result.violations_size(), 2);
  EXPECT_EQ(result.violations(0).field(), "backend");
  EXPECT_EQ(result.violations(0).reason(), v1::VIOLATION_REASON_INVALID_UTF8);
  EXPECT_EQ(result.violations(0).value(), "\\xC0\\xAF");
  EXPECT_EQ(result.violations(1).field(), "extra[0]");
  EXPECT_EQ(result.violations(1).reason(), v1::VIOLATION_REASON_INVALID_UTF8);
  EXPECT_TRUE(response->results(1).valid());

  // The same through an rpc that rejects invalid input: INVALID_ARGUMENT
  // naming the field, never INTERNAL.
  absl::StatusOr<v1::StateKey> parsed = client->ParseStateKey("a.b.\xFF");
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(parsed.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().at("name"), "INVALID_UTF8");
}

TEST(StatesdTest, MalformedAndRandomBytesNeverBreakTheServer) {
  auto server = StartStatesd();
  ASSERT_NE(server, nullptr);

  // A length prefix that runs past the end of the message.
  auto [status, bytes] =
      CallRaw(server->address(), std::string(kService) + "ParseStateKey",
              std::string("\x0A\x7F"
                          "abc",
                          5));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("not a well-formed"));
  EXPECT_FALSE(status.error_details().empty());

  std::mt19937 random(20261128);
  int answered = 0;
  for (const char* method : {"ValidateStateTypes", "ValidateStateKeys",
                             "CheckCompatibility", "ParseStateKey"}) {
    for (int i = 0; i < 100; ++i) {
      std::string payload(random() % 64, '\0');
      for (char& c : payload) c = static_cast<char>(random());
      auto [code, unused] =
          CallRaw(server->address(), std::string(kService) + method, payload);
      EXPECT_THAT(code.error_code(),
                  ::testing::AnyOf(grpc::StatusCode::OK,
                                   grpc::StatusCode::INVALID_ARGUMENT))
          << method << ": " << code.error_message();
      ++answered;
    }
  }
  EXPECT_EQ(answered, 400);
  auto client = Client::Connect(server->address());
  EXPECT_TRUE(client->ParseStateKey("pytorch.resnet18.imagenet").ok());
}

TEST(StatesdTest, LimitsComeFromFlags) {
  auto server = StartStatesd({"--max_batch_size=2", "--name_charset=ascii",
                              "--max_name_bytes=8", "--max_extras=1"});
  ASSERT_NE(server, nullptr);
  auto client = Client::Connect(server->address());

  v1::ValidateStateTypesRequest request;
  *request.add_state_types() = MakeStateType("pytorch", "résnet");
  *request.add_state_types() = MakeStateType("pytorch", "resnet18", {"a", "b"});
  absl::StatusOr<v1::ValidateStateTypesResponse> response =
      client->ValidateStateTypes(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->results(0).violations(0).reason(),
            v1::VIOLATION_REASON_INVALID_CHARACTER);
  EXPECT_THAT(response->results(0).violations(0).description(),
              HasSubstr("ASCII"));
  EXPECT_EQ(response->results(1).violations(0).reason(),
            v1::VIOLATION_REASON_TOO_MANY_EXTRAS);

  *request.add_state_types() = MakeStateType("averylongname", "x");
  response = client->ValidateStateTypes(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(response.status());
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "BATCH_TOO_LARGE");
  EXPECT_EQ(info->metadata().at("state_types"), "BATCH_TOO_LARGE");

  request.mutable_state_types()->DeleteSubrange(0, 2);
  response = client->ValidateStateTypes(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->results(0).violations(0).reason(),
            v1::VIOLATION_REASON_TOO_LONG);
}

TEST(StatesdTest, HealthServesThenDrainFinishesCallsInFlight) {
  auto server = StartStatesd({"--TEST_response_delay=1s", "--drain_grace=5s"});
  ASSERT_NE(server, nullptr);
  const std::string address = server->address();

  grpc::health::v1::HealthCheckRequest check;
  check.set_service("mozuma.states.v1.StateService");
  auto [health, health_bytes] = CallRaw(address, "/grpc.health.v1.Health/Check",
                                        check.SerializeAsString());
  ASSERT_TRUE(health.ok()) << health.error_message();
  grpc::health::v1::HealthCheckResponse serving;
  ASSERT_TRUE(serving.ParseFromString(health_bytes));
  EXPECT_EQ(serving.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  auto in_flight = std::async(std::launch::async, [&] {
    return Client::Connect(address)->ParseStateKey("pytorch.resnet18.imagenet");
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time signalled = absl::Now();
  server->process().Signal(SIGTERM);

  absl::StatusOr<v1::StateKey> answer = in_flight.get();
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(answer->state_type().architecture(), "resnet18");
  absl::StatusOr<int> exit_code = server->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(5));
  EXPECT_THAT(server->process().Output(), HasSubstr("SIGTERM received"));
  EXPECT_THAT(server->process().Output(), HasSubstr("statesd: stopped"));

  // Nobody answers any more.
  ClientOptions quick;
  quick.timeout = absl::Seconds(1);
  EXPECT_FALSE(Client::Connect(address, quick)->ParseStateKey("a.b.c").ok());
}

TEST(StatesdTest, DrainCancelsCallsThatOutliveTheGracePeriod) {
  auto server =
      StartStatesd({"--TEST_response_delay=5s", "--drain_grace=300ms"});
  ASSERT_NE(server, nullptr);
  const std::string address = server->address();
  auto in_flight = std::async(std::launch::async, [&] {
    return Client::Connect(address)->ParseStateKey("pytorch.resnet18.imagenet");
  });
  absl::SleepFor(absl::Milliseconds(300));
  const absl::Time signalled = absl::Now();
  server->process().Signal(SIGINT);
  EXPECT_FALSE(in_flight.get().ok());
  EXPECT_LT(absl::Now() - signalled, absl::Seconds(4));
  absl::StatusOr<int> exit_code = server->process().Wait(absl::Seconds(10));
  ASSERT_TRUE(exit_code.ok()) << exit_code.status();
  EXPECT_EQ(*exit_code, 0);
  EXPECT_THAT(server->process().Output(), HasSubstr("SIGINT received"));
}

TEST(StatesdTest, BadFlagsAndAddressesFailWithAMessage) {
  absl::StatusOr<testing::CommandResult> result =
      RunCommand({STATESD_PATH, "--name_charset=latin1", "--db=memory:"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("--name_charset"));

  result = RunCommand({STATESD_PATH, "--listen=256.1.1.1:80", "--db=memory:"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("cannot listen on"));

  auto server = StartStatesd();
  ASSERT_NE(server, nullptr);
  result = RunCommand(
      {STATESD_PATH, "--listen=" + server->address(), "--db=memory:"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("cannot listen on"));

  result = RunCommand({STATESD_PATH, "--help"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->stdout_text, HasSubstr("--drain_grace"));
  EXPECT_THAT(result->stdout_text, HasSubstr("--name_charset"));
  EXPECT_THAT(result->stdout_text, HasSubstr("--db"));
}

TEST(StatesdTest, TheStoreIsCreatedWithItsDirectoryAndKeptAcrossRestarts) {
  testing::TempDir dir;
  const std::string db = dir.File("nested/deeper/states.db");
  auto server = StartStatesd({"--db=" + db});
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->process().Output(),
              HasSubstr("store: sqlite " + db + " at revision 0"));
  auto client = Client::Connect(server->address());
  v1::RegisterStateRequest request;
  *request.mutable_state()->mutable_state_key() = MakeStateKey(
      MakeStateType("pytorch", "resnet18", {"cls1000"}), "imagenet");
  request.mutable_state()->set_uri("file:///srv/resnet18.pt");
  absl::StatusOr<v1::RegisterStateResponse> registered =
      client->RegisterState(request);
  ASSERT_TRUE(registered.ok()) << registered.status();
  server->process().Signal(SIGTERM);
  ASSERT_TRUE(server->process().Wait(absl::Seconds(20)).ok());

  server = StartStatesd({"--db=" + db});
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->process().Output(), HasSubstr("at revision 1"));
  client = Client::Connect(server->address());
  v1::GetStateRequest get;
  *get.mutable_state_key() = request.state().state_key();
  absl::StatusOr<v1::GetStateResponse> got = client->GetState(get);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->state().uri(), "file:///srv/resnet18.pt");
  EXPECT_EQ(got->state().revision(), 1);
}

TEST(StatesdTest, BadStoresAndHistoryFlagsFailWithAMessage) {
  testing::TempDir dir;
  {
    std::ofstream garbage(dir.File("garbage.db"));
    garbage << std::string(4096, 'x');
  }
  absl::StatusOr<testing::CommandResult> result = RunCommand(
      {STATESD_PATH, "--listen=127.0.0.1:0", "--db=" + dir.File("garbage.db")});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr(dir.File("garbage.db")));

  result = RunCommand({STATESD_PATH, "--listen=127.0.0.1:0", "--db="});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("--db"));

  // A file where the directory should be.
  { std::ofstream file(dir.File("file")); }
  result = RunCommand({STATESD_PATH, "--listen=127.0.0.1:0",
                       "--db=" + dir.File("file/states.db")});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("--db"));

  result = RunCommand({STATESD_PATH, "--listen=127.0.0.1:0", "--db=memory:",
                       "--history=10", "--watch_max_lag=11"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("--watch_max_lag"));

  result = RunCommand(
      {STATESD_PATH, "--listen=127.0.0.1:0", "--db=memory:", "--history=0"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 2);
  EXPECT_THAT(result->stderr_text, HasSubstr("--history"));
}

}  // namespace
}  // namespace mozuma::states
