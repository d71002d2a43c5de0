#include "service/server/listen_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mozuma::states {
namespace {

constexpr char kForms[] =
    "write HOST:PORT, [IPV6]:PORT, unix:PATH or unix-abstract:NAME, e.g. "
    "127.0.0.1:50051";

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("malformed address: ", what, "; ", kForms));
}

// A socket descriptor closed when it goes out of scope.
class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  const int fd_;
};

// The first port unprivileged processes may bind (Linux's sysctl), 1024 if
// it cannot be read.
int UnprivilegedPortStart() {
  std::ifstream file("/proc/sys/net/ipv4/ip_unprivileged_port_start");
  int port = 1024;
  if (!(file >> port)) return 1024;
  return port;
}

std::string NumericHost(const sockaddr* address, socklen_t length) {
  char host[NI_MAXHOST];
  if (getnameinfo(address, length, host, sizeof(host), nullptr, 0,
                  NI_NUMERICHOST) != 0) {
    return "?";
  }
  return address->sa_family == AF_INET6 ? absl::StrCat("[", host, "]")
                                        : std::string(host);
}

// Binds a fresh TCP socket to `address` as gRPC does (SO_REUSEADDR, and
// SO_REUSEPORT off); returns the errno of the failure, 0 on success.
int TryBind(const addrinfo& address) {
  Socket socket(::socket(address.ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket.fd() < 0) return errno;
  const int on = 1;
  setsockopt(socket.fd(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  if (bind(socket.fd(), address.ai_addr, address.ai_addrlen) != 0) return errno;
  return 0;
}

absl::Status BindError(int error, const std::string& ip, int port) {
  // For the two failures that another port mends.
  const std::string another_port =
      absl::StrCat("; pick another port, or --listen=", ip,
                   ":0 for a free one (the startup line names it)");
  switch (error) {
    case EADDRINUSE:
      return absl::UnavailableError(absl::StrCat(
          "port ", port, " of ", ip,
          " is already in use by another process (ss -ltnp 'sport = :", port,
          "' shows which)", another_port));
    case EADDRNOTAVAIL:
      return absl::FailedPreconditionError(absl::StrCat(
          ip,
          " is not an address of this machine (ip -brief address lists "
          "them; 127.0.0.1 is this machine only, 0.0.0.0 every IPv4 "
          "interface)"));
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(absl::StrCat(
          "permission denied for port ", port, ": ports below ",
          UnprivilegedPortStart(),
          " need root or the CAP_NET_BIND_SERVICE capability", another_port));
    case EAFNOSUPPORT:
      return absl::FailedPreconditionError(absl::StrCat(
          ip,
          ": this machine does not support that address family (is IPv6 "
          "disabled?)"));
    default:
      return absl::UnknownError(
          absl::StrCat(ip, ":", port, ": ", std::strerror(error)));
  }
}

absl::Status CheckTcp(const ListenAddress& address) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  const int resolved =
      getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
  if (resolved != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the host name \"", address.host, "\" does not resolve (",
        gai_strerror(resolved),
        "); use an IP address of this machine, 127.0.0.1 or 0.0.0.0"));
  }
  // gRPC binds every address the host resolves to and is content when one
  // of them binds. Do the same, except that an address in use or refused is
  // always an error: a second server must never share a name with the first.
  absl::Status first_error;
  bool bound = false;
  for (const addrinfo* it = found; it != nullptr; it = it->ai_next) {
    const int error = TryBind(*it);
    if (error == 0) {
      bound = true;
      continue;
    }
    absl::Status status = BindError(
        error, NumericHost(it->ai_addr, it->ai_addrlen), address.port);
    if (error == EADDRINUSE || error == EACCES || error == EPERM) {
      freeaddrinfo(found);
      return status;
    }
    if (first_error.ok()) first_error = std::move(status);
  }
  freeaddrinfo(found);
  if (bound) return absl::OkStatus();
  return first_error.ok()
             ? absl::UnknownError("the host name resolves to no address")
             : first_error;
}

absl::Status CheckUnix(const ListenAddress& address) {
  const std::string& path = address.path;
  const std::size_t slash = path.rfind('/');
  const std::string directory =
      slash == std::string::npos ? "."
                                 : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat info;
  if (stat(directory.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("the directory ", directory, " of the socket ", path,
                     " does not exist; create it first"));
  }
  if (access(directory.c_str(), W_OK | X_OK) != 0) {
    return absl::PermissionDeniedError(
        absl::StrCat("permission denied: cannot create the socket ", path,
                     " in ", directory));
  }
  if (lstat(path.c_str(), &info) != 0) return absl::OkStatus();
  if (!S_ISSOCK(info.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " exists and is not a socket; remove it or pick another path"));
  }
  // gRPC removes an existing socket file before it binds, which would take
  // the address from a server still running. Only a stale one may go.
  Socket socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un unix_address{};
  unix_address.sun_family = AF_UNIX;
  std::memcpy(unix_address.sun_path, path.data(), path.size());
  if (socket.fd() >= 0 &&
      connect(socket.fd(), reinterpret_cast<const sockaddr*>(&unix_address),
              sizeof(unix_address)) == 0) {
    return absl::UnavailableError(
        absl::StrCat("another process already listens on the socket ", path));
  }
  return absl::OkStatus();
}

