// Tests for the dotted names of state types and state keys
// (core/state_names.h).
#include "core/state_names.h"

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "core/errors.h"
#include "gmock/gmock.h"
#include "google/rpc/error_details.pb.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state.pb.h"
#include "tests/testing/state_builders.h"

namespace mozuma::states {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

std::vector<std::string> Extras(const v1::StateType& state_type) {
  return {state_type.extra().begin(), state_type.extra().end()};
}

// Field-by-field equality, with a readable failure.
void ExpectSameKey(const v1::StateKey& actual, const v1::StateKey& expected) {
  EXPECT_EQ(actual.has_state_type(), expected.has_state_type());
  EXPECT_EQ(actual.state_type().backend(), expected.state_type().backend());
  EXPECT_EQ(actual.state_type().architecture(),
            expected.state_type().architecture());
  EXPECT_EQ(Extras(actual.state_type()), Extras(expected.state_type()));
  EXPECT_EQ(actual.training_id(), expected.training_id());
}

// The MoZuMa states used across these tests, with their dotted names.
struct RealName {
  v1::StateKey key;
  std::string name;
};

std::vector<RealName> RealNames() {
  return {
      {MakeStateKey(MakeStateType("pytorch", "resnet18", {"cls1000"}),
                    "imagenet"),
       "pytorch.resnet18.cls1000.imagenet"},
      {MakeStateKey(MakeStateType("pytorch", "densenet161", {"cls365"}),
                    "places365"),
       "pytorch.densenet161.cls365.places365"},
      {MakeStateKey(MakeStateType("pytorch", "clip-image-rn50"), "clip"),
       "pytorch.clip-image-rn50.clip"},
      {MakeStateKey(
           MakeStateType("pytorch", "sbert-distiluse-base-multilingual"),
           "cased-v2"),
       "pytorch.sbert-distiluse-base-multilingual.cased-v2"},
      {MakeStateKey(MakeStateType("pytorch", "\xE6\xA8\xA1\xE5\x9E\x8B",
                                  {"\xD9\xA3", "\xC2\xBD"}),
                    "r\xC3\xA9seau"),
       "pytorch.\xE6\xA8\xA1\xE5\x9E\x8B.\xD9\xA3.\xC2\xBD.r\xC3\xA9seau"},
  };
}

TEST(FormatStateKeyTest, RealMoZuMaNames) {
  for (const RealName& real : RealNames()) {
    EXPECT_EQ(FormatStateKey(real.key), real.name);
  }
}

TEST(FormatStateTypeTest, RealMoZuMaNames) {
  EXPECT_EQ(FormatStateType(MakeStateType("pytorch", "resnet18", {"cls1000"})),
            "pytorch.resnet18.cls1000");
  EXPECT_EQ(FormatStateType(MakeStateType("pytorch", "clip-image-rn50")),
            "pytorch.clip-image-rn50");
  EXPECT_EQ(FormatStateType(MakeStateType("pytorch", "sbert-distiluse-base",
                                          {"multilingual", "cased-v2"})),
            "pytorch.sbert-distiluse-base.multilingual.cased-v2");
}

TEST(ParseStateKeyNameTest, RoundTripsFormatStateKey) {
  for (const RealName& real : RealNames()) {
    SCOPED_TRACE(real.name);
    absl::StatusOr<v1::StateKey> parsed =
        ParseStateKeyName(FormatStateKey(real.key), NameRules());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    ExpectSameKey(*parsed, real.key);
    // And the other way round: formatting gives back the name exactly.
    EXPECT_EQ(FormatStateKey(*parsed), real.name);
  }
}

TEST(ParseStateTypeNameTest, RoundTripsFormatStateType) {
  for (const RealName& real : RealNames()) {
    const v1::StateType& state_type = real.key.state_type();
    const std::string name = FormatStateType(state_type);
    SCOPED_TRACE(name);
    absl::StatusOr<v1::StateType> parsed =
        ParseStateTypeName(name, NameRules());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->backend(), state_type.backend());
    EXPECT_EQ(parsed->architecture(), state_type.architecture());
    EXPECT_EQ(Extras(*parsed), Extras(state_type));
  }
}

TEST(SplitStateKeyNameTest, PartsByPosition) {
  absl::StatusOr<v1::StateKey> key = SplitStateKeyName("b.a.e1.e2.e3.t");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_TRUE(key->has_state_type());
  EXPECT_EQ(key->state_type().backend(), "b");
  EXPECT_EQ(key->state_type().architecture(), "a");
  EXPECT_THAT(Extras(key->state_type()), ElementsAre("e1", "e2", "e3"));
  EXPECT_EQ(key->training_id(), "t");
}

