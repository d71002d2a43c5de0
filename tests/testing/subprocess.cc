#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

extern char** environ;

namespace mozuma::states::testing {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

std::vector<char*> ArgvPointers(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const std::string& arg : argv) {
    pointers.push_back(const_cast<char*>(arg.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

// Spawns `argv` with stdout and stderr sent to the given descriptors.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv, int stdout_fd,
                            int stderr_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                   O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  pid_t pid = 0;
  std::vector<char*> pointers = ArgvPointers(argv);
  const int error = posix_spawn(&pid, pointers[0], &actions, nullptr,
                                pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    return absl::InternalError(
        absl::StrCat("cannot start ", argv[0], ": ", std::strerror(error)));
  }
  return pid;
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

void ReadAll(int fd, std::string& out) {
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) out.append(buffer, n);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> Subprocess::Start(
    const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  absl::StatusOr<pid_t> pid = Spawn(argv, fds[1], fds[1]);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.status();
  }
  return std::unique_ptr<Subprocess>(new Subprocess(*pid, fds[0]));
}

Subprocess::Subprocess(pid_t pid, int output_fd)
    : pid_(pid), output_fd_(output_fd) {
  reader_ = std::thread([this] {
    char buffer[4096];
    for (;;) {
      const ssize_t n = read(output_fd_, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      if (n <= 0) {
        eof_ = true;
        return;
      }
      output_.append(buffer, n);
    }
  });
}

Subprocess::~Subprocess() {
  if (!reaped_) {
    kill(pid_, SIGKILL);
    (void)Wait(absl::Seconds(30));
  }
  reader_.join();
  close(output_fd_);
}

void Subprocess::Signal(int signal_number) { kill(pid_, signal_number); }

std::string Subprocess::Output() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return output_;
}

absl::StatusOr<std::string> Subprocess::WaitForOutput(const std::string& text,
                                                      absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (output_.find(text) != std::string::npos) return output_;
      if (eof_) {
        return absl::FailedPreconditionError(
            absl::StrCat("the process ended without printing \"", text,
                         "\"; output:\n", output_));
      }
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("no \"", text, "\" after ",
                       absl::FormatDuration(timeout), "; output:\n", Output()));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::StatusOr<int> Subprocess::Wait(absl::Duration timeout) {
  if (reaped_) return exit_code_;
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    int wait_status = 0;
    const pid_t done = waitpid(pid_, &wait_status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      exit_code_ = ExitCode(wait_status);
      return exit_code_;
    }
    if (done < 0) return absl::InternalError("waitpid failed");
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("process ", pid_, " still runs after ",
                       absl::FormatDuration(timeout)));
    }
    absl::SleepFor(kPollInterval);
  }
}

absl::StatusOr<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                         absl::Duration timeout) {
  // Files, not pipes: the child cannot block on a full pipe while we wait.
  char out_path[] = "/tmp/states-test-out-XXXXXX";
  char err_path[] = "/tmp/states-test-err-XXXXXX";
  const int out_fd = mkstemp(out_path);
  const int err_fd = mkstemp(err_path);
  unlink(out_path);
  unlink(err_path);
  absl::StatusOr<pid_t> pid = Spawn(argv, out_fd, err_fd);
  if (!pid.ok()) {
    close(out_fd);
    close(err_fd);
    return pid.status();
  }
  const absl::Time deadline = absl::Now() + timeout;
  int wait_status = 0;
  while (waitpid(*pid, &wait_status, WNOHANG) == 0) {
    if (absl::Now() > deadline) {
      kill(*pid, SIGKILL);
      waitpid(*pid, &wait_status, 0);
      close(out_fd);
      close(err_fd);
      return absl::DeadlineExceededError(absl::StrCat(
          argv[0], " did not finish within ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(kPollInterval);
  }
  CommandResult result;
  result.exit_code = ExitCode(wait_status);
  lseek(out_fd, 0, SEEK_SET);
  lseek(err_fd, 0, SEEK_SET);
  ReadAll(out_fd, result.stdout_text);
  ReadAll(err_fd, result.stderr_text);
  close(out_fd);
  close(err_fd);
  return result;
}

absl::StatusOr<std::unique_ptr<StatesdProcess>> StatesdProcess::Start(
    const std::vector<std::string>& flags) {
  return StartBinary(STATESD_PATH, flags);
}

absl::StatusOr<std::unique_ptr<StatesdProcess>>
StatesdProcess::StartWithTestHooks(const std::vector<std::string>& flags) {
  return StartBinary(STATESD_TESTING_PATH, flags);
}

absl::StatusOr<std::unique_ptr<StatesdProcess>> StatesdProcess::StartBinary(
    const std::string& binary, const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {binary, "--listen=127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  const bool has_db = std::any_of(
      flags.begin(), flags.end(),
      [](const std::string& flag) { return flag.rfind("--db=", 0) == 0; });
  if (!has_db) argv.push_back("--db=memory:");
  absl::StatusOr<std::unique_ptr<Subprocess>> process = Subprocess::Start(argv);
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> output =
      (*process)->WaitForOutput("\n", absl::Seconds(20));
  if (!output.ok()) return output.status();
  std::smatch match;
  static const std::regex kStartupLine(" on (127\\.0\\.0\\.1:[0-9]+) ");
  if (!std::regex_search(*output, match, kStartupLine)) {
    return absl::InternalError("unexpected startup line: " + *output);
  }
  return std::unique_ptr<StatesdProcess>(
      new StatesdProcess(*std::move(process), match[1].str()));
}

}  // namespace mozuma::states::testing
