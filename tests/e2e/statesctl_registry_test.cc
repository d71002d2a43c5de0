// statesctl's registry commands end to end: the real binary against a real
// statesd over SQLite, one server (and one database file) per test.
#include <google/protobuf/struct.pb.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/end_to_end.h"
#include "tests/testing/subprocess.h"

namespace mozuma::states {
namespace {

using ::mozuma::states::testing::CommandResult;
using ::mozuma::states::testing::Lines;
using ::mozuma::states::testing::ParseJsonObject;
using ::mozuma::states::testing::StatesctlArgv;
using ::mozuma::states::testing::Subprocess;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// SHA-256 test vectors.
constexpr char kAbcSha256[] =
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kEmptySha256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

constexpr absl::Duration kWait = absl::Seconds(10);

// Each test has a statesd of its own, over a database file.
class StatesctlRegistryTest : public testing::StatesdPerTestFixture {
 protected:
  void SetUp() override { StartServer(); }

  // Drains the server with SIGTERM and waits for it to exit.
  void StopServer() {
    server_->process().Signal(SIGTERM);
    absl::StatusOr<int> code = server_->process().Wait(kWait);
    ASSERT_TRUE(code.ok()) << code.status();
    EXPECT_EQ(*code, 0) << server_->process().Output();
    server_.reset();
  }

  // The command line that runs statesctl with `args` against the test's
  // server.
  std::vector<std::string> Argv(std::vector<std::string> args) const {
    return StatesctlArgv(server_->address(), std::move(args));
  }

  std::string MakeFolder(const std::string& name) {
    const std::string path = dir_.File(name);
    std::filesystem::create_directories(path);
    return path;
  }

