// Tests for the name rules (core/names.h).
//
// Non-ASCII names are written as explicit UTF-8 byte escapes, with the
// character and its code point in a comment, so that the bytes under test
// never depend on the encoding of this file. Adjacent literals ("\xC3\xA9"
// "a") keep a hex escape from swallowing the next character.
#include "core/names.h"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr v1::ViolationReason kEmpty = v1::VIOLATION_REASON_EMPTY;
constexpr v1::ViolationReason kInvalidUtf8 = v1::VIOLATION_REASON_INVALID_UTF8;
constexpr v1::ViolationReason kInvalidCharacter =
    v1::VIOLATION_REASON_INVALID_CHARACTER;
constexpr v1::ViolationReason kTooLong = v1::VIOLATION_REASON_TOO_LONG;

std::string Repeat(absl::string_view piece, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i)
    out.append(piece.data(), piece.size());
  return out;
}

std::vector<v1::ViolationReason> Reasons(
    const std::vector<NameProblem>& problems) {
  std::vector<v1::ViolationReason> reasons;
  for (const NameProblem& problem : problems) reasons.push_back(problem.reason);
  return reasons;
}

// A strict UTF-8 check written independently of ICU and of the code under
// test: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsWellFormedUtf8(absl::string_view text) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t size = text.size();
  std::size_t i = 0;
  while (i < size) {
    const unsigned char lead = bytes[i];
    std::size_t trail = 0;
    std::uint32_t code_point = 0;
    std::uint32_t min = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      trail = 1, code_point = lead & 0x1F, min = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      trail = 2, code_point = lead & 0x0F, min = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      trail = 3, code_point = lead & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (i + trail >= size) return false;
    for (std::size_t k = 1; k <= trail; ++k) {
      if ((bytes[i + k] & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (bytes[i + k] & 0x3F);
    }
    if (code_point < min || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
      return false;
    }
    i += trail + 1;
  }
  return true;
}

// One row of the name table.
struct NameCase {
  std::string name;
  bool valid;
  std::vector<v1::ViolationReason> reasons;
  const char* comment;
};

std::vector<NameCase> NameTable() {
  return {
      // ASCII.
      {"resnet18", true, {}, "ASCII letters and digits"},
      {"RESNET", true, {}, "ASCII capitals"},
      {"0123456789", true, {}, "all ASCII digits"},
      {"a", true, {}, "one letter"},
      {"_", true, {}, "underscore alone"},
      {"-", true, {}, "hyphen alone"},
      {"clip-image-rn50", true, {}, "real MoZuMa architecture"},
      {"sbert_distiluse-base", true, {}, "underscore and hyphen mixed"},
      {"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
       true,
       {},
       "every ASCII letter"},

      // Each category Python's str.isalnum() accepts.
      {"\xC3\xA9", true, {}, "U+00E9 e acute, Ll"},
      {"\xC3\x89", true, {}, "U+00C9 E acute, Lu"},
      {"r\xC3\xA9snet", true, {}, "resnet with U+00E9 in it"},
      {"\xC7\x85", true, {}, "U+01C5 Dz with caron, Lt"},
      {"\xCA\xB0", true, {}, "U+02B0 modifier letter small h, Lm"},
      {"\xC2\xAA", true, {}, "U+00AA feminine ordinal indicator, Lo"},
      {"\xE6\xA8\xA1\xE5\x9E\x8B", true, {}, "U+6A21 U+578B (model), Lo"},
      {"\xE4\xB8\x80", true, {}, "U+4E00 CJK one: Lo (and numeric)"},
      {"\xF0\xA0\x80\x80", true, {}, "U+20000, a Lo outside the BMP"},
      {"\xD9\xA3", true, {}, "U+0663 Arabic-Indic digit three, Nd"},
      {"\xEF\xBC\x91", true, {}, "U+FF11 fullwidth digit one, Nd"},
      {"\xC2\xB2", true, {}, "U+00B2 superscript two: No, Numeric_Type Digit"},
      {"\xE2\x91\xA0", true, {}, "U+2460 circled digit one: No, Digit"},
      {"\xC2\xBD", true, {}, "U+00BD one half: No, Numeric_Type Numeric"},
      {"\xE2\x85\xAB", true, {}, "U+216B Roman numeral twelve, Nl"},
      {"\xE3\x80\x87", true, {}, "U+3007 ideographic number zero, Nl"},
      {"\xE1\x9B\xAE", true, {}, "U+16EE runic arlaug symbol, Nl"},
      {"cls\xD9\xA3\xC2\xBD-\xE6\xA8\xA1_x", true, {}, "a mixture"},

      // Characters Python's \w does not match.
      {"e\xCC\x81", false, {kInvalidCharacter}, "e + U+0301 combining acute"},
      {"\xCC\x81", false, {kInvalidCharacter}, "U+0301 alone"},
      {"\xE0\xA4\xB9\xE0\xA4\xBF",
       false,
       {kInvalidCharacter},
       "U+0939 U+093F: a Devanagari vowel sign is Mc, not alnum"},
      {"a\xE2\x80\x8D"
       "b",
       false,
       {kInvalidCharacter},
       "U+200D ZWJ"},
      {"a\xE2\x80\x8C"
       "b",
       false,
       {kInvalidCharacter},
       "U+200C ZWNJ"},
      {"\xEF\xBB\xBF"
       "a",
       false,
       {kInvalidCharacter},
       "U+FEFF BOM, Cf"},
      {"\xF0\x9F\x98\x80", false, {kInvalidCharacter}, "U+1F600 emoji"},
      {"\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91"
       "\xA7",
       false,
       {kInvalidCharacter},
       "emoji ZWJ sequence (family)"},
      {"a b", false, {kInvalidCharacter}, "space"},
      {"a\xC2\xA0"
       "b",
       false,
       {kInvalidCharacter},
       "U+00A0 no-break space"},
      {"a.b", false, {kInvalidCharacter}, "dot"},
      {"a/b", false, {kInvalidCharacter}, "slash"},
      {"a+b", false, {kInvalidCharacter}, "plus"},
      {std::string("a\0b", 3), false, {kInvalidCharacter}, "NUL inside"},
      {std::string("\0", 1), false, {kInvalidCharacter}, "NUL alone"},
      {"\n", false, {kInvalidCharacter}, "newline alone"},
      {"imagenet\n",
       false,
       {kInvalidCharacter},
       "final newline: Python's $ lets it through, we do not"},
      {"\r", false, {kInvalidCharacter}, "carriage return"},
      {"a\tb", false, {kInvalidCharacter}, "tab"},
      {"\xEE\x80\x80", false, {kInvalidCharacter}, "U+E000 private use"},
      {"\xCD\xB8", false, {kInvalidCharacter}, "U+0378 unassigned"},
      {"\xEF\xBF\xBE",
       false,
       {kInvalidCharacter},
       "U+FFFE noncharacter: well-formed UTF-8, not a name character"},

      // Not UTF-8.
      {"\xC0\xAF", false, {kInvalidUtf8}, "overlong 2-byte '/'"},
      {"\xC1\xBF", false, {kInvalidUtf8}, "overlong 2-byte DEL"},
      {"\xE0\x80\xAF", false, {kInvalidUtf8}, "overlong 3-byte '/'"},
      {"\xF0\x80\x80\xAF", false, {kInvalidUtf8}, "overlong 4-byte '/'"},
      {"\xED\xA0\x80", false, {kInvalidUtf8}, "encoded surrogate U+D800"},
      {"\xED\xBF\xBF", false, {kInvalidUtf8}, "encoded surrogate U+DFFF"},
      {"\xE6\xA8", false, {kInvalidUtf8}, "truncated 3-byte sequence"},
      {"ab\xE6\xA8", false, {kInvalidUtf8}, "truncated at the end"},
      {"\xE6\xA8"
       "ab",
       false,
       {kInvalidUtf8},
       "truncated, then ASCII"},
      {"\x80", false, {kInvalidUtf8}, "lone continuation byte"},
      {"a\x80", false, {kInvalidUtf8}, "continuation byte after ASCII"},
      {"\xF4\x90\x80\x80", false, {kInvalidUtf8}, "U+110000"},
      {"\xF5\x80\x80\x80", false, {kInvalidUtf8}, "lead byte F5"},
      {"\xFF", false, {kInvalidUtf8}, "byte FF"},
      {"\xFE", false, {kInvalidUtf8}, "byte FE"},
      {"a b\xFF",
       false,
       {kInvalidUtf8},
       "a bad character and bad UTF-8: INVALID_UTF8 alone"},
      {Repeat("a", 300) + "\xFF",
       false,
       {kInvalidUtf8},
       "too long and bad UTF-8: INVALID_UTF8 alone"},

      // Length, in bytes.
      {Repeat("a", 255), true, {}, "255 ASCII bytes"},
      {Repeat("a", 256), false, {kTooLong}, "256 ASCII bytes"},
      {Repeat("\xE6\xA8\xA1", 85), true, {}, "85 three-byte chars, 255 bytes"},
      {Repeat("\xE6\xA8\xA1", 86),
       false,
       {kTooLong},
       "86 three-byte chars, 258 bytes"},
      {Repeat("a", 253) + "\xC3\xA9", true, {}, "253 + 2 bytes = 255"},
      {Repeat("a", 254) + "\xC3\xA9",
       false,
       {kTooLong},
       "254 + 2 bytes = 256, only 255 characters"},
      {Repeat("\xF0\xA0\x80\x80", 64),
       false,
       {kTooLong},
       "64 four-byte chars, 256 bytes"},
      {Repeat("a", 255) + " ",
       false,
       {kTooLong, kInvalidCharacter},
       "too long and a bad character: both, TOO_LONG first"},
      {" " + Repeat("a", 300),
       false,
       {kTooLong, kInvalidCharacter},
       "bad character first in the string: still TOO_LONG first"},

      // Empty.
      {"", false, {kEmpty}, "empty gives EMPTY alone"},
  };
}

TEST(CheckNameTest, Table) {
  const NameRules rules;
  for (const NameCase& row : NameTable()) {
    SCOPED_TRACE(testing::Message()
                 << row.comment << ": \"" << PrintableValue(row.name) << "\" ("
                 << row.name.size() << " bytes)");
    const std::vector<NameProblem> problems = CheckName(row.name, rules);
    EXPECT_THAT(Reasons(problems), ElementsAreArray(row.reasons));
    EXPECT_EQ(IsValidName(row.name, rules), row.valid);
    EXPECT_EQ(problems.empty(), row.valid);
    for (const NameProblem& problem : problems) {
      EXPECT_FALSE(problem.description.empty());
      EXPECT_TRUE(IsWellFormedUtf8(problem.description)) << problem.description;
    }
  }
}

TEST(CheckNameTest, DefaultsAreMoZuMaLimits) {
  const NameRules rules;
  EXPECT_EQ(rules.max_name_bytes, 255u);
  EXPECT_EQ(rules.max_extras, 32u);
  EXPECT_EQ(rules.charset, NameCharset::kUnicode);
}

// Returns the description of the single problem of `name`, or fails.
std::string OnlyDescription(absl::string_view name,
                            const NameRules& rules = NameRules()) {
  const std::vector<NameProblem> problems = CheckName(name, rules);
  EXPECT_THAT(problems, SizeIs(1));
  return problems.empty() ? "" : problems[0].description;
}

TEST(CheckNameTest, DescriptionNamesCombiningMarkAndIndex) {
  const std::string description = OnlyDescription("e\xCC\x81");
  EXPECT_THAT(description, HasSubstr("U+0301"));
  EXPECT_THAT(description, HasSubstr("COMBINING ACUTE ACCENT"));
  EXPECT_THAT(description, HasSubstr("index 1"));
}

TEST(CheckNameTest, DescriptionIndexCountsCodePointsNotBytes) {
  // U+6A21 U+578B are 6 bytes but 2 code points; the dot is at index 2.
  const std::string description = OnlyDescription("\xE6\xA8\xA1\xE5\x9E\x8B.x");
  EXPECT_THAT(description, HasSubstr("U+002E FULL STOP"));
  EXPECT_THAT(description, HasSubstr("index 2"));
  EXPECT_THAT(description, Not(HasSubstr("index 6")));
}

TEST(CheckNameTest, DescriptionNamesOnlyFirstBadCharacter) {
  const std::vector<NameProblem> problems = CheckName("ab c.d/e", NameRules());
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0].description, HasSubstr("U+0020 SPACE"));
  EXPECT_THAT(problems[0].description, HasSubstr("index 2"));
  EXPECT_THAT(problems[0].description, Not(HasSubstr("FULL STOP")));
}

