#include "core/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>

#include <iostream>
#include <string>

#include "absl/strings/match.h"

namespace mozuma::states {
namespace {

void FilterLog(google::protobuf::LogLevel level, const char* filename, int line,
               const std::string& message) {
  if (absl::StrContains(message, "invalid UTF-8")) return;
  static const char* const kLevels[] = {"INFO", "WARNING", "ERROR", "FATAL"};
  std::cerr << "[libprotobuf " << kLevels[level] << " " << filename << ":"
            << line << "] " << message << std::endl;
}

}  // namespace

void InstallProtobufLogFilter() { google::protobuf::SetLogHandler(&FilterLog); }

}  // namespace mozuma::states
