// Protobuf's logging, as this project wants it.
#ifndef MOZUMA_STATES_CORE_PROTOBUF_LOG_H_
#define MOZUMA_STATES_CORE_PROTOBUF_LOG_H_

namespace mozuma::states {

// Routes protobuf's log lines to stderr, except its complaints about string
// fields holding invalid UTF-8: this project reports those to the user as
// INVALID_UTF8 violations, and on a server the log line would let any client
// fill the log. Process-wide; call once at start.
void InstallProtobufLogFilter();

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_PROTOBUF_LOG_H_
