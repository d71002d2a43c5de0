// The registry rpcs' request handling over an in-memory store: validation,
// paging and tokens, and the change notification that wakes watches. The
// store's own semantics are the conformance suite's (tests/storage).
#include "service/rpc/registry_handlers.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "google/protobuf/descriptor.h"
#include "gtest/gtest.h"
#include "service/storage/memory_state_store.h"
#include "tests/testing/state_builders.h"

namespace mozuma::states {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

class RegistryHandlersTest : public ::testing::Test {
 protected:
  RegistryHandlersTest()
      : handlers_(store_, ServiceLimits{}, [this] { ++changes_; }) {}

  v1::RegisterStateRequest Registration(const std::string& architecture,
                                        const std::string& training_id) {
    v1::RegisterStateRequest request;
    *request.mutable_state()->mutable_state_key() = MakeStateKey(
        MakeStateType("pytorch", architecture, {"cls1000"}), training_id);
    request.mutable_state()->set_uri("file:///srv/" + architecture + ".pt");
    return request;
  }

  // The `field` of every BadRequest violation of `status`.
  static std::vector<std::string> BadFields(const absl::Status& status) {
    std::vector<std::string> fields;
    if (auto bad_request = GetBadRequest(status)) {
      for (const auto& violation : bad_request->field_violations()) {
        fields.push_back(violation.field());
      }
    }
    return fields;
  }

  static std::string Reason(const absl::Status& status) {
    auto info = GetErrorInfo(status);
    return info ? info->reason() : "";
  }

  MemoryStateStore store_;
  int changes_ = 0;
  RegistryHandlers handlers_;
};

TEST_F(RegistryHandlersTest, RegisterNotifiesOnlyWhenTheStoreChanges) {
  ASSERT_TRUE(handlers_.RegisterState(Registration("resnet18", "a")).ok());
  EXPECT_EQ(changes_, 1);
  absl::StatusOr<v1::RegisterStateResponse> retry =
      handlers_.RegisterState(Registration("resnet18", "a"));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_FALSE(retry->created());
  EXPECT_FALSE(retry->changed());
  EXPECT_EQ(changes_, 1);
  v1::DeleteStateRequest remove;
  *remove.mutable_state_key() = Registration("resnet18", "a").state().state_key();
  ASSERT_TRUE(handlers_.DeleteState(remove).ok());
  EXPECT_EQ(changes_, 2);
}

TEST_F(RegistryHandlersTest, RegisterNamesEveryBadField) {
  v1::RegisterStateRequest request = Registration("res net", "");
  request.mutable_state()->set_uri("no-scheme");
  request.mutable_state()->set_sha256("ABC");
  request.mutable_state()->set_size_bytes(-1);
  (*request.mutable_state()->mutable_labels())["bad key"] = "v";
  absl::Status status = handlers_.RegisterState(request).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(status), "INVALID_STATE");
  EXPECT_THAT(BadFields(status),
              ElementsAre("state.state_key.state_type.architecture",
                          "state.state_key.training_id", "state.uri",
                          "state.sha256", "state.size_bytes",
                          "state.labels[\"bad key\"]"));
  EXPECT_EQ(changes_, 0);

  status = handlers_.RegisterState(v1::RegisterStateRequest()).status();
  EXPECT_THAT(BadFields(status), ElementsAre("state"));
}

TEST_F(RegistryHandlersTest, KeyedRpcsNameTheBadKeyField) {
  v1::GetStateRequest get;
  absl::Status status = handlers_.GetState(get).status();
  EXPECT_EQ(Reason(status), "INVALID_STATE_KEY");
  EXPECT_THAT(BadFields(status), ElementsAre("state_key"));

  v1::DeleteStateRequest remove;
  *remove.mutable_state_key() = MakeStateKey(MakeStateType("pytorch", "r"), "");
  remove.set_expected_revision(-3);
  status = handlers_.DeleteState(remove).status();
  EXPECT_EQ(Reason(status), "INVALID_STATE_KEY");
  EXPECT_THAT(BadFields(status),
              ElementsAre("state_key.training_id", "expected_revision"));

  v1::BatchGetStatesRequest batch;
  *batch.add_state_keys() = MakeStateKey(MakeStateType("pytorch", "r"), "ok");
  *batch.add_state_keys() = MakeStateKey(MakeStateType("py.torch", "r"), "ok");
  status = handlers_.BatchGetStates(batch).status();
  EXPECT_EQ(Reason(status), "INVALID_STATE_KEY");
  EXPECT_THAT(BadFields(status),
              ElementsAre("state_keys[1].state_type.backend"));
}