TEST(SplitStateKeyNameTest, ThreePartsHaveNoExtras) {
  absl::StatusOr<v1::StateKey> key = SplitStateKeyName("pytorch.resnet18.x");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->state_type().backend(), "pytorch");
  EXPECT_EQ(key->state_type().architecture(), "resnet18");
  EXPECT_THAT(Extras(key->state_type()), IsEmpty());
  EXPECT_EQ(key->training_id(), "x");
}

TEST(SplitStateKeyNameTest, DoesNotCheckNames) {
  absl::StatusOr<v1::StateKey> key = SplitStateKeyName("py torch..\xFF.");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->state_type().backend(), "py torch");
  EXPECT_EQ(key->state_type().architecture(), "");
  EXPECT_THAT(Extras(key->state_type()), ElementsAre("\xFF"));
  EXPECT_EQ(key->training_id(), "");
}

TEST(SplitStateTypeNameTest, PartsByPosition) {
  absl::StatusOr<v1::StateType> type = SplitStateTypeName("b.a.e1.e2");
  ASSERT_TRUE(type.ok()) << type.status();
  EXPECT_EQ(type->backend(), "b");
  EXPECT_EQ(type->architecture(), "a");
  EXPECT_THAT(Extras(*type), ElementsAre("e1", "e2"));

  absl::StatusOr<v1::StateType> two = SplitStateTypeName("b.a");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_THAT(Extras(*two), IsEmpty());
}

// Checks that `status` is the INVALID_STATE_NAME error with one BadRequest
// violation on `field` whose short reason is `short_reason`, and returns the
// description of that violation.
std::string ExpectOneNameViolation(const absl::Status& status,
                                   const std::string& field,
                                   const std::string& short_reason) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  const std::optional<google::rpc::ErrorInfo> info = GetErrorInfo(status);
  EXPECT_TRUE(info.has_value());
  if (info.has_value()) {
    EXPECT_EQ(info->reason(), "INVALID_STATE_NAME");
    EXPECT_EQ(info->domain(), "mozuma.states.v1");
    EXPECT_EQ(info->metadata().size(), 1u);
    EXPECT_EQ(info->metadata().count(field), 1u);
    if (info->metadata().count(field) == 1) {
      EXPECT_EQ(info->metadata().at(field), short_reason);
    }
  }
  const std::optional<google::rpc::BadRequest> bad_request =
      GetBadRequest(status);
  EXPECT_TRUE(bad_request.has_value());
  if (!bad_request.has_value()) return "";
  EXPECT_EQ(bad_request->field_violations_size(), 1);
  if (bad_request->field_violations_size() < 1) return "";
  EXPECT_EQ(bad_request->field_violations(0).field(), field);
  return bad_request->field_violations(0).description();
}

TEST(SplitStateKeyNameTest, TooFewParts) {
  for (const char* name : {"a.b", "a", "pytorch.resnet18"}) {
    SCOPED_TRACE(name);
    absl::StatusOr<v1::StateKey> key = SplitStateKeyName(name);
    const std::string description =
        ExpectOneNameViolation(key.status(), "name", "TOO_FEW_PARTS");
    EXPECT_THAT(description, HasSubstr("at least 3"));
  }
}

TEST(SplitStateKeyNameTest, TooFewPartsCountsParts) {
  EXPECT_THAT(ExpectOneNameViolation(SplitStateKeyName("a.b").status(), "name",
                                     "TOO_FEW_PARTS"),
              HasSubstr("has 2 dot-separated part"));
  EXPECT_THAT(ExpectOneNameViolation(SplitStateKeyName("a").status(), "name",
                                     "TOO_FEW_PARTS"),
              HasSubstr("has 1 dot-separated part"));
}

TEST(SplitStateKeyNameTest, EmptyNameIsEmpty) {
  absl::StatusOr<v1::StateKey> key = SplitStateKeyName("");
  EXPECT_EQ(ExpectOneNameViolation(key.status(), "name", "EMPTY"),
            "must not be empty");
}

TEST(SplitStateKeyNameTest, UsesTheGivenField) {
  absl::StatusOr<v1::StateKey> key = SplitStateKeyName("a.b", "request.name");
  ExpectOneNameViolation(key.status(), "request.name", "TOO_FEW_PARTS");
}

