#include "service/rpc/watch_hub.h"

#include <deque>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mozuma/states/v1/state_service.grpc.pb.h"
#include "core/errors.h"
#include "core/watch_protocol.h"
#include "service/rpc/grpc_status.h"

namespace mozuma::states {

// One watch. Lives from WatchHub::Start() until gRPC calls OnDone().
//
// Locking: the hub's mutex is taken before a watch's, never after, and a
// watch's own callbacks take only its mutex (OnDone, which removes it from
// the hub, takes only the hub's). gRPC never runs OnDone inline from
// Finish(), so Finish() may be called with either mutex held.
class WatchReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  WatchReactor(WatchHub& hub, StateFilter filter, std::int64_t start_revision)
      : hub_(hub),
        filter_(std::move(filter)),
        in_snapshot_(start_revision == 0),
        cursor_(start_revision),
        delivered_(start_revision) {}

  // Reads the snapshot if there is one and sends the first message.
  void Begin() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    if (in_snapshot_) {
      absl::StatusOr<ListResult> snapshot = hub_.store_.List(
          filter_, "", std::numeric_limits<std::size_t>::max());
      if (!snapshot.ok()) {
        FinishLocked(snapshot.status());
        return;
      }
      cursor_ = delivered_ = snapshot->revision;
      for (v1::State& state : snapshot->states) {
        v1::StateEvent& event = pending_.emplace_back();
        event.set_type(v1::StateEvent::TYPE_ADDED);
        event.set_revision(state.revision());
        *event.mutable_state() = std::move(state);
      }
    } else {
      // Reports a compacted or future start revision at once.
      ReadMoreLocked();
    }
    PumpLocked();
  }

  // From the hub: the store is at `head`.
  void Check(std::int64_t head) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_) return;
    if (writing_ && head - delivered_ > hub_.options_.max_lag &&
        absl::Now() - write_started_ >= hub_.options_.stall_grace) {
      FinishLocked(MakeError(
          absl::StatusCode::kResourceExhausted, reason::kWatchTooSlow,
          absl::StrCat("the client stopped reading the watch while it fell "
                       "more than ",
                       hub_.options_.max_lag,
                       " revisions behind the store (at ", head,
                       "); resume from the last revision received",
                       in_snapshot_ ? ", or from 0 as the snapshot was not "
                                      "complete"
                                    : ""),
          {{"revision", absl::StrCat(in_snapshot_ ? 0 : delivered_)}}));
      return;
    }
    if (!writing_ && pending_.empty() && cursor_ < head) PumpLocked();
  }

  // From the hub: the server drains.
  void Drain() {
    std::lock_guard<std::mutex> lock(mutex_);
    FinishLocked(MakeError(
        absl::StatusCode::kUnavailable, reason::kServerDraining,
        "the server is shutting down: resume the watch from the last "
        "revision received, on another replica or after the restart",
        {{"revision", absl::StrCat(in_snapshot_ ? 0 : delivered_)}}));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    writing_ = false;
    if (!ok) {
      // The client is gone; OnCancel() follows.
      FinishLocked(absl::CancelledError("the client went away"));
      return;
    }
    PumpLocked();
  }

  void OnCancel() override {
    std::lock_guard<std::mutex> lock(mutex_);
    FinishLocked(absl::CancelledError("the client cancelled the watch"));
  }

  void OnDone() override {
    hub_.Remove(this);
    delete this;
  }

 private:
  // Fetches the next changes after cursor_ into pending_, until some match
  // or the cursor reaches the store's head. Requires mutex_.
  void ReadMoreLocked() {
    while (pending_.empty() && !finished_) {
      absl::StatusOr<ChangeBatch> batch =
          hub_.store_.ReadChanges(cursor_, filter_, hub_.options_.read_batch);
      if (!batch.ok()) {
        FinishLocked(batch.status());
        return;
      }
      const bool advanced = batch->scanned_through > cursor_;
      cursor_ = batch->scanned_through;
      for (v1::StateEvent& event : batch->events) {
        pending_.push_back(std::move(event));
      }
      if (!advanced) return;
    }
  }

  // Sends the next message if none is in flight and there is one to send.
  // Requires mutex_.
  void PumpLocked() {
    if (finished_ || writing_) return;
    v1::WatchStatesResponse message;
    if (in_snapshot_) {
      if (pending_.empty()) {
        in_snapshot_ = false;
        message.set_snapshot_complete(true);
        message.set_revision(cursor_);
        delivered_ = cursor_;
        Send(message);
        return;
      }
      TakePending(message);
      Send(message);
      return;
    }
    if (pending_.empty()) ReadMoreLocked();
    if (finished_) return;
    if (pending_.empty()) {
      // Caught up, though non-matching changes may have moved the cursor:
      // nothing to say until a matching change comes.
      return;
    }
    TakePending(message);
    // Every change up to the last event sent has been examined; when
    // nothing is left over, everything up to the cursor has.
    const std::int64_t revision =
        pending_.empty() ? cursor_ : message.events().rbegin()->revision();
    message.set_revision(revision);
    delivered_ = revision;
    Send(message);
  }

  void TakePending(v1::WatchStatesResponse& message) {
    std::size_t bytes = 0;
    while (!pending_.empty() &&
           static_cast<std::size_t>(message.events_size()) <
               hub_.options_.max_events_per_message &&
           (message.events_size() == 0 ||
            bytes < hub_.options_.max_message_bytes)) {
      bytes += pending_.front().ByteSizeLong();
      *message.add_events() = std::move(pending_.front());
      pending_.pop_front();
    }
  }

  void Send(const v1::WatchStatesResponse& message) {
    buffer_.Clear();  // the previous message is sent: OnWriteDone came
    bool own_buffer = false;
    const grpc::Status serialized =
        grpc::SerializationTraits<v1::WatchStatesResponse>::Serialize(
            message, &buffer_, &own_buffer);
    if (!serialized.ok()) {
      FinishLocked(absl::InternalError("could not serialize a watch message"));
      return;
    }
    writing_ = true;
    write_started_ = absl::Now();
    StartWrite(&buffer_);
  }

  void FinishLocked(const absl::Status& status) {
    if (finished_) return;
    finished_ = true;
    Finish(ToGrpcStatus(status));
  }

  WatchHub& hub_;
  const StateFilter filter_;

  std::mutex mutex_;
  bool in_snapshot_;           // guarded by mutex_
  std::int64_t cursor_;        // changes up to it are read; guarded
  std::int64_t delivered_;     // last revision handed to gRPC; guarded
  std::deque<v1::StateEvent> pending_;  // read, not yet sent; guarded
  bool writing_ = false;       // a message is in flight; guarded
  absl::Time write_started_;   // when it was handed to gRPC; guarded
  bool finished_ = false;      // Finish() was called; guarded
  grpc::ByteBuffer buffer_;    // the message in flight
};

