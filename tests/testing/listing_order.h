// The registry's listing order, restated for tests without SortKey(): an
// independent comparator and a corpus of keys that exercises every level
// of the order. Shared by the core's SortKey tests and the storage
// conformance suite, so that both hold the stores to one definition.
#ifndef MOZUMA_STATES_TESTS_TESTING_LISTING_ORDER_H_
#define MOZUMA_STATES_TESTS_TESTING_LISTING_ORDER_H_

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "mozuma/states/v1/state.pb.h"
#include "tests/testing/state_builders.h"

namespace mozuma::states {

// Decodes valid UTF-8 into code points, independently of the store and of
// core/ (the tests' own idea of "code point order").
inline std::u32string CodePoints(const std::string& utf8) {
  std::u32string out;
  for (std::size_t i = 0; i < utf8.size();) {
    const unsigned char lead = static_cast<unsigned char>(utf8[i]);
    const int length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    char32_t c = length == 1   ? lead
                 : length == 2 ? lead & 0x1F
                 : length == 3 ? lead & 0x0F
                               : lead & 0x07;
    for (int k = 1; k < length; ++k) {
      c = (c << 6) | (static_cast<unsigned char>(utf8[i + k]) & 0x3F);
    }
    out.push_back(c);
    i += length;
  }
  return out;
}

// The listing order as the API documents it: backend, architecture, extra
// element by element (a list before its extensions), training id, each by
// code point.
inline bool DocumentedLess(const v1::StateKey& a, const v1::StateKey& b) {
  auto fields = [](const v1::StateKey& key) {
    std::vector<std::u32string> extras;
    for (const std::string& extra : key.state_type().extra()) {
      extras.push_back(CodePoints(extra));
    }
    return std::make_tuple(CodePoints(key.state_type().backend()),
                           CodePoints(key.state_type().architecture()),
                           std::move(extras), CodePoints(key.training_id()));
  };
  return fields(a) < fields(b);
}

// Keys that exercise each level of the order, with names outside ASCII:
// `𝔸` (U+1D538) sorts after `ｚ` (U+FF5A) by code point, but before it in
// UTF-16, so a store that collates UTF-16 fails.
inline std::vector<v1::StateKey> ListingOrderKeys() {
  auto Key = [](std::string backend, std::string architecture,
                std::vector<std::string> extras, std::string training_id) {
    return MakeStateKey(MakeStateType(std::move(backend),
                                      std::move(architecture),
                                      std::move(extras)),
                        std::move(training_id));
  };
  const std::string kResnetAccent = "r\xC3\xA9snet";      // résnet
  const std::string kResnetGrave = "r\xC3\xA8snet";       // rèsnet
  const std::string kModel = "\xE6\xA8\xA1\xE5\x9E\x8B";  // 模型
  const std::string kMo = "\xE6\xA8\xA1";                 // 模
  const std::string kDoubleA = "\xF0\x9D\x94\xB8";        // 𝔸 U+1D538
  const std::string kFullZ = "\xEF\xBD\x9A";              // ｚ U+FF5A
  const std::string kArabic3 = "\xD9\xA3";                // ٣ U+0663
  const std::string kSuper2 = "\xC2\xB2";                 // ² U+00B2
  const std::string kHalf = "\xC2\xBD";                   // ½ U+00BD
  const std::string kDz = "\xC7\x85";                     // ǅ U+01C5
  return {
      Key("pytorch", "resnet", {}, "t"),
      Key("pytorch", kResnetAccent, {}, "t"),
      Key("pytorch", kResnetGrave, {}, "t"),
      Key("pytorch", "reset", {}, "t"),
      Key("pytorch", "resnet18", {}, "t"),
      Key("pytorch", "resnet18", {}, "a"),
      Key("pytorch", "resnet18", {}, "Z"),
      Key("pytorch", "resnet18", {}, "_"),
      Key("pytorch", "resnet18", {}, "-"),
      Key("pytorch", "resnet18", {}, "0"),
      Key("pytorch", "resnet18", {}, kModel),
      Key("pytorch", "resnet18", {"a"}, "t"),
      Key("pytorch", "resnet18", {"a"}, "a"),
      Key("pytorch", "resnet18", {"a", "b"}, "t"),
      Key("pytorch", "resnet18", {"a", "b", "c"}, "a"),
      Key("pytorch", "resnet18", {"a", "c"}, "t"),
      Key("pytorch", "resnet18", {"a-"}, "t"),
      Key("pytorch", "resnet18", {"ab"}, "t"),
      Key("pytorch", "resnet18", {"b"}, "a"),
      Key("pytorch", "resnet18", {"b", "a"}, "t"),
      Key("pytorch", "resnet18", {kDoubleA}, "t"),
      Key("pytorch", "resnet18", {kFullZ}, "t"),
      Key("pytorch", "resnet180", {}, "a"),
      Key("pytorch", "resnet18-v2", {}, "a"),
      Key("pytorch", "resnet18_v2", {}, "a"),
      Key("pytorch", kModel, {}, "t"),
      Key("pytorch", kMo, {}, "t"),
      Key("pytorch", kDoubleA, {}, "t"),
      Key("pytorch", kFullZ, {}, "t"),
      Key("pytorch", kArabic3, {}, "t"),
      Key("pytorch", kSuper2, {}, "t"),
      Key("pytorch", kHalf, {}, "t"),
      Key("pytorch", kDz, {}, "t"),
      Key("pytorc", "z", {}, "z"),
      Key("pytorch2", "a", {}, "a"),
      Key("pytorch-lightning", "a", {}, "a"),
      Key("Pytorch", "a", {}, "a"),
      Key("py", "torch", {}, "a"),
      Key(kModel, "a", {}, "a"),
      Key(kFullZ, "a", {}, "a"),
      Key(kDoubleA, "a", {}, "a"),
  };
}

}  // namespace mozuma::states

#endif  // MOZUMA_STATES_TESTS_TESTING_LISTING_ORDER_H_
