// How statesctl reads NAME and STATE_TYPE arguments, end to end: a pasted
// file name is refused (or warned about by validate), the slash form works
// in every command, and validate reports every problem of a name.
#include <google/protobuf/struct.pb.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/end_to_end.h"
#include "tests/testing/subprocess.h"

namespace mozuma::states {
namespace {

using ::mozuma::states::testing::CommandResult;
using ::mozuma::states::testing::ParseJsonObject;
using ::testing::HasSubstr;
using ::testing::Not;

// The suite's tests share one statesd.
class StatesctlNamesTest : public testing::StatesdPerSuiteFixture {};

TEST_F(StatesctlNamesTest, RegisterRefusesAPastedFileName) {
  const std::string file_name = "pytorch.resnet18.cls1000.imagenet.pt";
  CommandResult refused = Run({"register", file_name, "file:///x.pt"});
  EXPECT_EQ(refused.exit_code, 2) << refused.stdout_text;
  EXPECT_EQ(refused.stdout_text, "");
  EXPECT_THAT(refused.stderr_text,
              HasSubstr("did you mean pytorch.resnet18.cls1000.imagenet?"));
  EXPECT_THAT(refused.stderr_text, HasSubstr("statesctl import DIR"));
  EXPECT_THAT(refused.stderr_text, HasSubstr("--allow_file_extension"));
  // Nothing was registered, under either name.
  EXPECT_EQ(Run({"get", "--allow_file_extension", file_name}).exit_code, 1);
  EXPECT_EQ(Run({"get", "pytorch.resnet18.cls1000.imagenet"}).exit_code, 1);

  // Every command that writes or looks up a key, whatever the case or the
  // separator, and a compressed file too.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"get", file_name},
           {"delete", file_name},
           {"parse", file_name},
           {"get", "pytorch/resnet18/cls1000/imagenet/PT"},
           {"get", "pytorch.resnet18.imagenet.safetensors"},
           {"register", "pytorch.resnet18.imagenet.pth", "file:///x.pth"}}) {
    CommandResult result = Run(args);
    EXPECT_EQ(result.exit_code, 2) << args[1] << ": " << result.stderr_text;
    EXPECT_THAT(result.stderr_text, HasSubstr("looks like a file name"));
  }
  EXPECT_THAT(
      Run({"get", "pytorch.resnet18.cls1000.imagenet.pt.gz"}).stderr_text,
      HasSubstr("did you mean pytorch.resnet18.cls1000.imagenet?"));
}

TEST_F(StatesctlNamesTest, AllowFileExtensionTakesTheTrainingIdAsItIs) {
  const std::string name = "pytorch.vgg16.imagenet.pt";
  CommandResult created =
      Run({"register", "--allow_file_extension", name, "file:///vgg16.pt"});
  EXPECT_EQ(created.exit_code, 0) << created.stderr_text;
  EXPECT_THAT(created.stdout_text, HasSubstr("created " + name + " rev"));
  CommandResult got = Run({"get", name, "--allow_file_extension"});
  EXPECT_EQ(got.exit_code, 0) << got.stderr_text;
  EXPECT_THAT(got.stdout_text, HasSubstr("training_id:   pt\n"));
  CommandResult parsed = Run({"parse", "--allow_file_extension", name});
  EXPECT_EQ(parsed.exit_code, 0) << parsed.stderr_text;
  EXPECT_THAT(parsed.stdout_text, HasSubstr("training_id:  pt"));
  EXPECT_EQ(Run({"delete", "--allow_file_extension", name}).exit_code, 0);
  // A flag of the key commands only.
  EXPECT_EQ(Run({"list", "--allow_file_extension"}).exit_code, 2);
}

TEST_F(StatesctlNamesTest, ValidateWarnsAboutAFileNameButCallsItValid) {
  const std::string file_name = "pytorch.resnet18.cls1000.imagenet.pt";
  CommandResult text = Run({"validate", file_name});
  EXPECT_EQ(text.exit_code, 0) << text.stderr_text;
  EXPECT_THAT(text.stdout_text, HasSubstr(file_name + ": valid\n"));
  EXPECT_THAT(text.stdout_text,
              HasSubstr("  warning: " + file_name + " looks like a file name"));
  EXPECT_THAT(text.stdout_text,
              HasSubstr("did you mean pytorch.resnet18.cls1000.imagenet?"));

  CommandResult json = Run({"--json", "validate", file_name, "a.b.c"});
  EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
  const google::protobuf::Struct document = ParseJsonObject(json.stdout_text);
  const auto& results = document.fields().at("results").list_value();
  ASSERT_EQ(results.values_size(), 2);
  const auto& first = results.values(0).struct_value().fields();
  EXPECT_TRUE(first.at("valid").bool_value());
  ASSERT_EQ(first.count("warnings"), 1u) << json.stdout_text;
  ASSERT_EQ(first.at("warnings").list_value().values_size(), 1);
  EXPECT_THAT(first.at("warnings").list_value().values(0).string_value(),
              HasSubstr("did you mean pytorch.resnet18.cls1000.imagenet?"));
  EXPECT_EQ(results.values(1).struct_value().fields().count("warnings"), 0u);

  CommandResult allowed =
      Run({"validate", "--allow_file_extension", file_name});
  EXPECT_EQ(allowed.exit_code, 0);
  EXPECT_THAT(allowed.stdout_text, Not(HasSubstr("warning")));
}

