#include "tests/testing/end_to_end.h"

#include <arpa/inet.h>
#include <google/protobuf/util/json_util.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace mozuma::states::testing {

std::vector<std::string> StatesctlArgv(const std::string& server_address,
                                       std::vector<std::string> args) {
  args.insert(args.begin(), {STATESCTL_PATH, "--server=" + server_address});
  return args;
}

CommandResult RunStatesctl(const std::string& server_address,
                           std::vector<std::string> args) {
  absl::StatusOr<CommandResult> result =
      RunCommand(StatesctlArgv(server_address, std::move(args)));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *result : CommandResult{};
}

google::protobuf::Struct ParseJsonObject(const std::string& text) {
  google::protobuf::Struct json;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &json).ok())
      << text;
  return json;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::string UnusedLoopbackAddress() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 ||
      bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ADD_FAILURE() << "cannot find a free port: " << std::strerror(errno);
  }
  if (fd >= 0) close(fd);
  return absl::StrCat("127.0.0.1:", ntohs(address.sin_port));
}

StatesdProcess* StatesdPerSuiteFixture::server_ = nullptr;

void StatesdPerSuiteFixture::SetUpTestSuite() {
  absl::StatusOr<std::unique_ptr<StatesdProcess>> started =
      StatesdProcess::Start();
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = started->release();
}

void StatesdPerSuiteFixture::TearDownTestSuite() {
  delete server_;
  server_ = nullptr;
}

CommandResult StatesdPerSuiteFixture::Run(std::vector<std::string> args) {
  return RunStatesctl(server_->address(), std::move(args));
}

void StatesdPerTestFixture::StartServer(const std::string& address) {
  std::vector<std::string> flags = {"--db=" + dir_.File("states.db")};
  if (!address.empty()) flags.push_back("--listen=" + address);
  absl::StatusOr<std::unique_ptr<StatesdProcess>> started =
      StatesdProcess::Start(flags);
  ASSERT_TRUE(started.ok()) << started.status();
  server_ = *std::move(started);
}

CommandResult StatesdPerTestFixture::Run(std::vector<std::string> args) {
  return RunStatesctl(server_->address(), std::move(args));
}

}  // namespace mozuma::states::testing
