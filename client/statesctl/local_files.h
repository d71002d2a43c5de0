// What import needs from local files: their SHA-256 and size, read in
// bounded chunks, and their `file://` URIs.
#ifndef MOZUMA_STATES_CLIENT_STATESCTL_LOCAL_FILES_H_
#define MOZUMA_STATES_CLIENT_STATESCTL_LOCAL_FILES_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mozuma::states::statesctl {

// The size of the chunks DigestFile() reads.
inline constexpr std::size_t kDigestChunkBytes = 1 << 20;

struct FileDigest {
  // 64 lowercase hexadecimal digits.
  std::string sha256;
  std::int64_t size_bytes = 0;
};

// Called after each chunk with the bytes read so far and the file's size
// when it was opened.
using DigestProgress =
    std::function<void(std::int64_t bytes_read, std::int64_t total_bytes)>;

// Returns the SHA-256 and size of the content of the file at `path`,
// reading it in chunks of kDigestChunkBytes: memory use does not grow with
// the file. The size is the number of bytes hashed. Returns the errno's
// code (NOT_FOUND, PERMISSION_DENIED...) with the path when the file cannot
// be read, INTERNAL when OpenSSL fails.
absl::StatusOr<FileDigest> DigestFile(const std::string& path,
                                      const DigestProgress& progress = {});

// Percent-encodes `path` for a URI (RFC 3986): every byte but the
// unreserved characters (ASCII letters and digits, `-`, `.`, `_`, `~`) and
// `/` becomes `%XX`, upper-case hex. Non-ASCII UTF-8 is encoded byte by
// byte.
std::string PercentEncodePath(absl::string_view path);

// `file://` and the percent-encoded `absolute_path`, which starts with `/`:
// `file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt`.
std::string FileUri(absl::string_view absolute_path);

}  // namespace mozuma::states::statesctl

#endif  // MOZUMA_STATES_CLIENT_STATESCTL_LOCAL_FILES_H_