TEST(CheckNameTest, DescriptionOfFinalNewlineExplainsPythonDifference) {
  const std::string description = OnlyDescription("imagenet\n");
  EXPECT_THAT(description, HasSubstr("U+000A"));
  EXPECT_THAT(description, HasSubstr("index 8"));
  EXPECT_THAT(description, HasSubstr("newline"));
  EXPECT_THAT(description, HasSubstr("MoZuMa"));
}

TEST(CheckNameTest, DescriptionOfCarriageReturnIsThePlainRule) {
  // Python's `$` lets only a final "\n" through, so the MoZuMa remark
  // belongs to the newline alone.
  const std::string description = OnlyDescription("a\rb");
  EXPECT_THAT(description, HasSubstr("U+000D"));
  EXPECT_THAT(description, HasSubstr("index 1"));
  EXPECT_THAT(description, HasSubstr("letters, numbers, '_' and '-'"));
  EXPECT_THAT(description, Not(HasSubstr("MoZuMa")));
}

TEST(CheckNameTest, DescriptionOfNulNamesIt) {
  const std::string description = OnlyDescription(std::string("ab\0c", 4));
  EXPECT_THAT(description, HasSubstr("U+0000"));
  EXPECT_THAT(description, HasSubstr("index 2"));
}

TEST(CheckNameTest, DescriptionOfEmojiNamesIt) {
  const std::string description = OnlyDescription("x\xF0\x9F\x98\x80");
  EXPECT_THAT(description, HasSubstr("U+1F600 GRINNING FACE"));
  EXPECT_THAT(description, HasSubstr("index 1"));
}

