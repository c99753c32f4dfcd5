// The greedy set cover behind `mmdiff fuzz --minimize-corpus`.
#include "fuzz/corpus_min.h"

#include <gtest/gtest.h>

#include <set>

namespace mmdiff {
namespace {

std::set<uint64_t> Union(const std::vector<std::vector<uint64_t>>& f, const std::vector<size_t>& keep) {
  std::set<uint64_t> u;
  for (size_t i : keep) u.insert(f[i].begin(), f[i].end());
  return u;
}

TEST(GreedyCover, KeepsEveryFeatureWithFewerPrograms) {
  // {1,2,3} covers the first two; {4} is needed; {} adds nothing; {3,4} is
  // covered by the others once they are kept.
  std::vector<std::vector<uint64_t>> f = {{1, 2}, {2, 3}, {1, 2, 3}, {4}, {}, {3, 4}, {2, 2, 1}};
  std::vector<size_t> ops = {3, 3, 5, 1, 1, 4, 2};
  std::vector<size_t> keep = GreedyCover(f, ops);
  std::vector<size_t> all = {0, 1, 2, 3, 4, 5, 6};
  EXPECT_EQ(Union(f, keep), Union(f, all));
  // Greedy: {1,2,3} first (3 new), then {3,4} or {4} (1 new each: fewer ops wins).
  EXPECT_EQ(keep, (std::vector<size_t>{2, 3}));
}

TEST(GreedyCover, TiesGoToTheShorterProgram) {
  std::vector<std::vector<uint64_t>> f = {{7, 8}, {8, 7}};
  EXPECT_EQ(GreedyCover(f, {9, 2}), (std::vector<size_t>{1}));
  EXPECT_EQ(GreedyCover(f, {2, 9}), (std::vector<size_t>{0}));
  EXPECT_TRUE(GreedyCover({}, {}).empty());
}

}  // namespace
}  // namespace mmdiff
