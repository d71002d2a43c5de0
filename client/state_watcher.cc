#include "client/state_watcher.h"

#include <algorithm>
#include <optional>
#include <random>
#include <utility>

#include "client/grpc_status.h"
#include "core/errors.h"
#include "core/watch_protocol.h"

namespace mozuma::states {
namespace {

// The codes after which WatchStates may be resumed from the last revision
// received (state_service.proto): the server drains or cannot be reached,
// or the watcher fell too far behind. CANCELLED too, when the watcher did
// not cancel: a server that shuts down cancels the calls that reach it
// after gRPC's Server::Shutdown() has begun, before any handler could
// answer SERVER_DRAINING, and so may a proxy.
bool IsResumable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kCancelled;
}

// Whether a stream that ended with `error` reached the server: gRPC reports
// a failure to connect as UNAVAILABLE (and a call cut short as CANCELLED)
// without details, while statesd attaches a google.rpc.ErrorInfo to every
// error it sends.
bool IsServerAnswer(const absl::Status& error) {
  if (GetErrorInfo(error).has_value()) return true;
  return error.code() != absl::StatusCode::kUnavailable &&
         error.code() != absl::StatusCode::kCancelled;
}

}  // namespace

StateWatcher::StateWatcher(
    std::shared_ptr<v1::StateService::StubInterface> stub,
    v1::WatchStatesRequest request, WatchCallbacks callbacks,
    WatchOptions options)
    : stub_(std::move(stub)),
      request_(std::move(request)),
      callbacks_(std::move(callbacks)),
      options_(options) {
  thread_ = std::thread(&StateWatcher::Run, this);
}

StateWatcher::~StateWatcher() { Stop(); }

void StateWatcher::Stop() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
    // Thread-safe, and also effective on a call that has not started yet:
    // gRPC cancels it as soon as it starts.
    if (context_ != nullptr) context_->TryCancel();
    // A callback cannot wait for its own thread.
    if (std::this_thread::get_id() == run_thread_id_) return;
  }
  absl::MutexLock join_lock(&join_mutex_);
  if (thread_.joinable()) thread_.join();
}

bool StateWatcher::WaitFor(absl::Duration timeout) const {
  absl::MutexLock lock(&mutex_);
  return mutex_.AwaitWithTimeout(absl::Condition(&done_), timeout);
}

absl::Status StateWatcher::Wait() const {
  absl::MutexLock lock(&mutex_);
  mutex_.Await(absl::Condition(&done_));
  return status_;
}

bool StateWatcher::done() const {
  absl::MutexLock lock(&mutex_);
  return done_;
}

absl::Status StateWatcher::status() const {
  absl::MutexLock lock(&mutex_);
  return status_;
}

std::int64_t StateWatcher::last_revision() const {
  absl::MutexLock lock(&mutex_);
  return last_revision_;
}

bool StateWatcher::answered() const {
  absl::MutexLock lock(&mutex_);
  return answered_;
}

int StateWatcher::failed_attempts() const {
  absl::MutexLock lock(&mutex_);
  return failed_attempts_;
}

absl::Duration StateWatcher::Backoff(int attempt) {
  absl::Duration delay =
      std::max(options_.initial_backoff, absl::ZeroDuration());
  for (int i = 1; i < attempt && delay < options_.max_backoff; ++i) delay *= 2;
  delay = std::min(delay, options_.max_backoff);
  const double jitter = std::clamp(options_.jitter, 0.0, 1.0);
  if (jitter > 0) {
    thread_local std::minstd_rand random(std::random_device{}());
    delay -= delay * std::uniform_real_distribution<double>(0, jitter)(random);
  }
  return delay;
}

bool StateWatcher::SleepUnlessStopped(absl::Duration delay) {
  absl::MutexLock lock(&mutex_);
  // Waits on the flag, not a clock: Stop() ends the wait at once.
  return mutex_.AwaitWithTimeout(absl::Condition(&stopping_), delay);
}