TEST(CheckNameTest, DescriptionOfZeroWidthJoiner) {
  const std::string description = OnlyDescription("ab\xE2\x80\x8D");
  EXPECT_THAT(description, HasSubstr("U+200D ZERO WIDTH JOINER"));
  EXPECT_THAT(description, HasSubstr("index 2"));
}

TEST(CheckNameTest, DescriptionOfInvalidUtf8GivesByteAndOffset) {
  const std::string description = OnlyDescription("abc\xFF");
  EXPECT_THAT(description, HasSubstr("UTF-8"));
  EXPECT_THAT(description, HasSubstr("0xFF"));
  EXPECT_THAT(description, HasSubstr("byte offset 3"));
}

TEST(CheckNameTest, DescriptionOfTooLongGivesSizeAndLimit) {
  const std::vector<NameProblem> problems =
      CheckName(Repeat("\xE6\xA8\xA1", 86), NameRules());
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_EQ(problems[0].reason, kTooLong);
  EXPECT_THAT(problems[0].description, HasSubstr("258"));
  EXPECT_THAT(problems[0].description, HasSubstr("255"));
}

TEST(CheckNameTest, DescriptionOfEmpty) {
  EXPECT_EQ(OnlyDescription(""), "must not be empty");
}

TEST(CheckNameTest, NeverReadsPastTheView) {
  // The bytes after the view would complete the sequence U+6A21; the view
  // itself ends inside it.
  const char buffer[] = "ab\xE6\xA8\xA1";
  EXPECT_THAT(Reasons(CheckName(absl::string_view(buffer, 3), NameRules())),
              ElementsAre(kInvalidUtf8));
  EXPECT_THAT(Reasons(CheckName(absl::string_view(buffer, 4), NameRules())),
              ElementsAre(kInvalidUtf8));
  EXPECT_TRUE(IsValidName(absl::string_view(buffer, 5), NameRules()));
  // A valid prefix of an invalid string.
  const char spaced[] = "resnet18 x";
  EXPECT_TRUE(IsValidName(absl::string_view(spaced, 8), NameRules()));
  EXPECT_FALSE(IsValidName(absl::string_view(spaced, 9), NameRules()));
}

