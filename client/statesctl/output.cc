#include "client/statesctl/output.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <algorithm>
#include <iostream>
#include <optional>

#include "absl/flags/flag.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/statesctl/flags.h"
#include "core/errors.h"
#include "core/names.h"
#include "google/protobuf/struct.pb.h"

namespace mozuma::states::statesctl {

std::string Json(const google::protobuf::Message& message) {
  // The defaults are the proto3 JSON mapping as buf curl prints it:
  // lowerCamelCase names, no default values, enums by name, compact.
  const google::protobuf::util::JsonPrintOptions options;
  // MessageToJsonString() converts through the binary form, whose map
  // entries come in hash order; a deterministic serialisation sorts them.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    (void)message.SerializeToCodedStream(&coded);
  }
  static google::protobuf::util::TypeResolver* const resolver =
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          "type.googleapis.com",
          google::protobuf::DescriptorPool::generated_pool());
  std::string json;
  (void)google::protobuf::util::BinaryToJsonString(
      resolver, absl::StrCat("type.googleapis.com/", message.GetTypeName()),
      binary, &json, options);
  return json;
}

namespace {

// The length of the well-formed UTF-8 sequence at the start of `text`
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), or
// 0 when there is none.
std::size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&text](std::size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return 0;
  }
  if (text.size() < length) return 0;
  if (byte(1) < low || byte(1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) return 0;
  }
  return length;
}

}  // namespace

std::string JsonString(absl::string_view text) {
  // Whole, unlike PrintableValue(), which cuts long values for reports.
  std::string utf8;
  utf8.reserve(text.size());
  while (!text.empty()) {
    const std::size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      absl::StrAppendFormat(&utf8, "\\x%02X",
                            static_cast<unsigned char>(text[0]));
      text.remove_prefix(1);
    } else {
      utf8.append(text.data(), length);
      text.remove_prefix(length);
    }
  }
  google::protobuf::Value value;
  value.set_string_value(utf8);
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(value, &json);
  return json;
}

std::string WithFieldFirst(absl::string_view name, absl::string_view value,
                           absl::string_view object) {
  std::string out = absl::StrCat("{", JsonString(name), ":", value);
  if (object.size() > 2)
    absl::StrAppend(&out, ",", object.substr(1));
  else
    out += "}";
  return out;
}

namespace {

// The command UsageError() points to; empty before it is known.
std::string& UsageCommand() {
  static std::string* const command = new std::string;
  return *command;
}

// For an error with no answer from the server: what to check.
void PrintUnreachableHint(const absl::Status& status) {
  const std::string server = absl::GetFlag(FLAGS_server);
  if (status.code() == absl::StatusCode::kDeadlineExceeded) {
    std::cerr << "statesctl: no answer from " << server << " within "
              << absl::FormatDuration(absl::GetFlag(FLAGS_timeout))
              << "; pass a longer --timeout if the server is just slow"
              << std::endl;
    return;
  }
  std::cerr << "statesctl: cannot reach statesd at " << server
            << ": is statesd running there? Start it, or pass "
               "--server=HOST:PORT"
            << std::endl;
}

}  // namespace

std::string JsonError(const absl::Status& status) {
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  const std::optional<google::rpc::BadRequest> bad = GetBadRequest(status);
  std::vector<std::string> details;
  if (info.has_value()) {
    details.push_back(
        WithFieldFirst("@type", JsonString(kErrorInfoTypeUrl), Json(*info)));
  }
  if (bad.has_value()) {
    details.push_back(
        WithFieldFirst("@type", JsonString(kBadRequestTypeUrl), Json(*bad)));
  }
  std::string error = absl::StrCat(
      "{\"error\":{\"code\":", static_cast<int>(status.code()),
      ",\"status\":", JsonString(absl::StatusCodeToString(status.code())));
  // As the mapping does for any string field: left out when empty.
  if (!status.message().empty()) {
    absl::StrAppend(&error, ",\"message\":", JsonString(status.message()));
  }
  if (!details.empty()) {
    absl::StrAppend(&error, ",\"details\":[", absl::StrJoin(details, ","), "]");
  }
  absl::StrAppend(&error, "}}");
  return error;
}

int ReportError(const absl::Status& status, bool json) {
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  const std::optional<google::rpc::BadRequest> bad = GetBadRequest(status);
  if (json) {
    std::cout << JsonError(status) << std::endl;
  } else {
    std::cerr << "statesctl: " << absl::StatusCodeToString(status.code());
    if (info.has_value()) std::cerr << " (" << info->reason() << ")";
    // A BadRequest lists every violation, which the message only sums up.
    if (!bad.has_value()) std::cerr << ": " << status.message();
    std::cerr << std::endl;
    if (bad.has_value()) {
      for (const auto& violation : bad->field_violations()) {
        std::cerr << "  " << violation.field() << ": "
                  << violation.description() << std::endl;
      }
    }
    // The server's own UNAVAILABLE (draining) carries an ErrorInfo; gRPC's
    // for a server it never reached does not.
    if (!info.has_value() &&
        (status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded)) {
      PrintUnreachableHint(status);
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return kNo;
    default:
      return kNoAnswer;
  }
}

int UsageError(absl::string_view message) {
  const std::string help =
      UsageCommand().empty()
          ? std::string("statesctl --help")
          : absl::StrCat("statesctl ", UsageCommand(), " --help");
  if (absl::GetFlag(FLAGS_json)) {
    google::rpc::ErrorInfo info;
    info.set_reason(kUsageErrorReason);
    info.set_domain(kUsageErrorDomain);
    (*info.mutable_metadata())["help"] = help;
    absl::Status status = absl::InvalidArgumentError(message);
    status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
    std::cout << JsonError(status) << std::endl;
  } else {
    std::cerr << "statesctl: " << message << "\n"
              << "Run '" << help << "' for usage." << std::endl;
  }
  return kUsage;
}

void SetUsageCommand(absl::string_view command) {
  UsageCommand() = std::string(command);
}

std::string HumanBytes(std::int64_t size) {
  if (size < 1024) return absl::StrCat(size, " B");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB",
                                           "TiB", "PiB", "EiB"};
  double value = static_cast<double>(size) / 1024;
  std::size_t unit = 0;
  // Rounding to one decimal may reach 1024.0: move up a unit then too.
  while (value >= 1023.95 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::size_t DisplayWidth(absl::string_view text) {
  // Counts every byte that does not continue a UTF-8 sequence.
  return static_cast<std::size_t>(std::count_if(
      text.begin(), text.end(),
      [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows,
                        const std::vector<std::size_t>& right_aligned) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      const std::string padding(widths[i] - DisplayWidth(row[i]), ' ');
      const bool right = std::find(right_aligned.begin(), right_aligned.end(),
                                   i) != right_aligned.end();
      if (right) line += padding;
      line += row[i];
      if (!right && i + 1 < row.size()) line += padding;
    }
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string DescribeStatus(const absl::Status& status) {
  std::string text = absl::StatusCodeToString(status.code());
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  if (info.has_value()) absl::StrAppend(&text, " (", info->reason(), ")");
  absl::StrAppend(&text, ": ", status.message());
  return text;
}

}  // namespace mozuma::states::statesctl