void StateWatcher::Run() {
  {
    absl::MutexLock lock(&mutex_);
    run_thread_id_ = std::this_thread::get_id();
  }
  absl::Status final_status;
  int failures = 0;
  // Whether the streams started from revision 0 since the last snapshot
  // restart delivered anything: if so, a new snapshot repeats it.
  bool snapshot_delivered = false;
  // The recovery under way, reported by on_resume at the first message of
  // the next stream that delivers one.
  std::optional<WatchResume> resume;
  for (;;) {
    v1::WatchStatesRequest request = request_;
    {
      absl::MutexLock lock(&mutex_);
      if (last_revision_ > 0) request.set_start_revision(last_revision_);
    }
    const bool from_snapshot = request.start_revision() == 0;
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mutex_);
      if (stopping_) {
        final_status = absl::CancelledError("the watch was stopped");
        break;
      }
      context_ = &context;
    }
    std::unique_ptr<grpc::ClientReaderInterface<v1::WatchStatesResponse>>
        reader = stub_->WatchStates(&context, request);
    // The server's first sign of life: its headers (statesd sends them as
    // soon as it took the watch) or, from an older server, the first
    // message. The backoff restarts only with a message, so that a server
    // that takes watches and ends them at once is not called in a loop.
    const auto server_answered = [this, &resume] {
      {
        absl::MutexLock lock(&mutex_);
        answered_ = true;
        failed_attempts_ = 0;
      }
      if (resume.has_value()) {
        if (callbacks_.on_resume) callbacks_.on_resume(*resume);
        resume.reset();
      }
    };
    // Only a real call has headers to look at: the reader of a test
    // double's stub leaves the context without one.
    reader->WaitForInitialMetadata();
    if (context.c_call() != nullptr &&
        context.GetServerInitialMetadata().count(kWatchStartedHeader) > 0) {
      server_answered();
    }
    v1::WatchStatesResponse response;
    while (reader->Read(&response)) {
      failures = 0;
      {
        absl::MutexLock lock(&mutex_);
        if (response.revision() > 0) last_revision_ = response.revision();
      }
      server_answered();
      if (from_snapshot) snapshot_delivered = true;
      if (callbacks_.on_message) callbacks_.on_message(response);
      response.Clear();
    }
    const grpc::Status finished = reader->Finish();
    reader.reset();
    const absl::Status error = FromGrpcStatus(finished);
    bool stopping;
    std::int64_t last_revision;
    {
      absl::MutexLock lock(&mutex_);
      context_ = nullptr;
      stopping = stopping_;
      last_revision = last_revision_;
      if (!stopping && !error.ok() && IsServerAnswer(error)) answered_ = true;
    }
    if (stopping) {
      final_status = absl::CancelledError("the watch was stopped");
      break;
    }
    if (error.ok()) {
      final_status = absl::InternalError(
          "the server ended the watch without an error, which it never "
          "should");
      break;
    }
    if (!IsResumable(error.code())) {
      final_status = error;
      break;
    }
    WatchRetry retry;
    retry.error = error;
    retry.attempt = ++failures;
    retry.delay = Backoff(retry.attempt);
    retry.start_revision =
        last_revision > 0 ? last_revision : request_.start_revision();
    retry.restarts_snapshot = retry.start_revision == 0 && snapshot_delivered;
    if (retry.restarts_snapshot) snapshot_delivered = false;
    {
      absl::MutexLock lock(&mutex_);
      retry.answered = answered_;
      failed_attempts_ = retry.attempt;
    }
    if (!resume.has_value()) {
      resume.emplace();
      resume->answered_before = retry.answered;
    }
    resume->start_revision = retry.start_revision;
    resume->failed_attempts = retry.attempt;
    resume->error = retry.error;
    resume->restarts_snapshot |= retry.restarts_snapshot;
    if (callbacks_.on_retry) callbacks_.on_retry(retry);
    if (SleepUnlessStopped(retry.delay)) {
      final_status = absl::CancelledError("the watch was stopped");
      break;
    }
  }
  if (callbacks_.on_done) callbacks_.on_done(final_status);
  absl::MutexLock lock(&mutex_);
  status_ = final_status;
  done_ = true;
}

}  // namespace mozuma::states
