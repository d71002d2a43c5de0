// The server's ToGrpcStatus and the client's FromGrpcStatus are inverses:
// an error's details reach the caller unchanged.
#include "service/rpc/grpc_status.h"

#include "client/grpc_status.h"
#include "core/errors.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"

namespace mozuma::states {
namespace {

TEST(GrpcStatusTest, OkStaysOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST(GrpcStatusTest, DetailsSurviveTheRoundTrip) {
  v1::Violation violation;
  violation.set_field("candidates[2].extra[0]");
  violation.set_reason(v1::VIOLATION_REASON_INVALID_CHARACTER);
  violation.set_description("character U+0020 SPACE at index 3 is not allowed");
  const absl::Status original =
      InvalidFieldsError(reason::kInvalidStateType, {violation});

  const grpc::Status wire = ToGrpcStatus(original);
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(wire.error_details()));
  EXPECT_EQ(details.code(), 3);
  ASSERT_EQ(details.details_size(), 2);

  const absl::Status back = FromGrpcStatus(wire);
  EXPECT_EQ(back.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(back.message(), original.message());
  ASSERT_TRUE(GetErrorInfo(back).has_value());
  EXPECT_EQ(GetErrorInfo(back)->reason(), "INVALID_STATE_TYPE");
  EXPECT_EQ(GetErrorInfo(back)->metadata().at("candidates[2].extra[0]"),
            "INVALID_CHARACTER");
  ASSERT_TRUE(GetBadRequest(back).has_value());
  EXPECT_EQ(GetBadRequest(back)->field_violations(0).field(),
            "candidates[2].extra[0]");
}

TEST(GrpcStatusTest, EveryErrorGetsAnErrorInfo) {
  const grpc::Status wire = ToGrpcStatus(absl::InternalError("disk on fire"));
  EXPECT_EQ(wire.error_code(), grpc::StatusCode::INTERNAL);
  std::optional<google::rpc::ErrorInfo> info =
      GetErrorInfo(FromGrpcStatus(wire));
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->reason(), "INTERNAL");
  EXPECT_EQ(info->domain(), "mozuma.states.v1");
}

TEST(GrpcStatusTest, StatusesWithoutDetailsConvertPlainly) {
  const absl::Status status = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::UNAVAILABLE, "connection refused"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "connection refused");
  EXPECT_FALSE(GetErrorInfo(status).has_value());
}

}  // namespace
}  // namespace mozuma::states
