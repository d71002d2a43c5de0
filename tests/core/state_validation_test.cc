// Tests for the validation of whole state types and state keys
// (core/state_validation.h).
#include "core/state_validation.h"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"
#include "tests/testing/state_builders.h"
#include "tests/testing/violations.h"

namespace mozuma::states {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

std::vector<std::string> ManyExtras(std::size_t count,
                                    const std::string& value = "x") {
  return std::vector<std::string>(count, value);
}

TEST(ValidateStateTypeTest, ValidStateTypesHaveNoViolations) {
  const NameRules rules;
  EXPECT_THAT(ValidateStateType(MakeStateType("pytorch", "resnet18"), rules),
              IsEmpty());
  EXPECT_THAT(ValidateStateType(
                  MakeStateType("pytorch", "resnet18", {"cls1000"}), rules),
              IsEmpty());
  EXPECT_THAT(ValidateStateType(MakeStateType("pytorch", "sbert-distiluse-base",
                                              {"multilingual", "cased-v2"}),
                                rules),
              IsEmpty());
  EXPECT_THAT(
      ValidateStateType(
          MakeStateType("pytorch", "\xE6\xA8\xA1\xE5\x9E\x8B", {"\xD9\xA3"}),
          rules),
      IsEmpty());
}

TEST(ValidateStateTypeTest, EmptyStateTypeReportsBackendAndArchitecture) {
  const std::vector<v1::Violation> violations =
      ValidateStateType(v1::StateType(), NameRules());
  EXPECT_THAT(Fields(violations), ElementsAre("backend", "architecture"));
  EXPECT_THAT(Reasons(violations), ElementsAre(v1::VIOLATION_REASON_EMPTY,
                                               v1::VIOLATION_REASON_EMPTY));
}

TEST(ValidateStateTypeTest, BadBackend) {
  const std::vector<v1::Violation> violations =
      ValidateStateType(MakeStateType("py torch", "resnet18"), NameRules());
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field(), "backend");
  EXPECT_EQ(violations[0].value(), "py torch");
  EXPECT_EQ(violations[0].reason(), v1::VIOLATION_REASON_INVALID_CHARACTER);
  EXPECT_THAT(violations[0].description(), HasSubstr("U+0020 SPACE"));
  EXPECT_THAT(violations[0].description(), HasSubstr("index 2"));
}

TEST(ValidateStateTypeTest, BadArchitecture) {
  const std::vector<v1::Violation> violations =
      ValidateStateType(MakeStateType("pytorch", "resnet.18"), NameRules());
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field(), "architecture");
  EXPECT_EQ(violations[0].value(), "resnet.18");
  EXPECT_EQ(violations[0].reason(), v1::VIOLATION_REASON_INVALID_CHARACTER);
}

TEST(ValidateStateTypeTest, BadExtraIsReportedByIndex) {
  const std::vector<v1::Violation> violations = ValidateStateType(
      MakeStateType("pytorch", "resnet18", {"cls1000", "v2", "bad/extra"}),
      NameRules());
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field(), "extra[2]");
  EXPECT_EQ(violations[0].value(), "bad/extra");
  EXPECT_EQ(violations[0].reason(), v1::VIOLATION_REASON_INVALID_CHARACTER);
}

TEST(ValidateStateTypeTest, PrefixIsPrepended) {
  const std::vector<v1::Violation> violations =
      ValidateStateType(MakeStateType("", "resnet18", {"cls1000", "v2", ""}),
                        NameRules(), "candidates[3].");
  EXPECT_THAT(Fields(violations),
              ElementsAre("candidates[3].backend", "candidates[3].extra[2]"));
}

TEST(ValidateStateTypeTest, EveryProblemInFieldOrder) {
  const std::vector<v1::Violation> violations = ValidateStateType(
      MakeStateType("a b", "\xFF", {"", "ok", "x\n", "\xCC\x81"}), NameRules());
  EXPECT_THAT(Fields(violations),
              ElementsAre("backend", "architecture", "extra[0]", "extra[2]",
                          "extra[3]"));
  EXPECT_THAT(
      Reasons(violations),
      ElementsAre(v1::VIOLATION_REASON_INVALID_CHARACTER,
                  v1::VIOLATION_REASON_INVALID_UTF8, v1::VIOLATION_REASON_EMPTY,
                  v1::VIOLATION_REASON_INVALID_CHARACTER,
                  v1::VIOLATION_REASON_INVALID_CHARACTER));
}