TEST(SplitStateTypeNameTest, TooFewParts) {
  ExpectOneNameViolation(SplitStateTypeName("pytorch").status(), "name",
                         "TOO_FEW_PARTS");
  ExpectOneNameViolation(SplitStateTypeName("").status(), "name", "EMPTY");
  EXPECT_THAT(ExpectOneNameViolation(SplitStateTypeName("pytorch").status(),
                                     "name", "TOO_FEW_PARTS"),
              HasSubstr("at least 2"));
}

TEST(ParseStateKeyNameTest, EmptyNameIsOnlyEmpty) {
  ExpectOneNameViolation(ParseStateKeyName("", NameRules()).status(), "name",
                         "EMPTY");
  ExpectOneNameViolation(ParseStateTypeName("", NameRules()).status(), "name",
                         "EMPTY");
}

TEST(ParseStateKeyNameTest, TooFewPartsAloneWhenEveryPartIsValid) {
  EXPECT_THAT(ExpectOneNameViolation(
                  ParseStateKeyName("pytorch.resnet18", NameRules()).status(),
                  "name", "TOO_FEW_PARTS"),
              HasSubstr("has 2 dot-separated part(s)"));
}

// The descriptions of the BadRequest of `status`, in order.
std::vector<std::string> Descriptions(const absl::Status& status) {
  std::vector<std::string> descriptions;
  const std::optional<google::rpc::BadRequest> bad_request =
      GetBadRequest(status);
  if (!bad_request.has_value()) return descriptions;
  for (const auto& violation : bad_request->field_violations()) {
    EXPECT_EQ(violation.field(), "name");
    descriptions.push_back(violation.description());
  }
  return descriptions;
}

// The short reasons of `violations`, in order.
std::vector<std::string> Reasons(const std::vector<v1::Violation>& violations) {
  std::vector<std::string> reasons;
  for (const v1::Violation& violation : violations) {
    reasons.push_back(ShortReasonName(violation.reason()));
  }
  return reasons;
}

TEST(ParseStateKeyNameTest, TooFewPartsAlsoReportsTheBadCharacters) {
  // A space, not a dot: one part, and a character no name may hold. Both
  // are reported, so that fixing one does not reveal the other.
  absl::StatusOr<v1::StateKey> key =
      ParseStateKeyName("ResNet 18", NameRules());
  ASSERT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetErrorInfo(key.status())->reason(), "INVALID_STATE_NAME");
  // The metadata keeps one reason per field path: the first.
  EXPECT_EQ(GetErrorInfo(key.status())->metadata().at("name"), "TOO_FEW_PARTS");
  const std::vector<std::string> descriptions = Descriptions(key.status());
  ASSERT_EQ(descriptions.size(), 2u);
  EXPECT_THAT(descriptions[0], StartsWith("has 1 dot-separated part(s); a "
                                          "dotted name has at least 3"));
  EXPECT_THAT(descriptions[1],
              StartsWith("part 1, character U+0020 SPACE at index 6 is not "
                         "allowed"));
}

TEST(ParseStateKeyNameTest, TooFewPartsReportsEveryBadPart) {
  const std::vector<std::string> descriptions =
      Descriptions(ParseStateKeyName("a b.c\xCC\x81", NameRules()).status());
  ASSERT_EQ(descriptions.size(), 3u);
  EXPECT_THAT(descriptions[0], HasSubstr("has 2 dot-separated part(s)"));
  EXPECT_THAT(descriptions[1], StartsWith("part 1, character U+0020 SPACE at "
                                          "index 1"));
  EXPECT_THAT(descriptions[2], StartsWith("part 2, character U+0301"));

  // Empty parts are problems of their own.
  EXPECT_THAT(
      Descriptions(ParseStateKeyName(".", NameRules()).status()),
      ElementsAre(HasSubstr("has 2 dot-separated part(s)"),
                  "part 1, must not be empty", "part 2, must not be empty"));
}

TEST(ParseStateTypeNameTest, TooFewPartsAlsoReportsTheBadCharacters) {
  const std::vector<std::string> descriptions =
      Descriptions(ParseStateTypeName("Res Net", NameRules()).status());
  ASSERT_EQ(descriptions.size(), 2u);
  EXPECT_THAT(descriptions[0], HasSubstr("at least 2"));
  EXPECT_THAT(descriptions[1], StartsWith("part 1, character U+0020 SPACE"));
}

