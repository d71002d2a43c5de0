// The client over a substituted stub: no network, no server.
#include "client/client.h"

#include "core/errors.h"
#include "gtest/gtest.h"
#include "service/rpc/grpc_status.h"

namespace mozuma::states {
namespace {

using v1::StateService;

// A stub without the callback interface (as a test double usually is):
// answers ParseStateKey from `answer`, records the deadline it was given.
class FakeStub : public StateService::StubInterface {
 public:
  grpc::Status answer = grpc::Status::OK;
  std::string seen_name;
  std::chrono::system_clock::time_point seen_deadline;

  grpc::Status ParseStateKey(grpc::ClientContext* context,
                             const v1::ParseStateKeyRequest& request,
                             v1::ParseStateKeyResponse* response) override {
    seen_name = request.name();
    seen_deadline = context->deadline();
    if (answer.ok()) {
      response->mutable_state_key()->set_training_id("from-fake");
    }
    return answer;
  }
  grpc::Status ValidateStateTypes(grpc::ClientContext*,
                                  const v1::ValidateStateTypesRequest&,
                                  v1::ValidateStateTypesResponse*) override {
    return Unused();
  }
  grpc::Status ValidateStateKeys(grpc::ClientContext*,
                                 const v1::ValidateStateKeysRequest&,
                                 v1::ValidateStateKeysResponse*) override {
    return Unused();
  }
  grpc::Status CheckCompatibility(grpc::ClientContext*,
                                  const v1::CheckCompatibilityRequest&,
                                  v1::CheckCompatibilityResponse*) override {
    return Unused();
  }

 private:
  static grpc::Status Unused() {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "not in this fake");
  }
  template <typename Response>
  using Reader = grpc::ClientAsyncResponseReaderInterface<Response>;
  Reader<v1::ValidateStateTypesResponse>* AsyncValidateStateTypesRaw(
      grpc::ClientContext*, const v1::ValidateStateTypesRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
  Reader<v1::ValidateStateTypesResponse>* PrepareAsyncValidateStateTypesRaw(
      grpc::ClientContext*, const v1::ValidateStateTypesRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
  Reader<v1::ValidateStateKeysResponse>* AsyncValidateStateKeysRaw(
      grpc::ClientContext*, const v1::ValidateStateKeysRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
  Reader<v1::ValidateStateKeysResponse>* PrepareAsyncValidateStateKeysRaw(
      grpc::ClientContext*, const v1::ValidateStateKeysRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
  Reader<v1::CheckCompatibilityResponse>* AsyncCheckCompatibilityRaw(
      grpc::ClientContext*, const v1::CheckCompatibilityRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
  Reader<v1::CheckCompatibilityResponse>* PrepareAsyncCheckCompatibilityRaw(
      grpc::ClientContext*, const v1::CheckCompatibilityRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
  Reader<v1::ParseStateKeyResponse>* AsyncParseStateKeyRaw(
      grpc::ClientContext*, const v1::ParseStateKeyRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
  Reader<v1::ParseStateKeyResponse>* PrepareAsyncParseStateKeyRaw(
      grpc::ClientContext*, const v1::ParseStateKeyRequest&,
      grpc::CompletionQueue*) override {
    return nullptr;
  }
};

TEST(ClientTest, SubstitutedStubAnswersThroughTheBlockingPath) {
  auto stub = std::make_shared<FakeStub>();
  ClientOptions options;
  options.timeout = absl::Seconds(7);
  Client client(stub, options);
  const auto before = std::chrono::system_clock::now();

  absl::StatusOr<v1::StateKey> key = client.ParseStateKey("a.b.c");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->training_id(), "from-fake");
  EXPECT_EQ(stub->seen_name, "a.b.c");
  // Every call carries the default deadline.
  EXPECT_GE(stub->seen_deadline, before + std::chrono::seconds(6));
  EXPECT_LE(stub->seen_deadline,
            std::chrono::system_clock::now() + std::chrono::seconds(7));
}

TEST(ClientTest, ErrorsKeepTheServersDetails) {
  auto stub = std::make_shared<FakeStub>();
  v1::Violation violation;
  violation.set_field("name");
  violation.set_reason(v1::VIOLATION_REASON_TOO_FEW_PARTS);
  violation.set_description("has 2 dot-separated part(s)");
  stub->answer =
      ToGrpcStatus(InvalidFieldsError(reason::kInvalidStateName, {violation}));
  Client client(stub, ClientOptions{});

  absl::StatusOr<v1::StateKey> key = client.ParseStateKey("a.b");
  ASSERT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(GetErrorInfo(key.status()).has_value());
  EXPECT_EQ(GetErrorInfo(key.status())->reason(), "INVALID_STATE_NAME");
  EXPECT_EQ(GetErrorInfo(key.status())->metadata().at("name"), "TOO_FEW_PARTS");
  ASSERT_TRUE(GetBadRequest(key.status()).has_value());
  EXPECT_EQ(GetBadRequest(key.status())->field_violations(0).description(),
            "has 2 dot-separated part(s)");
}

TEST(ClientTest, UnreachableServerIsUnavailableWithinTheDeadline) {
  ClientOptions options;
  options.timeout = absl::Seconds(5);
  // Port 1 on loopback: nothing listens there.
  auto client = Client::Connect("127.0.0.1:1", options);
  const absl::Time start = absl::Now();
  absl::StatusOr<v1::StateKey> key = client->ParseStateKey("a.b.c");
  EXPECT_EQ(key.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_LT(absl::Now() - start, absl::Seconds(6));
}

}  // namespace
}  // namespace mozuma::states