TEST_F(RegistryHandlersTest, GetOfAnAbsentKeyIsNotFound) {
  v1::GetStateRequest get;
  *get.mutable_state_key() = Registration("resnet18", "a").state().state_key();
  absl::Status status = handlers_.GetState(get).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Reason(status), "STATE_NOT_FOUND");
  EXPECT_THAT(GetErrorInfo(status)->metadata(),
              UnorderedElementsAre(
                  Pair("name", "pytorch.resnet18.cls1000.a")));
}

TEST_F(RegistryHandlersTest, BatchGetAnswersInOrder) {
  ASSERT_TRUE(handlers_.RegisterState(Registration("resnet18", "b")).ok());
  v1::BatchGetStatesRequest batch;
  *batch.add_state_keys() = Registration("resnet18", "a").state().state_key();
  *batch.add_state_keys() = Registration("resnet18", "b").state().state_key();
  absl::StatusOr<v1::BatchGetStatesResponse> response =
      handlers_.BatchGetStates(batch);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->results_size(), 2);
  EXPECT_FALSE(response->results(0).found());
  EXPECT_EQ(response->results(0).state_key().training_id(), "a");
  EXPECT_TRUE(response->results(1).found());
  EXPECT_EQ(response->results(1).state().name(), "pytorch.resnet18.cls1000.b");
  EXPECT_EQ(response->revision(), 1);
}

TEST_F(RegistryHandlersTest, ListWalksPagesWithTokens) {
  for (int i = 0; i < 25; ++i) {
    ASSERT_TRUE(
        handlers_.RegisterState(Registration("resnet18", "t" + std::to_string(100 + i)))
            .ok());
  }
  ASSERT_TRUE(handlers_.RegisterState(Registration("resnet180", "x")).ok());
  v1::ListStatesRequest request;
  *request.mutable_state_type() = MakeStateType("pytorch", "resnet18");
  request.set_page_size(10);
  std::vector<std::string> names;
  int pages = 0;
  do {
    absl::StatusOr<v1::ListStatesResponse> page = handlers_.ListStates(request);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const v1::State& state : page->states()) names.push_back(state.name());
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(names.size(), 25u);
  EXPECT_EQ(names.front(), "pytorch.resnet18.cls1000.t100");
  EXPECT_EQ(names.back(), "pytorch.resnet18.cls1000.t124");
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), 25u);
}

TEST_F(RegistryHandlersTest, PageSizeDefaultsAndCaps) {
  for (int i = 0; i < 1001; ++i) {
    v1::RegisterStateRequest request = Registration("r", "t" + std::to_string(i));
    ASSERT_TRUE(handlers_.RegisterState(request).ok());
  }
  v1::ListStatesRequest request;
  absl::StatusOr<v1::ListStatesResponse> page = handlers_.ListStates(request);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->states_size(), kDefaultPageSize);
  request.set_page_size(5000);
  page = handlers_.ListStates(request);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->states_size(), kMaxPageSize);
  EXPECT_FALSE(page->next_page_token().empty());
  request.set_page_size(-1);
  absl::Status status = handlers_.ListStates(request).status();
  EXPECT_EQ(Reason(status), "INVALID_FILTER");
  EXPECT_THAT(BadFields(status), ElementsAre("page_size"));
}

