// Tests for the filters and the listing order (core/state_filter.h).
#include "core/state_filter.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"
#include "tests/testing/listing_order.h"
#include "tests/testing/state_builders.h"
#include "tests/testing/violations.h"

namespace mozuma::states {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

v1::StateKey Key(std::string backend, std::string architecture,
                 std::vector<std::string> extras, std::string training_id) {
  return MakeStateKey(MakeStateType(std::move(backend), std::move(architecture),
                                    std::move(extras)),
                      std::move(training_id));
}

StateFilter Compatible(v1::StateType state_type, std::string training_id = "") {
  StateFilter filter;
  filter.state_type = std::move(state_type);
  filter.training_id = std::move(training_id);
  return filter;
}

StateFilter Exact(v1::StateType state_type, std::string training_id = "") {
  StateFilter filter =
      Compatible(std::move(state_type), std::move(training_id));
  filter.exact = true;
  return filter;
}

StateFilter TrainingIdOnly(std::string training_id) {
  StateFilter filter;
  filter.training_id = std::move(training_id);
  return filter;
}

// The test's own UTF-8 encoder and decoder, independent of core/.
std::string Utf8(char32_t c) {
  std::string out;
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
  return out;
}

// memcmp order, spelled out so that no char signedness can creep in.
bool BytesLess(const std::string& a, const std::string& b) {
  const int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  return c < 0 || (c == 0 && a.size() < b.size());
}

// ---------------------------------------------------------------------------
// FilterFromRequest.

TEST(FilterFromRequestTest, AnEmptyRequestSelectsEverything) {
  const StateFilter filter = FilterFromRequest(v1::ListStatesRequest());
  EXPECT_FALSE(filter.state_type.has_value());
  EXPECT_FALSE(filter.exact);
  EXPECT_TRUE(filter.training_id.empty());
  EXPECT_EQ(CanonicalFilter(filter), CanonicalFilter(StateFilter()));
}

TEST(FilterFromRequestTest, MatchIsIgnoredWithoutStateType) {
  v1::ListStatesRequest request;
  request.set_match(v1::STATE_TYPE_MATCH_EXACT);
  request.set_training_id("imagenet");
  const StateFilter filter = FilterFromRequest(request);
  EXPECT_FALSE(filter.state_type.has_value());
  EXPECT_FALSE(filter.exact);
  EXPECT_EQ(filter.training_id, "imagenet");
  EXPECT_EQ(CanonicalFilter(filter),
            CanonicalFilter(TrainingIdOnly("imagenet")));
  // The page size and token are not part of the filter.
  request.set_page_size(7);
  request.set_page_token("token");
  EXPECT_EQ(CanonicalFilter(FilterFromRequest(request)),
            CanonicalFilter(filter));
}

TEST(FilterFromRequestTest, UnspecifiedMatchIsCompatible) {
  v1::ListStatesRequest request;
  *request.mutable_state_type() =
      MakeStateType("pytorch", "resnet18", {"cls1000", "x"});
  request.set_training_id("imagenet");

  request.set_match(v1::STATE_TYPE_MATCH_UNSPECIFIED);
  const StateFilter unspecified = FilterFromRequest(request);
  request.set_match(v1::STATE_TYPE_MATCH_COMPATIBLE);
  const StateFilter compatible = FilterFromRequest(request);
  request.set_match(v1::STATE_TYPE_MATCH_EXACT);
  const StateFilter exact = FilterFromRequest(request);

  ASSERT_TRUE(unspecified.state_type.has_value());
  EXPECT_EQ(unspecified.state_type->SerializeAsString(),
            request.state_type().SerializeAsString());
  EXPECT_EQ(unspecified.training_id, "imagenet");
  EXPECT_FALSE(unspecified.exact);
  EXPECT_FALSE(compatible.exact);
  EXPECT_TRUE(exact.exact);
  EXPECT_EQ(CanonicalFilter(unspecified), CanonicalFilter(compatible));
  EXPECT_NE(CanonicalFilter(unspecified), CanonicalFilter(exact));
}

TEST(FilterFromRequestTest, WatchRequestsReadTheSameFields) {
  v1::WatchStatesRequest watch;
  watch.set_match(v1::STATE_TYPE_MATCH_EXACT);
  watch.set_start_revision(12);
  EXPECT_FALSE(FilterFromRequest(watch).state_type.has_value());
  EXPECT_FALSE(FilterFromRequest(watch).exact);

  *watch.mutable_state_type() = MakeStateType("pytorch", "resnet18");
  watch.set_training_id("imagenet");
  v1::ListStatesRequest list;
  *list.mutable_state_type() = MakeStateType("pytorch", "resnet18");
  list.set_training_id("imagenet");
  for (v1::StateTypeMatch match :
       {v1::STATE_TYPE_MATCH_UNSPECIFIED, v1::STATE_TYPE_MATCH_COMPATIBLE,
        v1::STATE_TYPE_MATCH_EXACT}) {
    watch.set_match(match);
    list.set_match(match);
    EXPECT_EQ(CanonicalFilter(FilterFromRequest(watch)),
              CanonicalFilter(FilterFromRequest(list)))
        << match;
    EXPECT_EQ(FilterFromRequest(watch).exact,
              match == v1::STATE_TYPE_MATCH_EXACT);
  }
}

// ---------------------------------------------------------------------------
// ValidateFilter.

TEST(ValidateFilterTest, ValidFilters) {
  const NameRules rules;
  EXPECT_THAT(ValidateFilter(StateFilter(), rules), IsEmpty());
  EXPECT_THAT(ValidateFilter(TrainingIdOnly("imagenet"), rules), IsEmpty());
  EXPECT_THAT(
      ValidateFilter(
          Exact(MakeStateType("pytorch", "resnet18", {"cls1000"}), "imagenet"),
          rules),
      IsEmpty());
}

TEST(ValidateFilterTest, ViolationsCarryRequestFieldPaths) {
  const NameRules rules;
  const StateFilter filter = Compatible(
      MakeStateType("py torch", "", {"cls1000", "a.b"}), "image net");
  const std::vector<v1::Violation> violations = ValidateFilter(filter, rules);
  std::vector<std::string> fields;
  std::vector<v1::ViolationReason> reasons;
  for (const v1::Violation& violation : violations) {
    fields.push_back(violation.field());
    reasons.push_back(violation.reason());
  }
  EXPECT_THAT(fields,
              ElementsAre("state_type.backend", "state_type.architecture",
                          "state_type.extra[1]", "training_id"));
  EXPECT_THAT(reasons, ElementsAre(v1::VIOLATION_REASON_INVALID_CHARACTER,
                                   v1::VIOLATION_REASON_EMPTY,
                                   v1::VIOLATION_REASON_INVALID_CHARACTER,
                                   v1::VIOLATION_REASON_INVALID_CHARACTER));

  const std::vector<v1::Violation> prefixed =
      ValidateFilter(filter, rules, "request.");
  ASSERT_THAT(prefixed, SizeIs(4));
  EXPECT_EQ(prefixed[0].field(), "request.state_type.backend");
  EXPECT_EQ(prefixed[3].field(), "request.training_id");
}

TEST(ValidateFilterTest, EmptyTrainingIdMeansAny) {
  // Not an empty name: the filter does not restrict the training id.
  EXPECT_THAT(
      ValidateFilter(Compatible(MakeStateType("pytorch", "r")), NameRules()),
      IsEmpty());
}

TEST(ValidateFilterTest, AppliesTheServersRules) {
  NameRules ascii;
  ascii.charset = NameCharset::kAscii;
  const std::vector<v1::Violation> violations = ValidateFilter(
      Compatible(MakeStateType("pytorch", "r\xC3\xA9snet")), ascii);
  ASSERT_THAT(violations, SizeIs(1));
  EXPECT_EQ(violations[0].field(), "state_type.architecture");

  NameRules few_extras;
  few_extras.max_extras = 1;
  const std::vector<v1::Violation> too_many = ValidateFilter(
      Exact(MakeStateType("pytorch", "r", {"a", "b"})), few_extras);
  ASSERT_THAT(too_many, SizeIs(1));
  EXPECT_EQ(too_many[0].field(), "state_type.extra");
  EXPECT_EQ(too_many[0].reason(), v1::VIOLATION_REASON_TOO_MANY_EXTRAS);
}

// ---------------------------------------------------------------------------
// ValidateFilterFields.

// Numbers that StateTypeMatch does not declare. Proto3 enums are open, so
// the generated setter takes them and the parser keeps them.
constexpr int kUnknownMatches[] = {3, 99, -1};

template <typename Request>
Request FilterRequest(v1::StateType state_type, int match,
                      std::string training_id) {
  Request request;
  *request.mutable_state_type() = std::move(state_type);
  request.set_match(static_cast<v1::StateTypeMatch>(match));
  request.set_training_id(std::move(training_id));
  return request;
}

template <typename Request>
class ValidateFilterFieldsTest : public ::testing::Test {};
using FilterRequests =
    ::testing::Types<v1::ListStatesRequest, v1::WatchStatesRequest>;
TYPED_TEST_SUITE(ValidateFilterFieldsTest, FilterRequests);

TYPED_TEST(ValidateFilterFieldsTest, DeclaredMatchesAreValid) {
  for (int match : {0, 1, 2}) {
    EXPECT_THAT(ValidateFilterFields(
                    FilterRequest<TypeParam>(MakeStateType("pytorch", "r"),
                                             match, "imagenet"),
                    NameRules()),
                IsEmpty())
        << match;
    TypeParam no_state_type;
    no_state_type.set_match(static_cast<v1::StateTypeMatch>(match));
    EXPECT_THAT(ValidateFilterFields(no_state_type, NameRules()), IsEmpty())
        << match;
  }
}

TYPED_TEST(ValidateFilterFieldsTest, UnknownMatchIsNamedWithItsValues) {
  for (int match : kUnknownMatches) {
    const std::vector<v1::Violation> violations = ValidateFilterFields(
        FilterRequest<TypeParam>(MakeStateType("pytorch", "r"), match, ""),
        NameRules());
    ASSERT_THAT(violations, SizeIs(1)) << match;
    EXPECT_EQ(violations[0].field(), "match");
    EXPECT_EQ(violations[0].value(), std::to_string(match));
    EXPECT_EQ(violations[0].reason(), v1::VIOLATION_REASON_UNKNOWN_ENUM_VALUE);
    EXPECT_EQ(violations[0].description(),
              "is " + std::to_string(match) +
                  ", which is not a value of StateTypeMatch: use "
                  "STATE_TYPE_MATCH_UNSPECIFIED (0), "
                  "STATE_TYPE_MATCH_COMPATIBLE (1) or STATE_TYPE_MATCH_EXACT "
                  "(2); unset (0) means STATE_TYPE_MATCH_COMPATIBLE");
  }
}

TYPED_TEST(ValidateFilterFieldsTest, UnknownMatchIsRefusedWithoutStateType) {
  // A valid match is ignored without state_type; an unknown one is still
  // an error, not a silent "compatible".
  for (int match : kUnknownMatches) {
    TypeParam request;
    request.set_match(static_cast<v1::StateTypeMatch>(match));
    EXPECT_THAT(Fields(ValidateFilterFields(request, NameRules())),
                ElementsAre("match"))
        << match;
  }
}

TYPED_TEST(ValidateFilterFieldsTest, EveryBadFieldInFieldOrder) {
  const std::vector<v1::Violation> violations = ValidateFilterFields(
      FilterRequest<TypeParam>(MakeStateType("py torch", "r", {"a.b"}), 99,
                               "image net"),
      NameRules());
  EXPECT_THAT(Fields(violations),
              ElementsAre("state_type.backend", "state_type.extra[0]", "match",
                          "training_id"));
  EXPECT_THAT(Reasons(violations),
              ElementsAre(v1::VIOLATION_REASON_INVALID_CHARACTER,
                          v1::VIOLATION_REASON_INVALID_CHARACTER,
                          v1::VIOLATION_REASON_UNKNOWN_ENUM_VALUE,
                          v1::VIOLATION_REASON_INVALID_CHARACTER));
}

TYPED_TEST(ValidateFilterFieldsTest, AgreesWithValidateFilterOnNames) {
  NameRules ascii;
  ascii.charset = NameCharset::kAscii;
  const TypeParam request = FilterRequest<TypeParam>(
      MakeStateType("pytorch", "r\xC3\xA9snet"), 2, "");
  EXPECT_EQ(Fields(ValidateFilterFields(request, ascii)),
            Fields(ValidateFilter(FilterFromRequest(request), ascii)));
  EXPECT_THAT(Fields(ValidateFilterFields(request, ascii)),
              ElementsAre("state_type.architecture"));
}

// ---------------------------------------------------------------------------
// Matches.

TEST(MatchesTest, TheDefaultFilterMatchesEveryKey) {
  for (const v1::StateKey& key : {Key("pytorch", "resnet18", {}, "imagenet"),
                                  Key("a", "b", {"c", "d"}, "e")}) {
    EXPECT_TRUE(Matches(StateFilter(), key));
  }
}

TEST(MatchesTest, CompatibleComparesWholeBackendAndArchitecture) {
  const StateFilter filter = Compatible(MakeStateType("pytorch", "resnet18"));
  EXPECT_TRUE(Matches(filter, Key("pytorch", "resnet18", {}, "imagenet")));
  EXPECT_TRUE(
      Matches(filter, Key("pytorch", "resnet18", {"cls1000"}, "imagenet")));
  EXPECT_TRUE(
      Matches(filter, Key("pytorch", "resnet18", {"cls1000", "x"}, "other")));
  for (const v1::StateKey& key : {
           Key("pytorch", "resnet180", {}, "imagenet"),
           Key("pytorch", "resnet18-v2", {}, "imagenet"),
           Key("pytorch", "resnet1", {"8"}, "imagenet"),
           Key("pytorch", "resnet", {}, "imagenet"),
           Key("pytorch", "Resnet18", {}, "imagenet"),
           Key("pytorch2", "resnet18", {}, "imagenet"),
           Key("pytorc", "resnet18", {}, "imagenet"),
           Key("pytorc", "hresnet18", {}, "imagenet"),
           Key("pytorch-lightning", "resnet18", {}, "imagenet"),
           Key("resnet18", "pytorch", {}, "imagenet"),
       }) {
    EXPECT_FALSE(Matches(filter, key)) << key.ShortDebugString();
  }
}

TEST(MatchesTest, CompatibleIgnoresTheFiltersExtra) {
  const StateFilter filter =
      Compatible(MakeStateType("pytorch", "resnet18", {"cls10"}));
  EXPECT_TRUE(Matches(filter, Key("pytorch", "resnet18", {}, "t")));
  EXPECT_TRUE(Matches(filter, Key("pytorch", "resnet18", {"cls1000"}, "t")));
  EXPECT_FALSE(Matches(filter, Key("pytorch", "resnet180", {"cls10"}, "t")));
}

TEST(MatchesTest, ExactComparesTheWholeExtra) {
  const StateFilter none = Exact(MakeStateType("pytorch", "resnet18"));
  const StateFilter one =
      Exact(MakeStateType("pytorch", "resnet18", {"cls1000"}));
  const StateFilter two =
      Exact(MakeStateType("pytorch", "resnet18", {"cls1000", "x"}));
  const v1::StateKey key_none = Key("pytorch", "resnet18", {}, "t");
  const v1::StateKey key_one = Key("pytorch", "resnet18", {"cls1000"}, "t");
  const v1::StateKey key_two =
      Key("pytorch", "resnet18", {"cls1000", "x"}, "t");
  EXPECT_TRUE(Matches(none, key_none));
  EXPECT_FALSE(Matches(none, key_one));
  EXPECT_FALSE(Matches(none, key_two));
  EXPECT_FALSE(Matches(one, key_none));
  EXPECT_TRUE(Matches(one, key_one));
  EXPECT_FALSE(Matches(one, key_two));
  EXPECT_FALSE(Matches(two, key_none));
  EXPECT_FALSE(Matches(two, key_one));
  EXPECT_TRUE(Matches(two, key_two));
  EXPECT_FALSE(Matches(one, Key("pytorch", "resnet18", {"cls100"}, "t")));
  EXPECT_FALSE(Matches(one, Key("pytorch", "resnet18", {"cls10000"}, "t")));
  EXPECT_FALSE(Matches(two, Key("pytorch", "resnet18", {"x", "cls1000"}, "t")));
  EXPECT_FALSE(Matches(one, Key("pytorch", "resnet180", {"cls1000"}, "t")));
}

TEST(MatchesTest, TrainingIdIsComparedWhole) {
  const StateFilter filter = TrainingIdOnly("imagenet");
  EXPECT_TRUE(Matches(filter, Key("pytorch", "resnet18", {}, "imagenet")));
  EXPECT_TRUE(Matches(filter, Key("tf", "other", {"x"}, "imagenet")));
  EXPECT_FALSE(Matches(filter, Key("pytorch", "resnet18", {}, "imagenet21k")));
  EXPECT_FALSE(Matches(filter, Key("pytorch", "resnet18", {}, "imagene")));
  EXPECT_FALSE(Matches(filter, Key("pytorch", "resnet18", {}, "Imagenet")));
  EXPECT_FALSE(
      Matches(filter, Key("pytorch", "resnet18", {"imagenet"}, "other")));
}

TEST(MatchesTest, StateTypeAndTrainingIdCombine) {
  const StateFilter compatible =
      Compatible(MakeStateType("pytorch", "resnet18"), "imagenet");
  EXPECT_TRUE(
      Matches(compatible, Key("pytorch", "resnet18", {"x"}, "imagenet")));
  EXPECT_FALSE(Matches(compatible, Key("pytorch", "resnet18", {"x"}, "clip")));
  EXPECT_FALSE(Matches(compatible, Key("pytorch", "resnet50", {}, "imagenet")));
  const StateFilter exact =
      Exact(MakeStateType("pytorch", "resnet18", {"x"}), "imagenet");
  EXPECT_TRUE(Matches(exact, Key("pytorch", "resnet18", {"x"}, "imagenet")));
  EXPECT_FALSE(Matches(exact, Key("pytorch", "resnet18", {}, "imagenet")));
  EXPECT_FALSE(Matches(exact, Key("pytorch", "resnet18", {"x"}, "clip")));
}

// ---------------------------------------------------------------------------
// CanonicalFilter.

std::vector<StateFilter> DistinctFilters() {
  return {
      StateFilter(),
      TrainingIdOnly("imagenet"),
      TrainingIdOnly("any"),
      TrainingIdOnly("compatible"),
      TrainingIdOnly("imagenet21k"),
      Compatible(MakeStateType("pytorch", "resnet18")),
      Exact(MakeStateType("pytorch", "resnet18")),
      Compatible(MakeStateType("pytorch", "resnet18"), "imagenet"),
      Exact(MakeStateType("pytorch", "resnet18"), "imagenet"),
      Compatible(MakeStateType("pytorch", "resnet18", {"cls1000"})),
      Exact(MakeStateType("pytorch", "resnet18", {"cls1000"})),
      Exact(MakeStateType("pytorch", "resnet18", {"cls1000", "x"})),
      Exact(MakeStateType("pytorch", "resnet18", {"cls1000x"})),
      Exact(MakeStateType("pytorch", "resnet18", {"x", "cls1000"})),
      Exact(MakeStateType("pytorch", "resnet18", {"cls1000"}), "x"),
      Compatible(MakeStateType("pytorch", "resnet18", {"cls1000"}), "x"),
      Exact(MakeStateType("pytorch", "resnet18", {"imagenet"})),
      Compatible(MakeStateType("pytorch", "resnet180")),
      Compatible(MakeStateType("pytorch", "resnet1", {"8"})),
      Compatible(MakeStateType("pytorc", "hresnet18")),
      Compatible(MakeStateType("pytorch2", "resnet18")),
      Compatible(MakeStateType("resnet18", "pytorch")),
      Compatible(MakeStateType("any", "imagenet")),
      Compatible(MakeStateType("pytorch", "r\xC3\xA9snet")),
  };
}

TEST(CanonicalFilterTest, DistinctFiltersHaveDistinctText) {
  const std::vector<StateFilter> filters = DistinctFilters();
  for (std::size_t i = 0; i < filters.size(); ++i) {
    for (std::size_t j = i + 1; j < filters.size(); ++j) {
      EXPECT_NE(CanonicalFilter(filters[i]), CanonicalFilter(filters[j]))
          << i << " and " << j;
    }
  }
}

TEST(CanonicalFilterTest, EqualFiltersHaveEqualText) {
  const std::vector<StateFilter> filters = DistinctFilters();
  const std::vector<StateFilter> again = DistinctFilters();
  for (std::size_t i = 0; i < filters.size(); ++i) {
    EXPECT_EQ(CanonicalFilter(filters[i]), CanonicalFilter(again[i])) << i;
  }
}

// ---------------------------------------------------------------------------
// SortKey.

TEST(SortKeyTest, Utf8ByteOrderIsCodePointOrder) {
  // The premise of the listing order: comparing UTF-8 bytes compares code
  // points. Includes the boundaries of each sequence length and characters
  // that UTF-16 would order differently (U+FF5A and U+1D538).
  const std::vector<char32_t> code_points = {
      0x20,   0x2D,   0x30,   0x41,    0x5F,    0x61,    0x7F,   0x80,
      0xB2,   0xE9,   0x7FF,  0x800,   0x663,   0x6A21,  0xD7FF, 0xE000,
      0xFF5A, 0xFFFD, 0xFFFF, 0x10000, 0x1D538, 0x10FFFF};
  for (char32_t a : code_points) {
    for (char32_t b : code_points) {
      EXPECT_EQ(BytesLess(Utf8(a), Utf8(b)), a < b)
          << std::hex << static_cast<std::uint32_t>(a) << " "
          << static_cast<std::uint32_t>(b);
      EXPECT_EQ(CodePoints(Utf8(a)), std::u32string(1, a));
    }
  }
}

TEST(SortKeyTest, OrdersAsDocumented) {
  const std::vector<v1::StateKey> keys = ListingOrderKeys();
  for (const v1::StateKey& a : keys) {
    for (const v1::StateKey& b : keys) {
      EXPECT_EQ(BytesLess(SortKey(a), SortKey(b)), DocumentedLess(a, b))
          << a.ShortDebugString() << " vs " << b.ShortDebugString();
      // std::string's own comparison (used by std::map) agrees.
      EXPECT_EQ(SortKey(a) < SortKey(b), DocumentedLess(a, b));
    }
  }
}

TEST(SortKeyTest, SpecificOrders) {
  auto less = [](const v1::StateKey& a, const v1::StateKey& b) {
    return BytesLess(SortKey(a), SortKey(b));
  };
  // A list before its extensions, element by element.
  EXPECT_TRUE(less(Key("p", "r", {}, "z"), Key("p", "r", {"a"}, "a")));
  EXPECT_TRUE(less(Key("p", "r", {"a"}, "z"), Key("p", "r", {"a", "b"}, "a")));
  EXPECT_TRUE(less(Key("p", "r", {"a", "b"}, "z"), Key("p", "r", {"b"}, "a")));
  EXPECT_TRUE(less(Key("p", "r", {"a", "b"}, "z"), Key("p", "r", {"ab"}, "a")));
  EXPECT_TRUE(less(Key("p", "r", {"a", "z"}, "z"), Key("p", "r", {"a-"}, "a")));
  // Backend before architecture before training id, whole names.
  EXPECT_TRUE(less(Key("py", "z", {}, "z"), Key("pyt", "a", {}, "a")));
  EXPECT_TRUE(less(Key("p", "r", {}, "z"), Key("p", "r1", {}, "a")));
  EXPECT_TRUE(less(Key("p", "r", {}, "a"), Key("p", "r", {}, "a1")));
  // By code point: uppercase before lowercase, 𝔸 after ｚ.
  EXPECT_TRUE(less(Key("Z", "r", {}, "t"), Key("a", "r", {}, "t")));
  EXPECT_TRUE(less(Key("p", "\xEF\xBD\x9A", {}, "t"),
                   Key("p", "\xF0\x9D\x94\xB8", {}, "t")));
  EXPECT_TRUE(
      less(Key("p", "resnet", {}, "t"), Key("p", "r\xC3\xA9snet", {}, "t")));
}

TEST(SortKeyTest, EqualExactlyForEqualKeys) {
  const std::vector<v1::StateKey> keys = ListingOrderKeys();
  for (std::size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(SortKey(keys[i]), SortKey(v1::StateKey(keys[i])));
    for (std::size_t j = i + 1; j < keys.size(); ++j) {
      EXPECT_NE(SortKey(keys[i]), SortKey(keys[j]))
          << keys[i].ShortDebugString() << " vs " << keys[j].ShortDebugString();
    }
  }
  // Fields do not run into one another.
  EXPECT_NE(SortKey(Key("ab", "c", {}, "d")), SortKey(Key("a", "bc", {}, "d")));
  EXPECT_NE(SortKey(Key("a", "b", {"c"}, "d")),
            SortKey(Key("a", "b", {}, "c")));
  EXPECT_NE(SortKey(Key("a", "b", {"c", "d"}, "e")),
            SortKey(Key("a", "b", {"cd"}, "e")));
  EXPECT_NE(SortKey(Key("a", "b", {"c"}, "de")),
            SortKey(Key("a", "b", {"cd"}, "e")));
}

}  // namespace
}  // namespace mozuma::states
