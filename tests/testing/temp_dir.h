// A fresh directory for one test, removed with everything in it when the
// TempDir is destroyed.
#ifndef MOZUMA_STATES_TESTS_TESTING_TEMP_DIR_H_
#define MOZUMA_STATES_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace mozuma::states::testing {

class TempDir {
 public:
  // Under $TMPDIR (or /tmp). Aborts if it cannot be made: no test could
  // run without it.
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
        "/mozuma-states-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `path()/name`.
  std::string File(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

}  // namespace mozuma::states::testing

#endif  // MOZUMA_STATES_TESTS_TESTING_TEMP_DIR_H_
