// Tests for the compatibility relation (core/compatibility.h).
#include "core/compatibility.h"

#include <cstddef>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mozuma/states/v1/state.pb.h"
#include "mozuma/states/v1/state_service.pb.h"
#include "tests/testing/state_builders.h"

namespace mozuma::states {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::IsEmpty;

std::vector<std::string> Extras(const v1::StateType& state_type) {
  return {state_type.extra().begin(), state_type.extra().end()};
}

TEST(CompareStateTypesTest, EqualStateTypesAreExact) {
  const v1::StateType model = MakeStateType("pytorch", "resnet18", {"cls1000"});
  const v1::CompatibilityResult result = CompareStateTypes(
      model, MakeStateType("pytorch", "resnet18", {"cls1000"}));
  EXPECT_EQ(result.compatibility(), v1::COMPATIBILITY_EXACT);
  EXPECT_THAT(result.differing_fields(), IsEmpty());
}

TEST(CompareStateTypesTest, NoExtrasOnEitherSideIsExact) {
  const v1::CompatibilityResult result =
      CompareStateTypes(MakeStateType("pytorch", "clip-image-rn50"),
                        MakeStateType("pytorch", "clip-image-rn50"));
  EXPECT_EQ(result.compatibility(), v1::COMPATIBILITY_EXACT);
  EXPECT_THAT(result.differing_fields(), IsEmpty());
}

TEST(CompareStateTypesTest, DifferentExtrasAreCompatible) {
  const v1::StateType model = MakeStateType("pytorch", "resnet18", {"cls1000"});
  for (const v1::StateType& candidate :
       {MakeStateType("pytorch", "resnet18", {"cls365"}),
        MakeStateType("pytorch", "resnet18"),
        MakeStateType("pytorch", "resnet18", {"cls1000", "v2"}),
        MakeStateType("pytorch", "resnet18", {"CLS1000"})}) {
    SCOPED_TRACE(candidate.ShortDebugString());
    const v1::CompatibilityResult result = CompareStateTypes(model, candidate);
    EXPECT_EQ(result.compatibility(), v1::COMPATIBILITY_COMPATIBLE);
    EXPECT_THAT(result.differing_fields(), ElementsAre("extra"));
  }
}

TEST(CompareStateTypesTest, ExtraOrderMatters) {
  const v1::CompatibilityResult result =
      CompareStateTypes(MakeStateType("pytorch", "resnet18", {"a", "b"}),
                        MakeStateType("pytorch", "resnet18", {"b", "a"}));
  EXPECT_EQ(result.compatibility(), v1::COMPATIBILITY_COMPATIBLE);
  EXPECT_THAT(result.differing_fields(), ElementsAre("extra"));
}

TEST(CompareStateTypesTest, DifferentBackendIsIncompatible) {
  const v1::CompatibilityResult result =
      CompareStateTypes(MakeStateType("pytorch", "resnet18", {"cls1000"}),
                        MakeStateType("tensorflow", "resnet18", {"cls1000"}));
  EXPECT_EQ(result.compatibility(), v1::COMPATIBILITY_INCOMPATIBLE);
  EXPECT_THAT(result.differing_fields(), ElementsAre("backend"));
}

TEST(CompareStateTypesTest, DifferentArchitectureIsIncompatible) {
  const v1::CompatibilityResult result =
      CompareStateTypes(MakeStateType("pytorch", "resnet18", {"cls1000"}),
                        MakeStateType("pytorch", "densenet161", {"cls1000"}));
  EXPECT_EQ(result.compatibility(), v1::COMPATIBILITY_INCOMPATIBLE);
  EXPECT_THAT(result.differing_fields(), ElementsAre("architecture"));
}

TEST(CompareStateTypesTest, DifferingFieldsAreInFieldOrder) {
  EXPECT_THAT(
      CompareStateTypes(MakeStateType("pytorch", "resnet18", {"cls1000"}),
                        MakeStateType("sklearn", "densenet161", {"cls365"}))
          .differing_fields(),
      ElementsAre("backend", "architecture", "extra"));
  EXPECT_THAT(
      CompareStateTypes(MakeStateType("pytorch", "resnet18", {"cls1000"}),
                        MakeStateType("sklearn", "resnet18", {"cls365"}))
          .differing_fields(),
      ElementsAre("backend", "extra"));
  EXPECT_THAT(
      CompareStateTypes(MakeStateType("pytorch", "resnet18"),
                        MakeStateType("pytorch", "resnet50", {"cls365"}))
          .differing_fields(),
      ElementsAre("architecture", "extra"));
  EXPECT_THAT(CompareStateTypes(MakeStateType("pytorch", "resnet18"),
                                MakeStateType("sklearn", "resnet50"))
                  .differing_fields(),
              ElementsAre("backend", "architecture"));
}

TEST(CompareStateTypesTest, NoPrefixMatching) {
  const v1::StateType model = MakeStateType("pytorch", "resnet18");
  for (const char* architecture : {"resnet180", "resnet18-v2", "resnet1",
                                   "resnet", "Resnet18", "resnet18_"}) {
    SCOPED_TRACE(architecture);
    const v1::StateType candidate = MakeStateType("pytorch", architecture);
    EXPECT_FALSE(IsCompatible(model, candidate));
    EXPECT_EQ(CompareStateTypes(model, candidate).compatibility(),
              v1::COMPATIBILITY_INCOMPATIBLE);
  }
  EXPECT_FALSE(IsCompatible(MakeStateType("pytorch", "resnet18"),
                            MakeStateType("pytorch2", "resnet18")));
}

TEST(CompareStateTypesTest, ComparisonIsBytewise) {
  // U+00E9 precomposed against e + U+0301: the same text to a reader, but
  // different names.
  EXPECT_FALSE(IsCompatible(MakeStateType("pytorch", "r\xC3\xA9snet"),
                            MakeStateType("pytorch", "re\xCC\x81snet")));
  EXPECT_TRUE(IsCompatible(MakeStateType("pytorch", "r\xC3\xA9snet", {"a"}),
                           MakeStateType("pytorch", "r\xC3\xA9snet")));
}

TEST(CompareStateTypesTest, FieldBoundariesMatter) {
  // Concatenating backend and architecture gives the same string in both,
  // but the fields differ.
  EXPECT_FALSE(
      IsCompatible(MakeStateType("ab", "c"), MakeStateType("a", "bc")));
  // Extras that join to the same string are still different lists.
  EXPECT_EQ(CompareStateTypes(MakeStateType("a", "b", {"xy"}),
                              MakeStateType("a", "b", {"x", "y"}))
                .compatibility(),
            v1::COMPATIBILITY_COMPATIBLE);
}

// Generates `count` state types from small pools, so that equal and
// compatible pairs are common.
std::vector<v1::StateType> RandomStateTypes(std::size_t count,
                                            unsigned int seed) {
  const std::vector<std::string> backends = {"pytorch", "tensorflow",
                                             "sklearn"};
  const std::vector<std::string> architectures = {
      "resnet18", "resnet180", "resnet18-v2", "densenet161", "clip-image-rn50"};
  const std::vector<std::string> extras = {"cls1000", "cls365", "cased-v2",
                                           "resnet18"};
  std::mt19937 random(seed);
  std::uniform_int_distribution<std::size_t> backend(0, backends.size() - 1);
  std::uniform_int_distribution<std::size_t> architecture(
      0, architectures.size() - 1);
  std::uniform_int_distribution<std::size_t> extra(0, extras.size() - 1);
  std::uniform_int_distribution<int> extra_count(0, 2);
  std::vector<v1::StateType> state_types;
  for (std::size_t i = 0; i < count; ++i) {
    v1::StateType& state_type = state_types.emplace_back();
    state_type.set_backend(backends[backend(random)]);
    state_type.set_architecture(architectures[architecture(random)]);
    for (int k = extra_count(random); k > 0; --k) {
      state_type.add_extra(extras[extra(random)]);
    }
  }
  return state_types;
}

class CompatibilityPropertyTest : public ::testing::Test {
 protected:
  const std::vector<v1::StateType> state_types_ =
      RandomStateTypes(300, 20240611);
};

TEST_F(CompatibilityPropertyTest, SampleIsInteresting) {
  // The properties below mean something only if the sample holds exact,
  // compatible and incompatible pairs.
  std::size_t exact = 0, compatible = 0, incompatible = 0;
  for (std::size_t i = 0; i < state_types_.size(); ++i) {
    for (std::size_t j = 0; j < state_types_.size(); ++j) {
      if (i == j) continue;
      switch (
          CompareStateTypes(state_types_[i], state_types_[j]).compatibility()) {
        case v1::COMPATIBILITY_EXACT:
          ++exact;
          break;
        case v1::COMPATIBILITY_COMPATIBLE:
          ++compatible;
          break;
        default:
          ++incompatible;
      }
    }
  }
  EXPECT_GT(exact, 100u);
  EXPECT_GT(compatible, 1000u);
  EXPECT_GT(incompatible, 10000u);
}

TEST_F(CompatibilityPropertyTest, IsCompatibleIsReflexive) {
  for (const v1::StateType& a : state_types_) {
    EXPECT_TRUE(IsCompatible(a, a)) << a.ShortDebugString();
    // A copy is a different object with equal fields.
    const v1::StateType copy = a;
    EXPECT_TRUE(IsCompatible(a, copy)) << a.ShortDebugString();
  }
}

TEST_F(CompatibilityPropertyTest, IsCompatibleIsSymmetric) {
  for (const v1::StateType& a : state_types_) {
    for (const v1::StateType& b : state_types_) {
      EXPECT_EQ(IsCompatible(a, b), IsCompatible(b, a))
          << a.ShortDebugString() << " / " << b.ShortDebugString();
    }
  }
}

TEST_F(CompatibilityPropertyTest, IsCompatibleIsTransitive) {
  // Every triple (a, b, c) with a~b and b~c must have a~c; triples where
  // a~b fails hold vacuously, so the inner loop runs only for a~b.
  std::size_t checked = 0;
  for (const v1::StateType& a : state_types_) {
    for (const v1::StateType& b : state_types_) {
      if (!IsCompatible(a, b)) continue;
      for (const v1::StateType& c : state_types_) {
        if (!IsCompatible(b, c)) continue;
        ++checked;
        ASSERT_TRUE(IsCompatible(a, c))
            << a.ShortDebugString() << " / " << b.ShortDebugString() << " / "
            << c.ShortDebugString();
      }
    }
  }
  EXPECT_GT(checked, 10000u);
}

TEST_F(CompatibilityPropertyTest, IsCompatibleMeansSameBackendAndArchitecture) {
  for (const v1::StateType& a : state_types_) {
    for (const v1::StateType& b : state_types_) {
      EXPECT_EQ(IsCompatible(a, b), a.backend() == b.backend() &&
                                        a.architecture() == b.architecture())
          << a.ShortDebugString() << " / " << b.ShortDebugString();
    }
  }
}

TEST_F(CompatibilityPropertyTest, CompareStateTypesAgreesWithFields) {
  for (const v1::StateType& a : state_types_) {
    for (const v1::StateType& b : state_types_) {
      SCOPED_TRACE(a.ShortDebugString() + " / " + b.ShortDebugString());
      const v1::CompatibilityResult ab = CompareStateTypes(a, b);
      const v1::CompatibilityResult ba = CompareStateTypes(b, a);
      const bool same_backend = a.backend() == b.backend();
      const bool same_architecture = a.architecture() == b.architecture();
      const bool same_extras = Extras(a) == Extras(b);

      EXPECT_EQ(ab.compatibility() == v1::COMPATIBILITY_EXACT,
                same_backend && same_architecture && same_extras);
      EXPECT_EQ(ab.compatibility() != v1::COMPATIBILITY_INCOMPATIBLE,
                IsCompatible(a, b));
      EXPECT_EQ(ab.compatibility(), ba.compatibility());
      EXPECT_THAT(ba.differing_fields(),
                  ElementsAreArray(ab.differing_fields()));

      std::vector<std::string> expected_fields;
      if (!same_backend) expected_fields.push_back("backend");
      if (!same_architecture) expected_fields.push_back("architecture");
      if (!same_extras) expected_fields.push_back("extra");
      EXPECT_THAT(ab.differing_fields(), ElementsAreArray(expected_fields));
    }
  }
}

}  // namespace
}  // namespace mozuma::states
