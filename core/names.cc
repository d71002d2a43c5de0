#include "core/names.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace mozuma::states {
namespace {

constexpr std::size_t kMaxPrintableBytes = 256;

bool IsAsciiNameCharacter(std::int32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// What Python's `str.isalnum()` accepts: it is the union of isalpha()
// (general categories Lu, Ll, Lt, Lm, Lo) and isdecimal()/isdigit()/
// isnumeric() (Numeric_Type Decimal, Digit or Numeric).
bool IsPythonAlnum(std::int32_t c) {
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
      return true;
    default:
      return u_getIntPropertyValue(c, UCHAR_NUMERIC_TYPE) != U_NT_NONE;
  }
}

std::string CharsetRule(NameCharset charset) {
  return charset == NameCharset::kAscii
             ? "names may hold only ASCII letters, digits, '_' and '-'"
             : "names may hold only letters, numbers, '_' and '-'";
}

}  // namespace

absl::StatusOr<NameCharset> ParseNameCharset(absl::string_view text) {
  if (text == "unicode") return NameCharset::kUnicode;
  if (text == "ascii") return NameCharset::kAscii;
  return absl::InvalidArgumentError(absl::StrCat(
      "name charset must be \"unicode\" or \"ascii\", not \"", text, "\""));
}

std::string NameCharsetName(NameCharset charset) {
  return charset == NameCharset::kAscii ? "ascii" : "unicode";
}

bool IsNameCharacter(std::int32_t code_point, NameCharset charset) {
  if (IsAsciiNameCharacter(code_point)) return true;
  if (charset == NameCharset::kAscii || code_point < 0x80 ||
      code_point > 0x10FFFF || U_IS_SURROGATE(code_point)) {
    return false;
  }
  return IsPythonAlnum(code_point);
}

std::string DescribeCodePoint(std::int32_t code_point) {
  std::string out = absl::StrFormat("U+%04X", code_point);
  // The formal name, else its corrected alias, else ICU's label for
  // characters without a name ("<control-000A>", "<unassigned-0378>").
  for (UCharNameChoice choice :
       {U_UNICODE_CHAR_NAME, U_CHAR_NAME_ALIAS, U_EXTENDED_CHAR_NAME}) {
    char name[256];
    UErrorCode error = U_ZERO_ERROR;
    const int32_t length =
        u_charName(code_point, choice, name, sizeof(name), &error);
    if (U_SUCCESS(error) && length > 0) {
      absl::StrAppend(&out, " ", absl::string_view(name, length));
      break;
    }
  }
  return out;
}

std::vector<NameProblem> CheckName(absl::string_view name,
                                   const NameRules& rules) {
  std::vector<NameProblem> problems;
  if (name.empty()) {
    problems.push_back({v1::VIOLATION_REASON_EMPTY, "must not be empty"});
    return problems;
  }

  // One pass decodes UTF-8 and finds the first disallowed character. The
  // index counts code points, which is what Python and most people mean by a
  // position in a string.
  const auto* bytes = reinterpret_cast<const uint8_t*>(name.data());
  // Longer inputs are rejected below as TOO_LONG; ICU's macros index with
  // int32_t, so never hand them more than that.
  const int32_t length =
      static_cast<int32_t>(std::min<std::size_t>(name.size(), INT32_MAX));
  std::optional<NameProblem> bad_character;
  int32_t index = 0;
  for (int32_t offset = 0; offset < length; ++index) {
    const int32_t start = offset;
    UChar32 c;
    U8_NEXT(bytes, offset, length, c);
    if (c < 0) {
      problems.clear();
      problems.push_back(
          {v1::VIOLATION_REASON_INVALID_UTF8,
           absl::StrFormat("is not valid UTF-8: byte 0x%02X at byte offset %d "
                           "does not start a well-formed sequence",
                           bytes[start], start)});
      return problems;
    }
    if (!bad_character.has_value() && !IsNameCharacter(c, rules.charset)) {
      std::string description;
      if (c == '\n') {
        description = absl::StrFormat(
            "character %s (newline) at index %d is not allowed: names never "
            "hold line breaks (MoZuMa's pattern lets a final newline "
            "through; this service does not)",
            DescribeCodePoint(c), index);
      } else {
        description = absl::StrFormat(
            "character %s at index %d is not allowed: %s", DescribeCodePoint(c),
            index, CharsetRule(rules.charset));
      }
      bad_character = NameProblem{v1::VIOLATION_REASON_INVALID_CHARACTER,
                                  std::move(description)};
    }
  }
  if (name.size() > rules.max_name_bytes) {
    problems.push_back(
        {v1::VIOLATION_REASON_TOO_LONG,
         absl::StrFormat("is %d bytes long; the limit is %d bytes of UTF-8",
                         name.size(), rules.max_name_bytes)});
  }
  if (bad_character.has_value()) problems.push_back(*std::move(bad_character));
  return problems;
}

bool IsValidName(absl::string_view name, const NameRules& rules) {
  return CheckName(name, rules).empty();
}

std::string PrintableValue(absl::string_view value) {
  std::string out;
  const auto* bytes = reinterpret_cast<const uint8_t*>(value.data());
  const int32_t length = static_cast<int32_t>(
      std::min<std::size_t>(value.size(), kMaxPrintableBytes + 8));
  int32_t offset = 0;
  while (offset < length && out.size() < kMaxPrintableBytes) {
    const int32_t start = offset;
    UChar32 c;
    U8_NEXT(bytes, offset, length, c);
    if (c < 0) {
      for (int32_t i = start; i < offset; ++i) {
        absl::StrAppendFormat(&out, "\\x%02X", bytes[i]);
      }
    } else {
      out.append(value.data() + start, offset - start);
    }
  }
  if (static_cast<std::size_t>(offset) < value.size()) out += "...";
  return out;
}

}  // namespace mozuma::states