WatchHub::WatchHub(StateStore& store, WatchHubOptions options)
    : store_(store), options_(options), thread_([this] { Run(); }) {}

WatchHub::~WatchHub() {
  Shutdown();
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

grpc::ServerWriteReactor<grpc::ByteBuffer>* WatchHub::Start(
    grpc::CallbackServerContext* context, StateFilter filter,
    std::int64_t start_revision) {
  auto* watch = new WatchReactor(*this, std::move(filter), start_revision);
  bool draining;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    watches_.insert(watch);
    draining = draining_;
  }
  if (draining) {
    watch->Drain();
  } else {
    // The headers go out before the snapshot is read, so that the client
    // knows at once that the watch was taken, even if nothing follows.
    context->AddInitialMetadata(kWatchStartedHeader, "1");
    watch->StartSendInitialMetadata();
    watch->Begin();
  }
  return watch;
}

void WatchHub::Notify() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    notified_ = true;
  }
  wake_.notify_one();
}

void WatchHub::Shutdown() {
  std::lock_guard<std::mutex> lock(mutex_);
  draining_ = true;
  for (WatchReactor* watch : watches_) watch->Drain();
}

void WatchHub::Remove(WatchReactor* watch) {
  std::lock_guard<std::mutex> lock(mutex_);
  watches_.erase(watch);
}

void WatchHub::Run() {
  while (true) {
    {
      std::unique_lock<std::mutex> lock(wake_mutex_);
      wake_.wait_for(lock, absl::ToChronoNanoseconds(options_.poll_interval),
                     [this] { return notified_ || stopping_; });
      if (stopping_) return;
      notified_ = false;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (watches_.empty()) continue;
    }
    const absl::StatusOr<std::int64_t> head = store_.CurrentRevision();
    if (!head.ok()) continue;  // the next wake tries again
    std::lock_guard<std::mutex> lock(mutex_);
    for (WatchReactor* watch : watches_) watch->Check(*head);
  }
}

}  // namespace mozuma::states
