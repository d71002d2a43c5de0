// What a WatchStates stream carries besides its messages, shared by statesd
// and the client library.
#ifndef MOZUMA_STATES_CORE_WATCH_PROTOCOL_H_
#define MOZUMA_STATES_CORE_WATCH_PROTOCOL_H_

namespace mozuma::states {

// The response header statesd sends as soon as it has taken a WatchStates
// stream, before any message (value "1"). A watch that resumes from a
// revision on a quiet registry may receive no message for hours; the header
// tells its client at once that the server answered. Servers before 0.2
// send no headers until the first message; clients treat that message as
// the answer then.
inline constexpr char kWatchStartedHeader[] = "mozuma-states-watch-started";

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_WATCH_PROTOCOL_H_
