// Tests for the rules of a registered State beyond its key
// (core/state_record.h).
#include "core/state_record.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"
#include "tests/testing/state_builders.h"
#include "tests/testing/violations.h"

namespace mozuma::states {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A valid state with every field set.
v1::State ValidState() {
  v1::State state;
  *state.mutable_state_key() = MakeStateKey(
      MakeStateType("pytorch", "resnet18", {"cls1000"}), "imagenet");
  state.set_uri("file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt");
  state.set_sha256(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  state.set_size_bytes(46'830'571);
  (*state.mutable_labels())["framework_version"] = "2.1";
  (*state.mutable_labels())["r\xC3\xA9sum\xC3\xA9"] =
      "\xE6\xA8\xA1\xE5\x9E\x8B";
  return state;
}

v1::State WithUri(std::string uri) {
  v1::State state = ValidState();
  state.set_uri(std::move(uri));
  return state;
}

v1::State WithSha256(std::string sha256) {
  v1::State state = ValidState();
  state.set_sha256(std::move(sha256));
  return state;
}

v1::State WithLabel(std::string key, std::string value) {
  v1::State state = ValidState();
  (*state.mutable_labels())[std::move(key)] = std::move(value);
  return state;
}

// The one violation of `state`, with prefix "state.".
v1::Violation OnlyViolation(const v1::State& state,
                            const NameRules& rules = NameRules()) {
  std::vector<v1::Violation> violations = ValidateState(state, rules, "state.");
  EXPECT_THAT(violations, SizeIs(1));
  return violations.empty() ? v1::Violation() : violations[0];
}

// ---------------------------------------------------------------------------
// ValidateState: a valid state.

TEST(ValidateStateTest, AValidStateHasNoViolations) {
  EXPECT_THAT(ValidateState(ValidState(), NameRules()), IsEmpty());
  EXPECT_THAT(ValidateState(ValidState(), NameRules(), "state."), IsEmpty());
}

TEST(ValidateStateTest, OptionalFieldsMayBeLeftOut) {
  v1::State state = ValidState();
  state.clear_sha256();
  state.clear_size_bytes();
  state.clear_labels();
  EXPECT_THAT(ValidateState(state, NameRules()), IsEmpty());
  state.set_size_bytes(0);
  EXPECT_THAT(ValidateState(state, NameRules()), IsEmpty());
}

TEST(ValidateStateTest, OutputOnlyFieldsAreNotChecked) {
  v1::State state = ValidState();
  state.set_name("not even . a valid \x01 name");
  state.set_revision(-5);
  *state.mutable_create_time() = TimeUtil::SecondsToTimestamp(-100);
  EXPECT_THAT(ValidateState(state, NameRules()), IsEmpty());
}

// ---------------------------------------------------------------------------
// ValidateState: the key.

TEST(ValidateStateTest, MissingStateKeyIsMissing) {
  v1::State state = ValidState();
  state.clear_state_key();
  const v1::Violation violation = OnlyViolation(state);
  EXPECT_EQ(violation.field(), "state.state_key");
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_MISSING);
}

TEST(ValidateStateTest, MissingStateTypeIsMissing) {
  v1::State state = ValidState();
  state.mutable_state_key()->clear_state_type();
  const v1::Violation violation = OnlyViolation(state);
  EXPECT_EQ(violation.field(), "state.state_key.state_type");
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_MISSING);
}

TEST(ValidateStateTest, KeyViolationsCarryTheirFullPath) {
  v1::State state = ValidState();
  state.mutable_state_key()->set_training_id("image net");
  state.mutable_state_key()->mutable_state_type()->add_extra("");
  const std::vector<v1::Violation> violations =
      ValidateState(state, NameRules(), "state.");
  EXPECT_THAT(Fields(violations),
              ElementsAre("state.state_key.state_type.extra[1]",
                          "state.state_key.training_id"));
  EXPECT_THAT(Reasons(violations),
              ElementsAre(v1::VIOLATION_REASON_EMPTY,
                          v1::VIOLATION_REASON_INVALID_CHARACTER));
  // Without a prefix, paths start at the state.
  EXPECT_THAT(
      Fields(ValidateState(state, NameRules())),
      ElementsAre("state_key.state_type.extra[1]", "state_key.training_id"));
}

