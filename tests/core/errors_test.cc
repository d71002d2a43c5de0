// Tests for the error model (core/errors.h).
#include "core/errors.h"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

v1::Violation MakeViolation(std::string field, v1::ViolationReason reason,
                            std::string description) {
  v1::Violation violation;
  violation.set_field(std::move(field));
  violation.set_reason(reason);
  violation.set_description(std::move(description));
  return violation;
}

std::map<std::string, std::string> Metadata(
    const google::rpc::ErrorInfo& info) {
  return {info.metadata().begin(), info.metadata().end()};
}

TEST(InvalidFieldsErrorTest, CarriesErrorInfoAndBadRequest) {
  const absl::Status status = InvalidFieldsError(
      reason::kInvalidStateType,
      {MakeViolation("state_types[0].backend", v1::VIOLATION_REASON_EMPTY,
                     "must not be empty"),
       MakeViolation("state_types[0].extra[1]",
                     v1::VIOLATION_REASON_INVALID_CHARACTER,
                     "character U+0020 SPACE at index 3 is not allowed"),
       MakeViolation("state_types[2].architecture",
                     v1::VIOLATION_REASON_TOO_LONG, "is 300 bytes long")});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);

  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "INVALID_STATE_TYPE");
  EXPECT_EQ(info->domain(), "mozuma.states.v1");
  EXPECT_EQ(info->domain(), kErrorDomain);
  EXPECT_THAT(
      Metadata(*info),
      UnorderedElementsAre(Pair("state_types[0].backend", "EMPTY"),
                           Pair("state_types[0].extra[1]", "INVALID_CHARACTER"),
                           Pair("state_types[2].architecture", "TOO_LONG")));

  const std::optional<google::rpc::BadRequest> bad_request =
      GetBadRequest(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 3);
  EXPECT_EQ(bad_request->field_violations(0).field(), "state_types[0].backend");
  EXPECT_EQ(bad_request->field_violations(0).description(),
            "must not be empty");
  EXPECT_EQ(bad_request->field_violations(1).field(),
            "state_types[0].extra[1]");
  EXPECT_EQ(bad_request->field_violations(1).description(),
            "character U+0020 SPACE at index 3 is not allowed");
  EXPECT_EQ(bad_request->field_violations(2).field(),
            "state_types[2].architecture");
  EXPECT_EQ(bad_request->field_violations(2).description(),
            "is 300 bytes long");
}

TEST(InvalidFieldsErrorTest, MessageListsViolations) {
  const absl::Status status = InvalidFieldsError(
      reason::kMalformedRequest,
      {MakeViolation("state_type", v1::VIOLATION_REASON_MISSING, "is required"),
       MakeViolation("candidates[1].backend", v1::VIOLATION_REASON_EMPTY,
                     "must not be empty")});
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("state_type: is required"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("candidates[1].backend: must not be empty"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("more")));
}

TEST(InvalidFieldsErrorTest, LongListsAreCutInMessageButNotInBadRequest) {
  std::vector<v1::Violation> violations;
  for (int i = 0; i < 7; ++i) {
    violations.push_back(MakeViolation(absl::StrCat("state_types[", i, "]"),
                                       v1::VIOLATION_REASON_EMPTY,
                                       absl::StrCat("problem ", i)));
  }
  const absl::Status status =
      InvalidFieldsError(reason::kInvalidStateType, violations);
  const std::string message(status.message());
  EXPECT_THAT(message, HasSubstr("state_types[4]: problem 4"));
  EXPECT_THAT(message, Not(HasSubstr("problem 5")));
  EXPECT_THAT(message, HasSubstr("2 more"));

  const std::optional<google::rpc::BadRequest> bad_request =
      GetBadRequest(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 7);
  EXPECT_EQ(bad_request->field_violations(6).field(), "state_types[6]");
  EXPECT_EQ(bad_request->field_violations(6).description(), "problem 6");
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata().size(), 7u);
}

TEST(InvalidFieldsErrorTest, OneFieldTwoViolations) {
  // BadRequest keeps both; the metadata map holds one reason per field, the
  // first one.
  const absl::Status status = InvalidFieldsError(
      reason::kInvalidStateName,
      {MakeViolation("name", v1::VIOLATION_REASON_TOO_LONG, "too long"),
       MakeViolation("name", v1::VIOLATION_REASON_INVALID_CHARACTER, "bad")});
  const std::optional<google::rpc::BadRequest> bad_request =
      GetBadRequest(status);
  ASSERT_TRUE(bad_request.has_value());
  EXPECT_EQ(bad_request->field_violations_size(), 2);
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_THAT(Metadata(*info), UnorderedElementsAre(Pair("name", "TOO_LONG")));
}

