// statesd as a real process on a loopback port, called over the network by
// the C++ client library.
#include <arpa/inet.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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
using ::testing::Not;

constexpr char kService[] = "/mozuma.states.v1.StateService/";

// statesd's exit codes, as its --help documents them.
constexpr int kExitUsage = 2;
constexpr int kExitListen = 3;
constexpr int kExitStore = 4;

std::unique_ptr<StatesdProcess> StartStatesd(
    const std::vector<std::string>& flags = {}) {
  absl::StatusOr<std::unique_ptr<StatesdProcess>> server =
      StatesdProcess::Start(flags);
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// statesd_testing, the build of statesd with its test hooks.
std::unique_ptr<StatesdProcess> StartStatesdWithTestHooks(
    const std::vector<std::string>& flags) {
  absl::StatusOr<std::unique_ptr<StatesdProcess>> server =
      StatesdProcess::StartWithTestHooks(flags);
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
  auto server = StartStatesdWithTestHooks(
      {"--TEST_response_delay=1s", "--drain_grace=5s"});
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
  auto server = StartStatesdWithTestHooks(
      {"--TEST_response_delay=5s", "--drain_grace=300ms"});
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

// The lines of `text` (the last one need not end with a newline), blank
// ones included: unlike testing::Lines(), this counts every line.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return lines;
}

// Runs statesd with `flags` and expects it to fail at once with
// `exit_code` and one line on stderr holding every one of `phrases`.
void ExpectStatesdFails(const std::vector<std::string>& flags, int exit_code,
                        const std::vector<std::string>& phrases,
                        const std::string& binary = STATESD_PATH) {
  std::vector<std::string> argv = {binary};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<testing::CommandResult> result = RunCommand(argv);
  ASSERT_TRUE(result.ok()) << result.status();
  const std::string context = "flags: " + absl::StrJoin(flags, " ") +
                              "\nstderr: " + result->stderr_text;
  EXPECT_EQ(result->exit_code, exit_code) << context;
  EXPECT_EQ(result->stdout_text, "") << context;
  EXPECT_EQ(Lines(result->stderr_text).size(), 1u) << context;
  EXPECT_THAT(result->stderr_text, ::testing::StartsWith("statesd: "))
      << context;
  for (const std::string& phrase : phrases) {
    EXPECT_THAT(result->stderr_text, HasSubstr(phrase)) << context;
  }
}

TEST(StatesdTest, HelpServesAnOperatorAndExitsZero) {
  for (const char* flag : {"--help", "-h", "-help", "--helpfull"}) {
    absl::StatusOr<testing::CommandResult> result =
        RunCommand({STATESD_PATH, flag});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0) << flag;
    EXPECT_EQ(result->stderr_text, "") << flag;
    const std::string& help = result->stdout_text;
    for (const char* section :
         {"Usage:\n", "Listening:\n", "Store:\n", "Limits:\n", "Watches:\n",
          "Draining:\n", "Signals:\n", "Exit codes:\n", "Examples:\n",
          "Docs: README.md"}) {
      EXPECT_THAT(help, HasSubstr(section)) << flag;
    }
    for (const char* line :
         {"--listen=ADDRESS", "default: 127.0.0.1:50051", "--db=FILE",
          "$STATE_DIRECTORY/states.db", "--history=N", "--name_charset=",
          "--max_name_bytes=N", "--max_extras=N", "--max_batch_size=N",
          "--watch_max_lag=N", "--drain_grace=DURATION", "default: 10s",
          "SIGINT, SIGTERM", "  3  cannot listen on --listen"}) {
      EXPECT_THAT(help, HasSubstr(line)) << flag;
    }
    // Neither test hooks nor the paths of source files.
    EXPECT_THAT(help, Not(HasSubstr("TEST_"))) << flag;
    EXPECT_THAT(help, Not(HasSubstr(".cc"))) << flag;
    EXPECT_THAT(help, Not(HasSubstr("Flags from"))) << flag;
    for (const std::string& line : Lines(help)) {
      EXPECT_LE(line.size(), 79u) << line;
    }
  }
  // Help wins over a mistake on the same line.
  absl::StatusOr<testing::CommandResult> result =
      RunCommand({STATESD_PATH, "--no_such_flag", "--help"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0);
}

TEST(StatesdTest, VersionPrintsTheRelease) {
  for (const char* flag : {"--version", "-version"}) {
    absl::StatusOr<testing::CommandResult> result =
        RunCommand({STATESD_PATH, flag});
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0);
    EXPECT_EQ(result->stdout_text,
              std::string("statesd ") + MOZUMA_STATES_VERSION + "\n");
    EXPECT_EQ(result->stderr_text, "");
  }
}