TEST(ValidateStateTypeTest, TwoProblemsWithOneNameGiveTwoViolations) {
  const std::vector<v1::Violation> violations = ValidateStateType(
      MakeStateType("pytorch", std::string(256, 'a') + "."), NameRules());
  EXPECT_THAT(Fields(violations), ElementsAre("architecture", "architecture"));
  EXPECT_THAT(Reasons(violations),
              ElementsAre(v1::VIOLATION_REASON_TOO_LONG,
                          v1::VIOLATION_REASON_INVALID_CHARACTER));
  // The value is cut for the report.
  EXPECT_EQ(violations[0].value(), std::string(256, 'a') + "...");
}

TEST(ValidateStateTypeTest, ValueEscapesInvalidUtf8) {
  const std::vector<v1::Violation> violations =
      ValidateStateType(MakeStateType("py\xFFtorch", "resnet18"), NameRules());
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].reason(), v1::VIOLATION_REASON_INVALID_UTF8);
  EXPECT_EQ(violations[0].value(), "py\\xFFtorch");
}

TEST(ValidateStateTypeTest, ExactlyMaxExtrasIsFine) {
  const NameRules rules;
  EXPECT_THAT(ValidateStateType(MakeStateType("pytorch", "resnet18",
                                              ManyExtras(rules.max_extras)),
                                rules),
              IsEmpty());
}

TEST(ValidateStateTypeTest, OneExtraTooManyIsTooManyExtras) {
  const NameRules rules;
  const std::vector<v1::Violation> violations = ValidateStateType(
      MakeStateType("pytorch", "resnet18", ManyExtras(rules.max_extras + 1)),
      rules);
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field(), "extra");
  EXPECT_EQ(violations[0].value(), "33");
  EXPECT_EQ(violations[0].reason(), v1::VIOLATION_REASON_TOO_MANY_EXTRAS);
  EXPECT_THAT(violations[0].description(), HasSubstr("33"));
  EXPECT_THAT(violations[0].description(), HasSubstr("32"));
}

TEST(ValidateStateTypeTest, TooManyExtrasHidesTheIndividualExtras) {
  const NameRules rules;
  // Every extra is itself invalid; none of them is reported.
  const std::vector<v1::Violation> violations = ValidateStateType(
      MakeStateType("py torch", "", ManyExtras(1000, "bad extra")), rules,
      "candidates[3].");
  EXPECT_THAT(Fields(violations),
              ElementsAre("candidates[3].backend", "candidates[3].architecture",
                          "candidates[3].extra"));
  EXPECT_THAT(Reasons(violations),
              ElementsAre(v1::VIOLATION_REASON_INVALID_CHARACTER,
                          v1::VIOLATION_REASON_EMPTY,
                          v1::VIOLATION_REASON_TOO_MANY_EXTRAS));
  EXPECT_EQ(violations[2].value(), "1000");
}

TEST(ValidateStateTypeTest, CustomMaxExtras) {
  NameRules rules;
  rules.max_extras = 2;
  EXPECT_THAT(ValidateStateType(
                  MakeStateType("pytorch", "resnet18", {"a", "b"}), rules),
              IsEmpty());
  const std::vector<v1::Violation> violations = ValidateStateType(
      MakeStateType("pytorch", "resnet18", {"a", "b", "c"}), rules);
  EXPECT_THAT(Reasons(violations),
              ElementsAre(v1::VIOLATION_REASON_TOO_MANY_EXTRAS));
  EXPECT_EQ(violations[0].value(), "3");

  rules.max_extras = 0;
  EXPECT_THAT(ValidateStateType(MakeStateType("pytorch", "resnet18"), rules),
              IsEmpty());
  EXPECT_THAT(Reasons(ValidateStateType(
                  MakeStateType("pytorch", "resnet18", {"a"}), rules)),
              ElementsAre(v1::VIOLATION_REASON_TOO_MANY_EXTRAS));
}

