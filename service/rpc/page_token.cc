#include "service/rpc/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "core/errors.h"
#include "core/state_validation.h"

namespace mozuma::states {
namespace {

// The first byte of every token: its format.
constexpr char kFormatVersion = '\x01';
// Bytes of HMAC-SHA256 kept: 128 bits.
constexpr std::size_t kMacBytes = 16;

std::string Mac(absl::string_view key, const StateFilter& filter,
                absl::string_view position) {
  const std::string message =
      absl::StrCat("mozuma.states.v1.ListStates\n", CanonicalFilter(filter),
                   "\n", position);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       digest, &digest_size);
  return std::string(reinterpret_cast<const char*>(digest), kMacBytes);
}

absl::Status InvalidToken(absl::string_view token, std::string description) {
  return InvalidFieldsError(
      reason::kInvalidPageToken,
      {MakeViolation("page_token", token, v1::VIOLATION_REASON_INVALID_FORMAT,
                     std::move(description))});
}

}  // namespace

std::string EncodePageToken(absl::string_view key, const StateFilter& filter,
                            absl::string_view after) {
  std::string raw = absl::StrCat(std::string(1, kFormatVersion), after,
                                 Mac(key, filter, after));
  std::string token;
  absl::WebSafeBase64Escape(raw, &token);
  return token;
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view key,
                                            const StateFilter& filter,
                                            absl::string_view token) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() < 1 + kMacBytes || raw[0] != kFormatVersion) {
    return InvalidToken(token,
                        "is not a page token of this service: pass the "
                        "next_page_token of the previous page unchanged");
  }
  const absl::string_view position =
      absl::string_view(raw).substr(1, raw.size() - 1 - kMacBytes);
  const std::string expected = Mac(key, filter, position);
  if (CRYPTO_memcmp(expected.data(), raw.data() + raw.size() - kMacBytes,
                    kMacBytes) != 0) {
    return InvalidToken(
        token,
        "was altered, comes from another store, or was made for a different "
        "filter: keep state_type, match and training_id as they were for "
        "the first page");
  }
  return std::string(position);
}

}  // namespace mozuma::states
