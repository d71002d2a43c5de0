#include "client/statesctl/local_files.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace mozuma::states::statesctl {
namespace {

// Closes a file descriptor when it goes out of scope.
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ~ScopedFd() { close(fd_); }
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;

 private:
  const int fd_;
};

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

absl::Status ErrnoError(int error_number, absl::string_view what,
                        absl::string_view path) {
  return absl::ErrnoToStatus(error_number, absl::StrCat(what, " ", path));
}

}  // namespace

absl::StatusOr<FileDigest> DigestFile(const std::string& path,
                                      const DigestProgress& progress) {
  int fd;
  do {
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return ErrnoError(errno, "cannot open", path);
  const ScopedFd closer(fd);
  struct stat info;
  if (fstat(fd, &info) != 0) return ErrnoError(errno, "cannot stat", path);
  if (!S_ISREG(info.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  }

  const std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> context(
      EVP_MD_CTX_new());
  if (context == nullptr ||
      EVP_DigestInit_ex(context.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("OpenSSL cannot start a SHA-256 digest");
  }
  std::vector<unsigned char> buffer(kDigestChunkBytes);
  FileDigest digest;
  for (;;) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, "cannot read", path);
    if (n == 0) break;
    if (EVP_DigestUpdate(context.get(), buffer.data(),
                         static_cast<std::size_t>(n)) != 1) {
      return absl::InternalError("OpenSSL failed to hash " + path);
    }
    digest.size_bytes += n;
    if (progress) progress(digest.size_bytes, info.st_size);
  }
  unsigned char hash[EVP_MAX_MD_SIZE];
  unsigned int hash_size = 0;
  if (EVP_DigestFinal_ex(context.get(), hash, &hash_size) != 1) {
    return absl::InternalError("OpenSSL failed to hash " + path);
  }
  digest.sha256 = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(hash), hash_size));
  return digest;
}

std::string PercentEncodePath(absl::string_view path) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (const char c : path) {
    const unsigned char byte = static_cast<unsigned char>(c);
    const bool keep = (byte >= 'A' && byte <= 'Z') ||
                      (byte >= 'a' && byte <= 'z') ||
                      (byte >= '0' && byte <= '9') || byte == '-' ||
                      byte == '.' || byte == '_' || byte == '~' || byte == '/';
    if (keep) {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

std::string FileUri(absl::string_view absolute_path) {
  return absl::StrCat("file://", PercentEncodePath(absolute_path));
}

}  // namespace mozuma::states::statesctl
