// WatchStates: server-streaming watches of the registry on gRPC's callback
// API.
//
// A watch reads from the store's change log and never from a buffer of its
// own, so a slow client cannot make the server hold more than one message
// for it, and nothing a client could miss is dropped silently. Each watch
// keeps one message in flight at most: when gRPC has sent it (OnWriteDone),
// the watch reads the next changes after its cursor. When it has caught up
// it rests, holding no thread, until the hub wakes it.
//
// The hub is one thread for all watches. It wakes when a local write calls
// Notify() and, to see writes made by other processes on the same store,
// every `poll_interval`. It then lets every resting watch that is behind
// catch up, and ends every watch that has fallen more than `max_lag`
// revisions behind while its client has not taken a message for
// `stall_grace` (RESOURCE_EXHAUSTED, WATCH_TOO_SLOW); the client resumes from
// the last revision it received.
#ifndef MOZUMA_STATES_SERVICE_RPC_WATCH_HUB_H_
#define MOZUMA_STATES_SERVICE_RPC_WATCH_HUB_H_

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <set>
#include <thread>

#include "absl/time/time.h"
#include "core/state_filter.h"
#include "service/storage/state_store.h"

namespace mozuma::states {

struct WatchHubOptions {
  static constexpr std::int64_t kDefaultMaxLag = 10000;

  // A watch more than this many revisions behind the store, whose client
  // has not taken its last message for `stall_grace`, is ended with
  // WATCH_TOO_SLOW. The grace keeps a client that reads from being ended
  // by a burst of writes that lands while one of its messages is on the
  // way.
  std::int64_t max_lag = kDefaultMaxLag;
  absl::Duration stall_grace = absl::Seconds(1);
  // How often the hub looks for changes made by other processes.
  absl::Duration poll_interval = absl::Seconds(1);
  // Most events in one message; a message also stops growing past
  // `max_message_bytes`.
  std::size_t max_events_per_message = 100;
  std::size_t max_message_bytes = 1024 * 1024;
  // Most changes read from the store at once.
  std::size_t read_batch = 1000;
};

class WatchReactor;

class WatchHub {
 public:
  // `store` must outlive the hub. Starts the hub's thread.
  WatchHub(StateStore& store, WatchHubOptions options);
  // Ends the remaining watches (as Shutdown()) and stops the thread. gRPC
  // must have finished every watch before (grpc::Server::Shutdown and Wait
  // do).
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // A new watch of the states matching `filter`: from a snapshot when
  // `start_revision` is 0, else from the changes after it. The request
  // must be valid. The reactor deletes itself when gRPC is done with it.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* Start(
      grpc::CallbackServerContext* context, StateFilter filter,
      std::int64_t start_revision);

  // Says that the store changed. Cheap; callable from any thread.
  void Notify();

  // Ends every watch with UNAVAILABLE (SERVER_DRAINING) and every later one
  // at once the same way. For draining. Idempotent.
  void Shutdown();

 private:
  friend class WatchReactor;

  void Remove(WatchReactor* watch);
  void Run();

  StateStore& store_;
  const WatchHubOptions options_;

  // Guards the watches. Taken before a watch's own mutex, never after.
  std::mutex mutex_;
  std::set<WatchReactor*> watches_;  // guarded by mutex_
  bool draining_ = false;            // guarded by mutex_

  // Guards the wake-up flags only, so that Notify() never waits for the
  // hub's reads.
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  bool notified_ = false;  // guarded by wake_mutex_
  bool stopping_ = false;  // guarded by wake_mutex_

  std::thread thread_;
};

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_RPC_WATCH_HUB_H_
