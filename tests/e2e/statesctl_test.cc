// statesctl end to end: the real binary against a real statesd.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"

namespace mozuma::states {
namespace {

using ::mozuma::states::testing::CommandResult;
using ::mozuma::states::testing::RunCommand;
using ::mozuma::states::testing::StatesdProcess;
using ::testing::HasSubstr;

class StatesctlTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    absl::StatusOr<std::unique_ptr<StatesdProcess>> started =
        StatesdProcess::Start();
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = started->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  // Runs statesctl against the suite's server.
  CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(),
                {STATESCTL_PATH, "--server=" + server_->address()});
    absl::StatusOr<CommandResult> result = RunCommand(args);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : CommandResult{};
  }

  static google::protobuf::Struct Json(const std::string& text) {
    google::protobuf::Struct json;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &json).ok())
        << text;
    return json;
  }

  static StatesdProcess* server_;
};

StatesdProcess* StatesctlTest::server_ = nullptr;

TEST_F(StatesctlTest, ValidateExitsZeroOnlyWhenAllAreValid) {
  CommandResult valid = Run({"validate", "pytorch.resnet18.cls1000.imagenet",
                             "pytorch.clip-text-rn50.clip"});
  EXPECT_EQ(valid.exit_code, 0) << valid.stderr_text;
  EXPECT_THAT(valid.stdout_text,
              HasSubstr("pytorch.clip-text-rn50.clip: valid"));

  CommandResult invalid = Run({"validate", "pytorch.resnet18.imagenet",
                               "pytorch.rés net.x", "pytorch.resnet18"});
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_THAT(invalid.stdout_text,
              HasSubstr("pytorch.resnet18.imagenet: valid"));
  EXPECT_THAT(invalid.stdout_text,
              HasSubstr("state_type.architecture (INVALID_CHARACTER): "
                        "character U+0020 SPACE at index 3"));
  EXPECT_THAT(invalid.stdout_text, HasSubstr("name (TOO_FEW_PARTS)"));

  CommandResult types = Run(
      {"validate", "--type", "pytorch.resnet18", "pytorch.resnet18.cls1000"});
  EXPECT_EQ(types.exit_code, 0) << types.stdout_text << types.stderr_text;
}

TEST_F(StatesctlTest, ValidateJsonKeepsArgumentOrder) {
  CommandResult result = Run({"--json", "validate", "a.b", "x.y.z"});
  EXPECT_EQ(result.exit_code, 1);
  google::protobuf::Struct json = Json(result.stdout_text);
  const auto& results = json.fields().at("results").list_value();
  ASSERT_EQ(results.values_size(), 2);
  const auto& first = results.values(0).struct_value().fields();
  EXPECT_EQ(first.at("input").string_value(), "a.b");
  EXPECT_FALSE(first.at("valid").bool_value());
  const auto& second = results.values(1).struct_value().fields();
  EXPECT_TRUE(second.at("valid").bool_value());
  EXPECT_EQ(second.at("name").string_value(), "x.y.z");
}

TEST_F(StatesctlTest, CompatExitCodeTellsIncompatibility) {
  CommandResult compatible =
      Run({"compat", "pytorch.resnet18", "pytorch.resnet18.cls1000"});
  EXPECT_EQ(compatible.exit_code, 0) << compatible.stderr_text;
  EXPECT_THAT(
      compatible.stdout_text,
      HasSubstr("pytorch.resnet18.cls1000: COMPATIBLE (differs in extra)"));

  CommandResult mixed = Run({"--json", "compat", "pytorch.resnet18",
                             "pytorch.resnet18", "pytorch.resnet180"});
  EXPECT_EQ(mixed.exit_code, 1);
  google::protobuf::Struct json = Json(mixed.stdout_text);
  const auto& results = json.fields().at("results").list_value();
  ASSERT_EQ(results.values_size(), 2);
  EXPECT_EQ(results.values(0)
                .struct_value()
                .fields()
                .at("compatibility")
                .string_value(),
            "COMPATIBILITY_EXACT");
  EXPECT_EQ(
      results.values(1).struct_value().fields().at("candidate").string_value(),
      "pytorch.resnet180");
}

TEST_F(StatesctlTest, ParsePrintsFieldsOrTheViolation) {
  CommandResult parsed = Run({"parse", "pytorch.densenet161.cls365.places365"});
  EXPECT_EQ(parsed.exit_code, 0) << parsed.stderr_text;
  EXPECT_THAT(parsed.stdout_text, HasSubstr("architecture: densenet161"));
  EXPECT_THAT(parsed.stdout_text, HasSubstr("training_id:  places365"));

  CommandResult invalid = Run({"--json", "parse", "pytorch..imagenet"});
  EXPECT_EQ(invalid.exit_code, 1);
  google::protobuf::Struct json = Json(invalid.stdout_text);
  const auto& error = json.fields().at("error").struct_value().fields();
  EXPECT_EQ(error.at("code").string_value(), "INVALID_ARGUMENT");
  EXPECT_EQ(error.at("error_info")
                .struct_value()
                .fields()
                .at("reason")
                .string_value(),
            "INVALID_STATE_NAME");

  CommandResult text = Run({"parse", "pytorch.resnet18"});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_THAT(text.stderr_text,
              HasSubstr("INVALID_ARGUMENT (INVALID_STATE_NAME)"));
}

TEST_F(StatesctlTest, UsageErrorsAndUnreachableServers) {
  EXPECT_EQ(Run({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(Run({"parse"}).exit_code, 2);
  EXPECT_EQ(Run({"compat", "pytorch.resnet18"}).exit_code, 2);
  CommandResult none = Run({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_THAT(none.stderr_text, HasSubstr("statesctl --help"));

  // Port 1 on loopback: nothing listens there.
  absl::StatusOr<CommandResult> unreachable =
      RunCommand({STATESCTL_PATH, "--server=127.0.0.1:1", "--timeout=3s",
                  "parse", "a.b.c"});
  ASSERT_TRUE(unreachable.ok()) << unreachable.status();
  EXPECT_EQ(unreachable->exit_code, 3);
  EXPECT_THAT(unreachable->stderr_text, HasSubstr("UNAVAILABLE"));
}

}  // namespace
}  // namespace mozuma::states
