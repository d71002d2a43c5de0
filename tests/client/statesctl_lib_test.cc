// The parts of statesctl that need no server: hashing and URIs of local
// files, the command line scan and flag parsing, the command table (help,
// version, completion script), and the output formatters.
#include <fstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_join.h"
#include "client/statesctl/arguments.h"
#include "client/statesctl/command_line.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/local_files.h"
#include "client/statesctl/output.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/temp_dir.h"

namespace mozuma::states::statesctl {
namespace {

using ::mozuma::states::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

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

// argv for ScanCommandLine(), pointing into `args`.
std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return argv;
}

ScannedCommandLine Scan(std::vector<std::string> args) {
  std::vector<char*> argv = Argv(args);
  return ScanCommandLine(static_cast<int>(argv.size()), argv.data());
}

TEST(ScanCommandLineTest, FindsTheCommandAndCollectsLabels) {
  ScannedCommandLine scan = Scan(
      {"statesctl", "--server", "host:1", "--label=a=1", "register", "--label",
       "b=x=y", "--nooverwrite", "--json", "n.a.m", "--", "--label=c"});
  EXPECT_EQ(scan.command, "register");
  EXPECT_FALSE(scan.help);
  EXPECT_FALSE(scan.version);
  EXPECT_TRUE(scan.error.empty());
  EXPECT_THAT(scan.labels, ElementsAre("a=1", "b=x=y"));
  EXPECT_EQ(scan.flags,
            (std::set<std::string>{"json", "label", "overwrite", "server"}));
  EXPECT_THAT(scan.positional, ElementsAre("register", "n.a.m", "--label=c"));
  std::vector<std::string> flags;
  for (const FlagArgument& flag : scan.flag_arguments) {
    flags.push_back(flag.name + "=" + flag.value + " (" + flag.spelling + ")");
  }
  EXPECT_THAT(flags, ElementsAre("server=host:1 (--server host:1)",
                                 "overwrite=false (--nooverwrite)",
                                 "json=true (--json)"));
}

TEST(ScanCommandLineTest, HelpVersionAndMissingValues) {
  ScannedCommandLine scan = Scan({"statesctl", "--json", "list", "-h"});
  EXPECT_TRUE(scan.help);
  EXPECT_EQ(scan.command, "list");
  EXPECT_TRUE(Scan({"statesctl", "--version"}).version);
  EXPECT_TRUE(Scan({"statesctl", "-version"}).version);

  ScannedCommandLine dangling = Scan({"statesctl", "register", "--label"});
  EXPECT_THAT(dangling.error, HasSubstr("--label=KEY=VALUE"));
  EXPECT_TRUE(dangling.labels.empty());
  EXPECT_THAT(Scan({"statesctl", "list", "--timeout"}).error,
              HasSubstr("--timeout needs a value"));
  // An unknown flag takes no value: the next argument stays positional.
  ScannedCommandLine unknown = Scan({"statesctl", "--exactt", "list"});
  EXPECT_EQ(unknown.command, "list");
  ASSERT_EQ(unknown.flag_arguments.size(), 1u);
  EXPECT_EQ(unknown.flag_arguments[0].name, "exactt");
}

TEST(ApplyFlagsTest, UnknownFlagsNameTheClosestKnownOne) {
  absl::FlagSaver saver;
  const std::vector<std::string> known = KnownFlags(FindCommand("list"));
  absl::Status status =
      ApplyFlags(Scan({"statesctl", "list", "--exactt"}), known);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "unknown flag --exactt; did you mean --exact?");
  EXPECT_EQ(ApplyFlags(Scan({"statesctl", "list", "--training-id=x"}), known)
                .message(),
            "unknown flag --training-id; did you mean --training_id?");
  EXPECT_EQ(
      ApplyFlags(Scan({"statesctl", "--frobnicate", "list"}), known).message(),
      "unknown flag --frobnicate");
  // Abseil's own flags are not statesctl's.
  EXPECT_THAT(
      ApplyFlags(Scan({"statesctl", "--flagfile=x", "list"}), known).message(),
      HasSubstr("unknown flag --flagfile"));
}

TEST(ApplyFlagsTest, BadValuesSayWhatAValidOneLooksLike) {
  absl::FlagSaver saver;
  const std::vector<std::string> known = KnownFlags(FindCommand("list"));
  EXPECT_EQ(
      ApplyFlags(Scan({"statesctl", "--timeout=5x", "list"}), known).message(),
      "invalid --timeout \"5x\": give a duration such as 5s, 500ms or 1m (a "
      "bare number is seconds)");
  EXPECT_THAT(ApplyFlags(Scan({"statesctl", "--page_size=ten", "list"}), known)
                  .message(),
              HasSubstr("give a whole number"));
  EXPECT_THAT(
      ApplyFlags(Scan({"statesctl", "--json=maybe", "list"}), known).message(),
      HasSubstr("give true or false"));
  EXPECT_THAT(
      ApplyFlags(Scan({"statesctl", "--nojson=true", "list"}), known).message(),
      HasSubstr("write --json=false"));
}

TEST(ApplyFlagsTest, SetsEveryFlagEvenAfterAnError) {
  absl::FlagSaver saver;
  const std::vector<std::string> known = KnownFlags(FindCommand("list"));
  EXPECT_FALSE(
      ApplyFlags(Scan({"statesctl", "--bogus", "list", "--json"}), known).ok());
  EXPECT_TRUE(absl::GetFlag(FLAGS_json));
}