TEST(CheckNameTest, CustomMaxNameBytes) {
  NameRules rules;
  rules.max_name_bytes = 3;
  EXPECT_THAT(Reasons(CheckName("abc", rules)), IsEmpty());
  EXPECT_THAT(Reasons(CheckName("abcd", rules)), ElementsAre(kTooLong));
  // U+00E9 is two bytes: 2 + 1 fits, 2 + 2 does not.
  EXPECT_THAT(Reasons(CheckName("\xC3\xA9"
                                "a",
                                rules)),
              IsEmpty());
  EXPECT_THAT(Reasons(CheckName("\xC3\xA9\xC3\xA9", rules)),
              ElementsAre(kTooLong));
  // One three-byte character fits exactly.
  EXPECT_THAT(Reasons(CheckName("\xE6\xA8\xA1", rules)), IsEmpty());
  EXPECT_THAT(Reasons(CheckName("ab.d", rules)),
              ElementsAre(kTooLong, kInvalidCharacter));
  EXPECT_THAT(Reasons(CheckName("", rules)), ElementsAre(kEmpty));
  const std::vector<NameProblem> problems = CheckName("abcd", rules);
  ASSERT_THAT(problems, SizeIs(1));
  EXPECT_THAT(problems[0].description, HasSubstr("4 bytes"));
  EXPECT_THAT(problems[0].description, HasSubstr("3 bytes"));
}

