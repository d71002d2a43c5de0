// The addresses statesd listens on (--listen), checked before gRPC sees
// them, and the reason an address cannot be listened on, in words an
// operator can act on.
//
// gRPC accepts more than statesd does (a missing port means 443, an empty
// host every interface) and, when it cannot bind, logs a multi-line error
// tree and returns nothing but failure. So statesd parses the address
// itself, and tries it the way gRPC will bind it (SO_REUSEADDR, never
// SO_REUSEPORT) to say exactly why it fails.
#ifndef MOZUMA_STATES_SERVICE_SERVER_LISTEN_ADDRESS_H_
#define MOZUMA_STATES_SERVICE_SERVER_LISTEN_ADDRESS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mozuma::states {

// One address, as written on the command line.
struct ListenAddress {
  enum class Kind {
    kTcp,           // HOST:PORT or [IPV6]:PORT
    kUnix,          // unix:PATH
    kUnixAbstract,  // unix-abstract:NAME (Linux abstract namespace)
  };
  Kind kind = Kind::kTcp;
  // kTcp: the host without brackets (a name, an IPv4 or an IPv6 address).
  std::string host;
  // kTcp: 0 to 65535; 0 lets the system pick a free port.
  int port = 0;
  // kUnix: the socket file; kUnixAbstract: the name.
  std::string path;
};

// Parses `listen`. Returns INVALID_ARGUMENT, with a message that says what
// is wrong (no port, port out of range, empty host, a URL...) and what to
// write instead, starting "malformed address: ".
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen);

// Tries to listen where `address` says, without keeping anything: resolves
// the host and binds a socket to each of its addresses, as gRPC will, then
// closes them; for a unix socket, checks its directory and whether a
// process already listens on the file (gRPC would silently replace the
// socket file of a running server). Returns OK when gRPC can be expected to
// bind, or, with a one-line message that names the cause (and, for a TCP
// port in use or privileged, how to pick another):
//   INVALID_ARGUMENT     the host name does not resolve
//   UNAVAILABLE          the address is in use by another process
//   FAILED_PRECONDITION  the host is not an address of this machine, or the
//                        unix socket's directory does not exist, or a file
//                        that is not a socket is in the way
//   PERMISSION_DENIED    a port below the unprivileged port range without
//                        the right to bind it, or an unwritable directory
//   UNKNOWN              anything else, with the system's own words
absl::Status CheckCanListen(const ListenAddress& address);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_SERVER_LISTEN_ADDRESS_H_
