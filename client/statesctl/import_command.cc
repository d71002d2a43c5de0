// import: registers the state files of a MoZuMa local store folder.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/statesctl/arguments.h"
#include "client/statesctl/commands.h"
#include "client/statesctl/flags.h"
#include "client/statesctl/local_files.h"
#include "client/statesctl/output.h"
#include "core/errors.h"
#include "core/names.h"

namespace mozuma::states::statesctl {
namespace {

// MoZuMa's local store names each state file `{dotted state key}.pt`.
constexpr absl::string_view kStateFileSuffix = ".pt";

// Files this large show their hashing progress.
constexpr std::int64_t kProgressMinBytes = std::int64_t{64} << 20;

// Reports the hashing of one large file on stderr: a line rewritten in
// place when stderr is a terminal, else a line at every quarter.
class HashingProgress {
 public:
  HashingProgress(std::string file_name, bool terminal)
      : file_name_(std::move(file_name)), terminal_(terminal) {}
  HashingProgress(const HashingProgress&) = delete;
  HashingProgress& operator=(const HashingProgress&) = delete;
  ~HashingProgress() {
    if (terminal_ && last_percent_ >= 0) std::cerr << std::endl;
  }

  void Update(std::int64_t bytes_read, std::int64_t total_bytes) {
    const int percent = total_bytes > 0
                            ? static_cast<int>(std::min<std::int64_t>(
                                  100, bytes_read * 100 / total_bytes))
                            : 100;
    const int step = terminal_ ? 1 : 25;
    if (percent / step == last_percent_ / step && last_percent_ >= 0) return;
    if (!terminal_ && percent < step) return;
    last_percent_ = percent;
    if (terminal_) {
      std::cerr << "\rhashing " << file_name_ << ": " << percent << "%"
                << std::flush;
    } else {
      std::cerr << "hashing " << file_name_ << ": " << percent << "% ("
                << HumanBytes(bytes_read) << " of " << HumanBytes(total_bytes)
                << ")" << std::endl;
    }
  }

 private:
  const std::string file_name_;
  const bool terminal_;
  int last_percent_ = -1;
};

struct Summary {
  int created = 0;
  int unchanged = 0;
  int replaced = 0;
  int failed = 0;
  int skipped = 0;

  std::string ToString() const {
    std::string text =
        absl::StrCat("imported ", created + unchanged + replaced + failed, ": ",
                     created, " created, ", unchanged, " unchanged, ", replaced,
                     " replaced, ", failed, " failed");
    if (skipped > 0) absl::StrAppend(&text, " (", skipped, " skipped)");
    return text;
  }
};

void Skip(const std::string& file_name, absl::string_view why,
          Summary& summary) {
  std::cerr << "statesctl: skipped " << PrintableValue(file_name) << ": " << why
            << std::endl;
  ++summary.skipped;
}

void Fail(const std::string& file_name, absl::string_view why,
          Summary& summary) {
  std::cerr << "statesctl: failed " << PrintableValue(file_name) << ": " << why
            << std::endl;
  ++summary.failed;
}

// The files of `root` in name order (bytewise), or the error that kept the
// folder from being read.
absl::StatusOr<std::vector<std::filesystem::directory_entry>> ListFolder(
    const std::filesystem::path& root) {
  std::error_code error;
  std::filesystem::directory_iterator it(root, error);
  std::vector<std::filesystem::directory_entry> entries;
  for (; !error && it != std::filesystem::directory_iterator();
       it.increment(error)) {
    entries.push_back(*it);
  }
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot read ", root.string(), ": ", error.message()));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.path().filename().string() < b.path().filename().string();
  });
  return entries;
}

}  // namespace