  static void WriteFile(const std::string& path, const std::string& content) {
    std::ofstream(path, std::ios::binary) << content;
  }
};

TEST_F(StatesctlRegistryTest, RegisterGetDeleteRoundTrip) {
  const std::string name = "pytorch.resnet18.cls1000.imagenet";
  const std::string uri = "file:///srv/states/" + name + ".pt";
  CommandResult created =
      Run({"register", name, uri, std::string("--sha256=") + kAbcSha256,
           "--size_bytes=46830571", "--label=framework_version=2.1", "--label",
           "owner=vision"});
  EXPECT_EQ(created.exit_code, 0) << created.stderr_text;
  EXPECT_EQ(created.stdout_text, "created " + name + " rev 1\n");

  CommandResult again =
      Run({"register", name, uri, std::string("--sha256=") + kAbcSha256,
           "--size_bytes=46830571", "--label=owner=vision",
           "--label=framework_version=2.1"});
  EXPECT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(again.stdout_text, "unchanged " + name + " rev 1\n");

  CommandResult conflict = Run({"register", name, "s3://models/other.pt"});
  EXPECT_EQ(conflict.exit_code, 1);
  EXPECT_THAT(conflict.stderr_text,
              HasSubstr("ALREADY_EXISTS (STATE_ALREADY_EXISTS)"));
  EXPECT_THAT(conflict.stderr_text, HasSubstr("--overwrite"));

  CommandResult replaced =
      Run({"register", "--overwrite", name, "s3://models/other.pt"});
  EXPECT_EQ(replaced.exit_code, 0) << replaced.stderr_text;
  EXPECT_EQ(replaced.stdout_text, "replaced " + name + " rev 2\n");

  CommandResult got = Run({"get", name});
  EXPECT_EQ(got.exit_code, 0) << got.stderr_text;
  EXPECT_THAT(got.stdout_text, HasSubstr("architecture:  resnet18\n"));
  EXPECT_THAT(got.stdout_text, HasSubstr("extra:         cls1000\n"));
  EXPECT_THAT(got.stdout_text,
              HasSubstr("uri:           s3://models/other.pt"));
  EXPECT_THAT(got.stdout_text, HasSubstr("size:          (unknown)"));
  EXPECT_THAT(got.stdout_text, HasSubstr("revision:      2\n"));

  CommandResult json = Run({"--json", "get", name});
  EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
  google::protobuf::Struct state = ParseJsonObject(json.stdout_text);
  EXPECT_EQ(state.fields().at("name").string_value(), name);
  EXPECT_EQ(state.fields().at("revision").string_value(), "2");
  EXPECT_EQ(state.fields()
                .at("stateKey")
                .struct_value()
                .fields()
                .at("trainingId")
                .string_value(),
            "imagenet");
  // The proto3 JSON mapping: empty maps and unset fields are left out.
  EXPECT_FALSE(state.fields().contains("labels"));
  EXPECT_FALSE(state.fields().contains("sizeBytes"));

  CommandResult mismatch = Run({"delete", name, "--expected_revision=1"});
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_THAT(mismatch.stderr_text, HasSubstr("REVISION_MISMATCH"));

  CommandResult deleted = Run({"delete", name, "--expected_revision=2"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.stderr_text;
  EXPECT_EQ(deleted.stdout_text, "deleted " + name + " rev 3\n");

  CommandResult missing = Run({"get", name});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.stdout_text, "");
  EXPECT_THAT(missing.stderr_text, HasSubstr("NOT_FOUND (STATE_NOT_FOUND)"));
  EXPECT_THAT(missing.stderr_text, HasSubstr(name));
  EXPECT_EQ(Run({"delete", name}).exit_code, 1);
}

TEST_F(StatesctlRegistryTest, RegisterRejectsBadInputBeforeOrAtTheServer) {
  CommandResult bad_name = Run({"register", "pytorch.res net.x", "file:///a"});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_THAT(bad_name.stderr_text, HasSubstr("INVALID_STATE_NAME"));

  CommandResult bad_digest =
      Run({"register", "pytorch.resnet18.x", "file:///a", "--sha256=ABC"});
  EXPECT_EQ(bad_digest.exit_code, 1);
  EXPECT_THAT(bad_digest.stderr_text, HasSubstr("state.sha256"));

  EXPECT_EQ(
      Run({"register", "pytorch.resnet18.x", "file:///a", "--label=nokeyvalue"})
          .exit_code,
      2);
  EXPECT_EQ(Run({"register", "pytorch.resnet18.x"}).exit_code, 2);
  EXPECT_EQ(Run({"get", "pytorch.resnet18.x", "--overwrite"}).exit_code, 2);
  EXPECT_EQ(Run({"list", "--exact"}).exit_code, 2);
  EXPECT_EQ(Run({"import", "/tmp", "--exact"}).exit_code, 2);
}

TEST_F(StatesctlRegistryTest, EveryCommandExplainsItself) {
  for (const char* command : {"register", "get", "list", "delete", "watch",
                              "import", "validate", "compat", "parse"}) {
    CommandResult help = Run({command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_THAT(help.stdout_text,
                HasSubstr(std::string("Usage: statesctl ") + command));
    EXPECT_THAT(help.stdout_text, HasSubstr("Example"));
    EXPECT_EQ(Run({"help", command}).stdout_text, help.stdout_text);
  }
  CommandResult usage = Run({"--help"});
  EXPECT_EQ(usage.exit_code, 0);
  EXPECT_THAT(usage.stdout_text, HasSubstr("watch [STATE_TYPE]"));
  EXPECT_THAT(usage.stdout_text, HasSubstr("Exit codes"));
}

TEST_F(StatesctlRegistryTest, ListPrintsATableOrJsonLinesOverEveryPage) {
  ASSERT_EQ(Run({"register", "pytorch.resnet50.imagenet", "file:///b.pt",
                 "--size_bytes=102760448"})
                .exit_code,
            0);
  ASSERT_EQ(Run({"register", "pytorch.resnet18.cls1000.imagenet",
                 "file:///a.pt", std::string("--sha256=") + kAbcSha256})
                .exit_code,
            0);
  ASSERT_EQ(Run({"register", "keras.vgg16.imagenet", "s3://m/c.pt"}).exit_code,
            0);

  CommandResult table = Run({"list", "--page_size=1"});
  EXPECT_EQ(table.exit_code, 0) << table.stderr_text;
  EXPECT_THAT(
      Lines(table.stdout_text),
      ElementsAre(
          "NAME                               REVISION      SIZE  SHA256"
          "        URI",
          "keras.vgg16.imagenet                      3         -  -"
          "             s3://m/c.pt",
          "pytorch.resnet18.cls1000.imagenet         2         -  ba7816bf8f01"
          "  file:///a.pt",
          "pytorch.resnet50.imagenet                 1  98.0 MiB  -"
          "             file:///b.pt"));

  CommandResult json = Run({"--json", "list", "--page_size=2"});
  EXPECT_EQ(json.exit_code, 0) << json.stderr_text;
  std::vector<std::string> names;
  for (const std::string& line : Lines(json.stdout_text)) {
    names.push_back(ParseJsonObject(line).fields().at("name").string_value());
  }
  EXPECT_THAT(names, ElementsAre("keras.vgg16.imagenet",
                                 "pytorch.resnet18.cls1000.imagenet",
                                 "pytorch.resnet50.imagenet"));
  // The proto's field order, so that runs compare equal.
  const std::string first = Lines(json.stdout_text)[0];
  EXPECT_EQ(first.rfind("{\"stateKey\":", 0), 0u) << first;

  CommandResult none = Run({"list", "tensorflow/vgg16"});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_EQ(none.stdout_text, "");
  EXPECT_THAT(none.stderr_text, HasSubstr("no state matches"));
}

TEST_F(StatesctlRegistryTest, ListComparesNamesWholeNotAsPrefixes) {
  for (const char* name :
       {"pytorch.resnet18.cls1000.imagenet", "pytorch.resnet18.places365",
        "pytorch.resnet180.imagenet", "pytorch.resnet18-v2.imagenet",
        "pytorch.resnet1.imagenet"}) {
    ASSERT_EQ(Run({"register", name, "file:///x.pt"}).exit_code, 0) << name;
  }
  auto names = [](const std::string& table) {
    std::vector<std::string> result;
    for (const std::string& line : Lines(table)) {
      if (line.rfind("NAME ", 0) == 0) continue;
      result.push_back(line.substr(0, line.find(' ')));
    }
    return result;
  };
  CommandResult slashed = Run({"list", "pytorch/resnet18"});
  EXPECT_EQ(slashed.exit_code, 0) << slashed.stderr_text;
  EXPECT_THAT(names(slashed.stdout_text),
              ElementsAre("pytorch.resnet18.places365",
                          "pytorch.resnet18.cls1000.imagenet"));
  EXPECT_EQ(Run({"list", "pytorch.resnet18"}).stdout_text, slashed.stdout_text);
  EXPECT_THAT(
      names(Run({"list", "pytorch/resnet18/cls1000", "--exact"}).stdout_text),
      ElementsAre("pytorch.resnet18.cls1000.imagenet"));
  EXPECT_THAT(names(Run({"list", "--training_id=imagenet"}).stdout_text),
              ElementsAre("pytorch.resnet1.imagenet",
                          "pytorch.resnet18.cls1000.imagenet",
                          "pytorch.resnet18-v2.imagenet",
                          "pytorch.resnet180.imagenet"));
  CommandResult invalid = Run({"list", "pytorch/res net"});
  EXPECT_EQ(invalid.exit_code, 1);
}

TEST_F(StatesctlRegistryTest, ImportRegistersStateFilesAndIsSafeToRerun) {
  const std::string store = MakeFolder("store");
  WriteFile(store + "/pytorch.resnet18.cls1000.imagenet.pt", "abc");
  WriteFile(store + "/README.txt", "not a state");
  WriteFile(store + "/pytorch.clip-image-rn50.clip.pt", "");
  std::filesystem::create_directory(store + "/sub.pt");

  CommandResult first = Run({"import", store});
  EXPECT_EQ(first.exit_code, 0) << first.stderr_text;
  EXPECT_THAT(Lines(first.stdout_text),
              ElementsAre("created pytorch.clip-image-rn50.clip rev 1",
                          "created pytorch.resnet18.cls1000.imagenet rev 2",
                          "imported 2: 2 created, 0 unchanged, 0 moved, "
                          "0 replaced, 0 failed (2 skipped)"));
  EXPECT_THAT(first.stderr_text,
              HasSubstr("skipped README.txt: not a .pt state file"));
  EXPECT_THAT(first.stderr_text, HasSubstr("skipped sub.pt: not a regular"));

  CommandResult got =
      Run({"--json", "get", "pytorch.resnet18.cls1000.imagenet"});
  ASSERT_EQ(got.exit_code, 0) << got.stderr_text;
  google::protobuf::Struct state = ParseJsonObject(got.stdout_text);
  EXPECT_EQ(state.fields().at("uri").string_value(),
            "file://" + store + "/pytorch.resnet18.cls1000.imagenet.pt");
  EXPECT_EQ(state.fields().at("sha256").string_value(), kAbcSha256);
  EXPECT_EQ(state.fields().at("sizeBytes").string_value(), "3");
  EXPECT_EQ(
      ParseJsonObject(
          Run({"--json", "get", "pytorch.clip-image-rn50.clip"}).stdout_text)
          .fields()
          .at("sha256")
          .string_value(),
      kEmptySha256);

  CommandResult rerun = Run({"import", store});
  EXPECT_EQ(rerun.exit_code, 0) << rerun.stderr_text;
  EXPECT_THAT(rerun.stdout_text,
              HasSubstr("imported 2: 0 created, 2 unchanged, 0 moved, "
                        "0 replaced, 0 failed (2 skipped)"));

  // A changed file, a new one, and one whose name is no state key.
  WriteFile(store + "/pytorch.resnet18.cls1000.imagenet.pt", "abcd");
  WriteFile(store + "/pytorch.r\xC3\xA9snet.imagenet.pt", "x");
  WriteFile(store + "/model.pt", "z");
  CommandResult changed = Run({"import", store});
  EXPECT_EQ(changed.exit_code, 1);
  EXPECT_THAT(Lines(changed.stdout_text),
              ElementsAre("unchanged pytorch.clip-image-rn50.clip rev 1",
                          "created pytorch.r\xC3\xA9snet.imagenet rev 3",
                          "imported 4: 1 created, 1 unchanged, 0 moved, "
                          "0 replaced, 2 failed (2 skipped)"));
  EXPECT_THAT(changed.stderr_text,
              HasSubstr("failed pytorch.resnet18.cls1000.imagenet.pt: "
                        "registered with different content (rev 2); pass "
                        "--overwrite to replace it"));
  EXPECT_THAT(changed.stderr_text,
              HasSubstr("failed model.pt: not a state name"));
  CommandResult kept =
      Run({"--json", "get", "pytorch.resnet18.cls1000.imagenet"});
  EXPECT_EQ(
      ParseJsonObject(kept.stdout_text).fields().at("sha256").string_value(),
      kAbcSha256);

  CommandResult overwritten = Run({"import", "--overwrite", store});
  EXPECT_EQ(overwritten.exit_code, 1);
  EXPECT_THAT(overwritten.stdout_text,
              HasSubstr("replaced pytorch.resnet18.cls1000.imagenet rev 4\n"));
  EXPECT_THAT(overwritten.stdout_text,
              HasSubstr("imported 4: 0 created, 2 unchanged, 0 moved, "
                        "1 replaced, 1 failed (2 skipped)"));
}

TEST_F(StatesctlRegistryTest, ImportPercentEncodesUrisAndTakesAPrefix) {
  const std::string store = MakeFolder("my store");
  WriteFile(store + "/pytorch.r\xC3\xA9snet.cls_1.imagenet.pt", "abc");
  CommandResult imported = Run({"import", store});
  EXPECT_EQ(imported.exit_code, 0) << imported.stderr_text;
  CommandResult got =
      Run({"--json", "get", "pytorch.r\xC3\xA9snet.cls_1.imagenet"});
  ASSERT_EQ(got.exit_code, 0) << got.stderr_text;
  EXPECT_EQ(ParseJsonObject(got.stdout_text).fields().at("uri").string_value(),
            "file://" + dir_.path() +
                "/my%20store/pytorch.r%C3%A9snet.cls_1.imagenet.pt");

  CommandResult prefixed =
      Run({"import", "--overwrite", "--uri_prefix=s3://models/states/", store});
  EXPECT_EQ(prefixed.exit_code, 0) << prefixed.stderr_text;
  // The same bytes under a new URI: moved, --overwrite or not.
  EXPECT_THAT(prefixed.stdout_text, HasSubstr("1 moved"));
  got = Run({"--json", "get", "pytorch.r\xC3\xA9snet.cls_1.imagenet"});
  EXPECT_EQ(ParseJsonObject(got.stdout_text).fields().at("uri").string_value(),
            "s3://models/states/pytorch.r%C3%A9snet.cls_1.imagenet.pt");

  CommandResult missing = Run({"import", dir_.File("nowhere")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.stderr_text, HasSubstr("is not a folder"));
}

TEST_F(StatesctlRegistryTest, ImportShowsProgressForLargeFiles) {
  const std::string store = MakeFolder("store");
  const std::string path = store + "/pytorch.resnet152.imagenet.pt";
  { std::ofstream(path, std::ios::binary); }
  // Sparse: 65 MiB of zeros that take no disk.
  std::filesystem::resize_file(path, std::uintmax_t{65} << 20);
  CommandResult imported = Run({"import", store});
  EXPECT_EQ(imported.exit_code, 0) << imported.stderr_text;
  EXPECT_THAT(imported.stderr_text,
              HasSubstr("hashing pytorch.resnet152.imagenet.pt: 100% "
                        "(65.0 MiB of 65.0 MiB)"));
  CommandResult got = Run({"get", "pytorch.resnet152.imagenet"});
  EXPECT_THAT(got.stdout_text, HasSubstr("68157440 bytes (65.0 MiB)"));
}

TEST_F(StatesctlRegistryTest, WatchPrintsEachChangeAndExitsOnSigterm) {
  ASSERT_EQ(
      Run({"register", "pytorch.resnet18.cls1000.imagenet", "file:///a.pt"})
          .exit_code,
      0);
  absl::StatusOr<std::unique_ptr<Subprocess>> watch =
      Subprocess::Start(Argv({"watch", "pytorch/resnet18"}));
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE(
      (*watch)
          ->WaitForOutput("# snapshot complete: 1 states at rev 1\n", kWait)
          .ok())
      << (*watch)->Output();
  EXPECT_THAT((*watch)->Output(),
              HasSubstr("ADDED pytorch.resnet18.cls1000.imagenet rev 1 "
                        "file:///a.pt\n"));

  ASSERT_EQ(
      Run({"register", "pytorch.resnet18.places365", "file:///b.pt"}).exit_code,
      0);
  ASSERT_EQ(
      Run({"register", "pytorch.resnet50.places365", "file:///c.pt"}).exit_code,
      0);
  ASSERT_EQ(Run({"delete", "pytorch.resnet18.places365"}).exit_code, 0);
  absl::StatusOr<std::string> output = (*watch)->WaitForOutput(
      "DELETED pytorch.resnet18.places365 rev 4 file:///b.pt\n", kWait);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_THAT(*output,
              HasSubstr("ADDED pytorch.resnet18.places365 rev 2 file:///b.pt"));
  EXPECT_THAT(*output, Not(HasSubstr("resnet50")));

  (*watch)->Signal(SIGTERM);
  absl::StatusOr<int> code = (*watch)->Wait(kWait);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*watch)->Output();
}

TEST_F(StatesctlRegistryTest, WatchJsonAndStartRevision) {
  ASSERT_EQ(Run({"register", "pytorch.resnet18.a", "file:///a.pt"}).exit_code,
            0);
  ASSERT_EQ(Run({"register", "pytorch.resnet18.b", "file:///b.pt"}).exit_code,
            0);
  absl::StatusOr<std::unique_ptr<Subprocess>> watch =
      Subprocess::Start(Argv({"--json", "watch", "--start_revision=1"}));
  ASSERT_TRUE(watch.ok()) << watch.status();
  absl::StatusOr<std::string> output =
      (*watch)->WaitForOutput("\"revision\":\"2\"}\n", kWait);
  ASSERT_TRUE(output.ok()) << output.status();
  std::vector<std::string> lines = Lines(*output);
  ASSERT_EQ(lines.size(), 1u) << *output;
  google::protobuf::Struct event = ParseJsonObject(lines[0]);
  EXPECT_EQ(event.fields().at("type").string_value(), "TYPE_ADDED");
  EXPECT_EQ(event.fields()
                .at("state")
                .struct_value()
                .fields()
                .at("name")
                .string_value(),
            "pytorch.resnet18.b");
  (*watch)->Signal(SIGINT);
  absl::StatusOr<int> code = (*watch)->Wait(kWait);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*watch)->Output();

  // Without --start_revision: the snapshot, then the end of it as the
  // WatchStatesResponse that says so.
  absl::StatusOr<std::unique_ptr<Subprocess>> snapshot =
      Subprocess::Start(Argv({"--json", "watch", "pytorch/resnet18"}));
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  output = (*snapshot)->WaitForOutput(
      "{\"snapshotComplete\":true,\"revision\":\"2\"}\n", kWait);
  ASSERT_TRUE(output.ok()) << output.status() << (*snapshot)->Output();
  lines = Lines(*output);
  ASSERT_EQ(lines.size(), 3u) << *output;
  EXPECT_EQ(ParseJsonObject(lines[0]).fields().at("type").string_value(),
            "TYPE_ADDED");
  (*snapshot)->Signal(SIGINT);
  code = (*snapshot)->Wait(kWait);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*snapshot)->Output();

  CommandResult future = Run({"watch", "--start_revision=1000"});
  EXPECT_EQ(future.exit_code, 1);
  EXPECT_THAT(future.stderr_text, HasSubstr("OUT_OF_RANGE (FUTURE_REVISION)"));
  EXPECT_THAT(future.stderr_text, HasSubstr("without --start_revision"));
}

TEST_F(StatesctlRegistryTest, WatchResumesAcrossAServerRestart) {
  ASSERT_EQ(
      Run({"register", "pytorch.resnet18.cls1000.imagenet", "file:///a.pt"})
          .exit_code,
      0);
  const std::string address = server_->address();
  absl::StatusOr<std::unique_ptr<Subprocess>> watch =
      Subprocess::Start(Argv({"watch"}));
  ASSERT_TRUE(watch.ok()) << watch.status();
  ASSERT_TRUE((*watch)->WaitForOutput("# snapshot complete", kWait).ok())
      << (*watch)->Output();
  ASSERT_EQ(
      Run({"register", "pytorch.resnet18.places365", "file:///b.pt"}).exit_code,
      0);
  ASSERT_TRUE(
      (*watch)->WaitForOutput("ADDED pytorch.resnet18.places365", kWait).ok());

  StopServer();
  ASSERT_TRUE((*watch)->WaitForOutput("reconnecting", kWait).ok())
      << (*watch)->Output();
  StartServer(address);
  // Durable: the restarted server has what the first one stored.
  CommandResult got = Run({"get", "pytorch.resnet18.places365"});
  EXPECT_EQ(got.exit_code, 0) << got.stderr_text;
  ASSERT_EQ(
      Run({"register", "pytorch.vgg16.imagenet", "file:///c.pt"}).exit_code, 0);
  absl::StatusOr<std::string> output = (*watch)->WaitForOutput(
      "ADDED pytorch.vgg16.imagenet rev 3 file:///c.pt\n", kWait);
  ASSERT_TRUE(output.ok()) << output.status();
  // Resumed from rev 2: no second snapshot, nothing twice.
  EXPECT_THAT(*output, Not(HasSubstr("snapshot restarts")));
  std::size_t snapshots = 0;
  for (const std::string& line : Lines(*output)) {
    if (line.rfind("# snapshot complete", 0) == 0) ++snapshots;
  }
  EXPECT_EQ(snapshots, 1u);
  EXPECT_EQ(output->find("ADDED pytorch.resnet18.places365"),
            output->rfind("ADDED pytorch.resnet18.places365"));

  (*watch)->Signal(SIGTERM);
  absl::StatusOr<int> code = (*watch)->Wait(kWait);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0) << (*watch)->Output();
}

// The same through the C++ client: StateWatcher resumes from the last
// revision once the server is back on its port.
TEST_F(StatesctlRegistryTest, ClientWatchResumesAcrossAServerRestart) {
  ASSERT_EQ(
      Run({"register", "pytorch.resnet18.cls1000.imagenet", "file:///a.pt"})
          .exit_code,
      0);
  const std::string address = server_->address();
  std::unique_ptr<Client> client = Client::Connect(address);
  absl::Mutex mutex;
  std::vector<std::string> events;  // guarded by mutex
  std::vector<WatchRetry> retries;  // guarded by mutex
  WatchCallbacks callbacks;
  callbacks.on_message = [&](const v1::WatchStatesResponse& response) {
    absl::MutexLock lock(&mutex);
    for (const v1::StateEvent& event : response.events()) {
      events.push_back(
          absl::StrCat(event.state().name(), "@", event.revision()));
    }
    if (response.snapshot_complete()) events.push_back("snapshot_complete");
  };
  callbacks.on_retry = [&](const WatchRetry& retry) {
    absl::MutexLock lock(&mutex);
    retries.push_back(retry);
  };
  std::unique_ptr<StateWatcher> watcher = client->Watch({}, callbacks);
  // Waits until `count` events have been seen.
  struct Seen {
    const std::vector<std::string>* events;
    std::size_t count;
    bool Done() const { return events->size() >= count; }
  };
  auto saw = [&](std::size_t count) {
    absl::MutexLock lock(&mutex);
    const Seen seen{&events, count};
    return mutex.AwaitWithTimeout(absl::Condition(&seen, &Seen::Done), kWait);
  };
  ASSERT_TRUE(saw(2));

  StopServer();
  StartServer(address);
  ASSERT_EQ(
      Run({"register", "pytorch.vgg16.imagenet", "file:///c.pt"}).exit_code, 0);
  ASSERT_TRUE(saw(3));
  watcher->Stop();
  EXPECT_EQ(watcher->status().code(), absl::StatusCode::kCancelled);
  absl::MutexLock lock(&mutex);
  EXPECT_THAT(events,
              ElementsAre("pytorch.resnet18.cls1000.imagenet@1",
                          "snapshot_complete", "pytorch.vgg16.imagenet@2"));
  ASSERT_FALSE(retries.empty());
  for (const WatchRetry& retry : retries) {
    EXPECT_EQ(retry.start_revision, 1);
    EXPECT_FALSE(retry.restarts_snapshot);
  }
}

}  // namespace
}  // namespace mozuma::states