TEST(CheckStateKeyNameTest, KeepsEachViolationsReason) {
  EXPECT_THAT(
      CheckStateKeyName("pytorch.resnet18.cls1000.imagenet", NameRules()),
      IsEmpty());
  const std::vector<v1::Violation> violations =
      CheckStateKeyName("ResNet 18", NameRules(), "input");
  EXPECT_THAT(Reasons(violations),
              ElementsAre("TOO_FEW_PARTS", "INVALID_CHARACTER"));
  for (const v1::Violation& violation : violations) {
    EXPECT_EQ(violation.field(), "input");
  }
  EXPECT_EQ(violations[0].value(), "ResNet 18");
  EXPECT_EQ(violations[1].value(), "ResNet 18");
  EXPECT_THAT(Reasons(CheckStateKeyName("py torch.res net.x", NameRules())),
              ElementsAre("INVALID_CHARACTER", "INVALID_CHARACTER"));
  EXPECT_THAT(Reasons(CheckStateKeyName("", NameRules())),
              ElementsAre("EMPTY"));
}

TEST(CheckStateTypeNameTest, KeepsEachViolationsReason) {
  EXPECT_THAT(CheckStateTypeName("pytorch.resnet18", NameRules()), IsEmpty());
  EXPECT_THAT(Reasons(CheckStateTypeName("py\ntorch", NameRules())),
              ElementsAre("TOO_FEW_PARTS", "INVALID_CHARACTER"));
  EXPECT_THAT(Reasons(CheckStateTypeName("pytorch.res net.", NameRules())),
              ElementsAre("INVALID_CHARACTER", "EMPTY"));
}

TEST(ParseStateKeyNameTest, BadArchitectureNamesPartTwo) {
  absl::StatusOr<v1::StateKey> key =
      ParseStateKeyName("pytorch.res net.imagenet", NameRules());
  const std::string description =
      ExpectOneNameViolation(key.status(), "name", "INVALID_CHARACTER");
  EXPECT_THAT(description, HasSubstr("part 2"));
  EXPECT_THAT(description, HasSubstr("architecture"));
  EXPECT_THAT(description, HasSubstr("U+0020 SPACE"));
  EXPECT_THAT(description, HasSubstr("index 3"));
}

TEST(ParseStateKeyNameTest, EmptyMiddlePartIsEmptyArchitecture) {
  absl::StatusOr<v1::StateKey> key = ParseStateKeyName("a..b", NameRules());
  const std::string description =
      ExpectOneNameViolation(key.status(), "name", "EMPTY");
  EXPECT_THAT(description, StartsWith("part 2, the architecture,"));
}

TEST(ParseStateKeyNameTest, BadBackendNamesPartOne) {
  const std::string description = ExpectOneNameViolation(
      ParseStateKeyName(".resnet18.imagenet", NameRules()).status(), "name",
      "EMPTY");
  EXPECT_THAT(description, StartsWith("part 1, the backend,"));
}

TEST(ParseStateKeyNameTest, BadExtraNamesItsPart) {
  const std::string description = ExpectOneNameViolation(
      ParseStateKeyName("pytorch.resnet18.cls1000.e\xCC\x81.imagenet",
                        NameRules())
          .status(),
      "name", "INVALID_CHARACTER");
  EXPECT_THAT(description, StartsWith("part 4, extra[1],"));
  EXPECT_THAT(description, HasSubstr("U+0301"));
}

TEST(ParseStateKeyNameTest, BadTrainingIdNamesLastPart) {
  EXPECT_THAT(ExpectOneNameViolation(
                  ParseStateKeyName("pytorch.resnet18.", NameRules()).status(),
                  "name", "EMPTY"),
              StartsWith("part 3, the training id,"));
  // With a trailing dot, "imagenet" becomes an extra and the empty training
  // id is part 4.
  EXPECT_THAT(
      ExpectOneNameViolation(
          ParseStateKeyName("pytorch.resnet18.imagenet.", NameRules()).status(),
          "name", "EMPTY"),
      StartsWith("part 4, the training id,"));
  EXPECT_THAT(ExpectOneNameViolation(
                  ParseStateKeyName("pytorch.resnet18.cls1000.v2.image\tnet",
                                    NameRules())
                      .status(),
                  "name", "INVALID_CHARACTER"),
              StartsWith("part 5, the training id,"));
}

TEST(ParseStateKeyNameTest, InvalidUtf8Part) {
  const std::string description = ExpectOneNameViolation(
      ParseStateKeyName("pytorch.\xC0\xAF.imagenet", NameRules()).status(),
      "name", "INVALID_UTF8");
  EXPECT_THAT(description, StartsWith("part 2, the architecture,"));
}

