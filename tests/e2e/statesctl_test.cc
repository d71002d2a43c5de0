// statesctl end to end: the real binary against a real statesd (and, for
// errors, against a failing gRPC server and an address where nothing
// listens): exit codes, JSON, the command line, bash completion.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state_service.grpc.pb.h"
#include "tests/testing/end_to_end.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mozuma::states {
namespace {

using ::mozuma::states::testing::CommandResult;
using ::mozuma::states::testing::ParseJsonObject;
using ::mozuma::states::testing::RunCommand;
using ::mozuma::states::testing::RunStatesctl;
using ::mozuma::states::testing::UnusedLoopbackAddress;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::IsSupersetOf;
using ::testing::MatchesRegex;
using ::testing::Not;

// The suite's tests share one statesd.
class StatesctlTest : public testing::StatesdPerSuiteFixture {
 protected:
  // `text` parsed as ParseJsonObject() does, with a nonfatal failure as
  // well unless it is exactly one line, newline included.
  static google::protobuf::Struct Json(const std::string& text) {
    EXPECT_EQ(text.find('\n'), text.size() - 1) << "not one line: " << text;
    return ParseJsonObject(text);
  }

  // The detail of type google.rpc.`type` in JSON error `json`.
  static google::protobuf::Map<std::string, google::protobuf::Value> Detail(
      const google::protobuf::Struct& json, const std::string& type) {
    const auto& error = json.fields().at("error").struct_value().fields();
    if (error.contains("details")) {
      for (const auto& detail : error.at("details").list_value().values()) {
        const auto& fields = detail.struct_value().fields();
        if (fields.at("@type").string_value() ==
            "type.googleapis.com/google.rpc." + type) {
          return fields;
        }
      }
    }
    ADD_FAILURE() << "no " << type << " in the error";
    return {};
  }
};

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
  // The proto3 JSON mapping leaves a false `valid` out.
  EXPECT_FALSE(first.contains("valid"));
  EXPECT_EQ(first.at("violations")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("reason")
                .string_value(),
            "VIOLATION_REASON_TOO_FEW_PARTS");
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
  EXPECT_EQ(results.values(1)
                .struct_value()
                .fields()
                .at("differingFields")
                .list_value()
                .values(0)
                .string_value(),
            "architecture");
  EXPECT_EQ(json.fields().at("stateType").string_value(), "pytorch.resnet18");
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
  EXPECT_EQ(error.at("code").number_value(), 3);
  EXPECT_EQ(error.at("status").string_value(), "INVALID_ARGUMENT");
  EXPECT_EQ(Detail(json, "ErrorInfo").at("reason").string_value(),
            "INVALID_STATE_NAME");
  EXPECT_EQ(Detail(json, "BadRequest")
                .at("fieldViolations")
                .list_value()
                .values(0)
                .struct_value()
                .fields()
                .at("field")
                .string_value(),
            "name");

  CommandResult text = Run({"parse", "pytorch.resnet18"});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_THAT(text.stderr_text,
              HasSubstr("INVALID_ARGUMENT (INVALID_STATE_NAME)"));
}

// A gRPC server that fails every GetState with INTERNAL, as a statesd whose
// database broke would.
class FailingService : public v1::StateService::Service {
 public:
  grpc::Status GetState(grpc::ServerContext*, const v1::GetStateRequest*,
                        v1::GetStateResponse*) override {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "database disk image is malformed");
  }
};