int RunImport(const Client& client, const Invocation& invocation) {
  const std::string& dir = invocation.args[0];
  std::error_code error;
  const std::filesystem::path root =
      std::filesystem::absolute(dir, error).lexically_normal();
  if (error || !std::filesystem::is_directory(root, error)) {
    std::cerr << "statesctl: " << PrintableValue(dir) << " is not a folder"
              << (error ? ": " + error.message() : std::string()) << std::endl;
    return kNo;
  }
  absl::StatusOr<std::vector<std::filesystem::directory_entry>> entries =
      ListFolder(root);
  if (!entries.ok()) {
    std::cerr << "statesctl: " << entries.status().message() << std::endl;
    return kNo;
  }

  const bool overwrite = absl::GetFlag(FLAGS_overwrite);
  const std::string uri_prefix = absl::GetFlag(FLAGS_uri_prefix);
  const bool terminal = isatty(STDERR_FILENO) == 1;
  Summary summary;
  for (const std::filesystem::directory_entry& entry : *entries) {
    const std::string file_name = entry.path().filename().string();
    if (!absl::EndsWith(file_name, kStateFileSuffix)) {
      Skip(file_name, "not a .pt state file", summary);
      continue;
    }
    if (!entry.is_regular_file(error)) {
      Skip(file_name, "not a regular file", summary);
      continue;
    }
    const std::string name =
        file_name.substr(0, file_name.size() - kStateFileSuffix.size());
    absl::StatusOr<v1::StateKey> key = ParseNameArgument(name);
    if (!key.ok()) {
      std::vector<std::string> problems;
      if (std::optional<google::rpc::BadRequest> bad =
              GetBadRequest(key.status())) {
        for (const auto& violation : bad->field_violations()) {
          problems.push_back(violation.description());
        }
      } else {
        problems.emplace_back(key.status().message());
      }
      Fail(file_name,
           absl::StrCat("not a state name: ", absl::StrJoin(problems, "; ")),
           summary);
      continue;
    }

    const std::string path = entry.path().string();
    std::optional<HashingProgress> progress;
    if (entry.file_size(error) >=
            static_cast<std::uintmax_t>(kProgressMinBytes) &&
        !error) {
      progress.emplace(file_name, terminal);
    }
    absl::StatusOr<FileDigest> digest = DigestFile(
        path, [&progress](std::int64_t bytes_read, std::int64_t total_bytes) {
          if (progress.has_value()) progress->Update(bytes_read, total_bytes);
        });
    progress.reset();
    if (!digest.ok()) {
      Fail(file_name, digest.status().message(), summary);
      continue;
    }

    v1::State state;
    *state.mutable_state_key() = *std::move(key);
    state.set_uri(uri_prefix.empty()
                      ? FileUri(path)
                      : absl::StrCat(uri_prefix, PercentEncodePath(file_name)));
    state.set_sha256(digest->sha256);
    state.set_size_bytes(digest->size_bytes);
    absl::StatusOr<v1::RegisterStateResponse> response =
        client.Register(state, overwrite);
    if (!response.ok()) {
      const absl::StatusCode code = response.status().code();
      if (code == absl::StatusCode::kUnavailable ||
          code == absl::StatusCode::kDeadlineExceeded) {
        // Every other file would fail the same way, after hashing.
        Fail(file_name, DescribeStatus(response.status()), summary);
        std::cerr << "statesctl: stopping: the server does not answer"
                  << std::endl;
        std::cout << summary.ToString() << std::endl;
        return kNoAnswer;
      }
      if (code == absl::StatusCode::kAlreadyExists) {
        std::string revision;
        if (std::optional<google::rpc::ErrorInfo> info =
                GetErrorInfo(response.status());
            info.has_value() && info->metadata().contains("revision")) {
          revision =
              absl::StrCat(" (rev ", info->metadata().at("revision"), ")");
        }
        Fail(file_name,
             absl::StrCat("registered with different content", revision,
                          "; pass --overwrite to replace it"),
             summary);
      } else {
        Fail(file_name, DescribeStatus(response.status()), summary);
      }
      continue;
    }
    const char* outcome;
    if (response->created()) {
      outcome = "created";
      ++summary.created;
    } else if (response->changed()) {
      outcome = "replaced";
      ++summary.replaced;
    } else {
      outcome = "unchanged";
      ++summary.unchanged;
    }
    std::cout << outcome << " " << PrintableValue(name) << " rev "
              << response->state().revision() << std::endl;
  }
  std::cout << summary.ToString() << std::endl;
  return summary.failed > 0 ? kNo : kYes;
}

}  // namespace mozuma::states::statesctl
