// What end-to-end tests need to drive the real statesctl against a real
// statesd: running statesctl at an address, reading what it prints (JSON
// objects, lines), an address where nothing listens, and gtest fixtures that
// own the statesd a test talks to. Problems are reported as gtest failures,
// so these are for gtest tests only.
#ifndef MOZUMA_STATES_TESTS_TESTING_END_TO_END_H_
#define MOZUMA_STATES_TESTS_TESTING_END_TO_END_H_

#include <google/protobuf/struct.pb.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace mozuma::states::testing {

// The command line that runs statesctl (STATESCTL_PATH) against
// `server_address`: the binary, `--server=` followed by `server_address`,
// then `args`. `server_address` is passed as given, so it may be any form,
// including one statesctl refuses.
std::vector<std::string> StatesctlArgv(const std::string& server_address,
                                       std::vector<std::string> args);

// Runs statesctl against `server_address` with `args` to completion and
// returns its exit code and output. If statesctl cannot be started or does
// not finish within RunCommand()'s default timeout, adds a nonfatal test
// failure and returns an empty CommandResult (exit code -1).
CommandResult RunStatesctl(const std::string& server_address,
                           std::vector<std::string> args);

// `text` parsed as a JSON object (the proto3 JSON mapping of
// google.protobuf.Struct). If `text` is not one, adds a nonfatal test
// failure that quotes it and returns whatever the parser left, possibly an
// empty Struct.
google::protobuf::Struct ParseJsonObject(const std::string& text);

// The non-empty lines of `text` in order, without their newlines. Blank
// lines are dropped, so this is not the way to count the lines of `text`.
std::vector<std::string> Lines(const std::string& text);

// `127.0.0.1:PORT` where nothing listens: a port the kernel has just handed
// out and taken back. Adds a nonfatal test failure if no port could be had.
std::string UnusedLoopbackAddress();

// A fixture whose suite shares one statesd over an in-memory database
// (`server_`), started before the suite's first test and killed after its
// last. The suite's tests see each other's writes, so each uses names of
// its own. Suites run one at a time, so several suites of one binary may
// derive from it: each has the server to itself while it runs.
// Thread-compatible: use it from the test's thread.
class StatesdPerSuiteFixture : public ::testing::Test {
 protected:
  // Starts the suite's statesd. A fatal failure, with `server_` left null,
  // if it cannot start.
  static void SetUpTestSuite();
  // Kills the suite's statesd and resets `server_`.
  static void TearDownTestSuite();

  // Runs statesctl against the suite's statesd, as RunStatesctl() does.
  // `server_` must be running.
  CommandResult Run(std::vector<std::string> args);

  static StatesdProcess* server_;
};

// A fixture that gives each test a fresh temporary folder (`dir_`) and a
// statesd (`server_`) over the SQLite database `states.db` in it, which the
// test may stop and start again on the same database and port. It starts no
// statesd by itself: call StartServer() from SetUp() or from the test. For
// a parameterised suite, also derive from ::testing::WithParamInterface<T>.
// Thread-compatible: use it from the test's thread.
class StatesdPerTestFixture : public ::testing::Test {
 protected:
  // Starts statesd on `dir_`'s states.db and sets `server_` to it. It
  // listens on `address` when one is given (to start a stopped server again
  // on its port), else on a free loopback port. A fatal failure, with
  // `server_` unchanged, if it cannot start.
  void StartServer(const std::string& address = "");

  // Runs statesctl against `server_`, as RunStatesctl() does. `server_`
  // must be running.
  CommandResult Run(std::vector<std::string> args);

  // Declared before `server_`, so that statesd is killed before its
  // database is removed.
  TempDir dir_;
  std::unique_ptr<StatesdProcess> server_;
};

}  // namespace mozuma::states::testing

#endif  // MOZUMA_STATES_TESTS_TESTING_END_TO_END_H_