TEST(CheckNameTest, LargerMaxNameBytesAcceptsLongerNames) {
  NameRules rules;
  rules.max_name_bytes = 1024;
  EXPECT_TRUE(IsValidName(Repeat("a", 1024), rules));
  EXPECT_FALSE(IsValidName(Repeat("a", 1025), rules));
}

TEST(CheckNameTest, AsciiCharsetAcceptsAsciiNames) {
  NameRules rules;
  rules.charset = NameCharset::kAscii;
  EXPECT_TRUE(IsValidName("a-b_C9", rules));
  EXPECT_TRUE(IsValidName("clip-image-rn50", rules));
  EXPECT_TRUE(IsValidName(Repeat("Z", 255), rules));
  EXPECT_FALSE(IsValidName(Repeat("Z", 256), rules));
}

TEST(CheckNameTest, AsciiCharsetRejectsUnicodeLettersAndNumbers) {
  NameRules rules;
  rules.charset = NameCharset::kAscii;
  for (const char* name :
       {"\xC3\xA9", "r\xC3\xA9snet", "\xE6\xA8\xA1\xE5\x9E\x8B", "\xD9\xA3",
        "\xC2\xB2", "\xC2\xBD", "\xE2\x85\xAB", "\xEF\xBC\x91"}) {
    SCOPED_TRACE(PrintableValue(name));
    EXPECT_THAT(Reasons(CheckName(name, rules)),
                ElementsAre(kInvalidCharacter));
    // The same names are fine under the default rules.
    EXPECT_TRUE(IsValidName(name, NameRules()));
  }
}

TEST(CheckNameTest, AsciiCharsetDescriptionSaysAscii) {
  NameRules rules;
  rules.charset = NameCharset::kAscii;
  const std::string description = OnlyDescription("r\xC3\xA9snet", rules);
  EXPECT_THAT(description, HasSubstr("U+00E9"));
  EXPECT_THAT(description, HasSubstr("index 1"));
  EXPECT_THAT(description, HasSubstr("ASCII"));
  EXPECT_THAT(OnlyDescription("a b"), Not(HasSubstr("ASCII")));
}

TEST(CheckNameTest, AsciiCharsetStillReportsUtf8AndLength) {
  NameRules rules;
  rules.charset = NameCharset::kAscii;
  EXPECT_THAT(Reasons(CheckName("\xC0\xAF", rules)), ElementsAre(kInvalidUtf8));
  EXPECT_THAT(Reasons(CheckName("", rules)), ElementsAre(kEmpty));
  EXPECT_THAT(Reasons(CheckName(Repeat("\xC3\xA9", 128), rules)),
              ElementsAre(kTooLong, kInvalidCharacter));
}

