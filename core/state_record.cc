#include "core/state_record.h"

#include <map>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/state_validation.h"
#include "unicode/uchar.h"
#include "unicode/utf8.h"

namespace mozuma::states {
namespace {

bool IsValidUtf8(absl::string_view text) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = static_cast<int32_t>(text.size());
  for (int32_t i = 0; i < length;) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
  }
  return true;
}

// Whether `text` is valid UTF-8, and the first code point (and its index)
// that is whitespace or a control character, if any. Returns false on
// invalid UTF-8.
bool FindForbiddenUriChar(absl::string_view text, UChar32& found,
                          int& index) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(text.data());
  const int32_t length = static_cast<int32_t>(text.size());
  index = -1;
  int count = 0;
  for (int32_t i = 0; i < length; ++count) {
    UChar32 c;
    U8_NEXT(bytes, i, length, c);
    if (c < 0) return false;
    // Unicode's White_Space property (U+0020, U+00A0, U+1680, U+2000 to
    // U+200A, U+2028, U+2029, U+202F, U+205F, U+3000...), the controls
    // (Cc), and the byte order mark.
    if (index < 0 && (u_isUWhiteSpace(c) || u_charType(c) == U_CONTROL_CHAR ||
                      c == 0xFEFF)) {
      found = c;
      index = count;
    }
  }
  return true;
}

void ValidateUri(absl::string_view uri, const std::string& field,
                 std::vector<v1::Violation>& violations) {
  if (uri.empty()) {
    violations.push_back(MakeViolation(
        field, uri, v1::VIOLATION_REASON_MISSING,
        "is required: where the weights are, for example "
        "file:///srv/states/pytorch.resnet18.cls1000.imagenet.pt"));
    return;
  }
  if (uri.size() > kMaxUriBytes) {
    violations.push_back(MakeViolation(
        field, uri, v1::VIOLATION_REASON_TOO_LONG,
        absl::StrFormat("is %d bytes long; the limit is %d bytes", uri.size(),
                        kMaxUriBytes)));
    return;
  }
  UChar32 c = 0;
  int index = -1;
  if (!FindForbiddenUriChar(uri, c, index)) {
    violations.push_back(MakeViolation(field, uri,
                                       v1::VIOLATION_REASON_INVALID_UTF8,
                                       "is not valid UTF-8"));
    return;
  }
  if (index >= 0) {
    violations.push_back(MakeViolation(
        field, uri, v1::VIOLATION_REASON_INVALID_CHARACTER,
        absl::StrCat("character ", DescribeCodePoint(c), " at index ", index,
                     " is not allowed in a URI: percent-encode it")));
    return;
  }
  // RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":".
  std::size_t colon = uri.find(':');
  bool has_scheme = colon != absl::string_view::npos && colon > 0 &&
                    absl::ascii_isalpha(static_cast<unsigned char>(uri[0]));
  for (std::size_t i = 1; has_scheme && i < colon; ++i) {
    const unsigned char ch = static_cast<unsigned char>(uri[i]);
    has_scheme = absl::ascii_isalnum(ch) || ch == '+' || ch == '-' || ch == '.';
  }
  if (!has_scheme || colon + 1 == uri.size()) {
    violations.push_back(MakeViolation(
        field, uri, v1::VIOLATION_REASON_INVALID_FORMAT,
        "is not an absolute URI: it must start with a scheme such as file:, "
        "s3: or https: and go on after it"));
  }
}

void ValidateSha256(absl::string_view sha256, const std::string& field,
                    std::vector<v1::Violation>& violations) {
  if (sha256.empty()) return;
  bool hex = sha256.size() == 64;
  for (std::size_t i = 0; hex && i < sha256.size(); ++i) {
    const char ch = sha256[i];
    hex = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
  }
  if (!hex) {
    violations.push_back(MakeViolation(
        field, sha256, v1::VIOLATION_REASON_INVALID_FORMAT,
        absl::StrFormat("must be 64 lowercase hexadecimal digits (or empty "
                        "when unknown); got %d characters",
                        sha256.size())));
  }
}

void ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels,
                    const std::string& prefix, const NameRules& rules,
                    std::vector<v1::Violation>& violations) {
  if (labels.size() > kMaxLabels) {
    violations.push_back(MakeViolation(
        prefix, absl::StrCat(labels.size()),
        v1::VIOLATION_REASON_TOO_MANY_LABELS,
        absl::StrFormat("has %d labels; a state has at most %d", labels.size(),
                        kMaxLabels)));
    return;
  }
  // A protobuf map has no order; report in key order so that errors are
  // deterministic.
  const std::map<std::string, std::string> sorted(labels.begin(),
                                                  labels.end());
  for (const auto& [key, value] : sorted) {
    const std::string field =
        absl::StrCat(prefix, "[\"", PrintableValue(key), "\"]");
    AppendNameViolations(key, field, rules, violations);
    if (value.size() > kMaxLabelValueBytes) {
      violations.push_back(MakeViolation(
          field, value, v1::VIOLATION_REASON_TOO_LONG,
          absl::StrFormat("the value is %d bytes long; the limit is %d bytes",
                          value.size(), kMaxLabelValueBytes)));
    } else if (!IsValidUtf8(value)) {
      violations.push_back(MakeViolation(field, value,
                                         v1::VIOLATION_REASON_INVALID_UTF8,
                                         "the value is not valid UTF-8"));
    }
  }
}

}  // namespace

std::vector<v1::Violation> ValidateState(const v1::State& state,
                                         const NameRules& rules,
                                         absl::string_view prefix) {
  std::vector<v1::Violation> violations;
  const std::string key_field = absl::StrCat(prefix, "state_key");
  if (!state.has_state_key()) {
    violations.push_back(MakeViolation(key_field, "",
                                       v1::VIOLATION_REASON_MISSING,
                                       "is required"));
  } else {
    violations = ValidateStateKey(state.state_key(), rules,
                                  absl::StrCat(key_field, "."));
  }
  ValidateUri(state.uri(), absl::StrCat(prefix, "uri"), violations);
  ValidateSha256(state.sha256(), absl::StrCat(prefix, "sha256"), violations);
  if (state.has_size_bytes() && state.size_bytes() < 0) {
    violations.push_back(MakeViolation(
        absl::StrCat(prefix, "size_bytes"), absl::StrCat(state.size_bytes()),
        v1::VIOLATION_REASON_OUT_OF_RANGE,
        "must not be negative; leave it unset when the size is unknown"));
  }
  ValidateLabels(state.labels(), absl::StrCat(prefix, "labels"), rules,
                 violations);
  return violations;
}

bool SameContent(const v1::State& a, const v1::State& b) {
  if (a.uri() != b.uri() || a.sha256() != b.sha256() ||
      a.has_size_bytes() != b.has_size_bytes() ||
      a.size_bytes() != b.size_bytes() ||
      a.labels().size() != b.labels().size()) {
    return false;
  }
  for (const auto& [key, value] : a.labels()) {
    auto it = b.labels().find(key);
    if (it == b.labels().end() || it->second != value) return false;
  }
  return true;
}

v1::State ContentOnly(const v1::State& state) {
  v1::State content = state;
  content.clear_name();
  content.clear_create_time();
  content.clear_update_time();
  content.clear_revision();
  return content;
}

}  // namespace mozuma::states
