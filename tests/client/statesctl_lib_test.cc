// The parts of statesctl that need no server: hashing and URIs of local
// files, the command line scan, and the output formatters.
#include <fstream>
#include <string>
#include <vector>

#include "client/statesctl/arguments.h"
#include "client/statesctl/command_line.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/local_files.h"
#include "client/statesctl/output.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace mozuma::states::statesctl {
namespace {

using ::mozuma::states::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

TEST(DigestFileTest, HashesAndSizesTheContent) {
  TempDir dir;
  WriteFile(dir.File("abc"), "abc");
  absl::StatusOr<FileDigest> digest = DigestFile(dir.File("abc"));
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(digest->size_bytes, 3);

  WriteFile(dir.File("empty"), "");
  digest = DigestFile(dir.File("empty"));
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(digest->size_bytes, 0);
}

TEST(DigestFileTest, ReadsInChunksAndReportsProgress) {
  TempDir dir;
  // One million 'a's is a published SHA-256 test vector; three chunks and
  // a bit make the same kind of file span chunk boundaries.
  WriteFile(dir.File("million"), std::string(1000000, 'a'));
  absl::StatusOr<FileDigest> digest = DigestFile(dir.File("million"));
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->sha256,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

  const std::int64_t size = 3 * kDigestChunkBytes + 5;
  WriteFile(dir.File("big"), std::string(size, 'x'));
  std::vector<std::int64_t> seen;
  digest =
      DigestFile(dir.File("big"), [&](std::int64_t read, std::int64_t total) {
        EXPECT_EQ(total, size);
        seen.push_back(read);
      });
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->size_bytes, size);
  const std::int64_t chunk = kDigestChunkBytes;
  EXPECT_THAT(seen, ElementsAre(chunk, 2 * chunk, 3 * chunk, size));
}

TEST(DigestFileTest, MissingFilesAndFoldersAreErrors) {
  TempDir dir;
  absl::StatusOr<FileDigest> missing = DigestFile(dir.File("nope.pt"));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.pt"));
  EXPECT_FALSE(DigestFile(dir.path()).ok());
}

TEST(FileUriTest, PercentEncodesAllButUnreservedAndSlash) {
  EXPECT_EQ(FileUri("/srv/states/pytorch.resnet18.cls1000.imagenet.pt"),
            "file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt");
  EXPECT_EQ(PercentEncodePath("/a b/c%d#e?f~g_h-i"),
            "/a%20b/c%25d%23e%3Ff~g_h-i");
  EXPECT_EQ(PercentEncodePath("/mod\xC3\xA8le/\xE6\xA8\xA1"),
            "/mod%C3%A8le/%E6%A8%A1");
  EXPECT_EQ(PercentEncodePath("a+b:c@d"), "a%2Bb%3Ac%40d");
}