TEST(ParseNameCharsetTest, KnownNames) {
  absl::StatusOr<NameCharset> unicode = ParseNameCharset("unicode");
  ASSERT_TRUE(unicode.ok()) << unicode.status();
  EXPECT_EQ(*unicode, NameCharset::kUnicode);
  absl::StatusOr<NameCharset> ascii = ParseNameCharset("ascii");
  ASSERT_TRUE(ascii.ok()) << ascii.status();
  EXPECT_EQ(*ascii, NameCharset::kAscii);
}

TEST(ParseNameCharsetTest, UnknownNamesAreInvalidArgument) {
  for (const char* text : {"bogus", "", "ASCII", "Unicode", " ascii", "utf8"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<NameCharset> charset = ParseNameCharset(text);
    EXPECT_EQ(charset.status().code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_THAT(std::string(ParseNameCharset("bogus").status().message()),
              HasSubstr("bogus"));
}

TEST(ParseNameCharsetTest, RoundTripsNameCharsetName) {
  EXPECT_EQ(NameCharsetName(NameCharset::kUnicode), "unicode");
  EXPECT_EQ(NameCharsetName(NameCharset::kAscii), "ascii");
  for (NameCharset charset : {NameCharset::kUnicode, NameCharset::kAscii}) {
    absl::StatusOr<NameCharset> parsed =
        ParseNameCharset(NameCharsetName(charset));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, charset);
  }
}

TEST(IsNameCharacterTest, AsciiSet) {
  for (NameCharset charset : {NameCharset::kUnicode, NameCharset::kAscii}) {
    for (std::int32_t c = 0; c < 0x80; ++c) {
      const bool expected = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '_' || c == '-';
      EXPECT_EQ(IsNameCharacter(c, charset), expected)
          << "code point " << c << " charset " << NameCharsetName(charset);
    }
  }
}

TEST(IsNameCharacterTest, UnicodeLettersAndNumbers) {
  for (std::int32_t c :
       {0xE9, 0xC9, 0x1C5, 0x2B0, 0xAA, 0x6A21, 0x4E00, 0x20000, 0x663, 0xFF11,
        0xB2, 0x2460, 0xBD, 0x216B, 0x3007}) {
    EXPECT_TRUE(IsNameCharacter(c, NameCharset::kUnicode)) << std::hex << c;
    EXPECT_FALSE(IsNameCharacter(c, NameCharset::kAscii)) << std::hex << c;
  }
  for (std::int32_t c : {0x301, 0x93F, 0x200C, 0x200D, 0xFEFF, 0x1F600, 0xA0,
                         0x2028, 0x3000, 0xE000, 0x378, 0xFFFE, 0xFFFF}) {
    EXPECT_FALSE(IsNameCharacter(c, NameCharset::kUnicode)) << std::hex << c;
  }
}

TEST(IsNameCharacterTest, SurrogatesAndOutOfRangeAreNever) {
  for (NameCharset charset : {NameCharset::kUnicode, NameCharset::kAscii}) {
    for (std::int32_t c : {0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0x110000, 0x110041,
                           0x7FFFFFFF, -1, INT32_MIN}) {
      EXPECT_FALSE(IsNameCharacter(c, charset)) << std::hex << c;
    }
  }
  // The last valid code point is a noncharacter; the plane-16 private use
  // area before it is not a letter either.
  EXPECT_FALSE(IsNameCharacter(0x10FFFF, NameCharset::kUnicode));
  EXPECT_FALSE(IsNameCharacter(0x10FFFD, NameCharset::kUnicode));
}

TEST(DescribeCodePointTest, NamesCharacters) {
  EXPECT_EQ(DescribeCodePoint(0xE9), "U+00E9 LATIN SMALL LETTER E WITH ACUTE");
  EXPECT_EQ(DescribeCodePoint(0x301), "U+0301 COMBINING ACUTE ACCENT");
  EXPECT_EQ(DescribeCodePoint(0x1F600), "U+1F600 GRINNING FACE");
  EXPECT_EQ(DescribeCodePoint('.'), "U+002E FULL STOP");
  EXPECT_THAT(DescribeCodePoint('\n'), HasSubstr("U+000A "));
  EXPECT_THAT(DescribeCodePoint(0x378), HasSubstr("U+0378"));
}

TEST(PrintableValueTest, KeepsValidUtf8) {
  EXPECT_EQ(PrintableValue(""), "");
  EXPECT_EQ(PrintableValue("resnet18"), "resnet18");
  EXPECT_EQ(PrintableValue("r\xC3\xA9snet \xE6\xA8\xA1\xF0\x9F\x98\x80"),
            "r\xC3\xA9snet \xE6\xA8\xA1\xF0\x9F\x98\x80");
  // Valid UTF-8 that is not a valid name is kept as is.
  EXPECT_EQ(PrintableValue("a b.c\n"), "a b.c\n");
}

TEST(PrintableValueTest, EscapesInvalidBytes) {
  EXPECT_EQ(PrintableValue("\xFF"), "\\xFF");
  EXPECT_EQ(PrintableValue("a\xFF"
                           "b"),
            "a\\xFFb");
  EXPECT_EQ(PrintableValue("\x80"), "\\x80");
  EXPECT_EQ(PrintableValue("\xC0\xAF"), "\\xC0\\xAF");
  EXPECT_EQ(PrintableValue("\xED\xA0\x80"), "\\xED\\xA0\\x80");
  EXPECT_EQ(PrintableValue("ab\xE6\xA8"), "ab\\xE6\\xA8");
  // A good character right after a bad byte survives.
  EXPECT_EQ(PrintableValue("\xFF\xC3\xA9"), "\\xFF\xC3\xA9");
}

TEST(PrintableValueTest, KeepsValuesUpTo256Bytes) {
  EXPECT_EQ(PrintableValue(Repeat("a", 256)), Repeat("a", 256));
  EXPECT_EQ(PrintableValue(Repeat("a", 255)), Repeat("a", 255));
}

TEST(PrintableValueTest, TruncatesLongValues) {
  EXPECT_EQ(PrintableValue(Repeat("a", 257)), Repeat("a", 256) + "...");
  EXPECT_EQ(PrintableValue(Repeat("a", 100000)), Repeat("a", 256) + "...");
  // Whole characters only: 86 three-byte characters make 258 bytes.
  EXPECT_EQ(PrintableValue(Repeat("\xE6\xA8\xA1", 100)),
            Repeat("\xE6\xA8\xA1", 86) + "...");
  // Escapes count towards the limit: 64 escapes are 256 bytes.
  EXPECT_EQ(PrintableValue(Repeat("\xFF", 300)), Repeat("\\xFF", 64) + "...");
}

TEST(PrintableValueTest, AlwaysValidUtf8) {
  std::mt19937 random(20240611);
  std::uniform_int_distribution<int> length(0, 600);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> kind(0, 3);
  const std::vector<std::string> pieces = {"a", "\xC3\xA9", "\xE6\xA8\xA1",
                                           "\xF0\x9F\x98\x80"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string value;
    const int size = length(random);
    const bool random_bytes = trial % 2 == 0;
    while (static_cast<int>(value.size()) < size) {
      if (random_bytes) {
        value.push_back(static_cast<char>(byte(random)));
      } else {
        value += pieces[kind(random)];
      }
    }
    const std::string printable = PrintableValue(value);
    SCOPED_TRACE(printable);
    EXPECT_TRUE(IsWellFormedUtf8(printable));
    // About 256 bytes: the last piece may overshoot by one sequence.
    EXPECT_LE(printable.size(), 256u + 12u + 3u);
    if (IsWellFormedUtf8(value) && value.size() <= 256) {
      EXPECT_EQ(printable, value);
    }
    if (value.size() > 270) {
      EXPECT_EQ(printable.substr(printable.size() - 3), "...");
    }
  }
}

TEST(IsWellFormedUtf8Test, HelperRejectsWhatItShould) {
  // The property test above is only as good as this helper.
  EXPECT_TRUE(IsWellFormedUtf8("a\xC3\xA9\xE6\xA8\xA1\xF0\x9F\x98\x80"));
  EXPECT_TRUE(IsWellFormedUtf8("\xF4\x8F\xBF\xBF"));
  for (const char* bad :
       {"\xFF", "\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xE6\xA8",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC3"}) {
    EXPECT_FALSE(IsWellFormedUtf8(bad)) << PrintableValue(bad);
  }
}

}  // namespace
}  // namespace mozuma::states