TEST(ValidateStateTypeTest, RulesApplyToEveryField) {
  NameRules rules;
  rules.charset = NameCharset::kAscii;
  rules.max_name_bytes = 8;
  const std::vector<v1::Violation> violations = ValidateStateType(
      MakeStateType("pyt\xC3\xB6rch", "resnet18", {"ok", "densenet161"}),
      rules);
  EXPECT_THAT(Fields(violations), ElementsAre("backend", "extra[1]"));
  EXPECT_THAT(Reasons(violations),
              ElementsAre(v1::VIOLATION_REASON_INVALID_CHARACTER,
                          v1::VIOLATION_REASON_TOO_LONG));
}

TEST(ValidateStateKeyTest, ValidStateKeyHasNoViolations) {
  EXPECT_THAT(ValidateStateKey(MakeStateKey(MakeStateType("pytorch", "resnet18",
                                                          {"cls1000"}),
                                            "imagenet"),
                               NameRules()),
              IsEmpty());
}

TEST(ValidateStateKeyTest, MissingStateTypeIsMissing) {
  v1::StateKey state_key;
  state_key.set_training_id("imagenet");
  const std::vector<v1::Violation> violations =
      ValidateStateKey(state_key, NameRules());
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field(), "state_type");
  EXPECT_EQ(violations[0].reason(), v1::VIOLATION_REASON_MISSING);
  EXPECT_EQ(violations[0].value(), "");
}

TEST(ValidateStateKeyTest, EmptyKeyReportsStateTypeThenTrainingId) {
  const std::vector<v1::Violation> violations =
      ValidateStateKey(v1::StateKey(), NameRules(), "state_key.");
  EXPECT_THAT(Fields(violations),
              ElementsAre("state_key.state_type", "state_key.training_id"));
  EXPECT_THAT(Reasons(violations), ElementsAre(v1::VIOLATION_REASON_MISSING,
                                               v1::VIOLATION_REASON_EMPTY));
}

TEST(ValidateStateKeyTest, SetButEmptyStateTypeIsNotMissing) {
  v1::StateKey state_key;
  state_key.mutable_state_type();
  state_key.set_training_id("imagenet");
  const std::vector<v1::Violation> violations =
      ValidateStateKey(state_key, NameRules());
  EXPECT_THAT(Fields(violations),
              ElementsAre("state_type.backend", "state_type.architecture"));
  EXPECT_THAT(Reasons(violations), ElementsAre(v1::VIOLATION_REASON_EMPTY,
                                               v1::VIOLATION_REASON_EMPTY));
}

TEST(ValidateStateKeyTest, StateTypeFieldsAreUnderStateType) {
  const std::vector<v1::Violation> violations = ValidateStateKey(
      MakeStateKey(MakeStateType("pytorch", "res net", {"cls 1000", "ok"}),
                   "image net"),
      NameRules());
  EXPECT_THAT(Fields(violations),
              ElementsAre("state_type.architecture", "state_type.extra[0]",
                          "training_id"));
}

TEST(ValidateStateKeyTest, PrefixIsPrepended) {
  const std::vector<v1::Violation> violations = ValidateStateKey(
      MakeStateKey(MakeStateType("pytorch", "resnet18", {"\xCC\x81"}), ""),
      NameRules(), "state_keys[7].");
  EXPECT_THAT(Fields(violations),
              ElementsAre("state_keys[7].state_type.extra[0]",
                          "state_keys[7].training_id"));
}

TEST(ValidateStateKeyTest, TooManyExtrasStillChecksTrainingId) {
  const NameRules rules;
  const std::vector<v1::Violation> violations = ValidateStateKey(
      MakeStateKey(MakeStateType("pytorch", "resnet18",
                                 ManyExtras(rules.max_extras + 1, "")),
                   "imagenet\n"),
      rules);
  EXPECT_THAT(Fields(violations),
              ElementsAre("state_type.extra", "training_id"));
  EXPECT_THAT(Reasons(violations),
              ElementsAre(v1::VIOLATION_REASON_TOO_MANY_EXTRAS,
                          v1::VIOLATION_REASON_INVALID_CHARACTER));
}

