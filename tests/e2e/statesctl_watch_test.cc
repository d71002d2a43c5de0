// statesctl watch end to end, where the server is missing or goes away:
// it gives up on an address that never answered (unless --wait), its exit
// code after SIGINT says whether the server ever answered, and it says when
// a broken watch resumed.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <signal.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/end_to_end.h"
#include "tests/testing/subprocess.h"

namespace mozuma::states {
namespace {

using ::mozuma::states::testing::CommandResult;
using ::mozuma::states::testing::Lines;
using ::mozuma::states::testing::RunCommand;
using ::mozuma::states::testing::StatesdProcess;
using ::mozuma::states::testing::Subprocess;
using ::mozuma::states::testing::UnusedLoopbackAddress;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kWait = absl::Seconds(15);

std::size_t Count(const std::string& text, const std::string& part) {
  std::size_t count = 0;
  for (std::size_t at = text.find(part); at != std::string::npos;
       at = text.find(part, at + part.size())) {
    ++count;
  }
  return count;
}

// Sends `signal_number` to `process` and returns its exit code.
int StopWith(Subprocess& process, int signal_number) {
  process.Signal(signal_number);
  absl::StatusOr<int> code = process.Wait(kWait);
  EXPECT_TRUE(code.ok()) << code.status();
  return code.ok() ? *code : -1;
}

TEST(StatesctlWatchTest, GivesUpOnAnAddressThatNeverAnswered) {
  const std::string address = UnusedLoopbackAddress();
  const absl::Time start = absl::Now();
  absl::StatusOr<CommandResult> result =
      RunCommand({STATESCTL_PATH, "--server=" + address, "--timeout=1s",
                  "watch", "pytorch/resnet18"},
                 kWait);
  ASSERT_TRUE(result.ok()) << "watch did not give up: " << result.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  EXPECT_EQ(result->exit_code, 3) << result->stderr_text;
  EXPECT_EQ(result->stdout_text, "");
  EXPECT_THAT(result->stderr_text, HasSubstr("no answer from statesd at " +
                                             address + " within --timeout=1s"));
  EXPECT_THAT(result->stderr_text, HasSubstr("--wait"));
  // No endless "reconnecting" for a watch that never ran.
  EXPECT_THAT(result->stderr_text, Not(HasSubstr("watch interrupted")));

  absl::StatusOr<CommandResult> json =
      RunCommand({STATESCTL_PATH, "--server=" + address, "--timeout=1s",
                  "--json", "watch"},
                 kWait);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(json->exit_code, 3);
  google::protobuf::Struct error;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(json->stdout_text, &error)
          .ok())
      << json->stdout_text;
  EXPECT_EQ(error.fields().count("error"), 1u) << json->stdout_text;
  EXPECT_THAT(json->stdout_text, HasSubstr("no answer from statesd"));
}

TEST(StatesctlWatchTest, WaitKeepsTryingAndSigintBeforeAnAnswerExitsThree) {
  const std::string address = UnusedLoopbackAddress();
  absl::StatusOr<std::unique_ptr<Subprocess>> watch =
      Subprocess::Start({STATESCTL_PATH, "--server=" + address, "--timeout=1s",
                         "watch", "--wait"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(
      (*watch)->WaitForOutput("waiting for statesd at " + address, kWait).ok())
      << (*watch)->Output();
  // Past --timeout, and a few retries later: still waiting, said once.
  absl::SleepFor(absl::Seconds(2));
  EXPECT_FALSE((*watch)->Wait(absl::Milliseconds(10)).ok())
      << (*watch)->Output();
  EXPECT_EQ(Count((*watch)->Output(), "waiting for statesd"), 1u)
      << (*watch)->Output();
  EXPECT_THAT((*watch)->Output(), Not(HasSubstr("watch interrupted")));

  EXPECT_EQ(StopWith(**watch, SIGINT), 3) << (*watch)->Output();
  EXPECT_THAT((*watch)->Output(),
              HasSubstr("no answer from statesd at " + address +
                        " before the interruption"));
}

TEST(StatesctlWatchTest, WaitWatchesOnceTheServerComesUp) {
  const std::string address = UnusedLoopbackAddress();
  absl::StatusOr<std::unique_ptr<Subprocess>> watch =
      Subprocess::Start({STATESCTL_PATH, "--server=" + address, "--timeout=1s",
                         "watch", "--wait"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE((*watch)->WaitForOutput("waiting for statesd", kWait).ok())
      << (*watch)->Output();

  absl::StatusOr<std::unique_ptr<StatesdProcess>> server =
      StatesdProcess::Start({"--listen=" + address});
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<std::string> output =
      (*watch)->WaitForOutput("# snapshot complete: 0 states", kWait);
  ASSERT_TRUE(output.ok()) << (*watch)->Output();
  EXPECT_THAT(*output,
              HasSubstr("statesd at " + address + " answered; watching"));
  EXPECT_EQ(StopWith(**watch, SIGINT), 0) << (*watch)->Output();
}

// A watch from a revision on a quiet registry receives nothing, yet it is
// no failure: --timeout does not end it.
TEST(StatesctlWatchTest, AQuietWatchIsNoMissingServer) {
  absl::StatusOr<std::unique_ptr<StatesdProcess>> server =
      StatesdProcess::Start();
  ASSERT_TRUE(server.ok()) << server.status();
  absl::StatusOr<CommandResult> registered =
      RunCommand({STATESCTL_PATH, "--server=" + (*server)->address(),
                  "register", "pytorch.resnet18.imagenet", "file:///a.pt"});
  ASSERT_TRUE(registered.ok() && registered->exit_code == 0);
  absl::StatusOr<std::unique_ptr<Subprocess>> watch =
      Subprocess::Start({STATESCTL_PATH, "--server=" + (*server)->address(),
                         "--timeout=1s", "watch", "--start_revision=1"});
  ASSERT_TRUE(watch.ok()) << watch.status();
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_FALSE((*watch)->Wait(absl::Milliseconds(10)).ok())
      << (*watch)->Output();
  EXPECT_EQ((*watch)->Output(), "");
  EXPECT_EQ(StopWith(**watch, SIGTERM), 0) << (*watch)->Output();
}

// Each test has a statesd of its own, over a database file, which it
// stops and starts again on the same port.
class StatesctlWatchResumeTest : public testing::StatesdPerTestFixture,
                                 public ::testing::WithParamInterface<bool> {
 protected:
  // The exit code of statesctl run with `args` against the test's server;
  // -1 if it could not be run.
  int Run(std::vector<std::string> args) {
    return StatesdPerTestFixture::Run(std::move(args)).exit_code;
  }
};

TEST_P(StatesctlWatchResumeTest, SaysOnceFromWhichRevisionItResumed) {
  const bool json = GetParam();
  StartServer();
  ASSERT_EQ(
      Run({"register", "pytorch.resnet18.cls1000.imagenet", "file:///a.pt"}),
      0);
  const std::string address = server_->address();
  std::vector<std::string> argv = {STATESCTL_PATH, "--server=" + address,
                                   "watch"};
  if (json) argv.insert(argv.begin() + 1, "--json");
  absl::StatusOr<std::unique_ptr<Subprocess>> watch = Subprocess::Start(argv);
  ASSERT_TRUE(watch.ok()) << watch.status();
  // "snapshot_complete" or "snapshotComplete" in JSON, "# snapshot
  // complete" in text.
  ASSERT_TRUE((*watch)->WaitForOutput("napshot", kWait).ok())
      << (*watch)->Output();

  server_->process().Signal(SIGTERM);
  ASSERT_TRUE(server_->process().Wait(kWait).ok());
  server_.reset();
  ASSERT_TRUE((*watch)->WaitForOutput("reconnecting", kWait).ok())
      << (*watch)->Output();
  EXPECT_THAT((*watch)->Output(), Not(HasSubstr("resumed")));
  StartServer(address);
  // Said as soon as the server took the watch again, before any change:
  // the registry may stay quiet for hours.
  ASSERT_TRUE((*watch)->WaitForOutput("resumed", kWait).ok())
      << (*watch)->Output();
  ASSERT_EQ(Run({"register", "pytorch.resnet18.places365", "file:///b.pt"}), 0);
  absl::StatusOr<std::string> output =
      (*watch)->WaitForOutput("pytorch.resnet18.places365", kWait);
  ASSERT_TRUE(output.ok()) << (*watch)->Output();
  if (json) {
    google::protobuf::Struct resumed;
    bool found = false;
    for (const std::string& line : Lines(*output)) {
      if (line.rfind("{\"resumed\"", 0) != 0) continue;
      ASSERT_TRUE(
          google::protobuf::util::JsonStringToMessage(line, &resumed).ok())
          << line;
      found = true;
    }
    ASSERT_TRUE(found) << *output;
    EXPECT_TRUE(resumed.fields().at("resumed").bool_value());
    EXPECT_EQ(resumed.fields().at("revision").string_value(), "1");
  } else {
    EXPECT_THAT(*output,
                HasSubstr("statesctl: watch resumed from rev 1 after"));
  }
  EXPECT_EQ(Count(*output, "resumed"), 1u) << *output;
  // The resume comes before the change it resumed with.
  EXPECT_LT(output->find("resumed"), output->find("pytorch.resnet18.places365"))
      << *output;
  EXPECT_EQ(StopWith(**watch, SIGINT), 0) << (*watch)->Output();
}

INSTANTIATE_TEST_SUITE_P(TextAndJson, StatesctlWatchResumeTest,
                         ::testing::Bool());

}  // namespace
}  // namespace mozuma::states
