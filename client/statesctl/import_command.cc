// import: registers the state files of a MoZuMa local store folder.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
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
#include "core/state_names.h"
#include "google/protobuf/struct.pb.h"

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

// Counts the outcomes and prints each, as text or, with --json, as one
// JSON object per line on stdout (then one for the summary).
class Report {
 public:
  explicit Report(bool json) : json_(json) {}

  void Skipped(const std::string& file_name, absl::string_view why) {
    ++skipped_;
    if (json_) {
      PrintJson(file_name, "skipped", {{"reason", JsonString(why)}});
    } else {
      std::cerr << "statesctl: skipped " << PrintableValue(file_name) << ": "
                << why << std::endl;
    }
  }

  void Failed(const std::string& file_name, absl::string_view why) {
    ++failed_;
    if (json_) {
      PrintJson(file_name, "failed", {{"error", JsonString(why)}});
    } else {
      std::cerr << "statesctl: failed " << PrintableValue(file_name) << ": "
                << why << std::endl;
    }
  }

  // A registered file: `outcome` is "created", "unchanged", "moved" or
  // "replaced"; `was` the URI a moved state had before.
  void Registered(const std::string& file_name, absl::string_view outcome,
                  const v1::State& state, const std::string& was = "") {
    if (outcome == "created") ++created_;
    if (outcome == "unchanged") ++unchanged_;
    if (outcome == "moved") ++moved_;
    if (outcome == "replaced") ++replaced_;
    if (json_) {
      std::vector<std::pair<std::string, std::string>> fields = {
          {"state", Json(state)}};
      if (outcome == "moved") fields.emplace_back("was", JsonString(was));
      PrintJson(file_name, outcome, fields);
      return;
    }
    std::cout << outcome << " "
              << PrintableValue(state.name().empty()
                                    ? FormatStateKey(state.state_key())
                                    : state.name())
              << " rev " << state.revision();
    if (outcome == "moved") std::cout << " (was " << was << ")";
    std::cout << std::endl;
  }

  // Prints the summary line (or object).
  void PrintSummary() const {
    const int imported = created_ + unchanged_ + moved_ + replaced_ + failed_;
    if (json_) {
      std::string object = "{}";
      const std::pair<const char*, int> counts[] = {
          {"skipped", skipped_},     {"failed", failed_},
          {"replaced", replaced_},   {"moved", moved_},
          {"unchanged", unchanged_}, {"created", created_},
          {"imported", imported}};
      for (const auto& [name, count] : counts) {
        google::protobuf::Value value;
        value.set_number_value(count);
        object = WithFieldFirst(name, Json(value), object);
      }
      std::cout << WithFieldFirst("summary", object, "{}") << std::endl;
      return;
    }
    std::string text =
        absl::StrCat("imported ", imported, ": ", created_, " created, ",
                     unchanged_, " unchanged, ", moved_, " moved, ", replaced_,
                     " replaced, ", failed_, " failed");
    if (skipped_ > 0) absl::StrAppend(&text, " (", skipped_, " skipped)");
    std::cout << text << std::endl;
  }

  bool any_failed() const { return failed_ > 0; }

 private:
  // {"file": ..., "outcome": ..., then `fields` (each value JSON already)}.
  void PrintJson(
      const std::string& file_name, absl::string_view outcome,
      const std::vector<std::pair<std::string, std::string>>& fields) const {
    std::string object = "{}";
    for (auto field = fields.rbegin(); field != fields.rend(); ++field) {
      object = WithFieldFirst(field->first, field->second, object);
    }
    object = WithFieldFirst("outcome", JsonString(outcome), object);
    std::cout << WithFieldFirst("file", JsonString(file_name), object)
              << std::endl;
  }

  const bool json_;
  int created_ = 0;
  int unchanged_ = 0;
  int moved_ = 0;
  int replaced_ = 0;
  int failed_ = 0;
  int skipped_ = 0;
};

