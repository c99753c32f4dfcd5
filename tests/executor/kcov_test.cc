// Kernel coverage (executor/kcov.h): the feature table the program
// processes fill, and a kernel without KCOV (the host) left alone.
#include "executor/kcov.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>

namespace mmdiff::exec {
namespace {

std::unique_ptr<ExecShared> Shared() {
  auto s = std::make_unique<ExecShared>();  // value-initialised: an empty table
  return s;
}

TEST(KcovMap, EdgesAreDedupedSortedAndCleared) {
  auto s = Shared();
  KcovAddEdge(s.get(), 0, 0xffffffff81000010);
  KcovAddEdge(s.get(), 0xffffffff81000010, 0xffffffff81000020);
  KcovAddEdge(s.get(), 0xffffffff81000010, 0xffffffff81000020);  // the same edge
  KcovAddEdge(s.get(), 0xffffffff81000020, 0xffffffff81000010);  // the reverse edge is another
  std::vector<uint32_t> f = KcovTakeFeatures(s.get());
  ASSERT_EQ(f.size(), 3u);
  EXPECT_TRUE(std::is_sorted(f.begin(), f.end()));
  EXPECT_EQ(std::set<uint32_t>(f.begin(), f.end()).size(), 3u);
  for (uint32_t x : f) EXPECT_LT(x, kKcovBits);
  // Taken: the next run starts from an empty map.
  EXPECT_TRUE(KcovTakeFeatures(s.get()).empty());
  // The same edge gives the same feature in another run.
  KcovAddEdge(s.get(), 0xffffffff81000020, 0xffffffff81000010);
  std::vector<uint32_t> again = KcovTakeFeatures(s.get());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(std::binary_search(f.begin(), f.end(), again[0]));
}

TEST(KcovMap, NearbyEdgesSpreadOverTheMap) {
  // A kernel's PCs are close together: a few thousand consecutive edges
  // must land on mostly different bits (a weak hash would pile them up).
  auto s = Shared();
  for (uint64_t pc = 0xffffffff81000000; pc < 0xffffffff81000000 + 4000 * 5; pc += 5) KcovAddEdge(s.get(), pc, pc + 5);
  EXPECT_GT(KcovTakeFeatures(s.get()).size(), 3800u);
}

TEST(KcovProcess, OffMeansNoDeviceAndNoFeatures) {
  auto s = Shared();
  s->kcov_on = 0;
  KcovStart(s.get());  // a server not asked for coverage: nothing opened
  KcovCollect(s.get());
  EXPECT_TRUE(KcovTakeFeatures(s.get()).empty());
}

TEST(KcovProcess, AKernelWithoutKcovSaysWhy) {
  if (access(kKcovPath, F_OK) == 0) GTEST_SKIP() << "this kernel has KCOV";
  std::string why;
  EXPECT_FALSE(KcovAvailable(&why));
  EXPECT_NE(why.find(kKcovPath), std::string::npos) << why;
  // A process asked to trace on such a kernel runs untraced.
  auto s = Shared();
  s->kcov_on = 1;
  KcovStart(s.get());
  KcovCollect(s.get());
  EXPECT_TRUE(KcovTakeFeatures(s.get()).empty());
}

}  // namespace
}  // namespace mmdiff::exec
