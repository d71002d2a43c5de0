// The name rules of MoZuMa state identities.
//
// A name is a `backend`, an `architecture`, an `extra` element or a
// `training_id`. MoZuMa checks every name with the Python pattern
// `^[\w\-\d]+$`; ValidateName() accepts exactly the same strings, apart from
// one deliberate difference: Python's `$` lets a final newline through and we
// reject every newline. This file has no gRPC and no storage in it; the
// server and the client library share it.
#ifndef MOZUMA_STATES_CORE_NAMES_H_
#define MOZUMA_STATES_CORE_NAMES_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mozuma/states/v1/state_service.pb.h"

namespace mozuma::states {

// Which characters a name may hold, besides `_` and `-`.
enum class NameCharset {
  // Unicode letters (general category Lu, Ll, Lt, Lm, Lo) and numbers (any
  // Numeric_Type), as Python's `str.isalnum()`: MoZuMa's own rule.
  kUnicode,
  // ASCII letters and digits only: `[A-Za-z0-9_-]`.
  kAscii,
};

// Parses "unicode" or "ascii". Returns INVALID_ARGUMENT for anything else.
absl::StatusOr<NameCharset> ParseNameCharset(absl::string_view text);
std::string NameCharsetName(NameCharset charset);

// The limits a server enforces. Plain value type; copy freely.
struct NameRules {
  static constexpr std::size_t kDefaultMaxNameBytes = 255;
  static constexpr std::size_t kDefaultMaxExtras = 32;

  // The longest valid name, in UTF-8 bytes.
  std::size_t max_name_bytes = kDefaultMaxNameBytes;
  // The most `extra` elements a state type may have.
  std::size_t max_extras = kDefaultMaxExtras;
  NameCharset charset = NameCharset::kUnicode;
};

// One problem with one name. Mirrors v1::Violation without the field path,
// which only the caller knows.
struct NameProblem {
  v1::ViolationReason reason;
  // An English sentence naming the first bad character and its 0-based
  // code point index, for example
  // "character U+0301 COMBINING ACUTE ACCENT at index 1 is not allowed: ...".
  std::string description;
};

// Returns true when `code_point` may appear in a name under `charset`.
// Surrogates and values outside the Unicode range are never allowed.
bool IsNameCharacter(std::int32_t code_point, NameCharset charset);

// Checks one name. Returns every problem found, most fundamental first: an
// empty name gives EMPTY alone; a name that is not UTF-8 gives INVALID_UTF8
// alone; otherwise TOO_LONG and INVALID_CHARACTER may both be reported.
// Never fails and never reads past `name`.
std::vector<NameProblem> CheckName(absl::string_view name,
                                   const NameRules& rules);

// Returns true when CheckName() would report no problem.
bool IsValidName(absl::string_view name, const NameRules& rules);

// Renders `value` for a violation report: valid UTF-8 is kept, any other
// byte is written as `\xHH`, and the result is cut after about 256 bytes
// with a trailing "...". The result is always valid UTF-8.
std::string PrintableValue(absl::string_view value);

// Describes `code_point` for people, as "U+00E9 LATIN SMALL LETTER E WITH
// ACUTE"; a character without a name gets ICU's label instead, as
// "U+000A <control-000A>".
std::string DescribeCodePoint(std::int32_t code_point);

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_CORE_NAMES_H_