TEST(ValidateStateTest, ViolationsComeInFieldOrder) {
  v1::State state;
  state.mutable_state_key()->mutable_state_type()->set_backend("pytorch");
  state.mutable_state_key()->mutable_state_type()->set_architecture("r");
  state.mutable_state_key()->set_training_id("");
  state.set_sha256("xyz");
  state.set_size_bytes(-1);
  (*state.mutable_labels())["b b"] = "";
  (*state.mutable_labels())["a a"] = "";
  const std::vector<v1::Violation> violations =
      ValidateState(state, NameRules(), "state.");
  EXPECT_THAT(Fields(violations),
              ElementsAre("state.state_key.training_id", "state.uri",
                          "state.sha256", "state.size_bytes",
                          "state.labels[\"a a\"]", "state.labels[\"b b\"]"));
  EXPECT_THAT(
      Reasons(violations),
      ElementsAre(v1::VIOLATION_REASON_EMPTY, v1::VIOLATION_REASON_MISSING,
                  v1::VIOLATION_REASON_INVALID_FORMAT,
                  v1::VIOLATION_REASON_OUT_OF_RANGE,
                  v1::VIOLATION_REASON_INVALID_CHARACTER,
                  v1::VIOLATION_REASON_INVALID_CHARACTER));
}

// ---------------------------------------------------------------------------
// ValidateState: uri.

TEST(ValidateStateTest, AcceptsAbsoluteUris) {
  for (const std::string uri :
       {"file:///srv/states/w.pt", "s3://bucket/pytorch/r18.pt",
        "https://example.com/w.pt?x=1&y=2#f", "gs://b/o", "x:y",
        "s3+x.y-z://host/p", "urn:isbn:0451450523",
        "https://example.com/r\xC3\xA9snet/\xE6\xA8\xA1.pt",
        "https://example.com/%20space"}) {
    EXPECT_THAT(ValidateState(WithUri(uri), NameRules()), IsEmpty()) << uri;
  }
}

TEST(ValidateStateTest, MissingUriIsMissing) {
  const v1::Violation violation = OnlyViolation(WithUri(""));
  EXPECT_EQ(violation.field(), "state.uri");
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_MISSING);
}

TEST(ValidateStateTest, UriAtMost4096Bytes) {
  const std::string head = "file:///";
  EXPECT_THAT(
      ValidateState(WithUri(head + std::string(4096 - head.size(), 'a')),
                    NameRules()),
      IsEmpty());
  const v1::Violation violation =
      OnlyViolation(WithUri(head + std::string(4097 - head.size(), 'a')));
  EXPECT_EQ(violation.field(), "state.uri");
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_TOO_LONG);
  EXPECT_THAT(violation.description(), HasSubstr("4097"));
  // The value is cut for the report.
  EXPECT_LT(violation.value().size(), 300u);
}