// Registers `state` (import's record of one file: key, URI, digest, size)
// and reports the outcome. A key registered with other content is looked
// up: when it holds the same bytes (SHA-256 and size) the store was moved
// or copied, and the record gets the new URI, keeping its labels, or stays
// as it is when only its labels differ (import sets none); with other
// bytes it is replaced under --overwrite and fails without. Returns false
// when the server does not answer, which ends the import.
bool RegisterFile(const Client& client, const std::string& file_name,
                  v1::State state, bool overwrite, Report& report) {
  auto no_answer = [&](const absl::Status& status) {
    const absl::StatusCode code = status.code();
    if (code != absl::StatusCode::kUnavailable &&
        code != absl::StatusCode::kDeadlineExceeded) {
      return false;
    }
    // Every other file would fail the same way, after hashing.
    report.Failed(file_name, DescribeStatus(status));
    std::cerr << "statesctl: stopping: the server does not answer" << std::endl;
    return true;
  };

  absl::StatusOr<v1::RegisterStateResponse> response =
      client.Register(state, /*allow_overwrite=*/false);
  if (response.ok()) {
    report.Registered(file_name, response->created() ? "created" : "unchanged",
                      response->state());
    return true;
  }
  if (no_answer(response.status())) return false;
  if (response.status().code() != absl::StatusCode::kAlreadyExists) {
    report.Failed(file_name, DescribeStatus(response.status()));
    return true;
  }

  absl::StatusOr<v1::State> registered = client.Get(state.state_key());
  if (!registered.ok()) {
    if (no_answer(registered.status())) return false;
    // Deleted in between, or another error: say what happened.
    report.Failed(file_name, DescribeStatus(registered.status()));
    return true;
  }
  const bool same_bytes = registered->sha256() == state.sha256() &&
                          registered->has_size_bytes() &&
                          registered->size_bytes() == state.size_bytes();
  if (same_bytes && registered->uri() == state.uri()) {
    report.Registered(file_name, "unchanged", *registered);
    return true;
  }
  if (same_bytes) {
    // Only the URI differs. RegisterState has no compare-and-set: a write
    // by someone else between the GetState above and this call is
    // replaced (see the import help).
    *state.mutable_labels() = registered->labels();
    absl::StatusOr<v1::RegisterStateResponse> moved =
        client.Register(state, /*allow_overwrite=*/true);
    if (!moved.ok()) {
      if (no_answer(moved.status())) return false;
      report.Failed(file_name, DescribeStatus(moved.status()));
      return true;
    }
    report.Registered(file_name, "moved", moved->state(), registered->uri());
    return true;
  }
  if (!overwrite) {
    report.Failed(file_name,
                  absl::StrCat("registered with different content (rev ",
                               registered->revision(),
                               "); pass --overwrite to replace it"));
    return true;
  }
  absl::StatusOr<v1::RegisterStateResponse> replaced =
      client.Register(state, /*allow_overwrite=*/true);
  if (!replaced.ok()) {
    if (no_answer(replaced.status())) return false;
    report.Failed(file_name, DescribeStatus(replaced.status()));
    return true;
  }
  report.Registered(file_name, replaced->changed() ? "replaced" : "unchanged",
                    replaced->state());
  return true;
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
    return absl::FailedPreconditionError(
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
    return ReportError(absl::NotFoundError(absl::StrCat(
                           PrintableValue(dir), " is not a folder",
                           error ? ": " + error.message() : std::string())),
                       invocation.json);
  }
  absl::StatusOr<std::vector<std::filesystem::directory_entry>> entries =
      ListFolder(root);
  if (!entries.ok()) return ReportError(entries.status(), invocation.json);

  const bool overwrite = absl::GetFlag(FLAGS_overwrite);
  const std::string uri_prefix = absl::GetFlag(FLAGS_uri_prefix);
  const bool terminal = isatty(STDERR_FILENO) == 1;
  Report report(invocation.json);
  for (const std::filesystem::directory_entry& entry : *entries) {
    const std::string file_name = entry.path().filename().string();
    if (!absl::EndsWith(file_name, kStateFileSuffix)) {
      report.Skipped(file_name, "not a .pt state file");
      continue;
    }
    if (!entry.is_regular_file(error)) {
      report.Skipped(file_name, "not a regular file");
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
      report.Failed(file_name, absl::StrCat("not a state name: ",
                                            absl::StrJoin(problems, "; ")));
      continue;
    }

    // `x.pth.pt` and the like: a file renamed by appending .pt, whose
    // training id would be the other extension.
    if (std::optional<FileNameProblem> problem = CheckFileName(name)) {
      report.Failed(
          file_name,
          absl::StrCat("not a state name: without .pt it still ends in .",
                       PrintableValue(problem->extension), ", a file extension",
                       problem->suggestion.empty()
                           ? std::string()
                           : absl::StrCat("; rename it to ",
                                          PrintableValue(problem->suggestion),
                                          kStateFileSuffix)));
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
      report.Failed(file_name, digest.status().message());
      continue;
    }

    v1::State state;
    *state.mutable_state_key() = *std::move(key);
    state.set_uri(uri_prefix.empty()
                      ? FileUri(path)
                      : absl::StrCat(uri_prefix, PercentEncodePath(file_name)));
    state.set_sha256(digest->sha256);
    state.set_size_bytes(digest->size_bytes);
    if (!RegisterFile(client, file_name, std::move(state), overwrite, report)) {
      report.PrintSummary();
      return kNoAnswer;
    }
  }
  report.PrintSummary();
  return report.any_failed() ? kNo : kYes;
}

}  // namespace mozuma::states::statesctl