TEST_F(RegistryHandlersTest, PagesOfLargeStatesEndBeforeTwoMebibytes) {
  // 64 labels of 1000 bytes: about 66 KB a state, so 1000 of them would
  // be 66 MB.
  constexpr int kStates = 100;
  for (int i = 0; i < kStates; ++i) {
    v1::RegisterStateRequest request =
        Registration("big", "t" + std::to_string(100 + i));
    for (int label = 0; label < 64; ++label) {
      (*request.mutable_state()->mutable_labels())["l" +
                                                   std::to_string(label)] =
          std::string(1000, 'x');
    }
    ASSERT_TRUE(handlers_.RegisterState(request).ok());
  }
  v1::ListStatesRequest request;
  request.set_page_size(kMaxPageSize);
  std::vector<std::string> names;
  int pages = 0;
  do {
    absl::StatusOr<v1::ListStatesResponse> page = handlers_.ListStates(request);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->ByteSizeLong(), kMaxPageBytes + 1024);
    EXPECT_GT(page->states_size(), 0);
    for (const v1::State& state : page->states()) names.push_back(state.name());
    request.set_page_token(page->next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 20);
  EXPECT_GE(pages, 3);
  EXPECT_EQ(names.size(), static_cast<std::size_t>(kStates));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(),
            names.size());
}

TEST_F(RegistryHandlersTest, TokensAreBoundToTheirFilter) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        handlers_.RegisterState(Registration("resnet18", "t" + std::to_string(i)))
            .ok());
  }
  v1::ListStatesRequest request;
  *request.mutable_state_type() = MakeStateType("pytorch", "resnet18");
  request.set_page_size(1);
  absl::StatusOr<v1::ListStatesResponse> page = handlers_.ListStates(request);
  ASSERT_TRUE(page.ok());
  ASSERT_FALSE(page->next_page_token().empty());

  v1::ListStatesRequest other = request;
  other.set_page_token(page->next_page_token());
  other.set_match(v1::STATE_TYPE_MATCH_EXACT);
  absl::Status status = handlers_.ListStates(other).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Reason(status), "INVALID_PAGE_TOKEN");
  EXPECT_THAT(BadFields(status), ElementsAre("page_token"));

  other = request;
  other.set_training_id("t1");
  other.set_page_token(page->next_page_token());
  EXPECT_EQ(Reason(handlers_.ListStates(other).status()), "INVALID_PAGE_TOKEN");

  // A changed page size is fine.
  other = request;
  other.set_page_size(50);
  other.set_page_token(page->next_page_token());
  absl::StatusOr<v1::ListStatesResponse> rest = handlers_.ListStates(other);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->states_size(), 2);
  EXPECT_TRUE(rest->next_page_token().empty());
}

TEST_F(RegistryHandlersTest, AlteredTokensAreRefused) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        handlers_.RegisterState(Registration("resnet18", "t" + std::to_string(i)))
            .ok());
  }
  v1::ListStatesRequest request;
  request.set_page_size(1);
  absl::StatusOr<v1::ListStatesResponse> page = handlers_.ListStates(request);
  ASSERT_TRUE(page.ok());
  const std::string token = page->next_page_token();
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    // The last character of unpadded base64 carries spare low bits that
    // decoding drops: such a change leaves the same token, so skip it.
    std::string raw, altered_raw;
    ASSERT_TRUE(absl::WebSafeBase64Unescape(token, &raw));
    if (absl::WebSafeBase64Unescape(altered, &altered_raw) &&
        altered_raw == raw) {
      continue;
    }
    request.set_page_token(altered);
    EXPECT_EQ(Reason(handlers_.ListStates(request).status()),
              "INVALID_PAGE_TOKEN")
        << "position " << i;
  }
  for (const std::string& bad :
       std::vector<std::string>{"!!!", "AAAA", token.substr(1)}) {
    request.set_page_token(bad);
    EXPECT_EQ(Reason(handlers_.ListStates(request).status()),
              "INVALID_PAGE_TOKEN")
        << bad;
  }
  // A token of another store (another key) is refused too.
  MemoryStateStore other_store;
  RegistryHandlers other(other_store, ServiceLimits{}, [] {});
  request.set_page_token(token);
  EXPECT_EQ(Reason(other.ListStates(request).status()), "INVALID_PAGE_TOKEN");
}

