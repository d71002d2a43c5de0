#include "core/errors.h"

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace mozuma::states {
namespace {

// Status messages list at most this many violations; the BadRequest detail
// always lists them all.
constexpr std::size_t kMaxViolationsInMessage = 5;

template <typename Message>
std::optional<Message> GetPayload(const absl::Status& status,
                                  absl::string_view type_url) {
  auto payload = status.GetPayload(type_url);
  if (!payload.has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(std::string(*payload))) return std::nullopt;
  return message;
}

}  // namespace

absl::Status MakeError(absl::StatusCode code, absl::string_view reason,
                       absl::string_view message,
                       const std::map<std::string, std::string>& metadata) {
  absl::Status status(code, message);
  google::rpc::ErrorInfo info;
  info.set_reason(std::string(reason));
  info.set_domain(kErrorDomain);
  info.mutable_metadata()->insert(metadata.begin(), metadata.end());
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

absl::Status InvalidFieldsError(absl::string_view reason,
                                const std::vector<v1::Violation>& violations) {
  std::map<std::string, std::string> metadata;
  google::rpc::BadRequest bad_request;
  std::vector<std::string> lines;
  for (const v1::Violation& violation : violations) {
    metadata.emplace(violation.field(), ShortReasonName(violation.reason()));
    auto* field_violation = bad_request.add_field_violations();
    field_violation->set_field(violation.field());
    field_violation->set_description(violation.description());
    if (lines.size() < kMaxViolationsInMessage) {
      lines.push_back(
          absl::StrCat(violation.field(), ": ", violation.description()));
    }
  }
  std::string message = absl::StrJoin(lines, "; ");
  if (violations.size() > lines.size()) {
    absl::StrAppendFormat(&message, "; and %d more (see the BadRequest detail)",
                          violations.size() - lines.size());
  }
  absl::Status status =
      MakeError(absl::StatusCode::kInvalidArgument, reason, message, metadata);
  status.SetPayload(kBadRequestTypeUrl,
                    absl::Cord(bad_request.SerializeAsString()));
  return status;
}

absl::Status CheckBatchSize(absl::string_view field, std::size_t size,
                            std::size_t max_size) {
  if (size <= max_size) return absl::OkStatus();
  v1::Violation violation;
  violation.set_field(std::string(field));
  violation.set_value(absl::StrCat(size));
  violation.set_reason(v1::VIOLATION_REASON_BATCH_TOO_LARGE);
  violation.set_description(absl::StrFormat(
      "has %d elements; at most %d are allowed in one request: split the "
      "batch",
      size, max_size));
  return InvalidFieldsError(reason::kBatchTooLarge, {violation});
}

std::string ShortReasonName(v1::ViolationReason reason) {
  std::string name = v1::ViolationReason_Name(reason);
  constexpr absl::string_view kPrefix = "VIOLATION_REASON_";
  if (absl::StartsWith(name, kPrefix)) name.erase(0, kPrefix.size());
  return name;
}

std::optional<google::rpc::ErrorInfo> GetErrorInfo(const absl::Status& status) {
  return GetPayload<google::rpc::ErrorInfo>(status, kErrorInfoTypeUrl);
}

std::optional<google::rpc::BadRequest> GetBadRequest(
    const absl::Status& status) {
  return GetPayload<google::rpc::BadRequest>(status, kBadRequestTypeUrl);
}

}  // namespace mozuma::states
