// Following the registry's changes: a WatchStates stream that reconnects.
//
// A StateWatcher runs one WatchStates call at a time on a thread of its
// own and hands every message to a callback. When the stream breaks with an
// error that the rpc documents as resumable (UNAVAILABLE: the server drains
// or cannot be reached; RESOURCE_EXHAUSTED: the watcher fell too far
// behind), or with a CANCELLED that the watcher did not ask for (a server
// shutting down cancels the calls that reach it late), it waits with
// bounded exponential backoff and opens a new stream from the last
// revision received, so that no change is skipped or delivered twice. Any
// other error ends the watch.
//
// The watcher also tells whether the server ever answered (answered(),
// WatchRetry::answered), so that a caller can give up on an address where
// nothing listens instead of retrying forever, and when a broken watch has
// resumed (WatchCallbacks::on_resume).
//
// Example:
//
//   v1::WatchStatesRequest request;  // every state, snapshot first
//   WatchCallbacks callbacks;
//   callbacks.on_message = [](const v1::WatchStatesResponse& response) {
//     for (const v1::StateEvent& event : response.events()) { ... }
//   };
//   callbacks.on_retry = [](const WatchRetry& retry) {
//     if (retry.restarts_snapshot) { ... forget the partial snapshot ... }
//   };
//   callbacks.on_resume = [](const WatchResume& resume) {
//     ... "resumed from rev " << resume.start_revision ...
//   };
//   std::unique_ptr<StateWatcher> watcher =
//       client->Watch(request, std::move(callbacks));
//   ...
//   watcher->Stop();  // or let it go out of scope
#ifndef MOZUMA_STATES_CLIENT_STATE_WATCHER_H_
#define MOZUMA_STATES_CLIENT_STATE_WATCHER_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "mozuma/states/v1/state_service.grpc.pb.h"

namespace mozuma::states {

struct WatchOptions {
  // The wait before reopening a broken stream: `initial_backoff` after the
  // first failure, doubled after each further one in a row, never more than
  // `max_backoff`. A stream that delivers a message starts the count again.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(5);
  // Each wait is shortened by a random fraction, up to `jitter`, of itself,
  // so that the watchers of a restarted server do not all reconnect at
  // once. 0 makes the waits exact; values are clamped to [0, 1].
  double jitter = 0.2;
};

// Why and how a StateWatcher reopens its stream.
struct WatchRetry {
  // The error that broke the stream: UNAVAILABLE, RESOURCE_EXHAUSTED or
  // CANCELLED, with the server's details (core/errors.h GetErrorInfo) when
  // it sent any.
  absl::Status error;
  // 1 for the first failure after a stream that delivered a message, then
  // 2, 3...
  int attempt = 0;
  // How long the watcher waits before it reopens the stream.
  absl::Duration delay;
  // The `start_revision` of the new stream: the last nonzero `revision`
  // received, or the request's own when none was.
  std::int64_t start_revision = 0;
  // True when the new stream repeats a snapshot that this watcher has
  // already delivered (part of): the stream broke before its snapshot
  // completed (or before any change followed the snapshot of a store still
  // at revision 0), so the new one starts from revision 0 again and sends
  // every matching state as an ADDED event, then a `snapshot_complete`
  // message. A consumer that keeps a view of the registry should drop what
  // the broken snapshot delivered and rebuild from the new one. Reported
  // once per repetition: false while nothing of the new snapshot has
  // arrived yet.
  bool restarts_snapshot = false;
  // Whether the server has answered this watcher so far, the error that
  // broke this stream included (StateWatcher::answered(): a SERVER_DRAINING
  // is an answer, gRPC's own UNAVAILABLE for a failed connection is not).
  // False on every retry of a watcher whose address has never answered:
  // nothing listens there, the host is down, or the address is wrong.
  bool answered = false;
};

// A broken watch that is going again: the server has taken the stream
// opened after one or more WatchRetry (statesd says so with its headers at
// once; an older server only with the first message).
struct WatchResume {
  // The `start_revision` of the stream that resumed (as
  // WatchRetry::start_revision).
  std::int64_t start_revision = 0;
  // How many streams failed in a row before this one.
  int failed_attempts = 0;
  // The error that broke the last of them.
  absl::Status error;
  // True when the stream repeats the snapshot (see
  // WatchRetry::restarts_snapshot): its first message belongs to the new
  // snapshot.
  bool restarts_snapshot = false;
  // Whether the server had answered this watcher before the failures: false
  // when this is the first answer of a server that was not up when the
  // watch started.
  bool answered_before = false;
};

// What a StateWatcher calls, always on its own thread, one call at a time,
// in stream order. Each may be empty. A callback must not destroy the
// watcher; it may call Stop(), which then only asks the watch to end.
struct WatchCallbacks {
  // Every message of every stream, as received: snapshot messages
  // (`revision` 0), the `snapshot_complete` marker, then live changes.
  std::function<void(const v1::WatchStatesResponse&)> on_message;
  // A resumable error broke the stream; the watcher reopens it after
  // `retry.delay` unless it is stopped first.
  std::function<void(const WatchRetry&)> on_retry;
  // The first stream opened after `on_retry` that the server takes: called
  // once per recovery, as soon as statesd's response headers arrive (see
  // core/watch_protocol.h), so also for a resumed watch on a quiet
  // registry, and always before the stream's first `on_message`. Against a
  // server that sends no headers before its first message, it comes with
  // that message.
  std::function<void(const WatchResume&)> on_resume;
  // The watch ended: called exactly once, last, with the status that ended
  // it (see StateWatcher::status()).
  std::function<void(const absl::Status&)> on_done;
};

// One watch of the registry, running on a thread of its own. Thread-safe:
// every method may be called from any thread. Destroying the watcher stops
// it, cancelling the call in flight, and waits for its thread.
class StateWatcher {
 public:
  // Starts watching with `request` over `stub` at once. Client::Watch() is
  // the usual way to make one.
  StateWatcher(std::shared_ptr<v1::StateService::StubInterface> stub,
               v1::WatchStatesRequest request, WatchCallbacks callbacks,
               WatchOptions options);
  ~StateWatcher();
  StateWatcher(const StateWatcher&) = delete;
  StateWatcher& operator=(const StateWatcher&) = delete;