TEST(ValidateStateTest, UriWithWhitespaceOrControlCharacters) {
  struct Case {
    std::string uri;
    std::string code_point;
  };
  for (const Case& c : std::vector<Case>{
           {"file:///my weights.pt", "U+0020"},
           {"file:///w.pt\n", "U+000A"},
           {"file:///\tw.pt", "U+0009"},
           {"file:///w\r.pt", "U+000D"},
           {std::string("file:///w\0.pt", 13), "U+0000"},
           {"file:///w\x7F.pt", "U+007F"},
           {"file:///w\xC2\x85.pt", "U+0085"},      // NEXT LINE
           {"file:///w\xC2\x9F.pt", "U+009F"},      // C1 control
           {"file:///w\xC2\xA0.pt", "U+00A0"},      // NO-BREAK SPACE
           {"file:///w\xE1\x9A\x80.pt", "U+1680"},  // OGHAM SPACE MARK
           {"file:///w\xE2\x80\x83.pt", "U+2003"},  // EM SPACE
           {"file:///w\xE2\x80\xA8.pt", "U+2028"},  // LINE SEPARATOR
           {"file:///w\xE2\x80\xAF.pt", "U+202F"},  // NARROW NO-BREAK SPACE
           {"file:///w\xE3\x80\x80.pt", "U+3000"},  // IDEOGRAPHIC SPACE
           {"\xEF\xBB\xBF"
            "file:///w.pt",
            "U+FEFF"},  // BOM
       }) {
    SCOPED_TRACE(c.code_point);
    const v1::Violation violation = OnlyViolation(WithUri(c.uri));
    EXPECT_EQ(violation.field(), "state.uri");
    EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_INVALID_CHARACTER);
    EXPECT_THAT(violation.description(), HasSubstr(c.code_point));
  }
}

TEST(ValidateStateTest, UriNotUtf8) {
  for (const std::string uri :
       {"file:///w\xFF.pt", "file:///w\xC3.pt", "file:///\xC0\xAF",
        "file:///\xED\xA0\x80", "file:///\xF4\x90\x80\x80"}) {
    const v1::Violation violation = OnlyViolation(WithUri(uri));
    EXPECT_EQ(violation.field(), "state.uri");
    EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_INVALID_UTF8) << uri;
    // The reported value is printable UTF-8.
    EXPECT_THAT(violation.value(), HasSubstr("\\x"));
  }
}

TEST(ValidateStateTest, UriWithoutScheme) {
  for (const std::string uri :
       {"/srv/states/w.pt", "w.pt", ":", "://host/w.pt", ":w.pt", "file:",
        "1http://host/w.pt", "+s3://b/o", "ht_tp://host", "ht tp://host",
        "r\xC3\xA9s://host", "file//host/w.pt", "-x:y", ".x:y"}) {
    SCOPED_TRACE(uri);
    const v1::Violation violation = OnlyViolation(WithUri(uri));
    EXPECT_EQ(violation.field(), "state.uri");
    if (uri == "ht tp://host") {
      // The space is reported first.
      EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_INVALID_CHARACTER);
    } else {
      EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_INVALID_FORMAT);
    }
  }
}

// ---------------------------------------------------------------------------
// ValidateState: sha256, size_bytes.

TEST(ValidateStateTest, Sha256MustBe64LowercaseHexDigits) {
  const std::string good(64, 'a');
  EXPECT_THAT(ValidateState(WithSha256(good), NameRules()), IsEmpty());
  EXPECT_THAT(ValidateState(WithSha256("0123456789abcdef0123456789abcdef"
                                       "0123456789abcdef0123456789abcdef"),
                            NameRules()),
              IsEmpty());
  for (const std::string& bad : std::vector<std::string>{
           std::string(63, 'a'), std::string(65, 'a'), std::string(128, 'a'),
           std::string(64, 'A'), std::string(63, 'a') + "G",
           std::string(63, 'a') + "g", std::string(63, 'a') + " ",
           std::string(62, 'a') + "\xC3\xA9", "0x" + std::string(62, 'a'),
           std::string("a")}) {
    SCOPED_TRACE(bad);
    const v1::Violation violation = OnlyViolation(WithSha256(bad));
    EXPECT_EQ(violation.field(), "state.sha256");
    EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_INVALID_FORMAT);
  }
}