TEST(StatesdTest, UsageErrorsExitTwoWithOneLine) {
  ExpectStatesdFails({"--no_such_flag=1"}, kExitUsage,
                     {"unknown flag --no_such_flag", "--help"});
  ExpectStatesdFails({"--lsiten=127.0.0.1:0"}, kExitUsage,
                     {"unknown flag --lsiten (did you mean --listen?)"});
  ExpectStatesdFails({"--grace=1s"}, kExitUsage,
                     {"(did you mean --drain_grace?)"});
  ExpectStatesdFails({"--port=50051"}, kExitUsage,
                     {"(did you mean --listen?)"});
  ExpectStatesdFails({"--charset=ascii"}, kExitUsage,
                     {"(did you mean --name_charset?)"});
  ExpectStatesdFails({"--history=many"}, kExitUsage,
                     {"--history=many is not valid", "a whole number",
                      "e.g. --history=100000"});
  ExpectStatesdFails({"--drain_grace=5"}, kExitUsage,
                     {"--drain_grace=5", "a duration such as", "10s"});
  ExpectStatesdFails({"--max_extras=-1"}, kExitUsage, {"--max_extras=-1"});
  ExpectStatesdFails({"--listen"}, kExitUsage, {"--listen needs a value"});
  ExpectStatesdFails({"states.db"}, kExitUsage,
                     {"unexpected argument \"states.db\"", "flags only"});
  ExpectStatesdFails({"--name_charset=latin1", "--db=memory:"}, kExitUsage,
                     {"--name_charset"});
  ExpectStatesdFails({"--drain_grace=-1s", "--db=memory:"}, kExitUsage,
                     {"--drain_grace"});
}

TEST(StatesdTest, TestHooksExistOnlyInTheTestBuild) {
  // The production binary refuses the flag like any unknown one...
  ExpectStatesdFails({"--TEST_response_delay=1s", "--db=memory:"}, kExitUsage,
                     {"unknown flag --TEST_response_delay"});
  // ...because nothing of the hook is compiled into it.
  std::ifstream binary(STATESD_PATH, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(binary)),
                          std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 0u);
  EXPECT_EQ(bytes.find("TEST_response_delay"), std::string::npos);
  EXPECT_EQ(bytes.find("SetResponseDelay"), std::string::npos);
  // ...while statesd_testing takes it and says so in its help.
  absl::StatusOr<testing::CommandResult> help =
      RunCommand({STATESD_TESTING_PATH, "--help"});
  ASSERT_TRUE(help.ok()) << help.status();
  EXPECT_EQ(help->exit_code, 0);
  EXPECT_THAT(help->stdout_text, HasSubstr("--TEST_response_delay=DURATION"));
  auto server = StartStatesdWithTestHooks({"--TEST_response_delay=10ms"});
  ASSERT_NE(server, nullptr);
}

TEST(StatesdTest, MalformedAddressesAreNamedAsSuch) {
  for (const char* listen :
       {"256.1.1.1:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000",
        "127.0.0.1:http", "::1:50051", "http://127.0.0.1:50051", ":50051",
        "[::1:50051", "unix:"}) {
    ExpectStatesdFails({std::string("--listen=") + listen, "--db=memory:"},
                       kExitListen,
                       {std::string("cannot listen on ") + listen + ": ",
                        "malformed address"});
  }
  ExpectStatesdFails({"--listen=no-such-host.invalid:50051", "--db=memory:"},
                     kExitListen,
                     {"\"no-such-host.invalid\" does not resolve"});
}