TEST_F(StatesctlNamesTest, EveryCommandTakesTheSlashForm) {
  const std::string slashed = "pytorch/densenet121/cls1000/imagenet";
  const std::string dotted = "pytorch.densenet121.cls1000.imagenet";
  CommandResult created = Run({"register", slashed, "file:///d.pt"});
  EXPECT_EQ(created.exit_code, 0) << created.stderr_text;
  EXPECT_THAT(created.stdout_text, HasSubstr("created " + dotted + " rev"));

  CommandResult got = Run({"get", slashed});
  EXPECT_EQ(got.exit_code, 0) << got.stderr_text;
  EXPECT_THAT(got.stdout_text, HasSubstr("name:          " + dotted + "\n"));
  // Mixed separators: no name holds either.
  EXPECT_EQ(Run({"get", "pytorch/densenet121.cls1000/imagenet"}).exit_code, 0);

  CommandResult parsed = Run({"parse", slashed});
  EXPECT_EQ(parsed.exit_code, 0) << parsed.stderr_text;
  EXPECT_THAT(parsed.stdout_text, HasSubstr("extra:        cls1000\n"));

  CommandResult valid = Run({"validate", slashed});
  EXPECT_EQ(valid.exit_code, 0) << valid.stdout_text;
  EXPECT_EQ(Run({"validate", "--type", "pytorch/densenet121"}).exit_code, 0);

  CommandResult compat =
      Run({"compat", "pytorch/densenet121", "pytorch/densenet121/cls1000"});
  EXPECT_EQ(compat.exit_code, 0) << compat.stderr_text;
  EXPECT_THAT(compat.stdout_text, HasSubstr("COMPATIBLE"));

  CommandResult listed = Run({"list", "pytorch/densenet121"});
  EXPECT_THAT(listed.stdout_text, HasSubstr(dotted));

  CommandResult deleted = Run({"delete", slashed});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.stderr_text;
  EXPECT_THAT(deleted.stdout_text, HasSubstr("deleted " + dotted + " rev"));

  for (const char* command : {"register", "get", "delete", "parse", "validate",
                              "compat", "list", "watch"}) {
    CommandResult help = Run({command, "--help"});
    EXPECT_THAT(help.stdout_text, HasSubstr("backend/architecture")) << command;
  }
}

TEST_F(StatesctlNamesTest, ValidateReportsThePartCountAndTheBadCharacters) {
  CommandResult text = Run({"validate", "ResNet 18"});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_THAT(text.stdout_text, HasSubstr("ResNet 18: invalid\n"));
  EXPECT_THAT(text.stdout_text,
              HasSubstr("  name (TOO_FEW_PARTS): has 1 dot-separated part"));
  EXPECT_THAT(text.stdout_text,
              HasSubstr("  name (INVALID_CHARACTER): part 1, character "
                        "U+0020 SPACE at index 6 is not allowed"));

  CommandResult json = Run({"--json", "validate", "Res Net.1 8"});
  EXPECT_EQ(json.exit_code, 1);
  const google::protobuf::Struct document = ParseJsonObject(json.stdout_text);
  const auto& result = document.fields()
                           .at("results")
                           .list_value()
                           .values(0)
                           .struct_value()
                           .fields();
  std::vector<std::string> reasons;
  for (const auto& violation : result.at("violations").list_value().values()) {
    reasons.push_back(
        violation.struct_value().fields().at("reason").string_value());
  }
  EXPECT_THAT(reasons,
              ::testing::ElementsAre("VIOLATION_REASON_TOO_FEW_PARTS",
                                     "VIOLATION_REASON_INVALID_CHARACTER",
                                     "VIOLATION_REASON_INVALID_CHARACTER"));

  // The server's ParseStateKey reports the same, through get and parse.
  CommandResult parsed = Run({"parse", "ResNet 18"});
  EXPECT_EQ(parsed.exit_code, 1);
  EXPECT_THAT(parsed.stderr_text, HasSubstr("dot-separated part"));
  EXPECT_THAT(parsed.stderr_text, HasSubstr("U+0020 SPACE at index 6"));
  CommandResult got = Run({"get", "ResNet 18"});
  EXPECT_EQ(got.exit_code, 1);
  EXPECT_THAT(got.stderr_text, HasSubstr("U+0020 SPACE at index 6"));
}

}  // namespace
}  // namespace mozuma::states