absl::Status CheckUnixAbstract(const ListenAddress& address) {
  Socket socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (socket.fd() < 0) return absl::UnknownError(std::strerror(errno));
  sockaddr_un unix_address{};
  unix_address.sun_family = AF_UNIX;
  // The abstract namespace: a name that starts with a NUL byte.
  std::memcpy(unix_address.sun_path + 1, address.path.data(),
              address.path.size());
  const socklen_t length = static_cast<socklen_t>(
      offsetof(sockaddr_un, sun_path) + 1 + address.path.size());
  if (bind(socket.fd(), reinterpret_cast<const sockaddr*>(&unix_address),
           length) != 0) {
    if (errno == EADDRINUSE) {
      return absl::UnavailableError(
          absl::StrCat("the abstract socket ", address.path,
                       " is in use by another process"));
    }
    return absl::UnknownError(absl::StrCat("unix-abstract:", address.path, ": ",
                                           std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view listen) {
  ListenAddress address;
  // sun_path holds 108 bytes, the terminating NUL (or leading NUL of an
  // abstract name) included.
  constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path) - 1;
  if (listen.empty()) return Malformed("it is empty");
  if (absl::ConsumePrefix(&listen, "unix-abstract:")) {
    if (listen.empty()) return Malformed("the abstract socket name is empty");
    if (listen.size() > kMaxSocketPath) {
      return Malformed(
          absl::StrCat("the name is longer than ", kMaxSocketPath, " bytes"));
    }
    address.kind = ListenAddress::Kind::kUnixAbstract;
    address.path = std::string(listen);
    return address;
  }
  if (absl::ConsumePrefix(&listen, "unix:")) {
    // gRPC takes unix:PATH and unix:///ABSOLUTE/PATH.
    if (absl::StartsWith(listen, "//")) listen.remove_prefix(2);
    if (listen.empty()) return Malformed("the socket path is empty");
    if (listen.size() > kMaxSocketPath) {
      return Malformed(absl::StrCat("the socket path is longer than ",
                                    kMaxSocketPath, " bytes"));
    }
    address.kind = ListenAddress::Kind::kUnix;
    address.path = std::string(listen);
    return address;
  }
  if (absl::StrContains(listen, "://") || absl::StartsWith(listen, "dns:") ||
      absl::StartsWith(listen, "ipv4:") || absl::StartsWith(listen, "ipv6:") ||
      absl::StartsWith(listen, "vsock:")) {
    return Malformed("it is a URL or a client target, not an address");
  }
  absl::string_view host;
  absl::string_view port;
  if (absl::StartsWith(listen, "[")) {
    const std::size_t close = listen.find(']');
    if (close == absl::string_view::npos) {
      return Malformed("the '[' of the IPv6 address is never closed");
    }
    host = listen.substr(1, close - 1);
    absl::string_view rest = listen.substr(close + 1);
    if (!absl::ConsumePrefix(&rest, ":") || rest.empty()) {
      return Malformed(absl::StrCat("no port after [", host, "]"));
    }
    port = rest;
    in6_addr ipv6;
    const std::string host_string(host.substr(0, host.find('%')));
    if (inet_pton(AF_INET6, host_string.c_str(), &ipv6) != 1) {
      return Malformed(absl::StrCat(host, " is not an IPv6 address"));
    }
  } else {
    const std::size_t colon = listen.rfind(':');
    if (colon == absl::string_view::npos) {
      return Malformed("no port");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (absl::StrContains(host, ':')) {
      return Malformed("an IPv6 address needs brackets, as in [::1]:50051");
    }
    if (port.empty()) return Malformed("no port after the ':'");
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        "malformed address: no host; write 0.0.0.0:PORT for every IPv4 "
        "interface, [::]:PORT for "
        "every interface, or 127.0.0.1:PORT for this machine only");
  }
  if (host.find_first_not_of("0123456789.") == absl::string_view::npos) {
    in_addr ipv4;
    if (inet_pton(AF_INET, std::string(host).c_str(), &ipv4) != 1) {
      return Malformed(absl::StrCat(host, " is not an IPv4 address"));
    }
  }
  int number = -1;
  if (port.size() > 5 ||
      port.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port, &number) || number > 65535) {
    return Malformed(absl::StrCat(
        "the port \"", port,
        "\" is not a number from 0 to 65535 (0 picks a free port)"));
  }
  address.kind = ListenAddress::Kind::kTcp;
  address.host = std::string(host);
  address.port = number;
  return address;
}

absl::Status CheckCanListen(const ListenAddress& address) {
  switch (address.kind) {
    case ListenAddress::Kind::kTcp:
      return CheckTcp(address);
    case ListenAddress::Kind::kUnix:
      return CheckUnix(address);
    case ListenAddress::Kind::kUnixAbstract:
      return CheckUnixAbstract(address);
  }
  return absl::OkStatus();
}

}  // namespace mozuma::states
