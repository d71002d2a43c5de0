#include "service/rpc/state_handlers.h"

#include "core/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/state_builders.h"

namespace mozuma::states {
namespace {

using ::testing::ElementsAre;

TEST(StateHandlersTest, ValidateStateTypesAnswersEachItemInOrder) {
  StateHandlers handlers{ServiceLimits{}};
  v1::ValidateStateTypesRequest request;
  *request.add_state_types() =
      MakeStateType("pytorch", "resnet18", {"cls1000"});
  *request.add_state_types() = MakeStateType("pytorch", "");
  *request.add_state_types() = MakeStateType("torch", "模型");
  absl::StatusOr<v1::ValidateStateTypesResponse> response =
      handlers.ValidateStateTypes(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 3);
  EXPECT_EQ(response->results(0).name(), "pytorch.resnet18.cls1000");
  EXPECT_FALSE(response->results(1).valid());
  EXPECT_EQ(response->results(1).violations(0).field(), "architecture");
  EXPECT_EQ(response->results(1).violations(0).reason(),
            v1::VIOLATION_REASON_EMPTY);
  EXPECT_EQ(response->results(2).name(), "torch.模型");
}

TEST(StateHandlersTest, ValidateStateKeysReportsAMissingStateType) {
  StateHandlers handlers{ServiceLimits{}};
  v1::ValidateStateKeysRequest request;
  request.add_state_keys()->set_training_id("imagenet");
  absl::StatusOr<v1::ValidateStateKeysResponse> response =
      handlers.ValidateStateKeys(request);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->results(0).violations_size(), 1);
  EXPECT_EQ(response->results(0).violations(0).field(), "state_type");
  EXPECT_EQ(response->results(0).violations(0).reason(),
            v1::VIOLATION_REASON_MISSING);
}

TEST(StateHandlersTest, BatchesOverTheLimitAreRejected) {
  ServiceLimits limits;
  limits.max_batch_size = 2;
  StateHandlers handlers(limits);
  v1::ValidateStateKeysRequest keys;
  for (int i = 0; i < 3; ++i) keys.add_state_keys();
  EXPECT_EQ(handlers.ValidateStateKeys(keys).status().code(),
            absl::StatusCode::kInvalidArgument);
  keys.mutable_state_keys()->RemoveLast();
  EXPECT_TRUE(handlers.ValidateStateKeys(keys).ok());

  v1::CheckCompatibilityRequest compat;
  *compat.mutable_state_type() = MakeStateType("a", "b");
  for (int i = 0; i < 3; ++i)
    *compat.add_candidates() = MakeStateType("a", "b");
  absl::Status status = handlers.CheckCompatibility(compat).status();
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorInfo(status)->reason(), "BATCH_TOO_LARGE");
  EXPECT_EQ(GetBadRequest(status)->field_violations(0).field(), "candidates");
}

TEST(StateHandlersTest, CheckCompatibilityNeedsAStateType) {
  StateHandlers handlers{ServiceLimits{}};
  v1::CheckCompatibilityRequest request;
  *request.add_candidates() = MakeStateType("pytorch", "resnet18");
  absl::Status status = handlers.CheckCompatibility(request).status();
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorInfo(status)->metadata().at("state_type"), "MISSING");
}

TEST(StateHandlersTest, CheckCompatibilityOfAnEmptyBatchIsEmpty) {
  StateHandlers handlers{ServiceLimits{}};
  v1::CheckCompatibilityRequest request;
  *request.mutable_state_type() = MakeStateType("pytorch", "resnet18");
  absl::StatusOr<v1::CheckCompatibilityResponse> response =
      handlers.CheckCompatibility(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->results_size(), 0);
}

TEST(StateHandlersTest, CheckCompatibilityListsDifferingFields) {
  StateHandlers handlers{ServiceLimits{}};
  v1::CheckCompatibilityRequest request;
  *request.mutable_state_type() =
      MakeStateType("pytorch", "resnet18", {"cls1000"});
  *request.add_candidates() = MakeStateType("onnx", "resnet18-v2", {"cls10"});
  absl::StatusOr<v1::CheckCompatibilityResponse> response =
      handlers.CheckCompatibility(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->results(0).compatibility(),
            v1::COMPATIBILITY_INCOMPATIBLE);
  EXPECT_THAT(response->results(0).differing_fields(),
              ElementsAre("backend", "architecture", "extra"));
}

TEST(StateHandlersTest, ParseStateKeyUsesTheConfiguredRules) {
  ServiceLimits limits;
  limits.rules.charset = NameCharset::kAscii;
  StateHandlers ascii(limits);
  v1::ParseStateKeyRequest request;
  request.set_name("pytorch.résnet.imagenet");
  EXPECT_EQ(ascii.ParseStateKey(request).status().code(),
            absl::StatusCode::kInvalidArgument);
  StateHandlers unicode{ServiceLimits{}};
  absl::StatusOr<v1::ParseStateKeyResponse> response =
      unicode.ParseStateKey(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->state_key().state_type().architecture(), "résnet");
}

}  // namespace
}  // namespace mozuma::states