TEST(AppendNameViolationsTest, AppendsWithoutClearing) {
  std::vector<v1::Violation> violations(1);
  violations[0].set_field("earlier");
  AppendNameViolations("ok", "field", NameRules(), violations);
  ASSERT_THAT(violations, SizeIs(1));
  AppendNameViolations("", "a.b[0]", NameRules(), violations);
  ASSERT_THAT(violations, SizeIs(2));
  EXPECT_EQ(violations[0].field(), "earlier");
  EXPECT_EQ(violations[1].field(), "a.b[0]");
  EXPECT_EQ(violations[1].reason(), v1::VIOLATION_REASON_EMPTY);
}

TEST(AppendEnumViolationTest, DeclaredNumbersAddNothing) {
  std::vector<v1::Violation> violations;
  for (int value : {0, 1, 2, 3}) {
    AppendEnumViolation(*v1::Compatibility_descriptor(), value, "f", "",
                        violations);
  }
  EXPECT_THAT(violations, IsEmpty());
}

TEST(AppendEnumViolationTest, UndeclaredNumbersListTheDeclaredValues) {
  std::vector<v1::Violation> violations(1);
  violations[0].set_field("earlier");
  for (int value : {4, 99, -1}) {
    AppendEnumViolation(*v1::StateEvent::Type_descriptor(), value,
                        "events[0].type", "", violations);
  }
  ASSERT_THAT(violations, SizeIs(4));
  EXPECT_EQ(violations[0].field(), "earlier");
  EXPECT_THAT(Fields(violations),
              ElementsAre("earlier", "events[0].type", "events[0].type",
                          "events[0].type"));
  EXPECT_EQ(violations[2].value(), "99");
  EXPECT_EQ(violations[3].value(), "-1");
  EXPECT_EQ(violations[1].reason(), v1::VIOLATION_REASON_UNKNOWN_ENUM_VALUE);
  EXPECT_EQ(violations[1].description(),
            "is 4, which is not a value of Type: use TYPE_UNSPECIFIED (0), "
            "TYPE_ADDED (1), TYPE_UPDATED (2) or TYPE_DELETED (3)");
}

TEST(AppendEnumViolationTest, UsageEndsTheDescription) {
  std::vector<v1::Violation> violations;
  AppendEnumViolation(*v1::StateTypeMatch_descriptor(), 7, "match",
                      "unset means compatible", violations);
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_THAT(violations[0].description(),
              HasSubstr("or STATE_TYPE_MATCH_EXACT (2); unset means "
                        "compatible"));
}

TEST(MakeValidationResultTest, ValidResultCarriesName) {
  const v1::ValidationResult result =
      MakeValidationResult({}, "pytorch.resnet18.cls1000");
  EXPECT_TRUE(result.valid());
  EXPECT_EQ(result.name(), "pytorch.resnet18.cls1000");
  EXPECT_THAT(result.violations(), IsEmpty());
}

TEST(MakeValidationResultTest, InvalidResultHasNoName) {
  std::vector<v1::Violation> violations =
      ValidateStateType(MakeStateType("", "res net"), NameRules(), "");
  ASSERT_THAT(violations, SizeIs(2));
  const v1::ValidationResult result =
      MakeValidationResult(violations, "should.not.appear");
  EXPECT_FALSE(result.valid());
  EXPECT_EQ(result.name(), "");
  ASSERT_EQ(result.violations_size(), 2);
  EXPECT_EQ(result.violations(0).field(), "backend");
  EXPECT_EQ(result.violations(0).reason(), v1::VIOLATION_REASON_EMPTY);
  EXPECT_EQ(result.violations(1).field(), "architecture");
  EXPECT_EQ(result.violations(1).value(), "res net");
  EXPECT_EQ(result.violations(1).description(), violations[1].description());
}

}  // namespace
}  // namespace mozuma::states
