// The secret that signs page tokens (StateStore::PageTokenKey()).
#ifndef MOZUMA_STATES_SERVICE_STORAGE_TOKEN_KEY_H_
#define MOZUMA_STATES_SERVICE_STORAGE_TOKEN_KEY_H_

#include <string>

namespace mozuma::states {

// The length of NewTokenKey()'s result, in bytes.
inline constexpr int kTokenKeyBytes = 32;

// A new random key from OpenSSL's CSPRNG. Aborts if the CSPRNG fails,
// which only happens when the system has no entropy source at all.
std::string NewTokenKey();

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_SERVICE_STORAGE_TOKEN_KEY_H_
