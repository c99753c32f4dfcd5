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

TEST(KcovTable, EdgesAreDedupedSortedAndCleared) {
  auto s = Shared();
  KcovAddEdge(s.get(), 0, 0xffffffff81000010);
  KcovAddEdge(s.get(), 0xffffffff81000010, 0xffffffff81000020);
  KcovAddEdge(s.get(), 0xffffffff81000010, 0xffffffff81000020);  // the same edge
  KcovAddEdge(s.get(), 0xffffffff81000020, 0xffffffff81000010);  // the reverse edge is another
  EXPECT_EQ(s->kcov_count, 3u);
  std::vector<uint32_t> f = KcovTakeFeatures(s.get());
  ASSERT_EQ(f.size(), 3u);
  EXPECT_TRUE(std::is_sorted(f.begin(), f.end()));
  EXPECT_EQ(std::set<uint32_t>(f.begin(), f.end()).size(), 3u);
  EXPECT_EQ(std::count(f.begin(), f.end(), 0u), 0) << "0 marks an empty slot, never a feature";
  // Taken: the next run starts from an empty table.
  EXPECT_EQ(s->kcov_count, 0u);
  EXPECT_TRUE(KcovTakeFeatures(s.get()).empty());
  // The same edges give the same features in another run.
  KcovAddEdge(s.get(), 0xffffffff81000020, 0xffffffff81000010);
  std::vector<uint32_t> again = KcovTakeFeatures(s.get());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_TRUE(std::binary_search(f.begin(), f.end(), again[0]));
}

TEST(KcovTable, StopsAtThreeQuartersFull) {
  auto s = Shared();
  for (uint64_t pc = 1; pc <= kKcovSlots; pc++) KcovAddEdge(s.get(), pc, pc + 1);
  EXPECT_LE(s->kcov_count, kKcovSlots / 4 * 3);
  EXPECT_GT(s->kcov_count, kKcovSlots / 2) << "distinct edges fill most of the table";
  uint32_t n = s->kcov_count;
  EXPECT_EQ(KcovTakeFeatures(s.get()).size(), n);
}

TEST(KcovProcess, OffMeansNoDeviceAndNoFeatures) {
  auto s = Shared();
  s->kcov_on = 0;
  KcovStart(s.get());  // a server not asked for coverage: nothing opened
  KcovCollect(s.get());
  EXPECT_EQ(s->kcov_count, 0u);
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
  EXPECT_EQ(s->kcov_count, 0u);
}

}  // namespace
}  // namespace mmdiff::exec