TEST(ArgumentsTest, StateTypesTakeDotsOrSlashes) {
  absl::StatusOr<v1::StateType> slashed =
      ParseStateTypeArgument("pytorch/resnet18/cls1000");
  ASSERT_TRUE(slashed.ok()) << slashed.status();
  EXPECT_EQ(slashed->backend(), "pytorch");
  EXPECT_EQ(slashed->architecture(), "resnet18");
  EXPECT_THAT(slashed->extra(), ElementsAre("cls1000"));
  absl::StatusOr<v1::StateType> dotted =
      ParseStateTypeArgument("pytorch.resnet18");
  ASSERT_TRUE(dotted.ok()) << dotted.status();
  EXPECT_EQ(dotted->architecture(), "resnet18");
  EXPECT_TRUE(dotted->extra().empty());
  EXPECT_FALSE(ParseStateTypeArgument("pytorch").ok());
  EXPECT_FALSE(ParseStateTypeArgument("pytorch/res net").ok());

  absl::StatusOr<v1::StateKey> key =
      ParseNameArgument("pytorch.resnet18.cls1000.imagenet");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->training_id(), "imagenet");
  EXPECT_EQ(ParseNameArgument("pytorch.resnet18").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ScanCommandLineTest, FindsTheCommandAndCollectsLabels) {
  std::vector<std::string> args = {
      "statesctl", "--server", "host:1", "--label=a=1",
      "register",  "--label",  "b=x=y",  "--nooverwrite",
      "--json",    "n.a.m",    "--",     "--label=c"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  ScannedCommandLine scan =
      ScanCommandLine(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(scan.command, "register");
  EXPECT_FALSE(scan.help);
  EXPECT_TRUE(scan.error.empty());
  EXPECT_THAT(scan.labels, ElementsAre("a=1", "b=x=y"));
  EXPECT_EQ(scan.flags,
            (std::set<std::string>{"json", "label", "overwrite", "server"}));
  std::vector<std::string> kept(scan.argv.begin(), scan.argv.end());
  EXPECT_THAT(
      kept, ElementsAre("statesctl", "--server", "host:1", "register",
                        "--nooverwrite", "--json", "n.a.m", "--", "--label=c"));
}

TEST(ScanCommandLineTest, HelpAndMissingValues) {
  std::vector<std::string> args = {"statesctl", "--json", "list", "-h"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  ScannedCommandLine scan = ScanCommandLine(4, argv.data());
  EXPECT_TRUE(scan.help);
  EXPECT_EQ(scan.command, "list");

  std::vector<std::string> dangling = {"statesctl", "register", "--label"};
  argv.clear();
  for (std::string& arg : dangling) argv.push_back(arg.data());
  EXPECT_FALSE(ScanCommandLine(3, argv.data()).error.empty());
}

TEST(CommandsTest, EveryCommandHasHelpWithAnExample) {
  for (const Command& command : Commands()) {
    const std::string help = command.help;
    EXPECT_THAT(help,
                HasSubstr(std::string("Usage: statesctl ") + command.name))
        << command.name;
    EXPECT_THAT(help, HasSubstr("Exit codes:")) << command.name;
    EXPECT_THAT(help, HasSubstr("statesctl " + std::string(command.name)))
        << command.name;
    for (const std::string& flag : command.flags) {
      EXPECT_THAT(help, HasSubstr("--" + flag)) << command.name;
    }
  }
  EXPECT_THAT(UsageText(), HasSubstr("import DIR"));
}

TEST(OutputTest, HumanBytes) {
  EXPECT_EQ(HumanBytes(0), "0 B");
  EXPECT_EQ(HumanBytes(1023), "1023 B");
  EXPECT_EQ(HumanBytes(1024), "1.0 KiB");
  EXPECT_EQ(HumanBytes(46830571), "44.7 MiB");
  EXPECT_EQ(HumanBytes((std::int64_t{1} << 30) - 1), "1.0 GiB");
}

TEST(OutputTest, TablesAlignByCharacters) {
  EXPECT_EQ(FormatTable({{"NAME", "REV", "URI"},
                         {"r\xC3\xA9snet", "12", "file:///a"},
                         {"x", "3", "s3://b"}},
                        {1}),
            "NAME    REV  URI\n"
            "r\xC3\xA9snet   12  file:///a\n"
            "x         3  s3://b\n");
}

TEST(OutputTest, JsonSortsLabelsAndKeepsFieldOrder) {
  v1::State state;
  state.mutable_state_key()->set_training_id("t");
  state.set_uri("file:///x");
  for (const char* key : {"zeta", "alpha", "mid", "beta"}) {
    (*state.mutable_labels())[key] = "v";
  }
  const std::string json = Json(state);
  EXPECT_THAT(json, HasSubstr("\"labels\":{\"alpha\":\"v\",\"beta\":\"v\","
                              "\"mid\":\"v\",\"zeta\":\"v\"}"));
  EXPECT_LT(json.find("\"state_key\""), json.find("\"uri\""));
  EXPECT_LT(json.find("\"uri\""), json.find("\"revision\""));
  // Unset optional size_bytes stays absent; unknown is not 0.
  EXPECT_EQ(json.find("size_bytes"), std::string::npos);
}

}  // namespace
}  // namespace mozuma::states::statesctl
