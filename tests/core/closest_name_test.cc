#include "core/closest_name.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mozuma::states {
namespace {

TEST(ClosestNameTest, PartsTyposAndSwaps) {
  const std::vector<std::string> names = {"exact", "expected_revision",
                                          "training_id", "timeout", "json"};
  EXPECT_EQ(ClosestName("exactt", names), "exact");
  EXPECT_EQ(ClosestName("tiemout", names), "timeout");
  EXPECT_EQ(ClosestName("JSON", names), "json");
  EXPECT_EQ(ClosestName("jsn", names), "json");
  EXPECT_EQ(ClosestName("training-id", names), "training_id");
  EXPECT_EQ(ClosestName("expected", names), "expected_revision");
  EXPECT_EQ(ClosestName("revision", names), "expected_revision");
  // "ex" begins two names and is too short to guess from.
  EXPECT_EQ(ClosestName("ex", names), "");
  EXPECT_EQ(ClosestName("verbose", names), "");
  EXPECT_EQ(ClosestName("", names), "");
}

TEST(ClosestNameTest, APartOfSeveralNamesIsNoGuess) {
  const std::vector<std::string> names = {"listen", "name_charset",
                                          "max_name_bytes", "drain_grace"};
  EXPECT_EQ(ClosestName("charset", names), "name_charset");
  EXPECT_EQ(ClosestName("lsiten", names), "listen");
  // In two names, and far from both.
  EXPECT_EQ(ClosestName("name", names), "");
}

}  // namespace
}  // namespace mozuma::states