TEST(ValidateStateTest, NegativeSizeIsOutOfRange) {
  v1::State state = ValidState();
  for (std::int64_t size : {std::int64_t{-1}, std::int64_t{INT64_MIN}}) {
    state.set_size_bytes(size);
    const v1::Violation violation = OnlyViolation(state);
    EXPECT_EQ(violation.field(), "state.size_bytes");
    EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_OUT_OF_RANGE);
    EXPECT_EQ(violation.value(), absl::StrCat(size));
  }
  state.set_size_bytes(INT64_MAX);
  EXPECT_THAT(ValidateState(state, NameRules()), IsEmpty());
}

// ---------------------------------------------------------------------------
// ValidateState: labels.

TEST(ValidateStateTest, AtMost64Labels) {
  v1::State state = ValidState();
  state.clear_labels();
  for (int i = 0; i < 64; ++i) {
    (*state.mutable_labels())[absl::StrCat("k", i)] = "v";
  }
  EXPECT_THAT(ValidateState(state, NameRules()), IsEmpty());
  // 65 labels, some of them bad too: one violation for the whole map.
  (*state.mutable_labels())["bad key"] = "v";
  const v1::Violation violation = OnlyViolation(state);
  EXPECT_EQ(violation.field(), "state.labels");
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_TOO_MANY_LABELS);
  EXPECT_EQ(violation.value(), "65");
}

TEST(ValidateStateTest, LabelKeysFollowTheNameRules) {
  struct Case {
    std::string key;
    v1::ViolationReason reason;
  };
  for (const Case& c : std::vector<Case>{
           {"", v1::VIOLATION_REASON_EMPTY},
           {"a b", v1::VIOLATION_REASON_INVALID_CHARACTER},
           {"a.b", v1::VIOLATION_REASON_INVALID_CHARACTER},
           {"a\n", v1::VIOLATION_REASON_INVALID_CHARACTER},
           {"a\"b", v1::VIOLATION_REASON_INVALID_CHARACTER},
           {std::string(256, 'k'), v1::VIOLATION_REASON_TOO_LONG},
           {"k\xFF", v1::VIOLATION_REASON_INVALID_UTF8},
       }) {
    SCOPED_TRACE(c.key);
    const v1::Violation violation = OnlyViolation(WithLabel(c.key, "v"));
    EXPECT_EQ(violation.reason(), c.reason);
    EXPECT_THAT(violation.field(), ::testing::StartsWith("state.labels[\""));
  }
  EXPECT_EQ(OnlyViolation(WithLabel("a b", "v")).field(),
            "state.labels[\"a b\"]");
  EXPECT_EQ(OnlyViolation(WithLabel("", "v")).field(), "state.labels[\"\"]");
  // A key that is not UTF-8 appears printable in the path.
  EXPECT_EQ(OnlyViolation(WithLabel("k\xFF", "v")).field(),
            "state.labels[\"k\\xFF\"]");
  // Valid keys: the same names as state keys.
  for (const std::string& key : std::vector<std::string>{
           "framework_version", "a-b", "_", "\xE6\xA8\xA1\xE5\x9E\x8B",
           std::string(255, 'k')}) {
    EXPECT_THAT(ValidateState(WithLabel(key, "v"), NameRules()), IsEmpty())
        << key;
  }
}

TEST(ValidateStateTest, LabelKeysFollowTheServersRules) {
  NameRules ascii;
  ascii.charset = NameCharset::kAscii;
  const v1::Violation violation =
      OnlyViolation(WithLabel("x", "v"), ascii);  // ValidState has résumé
  EXPECT_EQ(violation.field(), "state.labels[\"r\xC3\xA9sum\xC3\xA9\"]");
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_INVALID_CHARACTER);

  NameRules short_names;
  short_names.max_name_bytes = 4;
  v1::State state = ValidState();
  state.clear_labels();
  (*state.mutable_labels())["abcde"] = "v";
  state.mutable_state_key()->set_training_id("t");
  state.mutable_state_key()->mutable_state_type()->set_backend("pt");
  state.mutable_state_key()->mutable_state_type()->set_architecture("r18");
  state.mutable_state_key()->mutable_state_type()->clear_extra();
  const v1::Violation too_long = OnlyViolation(state, short_names);
  EXPECT_EQ(too_long.field(), "state.labels[\"abcde\"]");
  EXPECT_EQ(too_long.reason(), v1::VIOLATION_REASON_TOO_LONG);
}

