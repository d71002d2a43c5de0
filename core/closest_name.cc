#include "core/closest_name.h"

#include <algorithm>
#include <cstddef>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"

namespace mozuma::states {
namespace {

std::string Normalized(absl::string_view name) {
  return absl::AsciiStrToLower(absl::StrReplaceAll(name, {{"-", "_"}}));
}

// The optimal string alignment distance: insertions, deletions,
// substitutions and swaps of two neighbours each cost 1.
std::size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<std::size_t>> d(
      a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string ClosestName(absl::string_view name,
                        const std::vector<std::string>& candidates) {
  const std::string wanted = Normalized(name);
  if (wanted.empty()) return "";
  if (wanted.size() >= 3) {
    std::string holder;
    int count = 0;
    for (const std::string& candidate : candidates) {
      if (absl::StrContains(Normalized(candidate), wanted) &&
          candidate != holder) {
        holder = candidate;
        ++count;
      }
    }
    if (count == 1) return holder;
  }
  const std::size_t limit = wanted.size() <= 4 ? 1 : 2;
  std::string best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const std::string& candidate : candidates) {
    const std::size_t distance = EditDistance(wanted, Normalized(candidate));
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best_distance <= limit ? best : "";
}

}  // namespace mozuma::states