TEST(CheckBatchSizeTest, AtMostMaxIsOk) {
  EXPECT_TRUE(CheckBatchSize("state_types", 0, 1000).ok());
  EXPECT_TRUE(CheckBatchSize("state_types", 1, 1000).ok());
  EXPECT_TRUE(CheckBatchSize("state_types", 1000, 1000).ok());
  EXPECT_TRUE(CheckBatchSize("state_types", 0, 0).ok());
}

TEST(CheckBatchSizeTest, AboveMaxIsBatchTooLarge) {
  const absl::Status status = CheckBatchSize("candidates", 1001, 1000);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "BATCH_TOO_LARGE");
  EXPECT_EQ(info->domain(), "mozuma.states.v1");
  EXPECT_THAT(Metadata(*info),
              UnorderedElementsAre(Pair("candidates", "BATCH_TOO_LARGE")));
  const std::optional<google::rpc::BadRequest> bad_request =
      GetBadRequest(status);
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 1);
  EXPECT_EQ(bad_request->field_violations(0).field(), "candidates");
  EXPECT_THAT(bad_request->field_violations(0).description(),
              HasSubstr("1001"));
  EXPECT_THAT(bad_request->field_violations(0).description(),
              HasSubstr("1000"));
  EXPECT_EQ(CheckBatchSize("state_keys", 1, 0).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ShortReasonNameTest, DropsThePrefix) {
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_UNSPECIFIED), "UNSPECIFIED");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_MISSING), "MISSING");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_EMPTY), "EMPTY");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_INVALID_UTF8), "INVALID_UTF8");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_INVALID_CHARACTER),
            "INVALID_CHARACTER");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_TOO_LONG), "TOO_LONG");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_TOO_MANY_EXTRAS),
            "TOO_MANY_EXTRAS");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_TOO_FEW_PARTS),
            "TOO_FEW_PARTS");
  EXPECT_EQ(ShortReasonName(v1::VIOLATION_REASON_BATCH_TOO_LARGE),
            "BATCH_TOO_LARGE");
}

TEST(ShortReasonNameTest, EveryReasonHasADistinctShortName) {
  std::map<std::string, int> seen;
  for (int value = v1::ViolationReason_MIN; value <= v1::ViolationReason_MAX;
       ++value) {
    if (!v1::ViolationReason_IsValid(value)) continue;
    const std::string name =
        ShortReasonName(static_cast<v1::ViolationReason>(value));
    EXPECT_FALSE(name.empty()) << value;
    EXPECT_EQ(name.rfind("VIOLATION_REASON_", 0), std::string::npos) << name;
    EXPECT_TRUE(seen.emplace(name, value).second) << name;
  }
  EXPECT_EQ(seen.size(),
            static_cast<std::size_t>(v1::ViolationReason_descriptor()->value_count()));
}

TEST(MakeErrorTest, CarriesCodeMessageAndErrorInfo) {
  const absl::Status status =
      MakeError(absl::StatusCode::kNotFound, "STATE_NOT_FOUND",
                "no state pytorch.resnet18.imagenet", {{"name", "x"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(status.message(), "no state pytorch.resnet18.imagenet");
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "STATE_NOT_FOUND");
  EXPECT_EQ(info->domain(), "mozuma.states.v1");
  EXPECT_THAT(Metadata(*info), UnorderedElementsAre(Pair("name", "x")));
  // Only INVALID_ARGUMENT from InvalidFieldsError carries a BadRequest.
  EXPECT_FALSE(GetBadRequest(status).has_value());
}

TEST(GetDetailsTest, AbsentOrUnreadablePayloads) {
  EXPECT_FALSE(GetErrorInfo(absl::OkStatus()).has_value());
  EXPECT_FALSE(GetBadRequest(absl::OkStatus()).has_value());
  absl::Status plain = absl::InternalError("boom");
  EXPECT_FALSE(GetErrorInfo(plain).has_value());
  EXPECT_FALSE(GetBadRequest(plain).has_value());
  // A payload that is not a serialized message.
  plain.SetPayload(kErrorInfoTypeUrl, absl::Cord("\xFF\xFF\xFF"));
  EXPECT_FALSE(GetErrorInfo(plain).has_value());
}

TEST(GetDetailsTest, TypeUrls) {
  EXPECT_STREQ(kErrorInfoTypeUrl, "type.googleapis.com/google.rpc.ErrorInfo");
  EXPECT_STREQ(kBadRequestTypeUrl, "type.googleapis.com/google.rpc.BadRequest");
}

}  // namespace
}  // namespace mozuma::states
