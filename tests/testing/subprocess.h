// Child processes for end-to-end tests: statesd as a real server on a free
// loopback port, and one-shot commands such as statesctl.
#ifndef MOZUMA_STATES_TESTS_TESTING_SUBPROCESS_H_
#define MOZUMA_STATES_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mozuma::states::testing {

// A running child process whose stdout and stderr are collected together.
// Destroying it kills the child (SIGKILL) if it still runs and reaps it.
// Thread-compatible.
class Subprocess {
 public:
  // Starts `argv[0]` with `argv`. Returns INTERNAL if it cannot be started.
  static absl::StatusOr<std::unique_ptr<Subprocess>> Start(
      const std::vector<std::string>& argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }
  void Signal(int signal_number);

  // Waits until the output holds `text`; returns it all. DEADLINE_EXCEEDED
  // after `timeout`, FAILED_PRECONDITION if the child exited first.
  absl::StatusOr<std::string> WaitForOutput(const std::string& text,
                                            absl::Duration timeout);

  // Waits for the child to exit and returns its exit code (128 + signal if
  // a signal ended it). DEADLINE_EXCEEDED after `timeout`.
  absl::StatusOr<int> Wait(absl::Duration timeout);

  // Everything printed so far.
  std::string Output() const;

 private:
  Subprocess(pid_t pid, int output_fd);

  const pid_t pid_;
  const int output_fd_;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::string output_;  // guarded by mutex_
  bool eof_ = false;    // guarded by mutex_
  bool reaped_ = false;
  int exit_code_ = 0;
};

// The result of RunCommand().
struct CommandResult {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `argv` to completion with a bound on time; the child is killed at
// `timeout` and the result is DEADLINE_EXCEEDED.
absl::StatusOr<CommandResult> RunCommand(
    const std::vector<std::string>& argv,
    absl::Duration timeout = absl::Seconds(30));

// statesd started with `flags` plus `--listen=127.0.0.1:0` (and
// `--db=memory:` unless `flags` name a `--db`), once its startup line has
// named its address.
class StatesdProcess {
 public:
  static absl::StatusOr<std::unique_ptr<StatesdProcess>> Start(
      const std::vector<std::string>& flags = {});
  // The same with statesd_testing (STATESD_TESTING_PATH), the test build of
  // statesd that also takes its test hooks, such as --TEST_response_delay.
  static absl::StatusOr<std::unique_ptr<StatesdProcess>> StartWithTestHooks(
      const std::vector<std::string>& flags);

  // `127.0.0.1:PORT`.
  const std::string& address() const { return address_; }
  Subprocess& process() { return *process_; }

 private:
  StatesdProcess(std::unique_ptr<Subprocess> process, std::string address)
      : process_(std::move(process)), address_(std::move(address)) {}

  static absl::StatusOr<std::unique_ptr<StatesdProcess>> StartBinary(
      const std::string& binary, const std::vector<std::string>& flags);

  std::unique_ptr<Subprocess> process_;
  std::string address_;
};

}  // namespace mozuma::states::testing

#endif  // MOZUMA_STATES_TESTS_TESTING_SUBPROCESS_H_