// The four outcomes scripts must tell apart, each in text and in JSON: the
// same exit code both ways, a message on stderr in text, one JSON line on
// stdout (a google.rpc.Status under "error") with --json.
TEST_F(StatesctlTest, ExitCodesHoldForEveryKindOfErrorInTextAndJson) {
  FailingService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> failing = builder.BuildAndStart();
  ASSERT_NE(failing, nullptr);

  struct Case {
    std::string what;
    std::string server;
    std::vector<std::string> args;
    int exit_code;
    std::string status;
    std::string stderr_text;
  };
  const std::string missing = "pytorch.resnet18.cls1000.nowhere";
  const std::vector<Case> cases = {
      {"usage error",
       server_->address(),
       {"list", "--exactt"},
       2,
       "INVALID_ARGUMENT",
       "unknown flag --exactt; did you mean --exact?"},
      {"miss",
       server_->address(),
       {"get", missing},
       1,
       "NOT_FOUND",
       "NOT_FOUND (STATE_NOT_FOUND)"},
      {"server error",
       "127.0.0.1:" + std::to_string(port),
       {"get", missing},
       3,
       "INTERNAL",
       "INTERNAL: database disk image is malformed"},
      {"unreachable server",
       UnusedLoopbackAddress(),
       {"get", missing},
       3,
       "UNAVAILABLE",
       "cannot reach statesd at 127.0.0.1:"},
  };
  for (const Case& c : cases) {
    CommandResult text = RunStatesctl(c.server, c.args);
    EXPECT_EQ(text.exit_code, c.exit_code)
        << c.what << ": " << text.stderr_text;
    EXPECT_EQ(text.stdout_text, "") << c.what;
    EXPECT_THAT(text.stderr_text, HasSubstr(c.stderr_text)) << c.what;

    std::vector<std::string> args = c.args;
    args.push_back("--json");
    CommandResult json = RunStatesctl(c.server, args);
    EXPECT_EQ(json.exit_code, c.exit_code)
        << c.what << ": " << json.stdout_text;
    const google::protobuf::Struct error = Json(json.stdout_text);
    ASSERT_TRUE(error.fields().contains("error")) << c.what;
    const auto& fields = error.fields().at("error").struct_value().fields();
    EXPECT_EQ(fields.at("status").string_value(), c.status) << c.what;
    EXPECT_GT(fields.at("code").number_value(), 0) << c.what;
    EXPECT_FALSE(fields.at("message").string_value().empty()) << c.what;
  }
  failing->Shutdown(std::chrono::system_clock::now());
}

// Whatever the mistake, a usage error exits 2, says what to do, and under
// --json is one JSON line whose ErrorInfo says it is statesctl's.
TEST_F(StatesctlTest, EveryUsageErrorExitsTwoWithAHint) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "missing command"},
      {{"lsit"}, "unknown command \"lsit\"; did you mean \"list\"?"},
      {{"parse"}, "parse takes exactly one NAME"},
      {{"compat", "pytorch.resnet18"}, "compat takes a TYPE"},
      {{"get", "a.b.c", "--overwrite"}, "--overwrite does not apply to get"},
      {{"--timeout=5x", "parse", "a.b.c"},
       "give a duration such as 5s, 500ms or 1m"},
      {{"--timeout=0", "parse", "a.b.c"}, "--timeout must be positive"},
      {{"list", "--page_size=many"}, "give a whole number"},
      {{"list", "--page_size=-1"}, "--page_size must be 0"},
      {{"list", "--json=maybe"}, "give true or false"},
      {{"list", "--training_id"}, "--training_id needs a value"},
      {{"--tiemout=5s", "list"}, "did you mean --timeout?"},
      {{"import", "/tmp", "--expected_revision=1"},
       "--expected_revision does not apply to import"},
  };
  for (const auto& [args, message] : cases) {
    CommandResult text = Run(args);
    EXPECT_EQ(text.exit_code, 2) << message;
    EXPECT_THAT(text.stderr_text, HasSubstr(message));
    EXPECT_THAT(text.stderr_text, HasSubstr("--help' for usage"));

    std::vector<std::string> json_args = args;
    json_args.insert(json_args.begin(), "--json");
    CommandResult json = Run(json_args);
    EXPECT_EQ(json.exit_code, 2) << message;
    const google::protobuf::Struct error = Json(json.stdout_text);
    EXPECT_THAT(error.fields()
                    .at("error")
                    .struct_value()
                    .fields()
                    .at("message")
                    .string_value(),
                HasSubstr(message));
    const auto info = Detail(error, "ErrorInfo");
    EXPECT_EQ(info.at("reason").string_value(), "USAGE_ERROR") << message;
    EXPECT_EQ(info.at("domain").string_value(), "statesctl") << message;
  }
  CommandResult fish = Run({"completion", "fish"});
  EXPECT_EQ(fish.exit_code, 2);
  EXPECT_THAT(fish.stderr_text, HasSubstr("statesctl completion bash"));
  CommandResult https =
      RunStatesctl("https://" + server_->address(), {"parse", "a.b.c"});
  EXPECT_EQ(https.exit_code, 2);
  EXPECT_THAT(https.stderr_text,
              HasSubstr("write http://" + server_->address() + " instead"));
}