TEST(StatesdTest, AnAddressInUseIsRefusedWithAWayOut) {
  auto server = StartStatesd();
  ASSERT_NE(server, nullptr);
  const std::string address = server->address();
  const std::string port = address.substr(address.rfind(':') + 1);
  // gRPC's SO_REUSEPORT would let the second server share the port; it is
  // off, and the message says what happened, to what, and what to do.
  ExpectStatesdFails({"--listen=" + address, "--db=memory:"}, kExitListen,
                     {"cannot listen on " + address,
                      "port " + port + " of 127.0.0.1 is already in use",
                      "--listen=127.0.0.1:0 for a free one"});
  ExpectStatesdFails({"--listen=localhost:" + port, "--db=memory:"},
                     kExitListen, {"already in use"});
  // The first server never noticed.
  EXPECT_TRUE(Client::Connect(address)
                  ->ParseStateKey("pytorch.resnet18.imagenet")
                  .ok());

  // A socket with SO_REUSEPORT on, as any gRPC server has by default: the
  // kernel would let a second SO_REUSEPORT socket share its port.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  const int on = 1;
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)), 0);
  sockaddr_in loopback{};
  loopback.sin_family = AF_INET;
  loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&loopback), sizeof(loopback)),
            0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t length = sizeof(loopback);
  getsockname(fd, reinterpret_cast<sockaddr*>(&loopback), &length);
  const std::string shared =
      absl::StrCat("127.0.0.1:", ntohs(loopback.sin_port));
  ExpectStatesdFails({"--listen=" + shared, "--db=memory:"}, kExitListen,
                     {"already in use"});
  close(fd);
}

TEST(StatesdTest, AnAddressOfAnotherMachineIsNamedAsSuch) {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this machine.
  ExpectStatesdFails({"--listen=192.0.2.1:50051", "--db=memory:"}, kExitListen,
                     {"192.0.2.1 is not an address of this machine"});
}

TEST(StatesdTest, APrivilegedPortIsNamedAsSuch) {
  std::ifstream sysctl("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  int unprivileged_start = 1024;
  sysctl >> unprivileged_start;
  if (unprivileged_start == 0) GTEST_SKIP() << "every port is unprivileged";
  const std::string listen =
      absl::StrCat("--listen=127.0.0.1:", unprivileged_start - 1);
  std::vector<std::string> argv;
  if (geteuid() == 0) {
    // As root, drop to nobody, whose rights are those of any user.
    argv = {"/usr/bin/setpriv", "--reuid=65534",   "--regid=65534",
            "--clear-groups",   "--inh-caps=-all", "--bounding-set=-all"};
  }
  argv.insert(argv.end(), {STATESD_PATH, listen, "--db=memory:"});
  absl::StatusOr<testing::CommandResult> result = RunCommand(argv);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, kExitListen) << result->stderr_text;
  EXPECT_EQ(Lines(result->stderr_text).size(), 1u) << result->stderr_text;
  EXPECT_THAT(result->stderr_text, HasSubstr("permission denied for port"));
  EXPECT_THAT(result->stderr_text, HasSubstr("CAP_NET_BIND_SERVICE"));
  EXPECT_THAT(result->stderr_text, HasSubstr("--listen=127.0.0.1:0"));
}

TEST(StatesdTest, AUnixSocketInUseIsRefusedAndAStaleOneReplaced) {
  testing::TempDir dir;
  const std::string listen = "--listen=unix:" + dir.File("statesd.sock");
  ExpectStatesdFails(
      {"--listen=unix:" + dir.File("missing/statesd.sock"), "--db=memory:"},
      kExitListen, {"does not exist"});
  {
    absl::StatusOr<std::unique_ptr<testing::Subprocess>> first =
        testing::Subprocess::Start({STATESD_PATH, listen, "--db=memory:"});
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_TRUE((*first)->WaitForOutput("serving", absl::Seconds(20)).ok());
    // gRPC alone would remove the live socket and take it over.
    ExpectStatesdFails({listen, "--db=memory:"}, kExitListen,
                       {"another process already listens on the socket"});
    (*first)->Signal(SIGKILL);  // leaves the socket file behind
    ASSERT_TRUE((*first)->Wait(absl::Seconds(10)).ok());
  }
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> second =
      testing::Subprocess::Start({STATESD_PATH, listen, "--db=memory:"});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE((*second)->WaitForOutput("serving", absl::Seconds(20)).ok());
}

// statesd started in `cwd` with `env` (NAME=VALUE, or -u NAME to unset)
// and `flags`; returns its startup line.
std::string StartupLineIn(const std::string& cwd,
                          const std::vector<std::string>& env,
                          const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {"/usr/bin/env", "-C", cwd};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), {STATESD_PATH, "--listen=127.0.0.1:0"});
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<std::unique_ptr<testing::Subprocess>> process =
      testing::Subprocess::Start(argv);
  if (!process.ok()) return process.status().ToString();
  absl::StatusOr<std::string> output =
      (*process)->WaitForOutput("\n", absl::Seconds(20));
  (*process)->Signal(SIGTERM);
  (void)(*process)->Wait(absl::Seconds(20));
  return output.ok() ? *output : output.status().ToString();
}