TEST_F(RegistryHandlersTest, WatchFilterValidates) {
  v1::WatchStatesRequest request;
  *request.mutable_state_type() = MakeStateType("pytorch", "");
  request.set_training_id("a b");
  request.set_start_revision(-1);
  absl::Status status = handlers_.WatchFilter(request).status();
  EXPECT_EQ(Reason(status), "INVALID_FILTER");
  EXPECT_THAT(BadFields(status),
              ElementsAre("state_type.architecture", "training_id",
                          "start_revision"));
  request.mutable_state_type()->set_architecture("resnet18");
  request.set_training_id("imagenet");
  request.set_start_revision(0);
  request.set_match(v1::STATE_TYPE_MATCH_EXACT);
  absl::StatusOr<StateFilter> filter = handlers_.WatchFilter(request);
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter->exact);
  EXPECT_EQ(filter->training_id, "imagenet");
}

// Numbers that StateTypeMatch does not declare; the generated setter takes
// any int, as the proto3 parser keeps any number on the wire.
constexpr int kUnknownMatches[] = {3, 99, -1};

TEST_F(RegistryHandlersTest, ListRefusesAnUnknownMatch) {
  ASSERT_TRUE(handlers_.RegisterState(Registration("resnet18", "a")).ok());
  for (int match : kUnknownMatches) {
    for (bool with_state_type : {true, false}) {
      v1::ListStatesRequest request;
      if (with_state_type) {
        *request.mutable_state_type() = MakeStateType("pytorch", "resnet18");
      }
      request.set_match(static_cast<v1::StateTypeMatch>(match));
      absl::Status status = handlers_.ListStates(request).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << match;
      EXPECT_EQ(Reason(status), "INVALID_FILTER");
      EXPECT_THAT(BadFields(status), ElementsAre("match"));
      EXPECT_THAT(GetErrorInfo(status)->metadata(),
                  UnorderedElementsAre(Pair("match", "UNKNOWN_ENUM_VALUE")));
      EXPECT_THAT(std::string(status.message()),
                  HasSubstr("STATE_TYPE_MATCH_EXACT (2)"));
    }
  }
}

TEST_F(RegistryHandlersTest, ListNamesAnUnknownMatchWithTheOtherBadFields) {
  v1::ListStatesRequest request;
  *request.mutable_state_type() = MakeStateType("pytorch", "res net");
  request.set_match(static_cast<v1::StateTypeMatch>(99));
  request.set_training_id("a.b");
  request.set_page_size(-1);
  absl::Status status = handlers_.ListStates(request).status();
  EXPECT_EQ(Reason(status), "INVALID_FILTER");
  EXPECT_THAT(BadFields(status), ElementsAre("state_type.architecture", "match",
                                             "training_id", "page_size"));
}

TEST_F(RegistryHandlersTest, UnknownMatchIsRefusedBeforeThePageToken) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        handlers_
            .RegisterState(Registration("resnet18", "t" + std::to_string(i)))
            .ok());
  }
  v1::ListStatesRequest request;
  *request.mutable_state_type() = MakeStateType("pytorch", "resnet18");
  request.set_page_size(1);
  absl::StatusOr<v1::ListStatesResponse> page = handlers_.ListStates(request);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_FALSE(page->next_page_token().empty());

  // Before, an unknown match read as COMPATIBLE and so continued this
  // listing. Now it is the filter that is wrong, not the token.
  v1::ListStatesRequest next = request;
  next.set_page_token(page->next_page_token());
  for (int match : kUnknownMatches) {
    next.set_match(static_cast<v1::StateTypeMatch>(match));
    absl::Status status = handlers_.ListStates(next).status();
    EXPECT_EQ(Reason(status), "INVALID_FILTER") << match;
    EXPECT_THAT(BadFields(status), ElementsAre("match"));
  }
  // Unset and COMPATIBLE are one filter, so a token made under one
  // continues under the other.
  next.set_match(v1::STATE_TYPE_MATCH_COMPATIBLE);
  absl::StatusOr<v1::ListStatesResponse> rest = handlers_.ListStates(next);
  ASSERT_TRUE(rest.ok()) << rest.status();
  EXPECT_EQ(rest->states_size(), 1);
  EXPECT_EQ(rest->states(0).name(), "pytorch.resnet18.cls1000.t1");
}