TEST_F(StatesctlTest, TimeoutTakesABareNumberOfSeconds) {
  CommandResult seconds = Run({"--timeout=5", "parse", "a.b.c"});
  EXPECT_EQ(seconds.exit_code, 0) << seconds.stderr_text;
  EXPECT_EQ(Run({"--timeout", "2.5", "parse", "a.b.c"}).exit_code, 0);
  EXPECT_EQ(Run({"--timeout=500ms", "parse", "a.b.c"}).exit_code, 0);
}

TEST_F(StatesctlTest, ServerTakesTheUrlFormOfBufCurl) {
  for (const std::string& server :
       {"http://" + server_->address(), "http://" + server_->address() + "/",
        "grpc://" + server_->address(), "dns:///" + server_->address()}) {
    CommandResult parsed = RunStatesctl(server, {"parse", "a.b.c"});
    EXPECT_EQ(parsed.exit_code, 0) << server << ": " << parsed.stderr_text;
  }
}

TEST_F(StatesctlTest, VersionPrintsTheRelease) {
  CommandResult version = Run({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.stdout_text,
              MatchesRegex(R"(statesctl [0-9]+\.[0-9]+\.[0-9]+ )"
                           R"(\(API mozuma\.states\.v1\)
)"));
  CommandResult json = Run({"--json", "--version"});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_EQ(Json(json.stdout_text).fields().at("api").string_value(),
            "mozuma.states.v1");
}

// statesctl --json prints what buf curl prints for the same call, compact:
// the proto3 JSON mapping.
TEST_F(StatesctlTest, JsonIsWhatBufCurlPrints) {
  if (access(BUF_PATH, X_OK) != 0) {
    GTEST_SKIP() << "no buf at " << BUF_PATH << " (scripts/install-deps.sh)";
  }
  const std::string name = "pytorch.resnet18.cls1000.bufcompare";
  ASSERT_EQ(Run({"register", name, "file:///srv/x.pt", "--size_bytes=0",
                 "--label=zeta=1", "--label=alpha=2",
                 "--sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb"
                 "410ff61f20015ad"})
                .exit_code,
            0);
  const auto buf_curl = [this](const std::string& method,
                               const std::string& body) {
    absl::StatusOr<CommandResult> result =
        RunCommand({BUF_PATH, "curl", "--protocol", "grpc",
                    "--http2-prior-knowledge", "-d", body,
                    "http://" + server_->address() +
                        "/mozuma.states.v1.StateService/" + method});
    EXPECT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0) << result->stderr_text;
    google::protobuf::Struct json;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(result->stdout_text, &json)
            .ok())
        << result->stdout_text;
    return json;
  };
  const std::string key =
      R"({"stateType":{"backend":"pytorch","architecture":"resnet18",)"
      R"("extra":["cls1000"]},"trainingId":"bufcompare"})";

  const google::protobuf::Struct got =
      Json(Run({"--json", "get", name}).stdout_text);
  const google::protobuf::Struct from_buf =
      buf_curl("GetState", R"({"stateKey":)" + key + "}");
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      got, from_buf.fields().at("state").struct_value()))
      << got.DebugString() << "\nbuf curl:\n"
      << from_buf.DebugString();
  EXPECT_TRUE(got.fields().contains("sizeBytes"));

  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      Json(Run({"--json", "parse", name}).stdout_text),
      buf_curl("ParseStateKey", R"({"name":")" + name + R"("})")));
}

