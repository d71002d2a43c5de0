#include "service/rpc/request_parser.h"

#include <grpcpp/support/byte_buffer.h>

#include <string>
#include <vector>

#include "core/errors.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {
namespace {

// Hands `parts` to ParseRequest as one gRPC buffer of that many slices, as
// the transport may deliver a request.
absl::Status Parse(const std::vector<std::string>& parts,
                   google::protobuf::Message& message) {
  std::vector<grpc::Slice> slices(parts.begin(), parts.end());
  grpc::ByteBuffer buffer(slices.data(), slices.size());
  return ParseRequest(buffer, message);
}

absl::Status Parse(const std::string& bytes,
                   google::protobuf::Message& message) {
  return Parse(std::vector<std::string>{bytes}, message);
}

// A length-delimited field: tag, length, bytes. Lengths stay under 128.
std::string Field(int number, const std::string& bytes) {
  return std::string{static_cast<char>(number << 3 | 2),
                     static_cast<char>(bytes.size())} +
         bytes;
}

TEST(RequestParserTest, ParsesWellFormedMessagesLikeProtobuf) {
  v1::ValidateStateKeysRequest expected;
  v1::StateKey* key = expected.add_state_keys();
  key->mutable_state_type()->set_backend("pytorch");
  key->mutable_state_type()->set_architecture("résnet");
  key->mutable_state_type()->add_extra("cls1000");
  key->set_training_id("imagenet");

  v1::ValidateStateKeysRequest parsed;
  ASSERT_TRUE(Parse(expected.SerializeAsString(), parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), expected.SerializeAsString());
}

TEST(RequestParserTest, KeepsInvalidUtf8InNestedAndRepeatedStrings) {
  // ValidateStateTypesRequest{state_types: [{backend: C0 AF,
  // architecture: "a", extra: ["ok", ED A0 80]}]}
  const std::string type = Field(1, "\xC0\xAF") + Field(2, "a") +
                           Field(3, "ok") + Field(3, "\xED\xA0\x80");
  const std::string bytes = Field(1, type);
  v1::ValidateStateTypesRequest strict;
  ASSERT_FALSE(strict.ParseFromString(bytes)) << "proto3 parsing is strict";

  v1::ValidateStateTypesRequest request;
  ASSERT_TRUE(Parse(bytes, request).ok());
  ASSERT_EQ(request.state_types_size(), 1);
  EXPECT_EQ(request.state_types(0).backend(), "\xC0\xAF");
  EXPECT_EQ(request.state_types(0).architecture(), "a");
  ASSERT_EQ(request.state_types(0).extra_size(), 2);
  EXPECT_EQ(request.state_types(0).extra(1), "\xED\xA0\x80");
}

TEST(RequestParserTest, ReadsAcrossSlicesOnBothPaths) {
  const std::string valid =
      Field(1, Field(1, "pytorch") + Field(2, "resnet18"));
  const std::string invalid = Field(1, Field(1, "\xC0\xAF") + Field(2, "r"));
  for (const std::string& bytes : {valid, invalid}) {
    // Cut inside the backend string, so that it spans two slices.
    const std::vector<std::string> parts = {bytes.substr(0, 5),
                                            bytes.substr(5)};
    v1::ValidateStateTypesRequest whole, sliced;
    ASSERT_TRUE(Parse(bytes, whole).ok());
    ASSERT_TRUE(Parse(parts, sliced).ok());
    EXPECT_EQ(sliced.state_types(0).backend(), whole.state_types(0).backend());
    EXPECT_EQ(sliced.state_types(0).architecture(),
              whole.state_types(0).architecture());
  }
}

TEST(RequestParserTest, SkipsUnknownFields) {
  // Field 9 (unknown, varint 5), then name.
  const std::string bytes = std::string("\x48\x05", 2) + Field(1, "a.b.c");
  v1::ParseStateKeyRequest request;
  ASSERT_TRUE(Parse(bytes, request).ok());
  EXPECT_EQ(request.name(), "a.b.c");
}

TEST(RequestParserTest, RejectsMalformedBytesAsInvalidArgument) {
  const std::string cases[] = {
      std::string("\x0A\x7F"
                  "abc",
                  5),                        // length past the end
      std::string("\x0A", 1),                // truncated length
      std::string("\x00\x01", 2),            // field number 0
      Field(1, std::string("\x0A\x7F", 2)),  // malformed nested message
      std::string("\x0F", 1),                // wire type 7 does not exist
  };
  for (const std::string& bytes : cases) {
    v1::ValidateStateTypesRequest request;
    absl::Status status = Parse(bytes, request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->reason(), "MALFORMED_REQUEST");
  }
}

}  // namespace
}  // namespace mozuma::states