TEST_F(RegistryHandlersTest, WatchRefusesAnUnknownMatch) {
  for (int match : kUnknownMatches) {
    for (bool with_state_type : {true, false}) {
      v1::WatchStatesRequest request;
      if (with_state_type) {
        *request.mutable_state_type() = MakeStateType("pytorch", "resnet18");
      }
      request.set_match(static_cast<v1::StateTypeMatch>(match));
      request.set_start_revision(5);
      absl::Status status = handlers_.WatchFilter(request).status();
      EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << match;
      EXPECT_EQ(Reason(status), "INVALID_FILTER");
      EXPECT_THAT(BadFields(status), ElementsAre("match"));
      EXPECT_THAT(GetErrorInfo(status)->metadata(),
                  UnorderedElementsAre(Pair("match", "UNKNOWN_ENUM_VALUE")));
    }
  }
  for (v1::StateTypeMatch match :
       {v1::STATE_TYPE_MATCH_UNSPECIFIED, v1::STATE_TYPE_MATCH_COMPATIBLE,
        v1::STATE_TYPE_MATCH_EXACT}) {
    v1::WatchStatesRequest request;
    *request.mutable_state_type() = MakeStateType("pytorch", "resnet18");
    request.set_match(match);
    absl::StatusOr<StateFilter> filter = handlers_.WatchFilter(request);
    ASSERT_TRUE(filter.ok()) << filter.status();
    EXPECT_EQ(filter->exact, match == v1::STATE_TYPE_MATCH_EXACT);
  }
}

// Appends to `paths` the path of every enum field under `message`, as
// `Message.field.subfield`; `seen` breaks cycles of recursive messages.
void CollectEnumFields(const google::protobuf::Descriptor& message,
                       const std::string& prefix,
                       std::set<const google::protobuf::Descriptor*>& seen,
                       std::vector<std::string>& paths) {
  if (!seen.insert(&message).second) return;
  for (int i = 0; i < message.field_count(); ++i) {
    const google::protobuf::FieldDescriptor& field = *message.field(i);
    const std::string path = prefix + "." + field.name();
    if (field.type() == google::protobuf::FieldDescriptor::TYPE_ENUM) {
      paths.push_back(path);
    } else if (field.message_type() != nullptr) {
      CollectEnumFields(*field.message_type(), path, seen, paths);
    }
  }
  seen.erase(&message);
}

TEST(RequestEnumFieldsTest, EveryEnumFieldOfARequestIsValidated) {
  // The enum fields that ValidateFilterFields() checks. A new enum field in
  // a request must be checked too (AppendEnumViolation() in its handler,
  // with a test like the ones above), then listed here.
  const std::vector<std::string> validated = {"ListStatesRequest.match",
                                              "WatchStatesRequest.match"};
  const google::protobuf::ServiceDescriptor* service =
      v1::ListStatesRequest::descriptor()->file()->FindServiceByName(
          "StateService");
  ASSERT_NE(service, nullptr);
  std::vector<std::string> found;
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::Descriptor& input =
        *service->method(i)->input_type();
    std::set<const google::protobuf::Descriptor*> seen;
    CollectEnumFields(input, input.name(), seen, found);
  }
  EXPECT_EQ(found, validated)
      << "an enum field of a request is not validated: proto3 keeps unknown "
         "numbers, so refuse them with AppendEnumViolation()";
}

}  // namespace
}  // namespace mozuma::states