TEST(ValidateStateTest, LabelValuesAreAtMost1024BytesOfUtf8) {
  EXPECT_THAT(ValidateState(WithLabel("k", ""), NameRules()), IsEmpty());
  EXPECT_THAT(
      ValidateState(WithLabel("k", std::string(1024, 'v')), NameRules()),
      IsEmpty());
  // Any UTF-8, spaces and newlines included.
  EXPECT_THAT(
      ValidateState(WithLabel("k", "two words\n\xF0\x9D\x94\xB8"), NameRules()),
      IsEmpty());
  // 1024 bytes in 3-byte characters would be 1026: too long.
  std::string wide;
  for (int i = 0; i < 342; ++i) wide += "\xE6\xA8\xA1";
  v1::Violation violation = OnlyViolation(WithLabel("k", wide));
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_TOO_LONG);

  violation = OnlyViolation(WithLabel("k", std::string(1025, 'v')));
  EXPECT_EQ(violation.field(), "state.labels[\"k\"]");
  EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_TOO_LONG);

  for (const std::string bad : {"\xFF", "ok\xC3", "\xED\xA0\x80", "\xC0\x80"}) {
    violation = OnlyViolation(WithLabel("k", bad));
    EXPECT_EQ(violation.field(), "state.labels[\"k\"]");
    EXPECT_EQ(violation.reason(), v1::VIOLATION_REASON_INVALID_UTF8);
  }
}

TEST(ValidateStateTest, LabelViolationsAreInKeyOrder) {
  v1::State state = ValidState();
  state.clear_labels();
  for (const std::string key : {"z z", "b b", "m m", "a a"}) {
    (*state.mutable_labels())[key] = "v";
  }
  (*state.mutable_labels())["c"] = std::string(2000, 'v');
  EXPECT_THAT(Fields(ValidateState(state, NameRules())),
              ElementsAre("labels[\"a a\"]", "labels[\"b b\"]", "labels[\"c\"]",
                          "labels[\"m m\"]", "labels[\"z z\"]"));
}

// ---------------------------------------------------------------------------
// SameContent.

TEST(SameContentTest, EqualContent) {
  const v1::State a = ValidState();
  EXPECT_TRUE(SameContent(a, a));
  v1::State b = a;
  EXPECT_TRUE(SameContent(a, b));
  // Keys and output-only fields are not compared.
  b.mutable_state_key()->set_training_id("other");
  b.set_name("other");
  b.set_revision(7);
  *b.mutable_create_time() = TimeUtil::SecondsToTimestamp(1);
  *b.mutable_update_time() = TimeUtil::SecondsToTimestamp(2);
  EXPECT_TRUE(SameContent(a, b));
  EXPECT_TRUE(SameContent(b, a));
}

TEST(SameContentTest, LabelsAreComparedAsMaps) {
  v1::State a = ValidState();
  v1::State b = ValidState();
  a.clear_labels();
  b.clear_labels();
  for (int i = 0; i < 20; ++i) {
    (*a.mutable_labels())[absl::StrCat("k", i)] = absl::StrCat("v", i);
    (*b.mutable_labels())[absl::StrCat("k", 19 - i)] =
        absl::StrCat("v", 19 - i);
  }
  EXPECT_TRUE(SameContent(a, b));
  EXPECT_TRUE(SameContent(b, a));
}