TEST_F(StatesctlTest, BashCompletionCompletesCommandsFlagsAndFolders) {
  testing::TempDir dir;
  CommandResult script = Run({"completion", "bash"});
  ASSERT_EQ(script.exit_code, 0) << script.stderr_text;
  std::ofstream(dir.File("statesctl.bash")) << script.stdout_text;
  std::filesystem::create_directories(dir.File("work/store1"));
  std::filesystem::create_directories(dir.File("work/store2"));
  std::ofstream(dir.File("work/stray.pt")) << "x";

  // What bash offers for `words` with the cursor on word `cword`: the
  // script sourced in a real bash, COMP_WORDS and COMP_CWORD set as bash
  // sets them, then _statesctl called.
  const auto complete = [&](std::vector<std::string> words, int cword) {
    std::vector<std::string> argv = {
        "/bin/bash",
        "-c",
        "cd \"$1\" && source \"$2\" || exit 9; shift 2; COMP_CWORD=$1; "
        "shift; COMP_WORDS=(\"$@\"); _statesctl || exit 8; "
        "printf '%s\\n' \"${COMPREPLY[@]}\"",
        "bash",
        dir.File("work"),
        dir.File("statesctl.bash"),
        std::to_string(cword)};
    argv.insert(argv.end(), words.begin(), words.end());
    absl::StatusOr<CommandResult> result = RunCommand(argv);
    EXPECT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->exit_code, 0) << result->stderr_text;
    std::vector<std::string> offered;
    for (absl::string_view line :
         absl::StrSplit(result->stdout_text, '\n', absl::SkipEmpty())) {
      offered.emplace_back(line);
    }
    std::sort(offered.begin(), offered.end());
    return offered;
  };

  EXPECT_THAT(complete({"statesctl", "li"}, 1), ElementsAre("list"));
  EXPECT_THAT(complete({"statesctl", "c"}, 1),
              ElementsAre("compat", "completion"));
  EXPECT_THAT(complete({"statesctl", ""}, 1),
              IsSupersetOf({"validate", "get", "list", "watch", "import",
                            "completion", "help"}));
  EXPECT_THAT(complete({"statesctl", "list", "--ex"}, 2),
              ElementsAre("--exact"));
  EXPECT_THAT(complete({"statesctl", "list", "--page"}, 2),
              ElementsAre("--page_size="));
  const std::vector<std::string> get_flags =
      complete({"statesctl", "get", "--"}, 2);
  EXPECT_THAT(get_flags,
              IsSupersetOf({"--json", "--server=", "--timeout=", "--help"}));
  EXPECT_THAT(get_flags, Not(Contains("--exact")));
  EXPECT_THAT(complete({"statesctl", "--js"}, 1), ElementsAre("--json"));
  // bash splits --server=h:1 into three words; the command comes after.
  EXPECT_THAT(complete({"statesctl", "--server", "=", "h:1", "wat"}, 4),
              ElementsAre("watch"));
  EXPECT_THAT(complete({"statesctl", "--server", "h:1", "wat"}, 3),
              ElementsAre("watch"));
  EXPECT_THAT(complete({"statesctl", "--timeout", "="}, 2), IsEmpty());
  EXPECT_THAT(complete({"statesctl", "help", "imp"}, 2), ElementsAre("import"));
  EXPECT_THAT(complete({"statesctl", "completion", ""}, 2),
              ElementsAre("bash"));
  EXPECT_THAT(complete({"statesctl", "import", "st"}, 2),
              ElementsAre("store1", "store2"));
  EXPECT_THAT(complete({"statesctl", "import", "store1", "st"}, 3), IsEmpty());

  absl::StatusOr<CommandResult> registered =
      RunCommand({"/bin/bash", "-c", "source \"$1\" && complete -p statesctl",
                  "bash", dir.File("statesctl.bash")});
  ASSERT_TRUE(registered.ok()) << registered.status();
  EXPECT_EQ(registered->stdout_text, "complete -F _statesctl statesctl\n");
}

}  // namespace
}  // namespace mozuma::states