TEST(StatesdTest, TheDefaultStoreDoesNotDependOnTheWorkingDirectory) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir.File("cwd"));
  const std::vector<std::string> clean = {"-u", "STATE_DIRECTORY", "-u",
                                          "XDG_STATE_HOME",
                                          "HOME=" + dir.File("home")};
  EXPECT_THAT(StartupLineIn(dir.File("cwd"), clean, {}),
              HasSubstr("store: sqlite " + dir.File("home") +
                        "/.local/state/mozuma-states/states.db at revision 0"));
  EXPECT_TRUE(std::filesystem::exists(
      dir.File("home/.local/state/mozuma-states/states.db")));

  std::vector<std::string> xdg = clean;
  xdg.push_back("XDG_STATE_HOME=" + dir.File("xdg"));
  EXPECT_THAT(StartupLineIn(dir.File("cwd"), xdg, {}),
              HasSubstr("store: sqlite " + dir.File("xdg") +
                        "/mozuma-states/states.db at revision 0"));

  // systemd's StateDirectory= wins; it may list several directories.
  std::vector<std::string> systemd = xdg;
  systemd.push_back("STATE_DIRECTORY=" + dir.File("state") + ":" +
                    dir.File("other"));
  EXPECT_THAT(StartupLineIn(dir.File("cwd"), systemd, {}),
              HasSubstr("store: sqlite " + dir.File("state") +
                        "/states.db at revision 0"));

  // A relative --db is taken from the working directory, and printed whole.
  EXPECT_THAT(StartupLineIn(dir.File("cwd"), clean, {"--db=var/../var/s.db"}),
              HasSubstr("store: sqlite " + dir.File("cwd") +
                        "/var/s.db at revision 0"));
  // Nothing else went into the working directory.
  std::vector<std::string> entries;
  for (const auto& entry :
       std::filesystem::directory_iterator(dir.File("cwd"))) {
    entries.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(entries, ::testing::ElementsAre("var"));

  // A default place that cannot be made says so, and how to choose another.
  { std::ofstream blocker(dir.File("blocked")); }
  std::vector<std::string> blocked = clean;
  blocked.push_back("STATE_DIRECTORY=" + dir.File("blocked/state"));
  blocked.insert(blocked.end(), {STATESD_PATH, "--listen=127.0.0.1:0"});
  blocked.insert(blocked.begin(), {"/usr/bin/env", "-C", dir.File("cwd")});
  absl::StatusOr<testing::CommandResult> result = RunCommand(blocked);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, kExitStore);
  EXPECT_THAT(result->stderr_text,
              HasSubstr("the default store " + dir.File("blocked/state") +
                        "/states.db: "));
  EXPECT_THAT(result->stderr_text, HasSubstr("give --db=FILE"));
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
  EXPECT_EQ(result->exit_code, kExitStore);
  EXPECT_THAT(result->stderr_text, HasSubstr(dir.File("garbage.db")));

  result = RunCommand({STATESD_PATH, "--listen=127.0.0.1:0", "--db="});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, kExitUsage);
  EXPECT_THAT(result->stderr_text, HasSubstr("--db"));

  // A file where the directory should be.
  { std::ofstream file(dir.File("file")); }
  result = RunCommand({STATESD_PATH, "--listen=127.0.0.1:0",
                       "--db=" + dir.File("file/states.db")});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, kExitStore);
  EXPECT_THAT(result->stderr_text, HasSubstr("--db"));

  result = RunCommand({STATESD_PATH, "--listen=127.0.0.1:0",
                       "--db=memory:", "--history=10", "--watch_max_lag=11"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, kExitUsage);
  EXPECT_THAT(result->stderr_text, HasSubstr("--watch_max_lag"));

  result = RunCommand(
      {STATESD_PATH, "--listen=127.0.0.1:0", "--db=memory:", "--history=0"});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, kExitUsage);
  EXPECT_THAT(result->stderr_text, HasSubstr("--history"));
}

}  // namespace
}  // namespace mozuma::states