TEST(SameContentTest, EachContentFieldCounts) {
  const v1::State base = ValidState();
  std::vector<std::pair<std::string, v1::State>> variants;
  auto add = [&](std::string what, auto change) {
    v1::State state = base;
    change(state);
    variants.emplace_back(std::move(what), std::move(state));
  };
  add("uri", [](v1::State& s) { s.set_uri(s.uri() + "x"); });
  add("sha256", [](v1::State& s) { s.set_sha256(std::string(64, 'f')); });
  add("sha256 cleared", [](v1::State& s) { s.clear_sha256(); });
  add("size", [](v1::State& s) { s.set_size_bytes(s.size_bytes() + 1); });
  add("size unset", [](v1::State& s) { s.clear_size_bytes(); });
  add("label value",
      [](v1::State& s) { (*s.mutable_labels())["framework_version"] = "2.2"; });
  add("label added", [](v1::State& s) { (*s.mutable_labels())["x"] = ""; });
  add("label removed",
      [](v1::State& s) { s.mutable_labels()->erase("framework_version"); });
  add("label renamed", [](v1::State& s) {
    s.mutable_labels()->erase("framework_version");
    (*s.mutable_labels())["framework_versio"] = "2.1";
  });
  add("labels cleared", [](v1::State& s) { s.clear_labels(); });
  for (const auto& [what, variant] : variants) {
    EXPECT_FALSE(SameContent(base, variant)) << what;
    EXPECT_FALSE(SameContent(variant, base)) << what;
  }
}

TEST(SameContentTest, UnsetSizeIsNotZero) {
  v1::State unset = ValidState();
  unset.clear_size_bytes();
  v1::State zero = unset;
  zero.set_size_bytes(0);
  EXPECT_FALSE(SameContent(unset, zero));
  EXPECT_FALSE(SameContent(zero, unset));
  v1::State also_unset = unset;
  EXPECT_TRUE(SameContent(unset, also_unset));
  v1::State also_zero = zero;
  EXPECT_TRUE(SameContent(zero, also_zero));
}

TEST(SameContentTest, EmptyLabelValueIsNotAbsentLabel) {
  v1::State a = ValidState();
  a.clear_labels();
  v1::State b = a;
  (*b.mutable_labels())["k"] = "";
  EXPECT_FALSE(SameContent(a, b));
  EXPECT_FALSE(SameContent(b, a));
}

// ---------------------------------------------------------------------------
// ContentOnly.

TEST(ContentOnlyTest, ClearsOutputOnlyFieldsAndKeepsTheRest) {
  v1::State state = ValidState();
  const v1::State content = state;
  state.set_name("pytorch.resnet18.cls1000.imagenet");
  state.set_revision(12);
  *state.mutable_create_time() = TimeUtil::SecondsToTimestamp(1);
  *state.mutable_update_time() = TimeUtil::SecondsToTimestamp(2);

  const v1::State stripped = ContentOnly(state);
  EXPECT_TRUE(MessageDifferencer::Equals(stripped, content))
      << stripped.ShortDebugString();
  EXPECT_TRUE(stripped.name().empty());
  EXPECT_EQ(stripped.revision(), 0);
  EXPECT_FALSE(stripped.has_create_time());
  EXPECT_FALSE(stripped.has_update_time());
  EXPECT_TRUE(stripped.has_state_key());
  EXPECT_EQ(stripped.uri(), content.uri());
  EXPECT_EQ(stripped.sha256(), content.sha256());
  EXPECT_EQ(stripped.size_bytes(), content.size_bytes());
  EXPECT_EQ(stripped.labels().size(), content.labels().size());
  EXPECT_TRUE(SameContent(stripped, state));
}

TEST(ContentOnlyTest, KeepsAZeroSize) {
  v1::State state = ValidState();
  state.set_size_bytes(0);
  state.set_revision(3);
  const v1::State stripped = ContentOnly(state);
  EXPECT_TRUE(stripped.has_size_bytes());
  EXPECT_EQ(stripped.size_bytes(), 0);
  state.clear_size_bytes();
  EXPECT_FALSE(ContentOnly(state).has_size_bytes());
}

}  // namespace
}  // namespace mozuma::states