TEST(ApplyFlagsTest, ABareNumberIsSecondsForTimeout) {
  absl::FlagSaver saver;
  const std::vector<std::string> known = KnownFlags(FindCommand("get"));
  ASSERT_TRUE(
      ApplyFlags(Scan({"statesctl", "--timeout=5", "get"}), known).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_timeout), absl::Seconds(5));
  ASSERT_TRUE(
      ApplyFlags(Scan({"statesctl", "--timeout", "0.25", "get"}), known).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_timeout), absl::Milliseconds(250));
  ASSERT_TRUE(
      ApplyFlags(Scan({"statesctl", "--timeout=1m", "get"}), known).ok());
  EXPECT_EQ(absl::GetFlag(FLAGS_timeout), absl::Minutes(1));
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
  EXPECT_THAT(UsageText(), HasSubstr("completion bash"));
  EXPECT_THAT(UsageText(), HasSubstr("2  usage error"));
}

// The help of every command that refuses pasted file names lists the very
// extensions it refuses.
TEST(CommandsTest, HelpListsTheRefusedFileExtensions) {
  const std::string listed =
      "(" + absl::StrJoin(FileExtensions(), ", ") + ")";
  for (const char* name : {"parse", "register", "get", "delete"}) {
    const Command* command = FindCommand(name);
    ASSERT_NE(command, nullptr) << name;
    EXPECT_THAT(command->help, HasSubstr(listed)) << name;
  }
}

TEST(CommandsTest, VersionNamesTheReleaseAndTheApi) {
  EXPECT_THAT(VersionText(), MatchesRegex(R"(statesctl [0-9]+\.[0-9]+\.[0-9]+ )"
                                          R"(\(API mozuma\.states\.v1\))"));
  EXPECT_THAT(
      VersionJson(),
      MatchesRegex(R"(\{"version":"[0-9.]+","api":"mozuma\.states\.v1"\})"));
}

TEST(CommandsTest, TheCompletionScriptCoversEveryCommandAndFlag) {
  const std::string script = BashCompletionScript();
  EXPECT_THAT(script, HasSubstr("complete -F _statesctl statesctl\n"));
  for (const Command& command : Commands()) {
    EXPECT_THAT(script, HasSubstr(std::string(" ") + command.name))
        << command.name;
    for (const std::string& flag : command.flags) {
      EXPECT_THAT(script, HasSubstr("--" + flag)) << command.name;
    }
  }
  EXPECT_THAT(script, HasSubstr("--server= --timeout="));
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

TEST(OutputTest, JsonIsTheProto3MappingSortedAndCompact) {
  v1::State state;
  state.mutable_state_key()->mutable_state_type()->set_backend("pytorch");
  state.mutable_state_key()->set_training_id("t");
  state.set_uri("file:///x");
  state.set_revision(12);
  for (const char* key : {"zeta", "alpha", "mid", "beta"}) {
    (*state.mutable_labels())[key] = "v";
  }
  const std::string json = Json(state);
  EXPECT_EQ(json,
            "{\"stateKey\":{\"stateType\":{\"backend\":\"pytorch\"},"
            "\"trainingId\":\"t\"},\"uri\":\"file:///x\","
            "\"labels\":{\"alpha\":\"v\",\"beta\":\"v\",\"mid\":\"v\","
            "\"zeta\":\"v\"},\"revision\":\"12\"}");
  // Unset optional size_bytes stays absent; a set 0 is printed.
  state.set_size_bytes(0);
  EXPECT_THAT(Json(state), HasSubstr("\"sizeBytes\":\"0\""));

  v1::StateEvent event;
  event.set_type(v1::StateEvent::TYPE_ADDED);
  EXPECT_EQ(Json(event), "{\"type\":\"TYPE_ADDED\"}");
  EXPECT_EQ(Json(v1::WatchStatesResponse()), "{}");
}

TEST(OutputTest, JsonStringKeepsEverythingAndEscapesBadBytes) {
  EXPECT_EQ(JsonString("r\xC3\xA9snet"), "\"r\xC3\xA9snet\"");
  EXPECT_EQ(JsonString("a\"b\n"), "\"a\\\"b\\n\"");
  // A lone continuation byte, an overlong '/', a surrogate, a cut sequence.
  EXPECT_EQ(JsonString("x\x80y\xC0\xAFz\xED\xA0\x80\xE6\xA8"),
            "\"x\\\\x80y\\\\xC0\\\\xAFz\\\\xED\\\\xA0\\\\x80"
            "\\\\xE6\\\\xA8\"");
  const std::string long_message(1000, 'm');
  EXPECT_EQ(JsonString(long_message), "\"" + long_message + "\"");
}

TEST(OutputTest, JsonErrorIsAGoogleRpcStatus) {
  absl::Status status =
      MakeError(absl::StatusCode::kNotFound, "STATE_NOT_FOUND",
                "state a.b.c is not registered", {{"name", "a.b.c"}});
  EXPECT_EQ(JsonError(status),
            "{\"error\":{\"code\":5,\"status\":\"NOT_FOUND\","
            "\"message\":\"state a.b.c is not registered\",\"details\":[{"
            "\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\","
            "\"reason\":\"STATE_NOT_FOUND\",\"domain\":\"mozuma.states.v1\","
            "\"metadata\":{\"name\":\"a.b.c\"}}]}}");
  v1::Violation violation;
  violation.set_field("state.uri");
  violation.set_description("is empty");
  const std::string invalid =
      JsonError(InvalidFieldsError("INVALID_STATE", {violation}));
  EXPECT_THAT(invalid, HasSubstr("{\"@type\":\"type.googleapis.com/"
                                 "google.rpc.BadRequest\",\"fieldViolations\":"
                                 "[{\"field\":\"state.uri\""));
  EXPECT_EQ(JsonError(absl::UnavailableError("")),
            "{\"error\":{\"code\":14,\"status\":\"UNAVAILABLE\"}}");
}

}  // namespace
}  // namespace mozuma::states::statesctl
