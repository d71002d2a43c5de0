#include "service/rpc/request_parser.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format.h>
#include <google/protobuf/wire_format_lite.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <string>

#include "core/errors.h"

namespace mozuma::states {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using google::protobuf::internal::WireFormat;
using google::protobuf::internal::WireFormatLite;
using google::protobuf::io::CodedInputStream;

constexpr int kMaxDepth = 100;

// Merges one message from `input` up to its current limit. Strings and
// sub-messages are read here, so that a string is stored without the UTF-8
// check; every other field, and unknown fields, go to the library's own
// reflection parser.
bool MergeKeepingStrings(CodedInputStream& input, Message& message, int depth) {
  if (depth > kMaxDepth) return false;
  const Descriptor* descriptor = message.GetDescriptor();
  const Reflection* reflection = message.GetReflection();
  for (;;) {
    const uint32_t tag = input.ReadTag();
    if (tag == 0) return input.ConsumedEntireMessage();
    const FieldDescriptor* field =
        descriptor->FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool length_delimited = WireFormatLite::GetTagWireType(tag) ==
                                  WireFormatLite::WIRETYPE_LENGTH_DELIMITED;
    if (field != nullptr && length_delimited &&
        field->type() == FieldDescriptor::TYPE_STRING) {
      std::string value;
      if (!WireFormatLite::ReadBytes(&input, &value)) return false;
      if (field->is_repeated()) {
        reflection->AddString(&message, field, std::move(value));
      } else {
        reflection->SetString(&message, field, std::move(value));
      }
      continue;
    }
    if (field != nullptr && length_delimited &&
        field->type() == FieldDescriptor::TYPE_MESSAGE) {
      int length;
      if (!input.ReadVarintSizeAsInt(&length)) return false;
      const CodedInputStream::Limit limit = input.PushLimit(length);
      Message* child = field->is_repeated()
                           ? reflection->AddMessage(&message, field)
                           : reflection->MutableMessage(&message, field);
      if (!MergeKeepingStrings(input, *child, depth + 1)) return false;
      input.PopLimit(limit);
      continue;
    }
    if (!WireFormat::ParseAndMergeField(tag, field, &message, &input)) {
      return false;
    }
  }
}

absl::Status MalformedRequest(const Message& message) {
  return MakeError(
      absl::StatusCode::kInvalidArgument, reason::kMalformedRequest,
      "the request is not a well-formed " +
          message.GetDescriptor()->full_name() + " protobuf message");
}

}  // namespace

absl::Status ParseRequest(const grpc::ByteBuffer& buffer, Message& message) {
  message.Clear();
  // The reader consumes its buffer; a copy of a ByteBuffer shares the
  // slices, so this costs no byte copy.
  grpc::ByteBuffer strict_copy(buffer);
  grpc::ProtoBufferReader strict_reader(&strict_copy);
  if (message.ParseFromZeroCopyStream(&strict_reader)) return absl::OkStatus();

  message.Clear();
  grpc::ByteBuffer lenient_copy(buffer);
  grpc::ProtoBufferReader lenient_reader(&lenient_copy);
  CodedInputStream input(&lenient_reader);
  if (MergeKeepingStrings(input, message, 0)) return absl::OkStatus();
  return MalformedRequest(message);
}

}  // namespace mozuma::states
