#include "service/storage/token_key.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>

namespace mozuma::states {

std::string NewTokenKey() {
  std::string key(kTokenKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()),
                 kTokenKeyBytes) != 1) {
    std::fputs("statesd: OpenSSL could not make random bytes\n", stderr);
    std::abort();
  }
  return key;
}

}  // namespace mozuma::states
