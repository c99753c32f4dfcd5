// Kernel coverage as campaign feedback (fuzz/coverage.h KcovFeatures).
#include <gtest/gtest.h>

#include "fuzz/coverage.h"

namespace mmdiff {
namespace {

TEST(KcovFeatures, OwnNamespaceBesideTheModel) {
  std::vector<uint64_t> f = KcovFeatures({7, 0xffffffffu});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_NE(f[0], 7u) << "a kernel edge must not alias a model feature of the same value";
  EXPECT_EQ(f[0] >> 32, f[1] >> 32);
  EXPECT_EQ(f[0] & 0xffffffffu, 7u);
  EXPECT_TRUE(KcovFeatures({}).empty());
}

TEST(KcovFeatures, NewKernelEdgesAreNewCoverage) {
  // The campaign merges them into a map of their own (campaign.cc Consider):
  // the same program's edges are new once, a new edge is new again.
  CoverageMap kernel;
  EXPECT_EQ(kernel.Merge(KcovFeatures({1, 2, 3})), 3u);
  EXPECT_EQ(kernel.Merge(KcovFeatures({1, 2, 3})), 0u);
  EXPECT_EQ(kernel.CountNew(KcovFeatures({3, 4})), 1u);
}

}  // namespace
}  // namespace mmdiff