  // Ends the watch: cancels the stream in flight or cuts a backoff wait
  // short, and returns once the watcher's thread has finished, after
  // `on_done` (with CANCELLED unless the watch had already ended). Prompt
  // whatever the thread was doing, unless a callback is running: Stop()
  // waits for it to return. Called from a callback, it only asks the watch
  // to end and returns at once. Idempotent.
  void Stop();

  // Waits until the watch has ended, at most `timeout`. Returns true when
  // it has (and `on_done` has returned).
  bool WaitFor(absl::Duration timeout) const;

  // Waits until the watch has ended and returns status().
  absl::Status Wait() const;

  // True once the watch has ended.
  bool done() const;

  // OK while the watch runs. Once it has ended: the error that ended it,
  // for example OUT_OF_RANGE (reason HISTORY_COMPACTED or FUTURE_REVISION:
  // watch again from revision 0) or INVALID_ARGUMENT (INVALID_FILTER);
  // CANCELLED if Stop() ended it; INTERNAL if the server closed the stream
  // with OK, which the rpc never does.
  absl::Status status() const;

  // The last nonzero `revision` received, from which the watch would
  // resume; 0 before any.
  std::int64_t last_revision() const;

  // True once the server has answered any stream of this watcher: it took
  // the stream (statesd's response headers), a message arrived, or a stream
  // ended with an error the server sent (one with a google.rpc.ErrorInfo,
  // or any code but UNAVAILABLE and CANCELLED, which gRPC also reports when
  // it cannot connect). False while only such connection failures have
  // happened. Against a server that sends no headers before its first
  // message, also false while the first stream is open but has delivered
  // nothing: use it together with WatchRetry::answered or failed_attempts()
  // to tell "never answered" from "quiet".
  bool answered() const;

  // How many streams have failed in a row with a resumable error since the
  // server last answered (WatchRetry::attempt of the last retry); 0 once
  // the server has taken the stream in flight or sent a message.
  int failed_attempts() const;

 private:
  // The thread's body: streams, delivers, backs off, until the end.
  void Run();
  // Returns true when the backoff wait ended because of Stop().
  bool SleepUnlessStopped(absl::Duration delay);
  absl::Duration Backoff(int attempt);

  const std::shared_ptr<v1::StateService::StubInterface> stub_;
  const v1::WatchStatesRequest request_;
  const WatchCallbacks callbacks_;
  const WatchOptions options_;

  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  bool done_ ABSL_GUARDED_BY(mutex_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mutex_);
  std::int64_t last_revision_ ABSL_GUARDED_BY(mutex_) = 0;
  bool answered_ ABSL_GUARDED_BY(mutex_) = false;
  int failed_attempts_ ABSL_GUARDED_BY(mutex_) = 0;
  // The context of the call in flight, for Stop() to cancel; null between
  // calls.
  grpc::ClientContext* context_ ABSL_GUARDED_BY(mutex_) = nullptr;
  std::thread::id run_thread_id_ ABSL_GUARDED_BY(mutex_);

  // Serialises the join of `thread_` between concurrent Stop() calls.
  absl::Mutex join_mutex_;
  std::thread thread_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CLIENT_STATE_WATCHER_H_
