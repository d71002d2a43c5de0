// statesctl import end to end when the store was moved: the same bytes
// under a new URI are recognised by their digest and only the URI changes.
#include <google/protobuf/struct.pb.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/end_to_end.h"
#include "tests/testing/subprocess.h"

namespace mozuma::states {
namespace {

using ::mozuma::states::testing::CommandResult;
using ::mozuma::states::testing::Lines;
using ::mozuma::states::testing::ParseJsonObject;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kAbcSha256[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// Each test has a statesd of its own, over a database file.
class StatesctlImportTest : public testing::StatesdPerTestFixture {
 protected:
  void SetUp() override { StartServer(); }

  // A store folder with two state files.
  std::string MakeStore(const std::string& name) {
    const std::string path = dir_.File(name);
    std::filesystem::create_directories(path);
    std::ofstream(path + "/pytorch.resnet18.cls1000.imagenet.pt",
                  std::ios::binary)
        << "abc";
    std::ofstream(path + "/pytorch.vgg16.imagenet.pt", std::ios::binary)
        << "vgg";
    return path;
  }

  // The registered state `name`, as JSON.
  google::protobuf::Struct Get(const std::string& name) {
    CommandResult got = Run({"--json", "get", name});
    EXPECT_EQ(got.exit_code, 0) << got.stderr_text;
    return ParseJsonObject(got.stdout_text);
  }
};

TEST_F(StatesctlImportTest, AMovedStoreUpdatesOnlyTheUris) {
  const std::string old_store = MakeStore("old");
  ASSERT_EQ(Run({"import", old_store}).exit_code, 0);
  const std::string old_uri =
      "file://" + old_store + "/pytorch.resnet18.cls1000.imagenet.pt";
  // A label given by hand: import sets none, and neither drops it nor
  // counts it as other content.
  CommandResult labelled =
      Run({"register", "--overwrite", "pytorch.resnet18.cls1000.imagenet",
           old_uri, std::string("--sha256=") + kAbcSha256, "--size_bytes=3",
           "--label=owner=vision"});
  ASSERT_EQ(labelled.exit_code, 0) << labelled.stderr_text;
  CommandResult again = Run({"import", old_store});
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_THAT(Lines(again.stdout_text),
              ElementsAre("unchanged pytorch.resnet18.cls1000.imagenet rev 3",
                          "unchanged pytorch.vgg16.imagenet rev 2",
                          "imported 2: 0 created, 2 unchanged, 0 moved, "
                          "0 replaced, 0 failed"));

  const std::string new_store = dir_.File("new");
  std::filesystem::rename(old_store, new_store);
  CommandResult moved = Run({"import", new_store});
  EXPECT_EQ(moved.exit_code, 0) << moved.stderr_text;
  EXPECT_THAT(
      Lines(moved.stdout_text),
      ElementsAre(
          "moved pytorch.resnet18.cls1000.imagenet rev 4 (was " + old_uri + ")",
          "moved pytorch.vgg16.imagenet rev 5 (was file://" + old_store +
              "/pytorch.vgg16.imagenet.pt)",
          "imported 2: 0 created, 0 unchanged, 2 moved, 0 replaced, "
          "0 failed"));
  EXPECT_EQ(moved.stderr_text, "");

  google::protobuf::Struct state = Get("pytorch.resnet18.cls1000.imagenet");
  EXPECT_EQ(state.fields().at("uri").string_value(),
            "file://" + new_store + "/pytorch.resnet18.cls1000.imagenet.pt");
  EXPECT_EQ(state.fields().at("sha256").string_value(), kAbcSha256);
  EXPECT_EQ(state.fields()
                .at("labels")
                .struct_value()
                .fields()
                .at("owner")
                .string_value(),
            "vision");

  CommandResult rerun = Run({"import", new_store});
  EXPECT_THAT(rerun.stdout_text,
              HasSubstr("imported 2: 0 created, 2 unchanged, 0 moved"));
}

TEST_F(StatesctlImportTest, OtherBytesStillNeedOverwrite) {
  const std::string old_store = MakeStore("old");
  ASSERT_EQ(Run({"import", old_store}).exit_code, 0);
  const std::string new_store = MakeStore("new");
  std::ofstream(new_store + "/pytorch.vgg16.imagenet.pt", std::ios::binary)
      << "other bytes";
  CommandResult refused = Run({"import", new_store});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.stdout_text,
              HasSubstr("imported 2: 0 created, 0 unchanged, 1 moved, "
                        "0 replaced, 1 failed"));
  EXPECT_THAT(refused.stderr_text,
              HasSubstr("failed pytorch.vgg16.imagenet.pt: registered with "
                        "different content (rev 2); pass --overwrite"));

  CommandResult replaced = Run({"import", "--overwrite", new_store});
  EXPECT_EQ(replaced.exit_code, 0) << replaced.stderr_text;
  EXPECT_THAT(replaced.stdout_text,
              HasSubstr("replaced pytorch.vgg16.imagenet rev 4\n"));
  EXPECT_THAT(replaced.stdout_text,
              HasSubstr("imported 2: 0 created, 1 unchanged, 0 moved, "
                        "1 replaced, 0 failed"));
}

TEST_F(StatesctlImportTest, JsonReportsEachOutcomeAndTheCounts) {
  const std::string old_store = MakeStore("old");
  ASSERT_EQ(Run({"import", old_store}).exit_code, 0);
  const std::string copy = MakeStore("copy");
  std::ofstream(copy + "/notes.txt") << "not a state";

  CommandResult json = Run({"--json", "import", copy});
  EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
  std::vector<std::string> lines = Lines(json.stdout_text);
  ASSERT_EQ(lines.size(), 4u) << json.stdout_text;
  google::protobuf::Struct skipped = ParseJsonObject(lines[0]);
  EXPECT_EQ(skipped.fields().at("file").string_value(), "notes.txt");
  EXPECT_EQ(skipped.fields().at("outcome").string_value(), "skipped");
  google::protobuf::Struct moved = ParseJsonObject(lines[1]);
  EXPECT_EQ(moved.fields().at("file").string_value(),
            "pytorch.resnet18.cls1000.imagenet.pt");
  EXPECT_EQ(moved.fields().at("outcome").string_value(), "moved");
  EXPECT_EQ(moved.fields().at("was").string_value(),
            "file://" + old_store + "/pytorch.resnet18.cls1000.imagenet.pt");
  EXPECT_EQ(moved.fields()
                .at("state")
                .struct_value()
                .fields()
                .at("uri")
                .string_value(),
            "file://" + copy + "/pytorch.resnet18.cls1000.imagenet.pt");
  const google::protobuf::Struct last = ParseJsonObject(lines[3]);
  const auto& summary = last.fields().at("summary").struct_value().fields();
  EXPECT_EQ(summary.at("moved").number_value(), 2);
  EXPECT_EQ(summary.at("created").number_value(), 0);
  EXPECT_EQ(summary.at("imported").number_value(), 2);
  EXPECT_EQ(summary.at("skipped").number_value(), 1);
}

TEST_F(StatesctlImportTest, AFileNamedWithTwoExtensionsFails) {
  const std::string store = dir_.File("store");
  std::filesystem::create_directories(store);
  std::ofstream(store + "/pytorch.resnet18.imagenet.pth.pt") << "abc";
  CommandResult result = Run({"import", store});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.stderr_text,
              HasSubstr("failed pytorch.resnet18.imagenet.pth.pt: not a state "
                        "name: without .pt it still ends in .pth, a file "
                        "extension; rename it to "
                        "pytorch.resnet18.imagenet.pt"));
  EXPECT_EQ(
      Run({"get", "--allow_file_extension", "pytorch.resnet18.imagenet.pth"})
          .exit_code,
      1);
}

}  // namespace
}  // namespace mozuma::states