TEST(ParseStateKeyNameTest, EveryBadPartIsReported) {
  absl::StatusOr<v1::StateKey> key =
      ParseStateKeyName("py torch.res net.cls1000.imagenet", NameRules());
  ASSERT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
  const std::optional<google::rpc::BadRequest> bad_request =
      GetBadRequest(key.status());
  ASSERT_TRUE(bad_request.has_value());
  ASSERT_EQ(bad_request->field_violations_size(), 2);
  EXPECT_EQ(bad_request->field_violations(0).field(), "name");
  EXPECT_THAT(bad_request->field_violations(0).description(),
              StartsWith("part 1, the backend,"));
  EXPECT_EQ(bad_request->field_violations(1).field(), "name");
  EXPECT_THAT(bad_request->field_violations(1).description(),
              StartsWith("part 2, the architecture,"));
}

TEST(ParseStateKeyNameTest, TooManyExtras) {
  const NameRules rules;
  std::string name = "pytorch.resnet18.";
  for (std::size_t i = 0; i < rules.max_extras + 1; ++i) {
    absl::StrAppend(&name, "x", i, ".");
  }
  name += "imagenet";
  const std::string description = ExpectOneNameViolation(
      ParseStateKeyName(name, rules).status(), "name", "TOO_MANY_EXTRAS");
  EXPECT_THAT(description, HasSubstr("extras"));
  EXPECT_THAT(description, HasSubstr("33"));
}

TEST(ParseStateKeyNameTest, TooManyExtrasIsCountedBeforeSplitting) {
  // A request can carry a few MiB of dots; the answer must not first build
  // a state type with millions of extras. Counting is the whole cost.
  const std::string name(4 << 20, '.');
  const std::string description = ExpectOneNameViolation(
      ParseStateKeyName(name, NameRules()).status(), "name", "TOO_MANY_EXTRAS");
  EXPECT_THAT(description, HasSubstr(absl::StrCat((4 << 20) + 1 - 3)));
  EXPECT_THAT(description, HasSubstr("the extras"));
  const std::string type_description =
      ExpectOneNameViolation(ParseStateTypeName(name, NameRules()).status(),
                             "name", "TOO_MANY_EXTRAS");
  EXPECT_THAT(type_description, HasSubstr(absl::StrCat((4 << 20) + 1 - 2)));
}

TEST(ParseStateKeyNameTest, ExactlyMaxExtrasIsFine) {
  const NameRules rules;
  std::string name = "pytorch.resnet18.";
  for (std::size_t i = 0; i < rules.max_extras; ++i) {
    absl::StrAppend(&name, "x", i, ".");
  }
  name += "imagenet";
  absl::StatusOr<v1::StateKey> key = ParseStateKeyName(name, rules);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->state_type().extra_size(), 32);
  EXPECT_EQ(key->state_type().extra(31), "x31");
  EXPECT_EQ(key->training_id(), "imagenet");
  EXPECT_EQ(FormatStateKey(*key), name);
}

TEST(ParseStateKeyNameTest, AppliesTheRules) {
  NameRules ascii;
  ascii.charset = NameCharset::kAscii;
  const std::string name = "pytorch.r\xC3\xA9snet.imagenet";
  EXPECT_TRUE(ParseStateKeyName(name, NameRules()).ok());
  EXPECT_THAT(ExpectOneNameViolation(ParseStateKeyName(name, ascii).status(),
                                     "name", "INVALID_CHARACTER"),
              HasSubstr("part 2"));

  NameRules short_names;
  short_names.max_name_bytes = 7;
  EXPECT_TRUE(ParseStateKeyName("pytorch.resnet.imagenet", NameRules()).ok());
  absl::StatusOr<v1::StateKey> key =
      ParseStateKeyName("pytorch.resnet.imagenet", short_names);
  // "imagenet" is 8 bytes: the training id, part 3.
  EXPECT_THAT(ExpectOneNameViolation(key.status(), "name", "TOO_LONG"),
              StartsWith("part 3, the training id,"));
}

TEST(ParseStateTypeNameTest, BadArchitectureNamesPartTwo) {
  EXPECT_TRUE(ParseStateTypeName("pytorch.resnet18.cls1000", NameRules()).ok());
  const std::string description = ExpectOneNameViolation(
      ParseStateTypeName("pytorch.res net", NameRules(), "state_type_name")
          .status(),
      "state_type_name", "INVALID_CHARACTER");
  EXPECT_THAT(description, StartsWith("part 2, the architecture,"));
  EXPECT_THAT(
      ExpectOneNameViolation(
          ParseStateTypeName("pytorch.resnet18.cls 1000", NameRules()).status(),
          "name", "INVALID_CHARACTER"),
      StartsWith("part 3, extra[0],"));
}

}  // namespace
}  // namespace mozuma::states
