// The consistency oracle on the running kernel: every pagemap and scan op
// comes back with the kernel's second answer, the two agree on ordinary
// programs, and the known quirk huge_zero_page_pagemap_file (pagemap F on the
// huge zero PMD, PAGE_IS_FILE not) is reported as `inconsistent`: excused by
// the quirk (a pass naming both), a divergence without the quirks.
#include <gtest/gtest.h>

#include "model/judge.h"
#include "model/profile.h"
#include "prog/text.h"
#include "target/target.h"

namespace mmdiff {
namespace {

std::unique_ptr<Target> HostTarget(KernelFeatures* features) {
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  std::string err;
  std::unique_ptr<Target> target = MakeLocalTarget(options, &err);
  EXPECT_TRUE(target) << err;
  if (target) {
    EXPECT_TRUE(target->Probe(features, &err)) << err;
  }
  return target;
}

Judgement RunAndJudge(Target* target, const KernelProfile& profile, const std::string& path_or_text,
                      bool file, Trace* trace) {
  Program prog;
  TextError perr;
  bool ok = file ? ParseProgramFile(path_or_text, &prog, &perr) : ParseProgram(path_or_text, "t.mmp", &prog, &perr);
  EXPECT_TRUE(ok) << perr.ToString();
  std::string err;
  EXPECT_TRUE(target->Run(prog, trace, &err)) << err;
  return JudgeKernelRun(prog, *trace, profile);
}

TEST(ConsistencyKernel, OrdinaryProgramsAgreeAndAreCounted) {
  KernelFeatures features;
  auto target = HostTarget(&features);
  ASSERT_TRUE(target);
  if (!(features.features & kFeatPagemapScan)) GTEST_SKIP() << "no PAGEMAP_SCAN";
  KernelProfile profile = MakeProfile(features);
  Trace trace;
  Judgement j = RunAndJudge(target.get(), profile, R"(
mmap 0 8 rw anon private
mmap 8 4 rw anon shared
mmap 16 2 r anon private
write 0
write 2
write 4
write 8
read 16
pagemap 0 20
scan 0 20
scan 0 20 req=present ret=present,file,pfnzero vec=1
scan 0 20 max=3
)",
                            false, &trace);
  EXPECT_EQ(j.kind, Judgement::Kind::kPass) << j.line;
  // pagemap, 3 scans, 2 split scans, the filtered scan against the
  // unfiltered one. No VMA of 20 pages can hold a PMD, so smaps is not read
  // (executor/runner.cc MayMapPmd; SmapsOnlyWhereAPmdCanMap).
  EXPECT_EQ(j.verdict.consistency.checks, 7u);
  EXPECT_EQ(j.verdict.consistency.split, 2u);
  EXPECT_EQ(j.verdict.consistency.mask, 1u);
  EXPECT_EQ(j.verdict.consistency.huge, 0u);
  EXPECT_EQ(j.verdict.consistency.skipped, 0u);
  const CrossAnswer& c = trace.results[8].cross;
  EXPECT_EQ(c.kind, CrossAnswer::kAnswered);
  EXPECT_EQ(c.walk_end, 20u);
  EXPECT_FALSE(c.regions.empty());
  EXPECT_TRUE(trace.results[10].cross.resplit);
  EXPECT_NE(trace.zero_pfn, 0u) << "the executor runs as root and sees PFNs";
}

// smaps is read where the program's mmap and mremap ranges together cover a
// whole PMD-aligned 2 MiB block, and only there: elsewhere it could only
// say 0 (executor/runner.cc MayMapPmd).
TEST(ConsistencyKernel, SmapsOnlyWhereAPmdCanMap) {
  KernelFeatures features;
  auto target = HostTarget(&features);
  ASSERT_TRUE(target);
  if (!(features.features & kFeatPagemapScan)) GTEST_SKIP() << "no PAGEMAP_SCAN";
  KernelProfile profile = MakeProfile(features);
  struct Case {
    const char* maps;
    bool smaps;
  } cases[] = {
      {"mmap 0 511 rw anon private\n", false},
      {"mmap 100 500 rw anon private\n", false},  // covers 100..600: no aligned block
      {"mmap 0 512 rw anon private\n", true},
      {"mmap 0 300 rw anon private\nmmap 300 300 rw anon private\n", true},  // merged
      {"mmap 0 8 rw anon private\nmremap 0 8 600\n", true},                   // grown
      {"mmap 0 8 rw anon private\nmremap 0 8 512 move 1024\n", true},         // moved
      {"mmap 0 8 rw anon private\nmremap 0 8 511 move 1024\n", false},
  };
  for (const Case& c : cases) {
    Trace trace;
    Judgement j = RunAndJudge(target.get(), profile, std::string(c.maps) + "write 0\npagemap 0 8\n", false, &trace);
    EXPECT_EQ(j.kind, Judgement::Kind::kPass) << c.maps << j.line;
    const CrossAnswer& cross = trace.results.back().cross;
    EXPECT_EQ(cross.kind, CrossAnswer::kAnswered) << c.maps;
    EXPECT_EQ(cross.has_smaps, c.smaps) << c.maps;
  }
}

// A THP, the huge zero page and hugetlb where the kernel has them: PAGE_IS_HUGE
// agrees with smaps, every mask variant with the unfiltered scan.
TEST(ConsistencyKernel, HugeAndMaskVariantsAgree) {
  KernelFeatures features;
  auto target = HostTarget(&features);
  ASSERT_TRUE(target);
  if ((features.features & (kFeatPagemapScan | kFeatThp)) != (kFeatPagemapScan | kFeatThp))
    GTEST_SKIP() << "needs PAGEMAP_SCAN and THP";
  KernelProfile profile = MakeProfile(features);
  Trace trace;
  Judgement j = RunAndJudge(target.get(), profile, R"(
mmap 0 1024 rw anon private
madvise 0 1024 hugepage
write 0
write 600
mmap 2048 1024 r anon private
madvise 2048 1024 hugepage
read 2048
mmap 4096 4 rw anon private
write 4096
pagemap 0 1024
scan 0 1024
scan 2048 1024
scan 0 4100 req=huge
scan 0 4100 inv=huge req=huge ret=present,huge
scan 0 4100 any=pfnzero,written ret=huge
scan 0 4100 inv=present any=present,huge max=700
)",
                            false, &trace);
  // The huge zero PMD is the known quirk huge_zero_page_pagemap_file.
  EXPECT_NE(j.kind, Judgement::Kind::kFail) << j.line;
  EXPECT_EQ(j.verdict.consistency.mask, 4u);
  EXPECT_GE(j.verdict.consistency.huge, 6u);
  const CrossAnswer& c = trace.results[10].cross;
  ASSERT_TRUE(c.has_smaps);
  ASSERT_FALSE(c.smaps.empty());
  EXPECT_EQ(c.smaps[0].start, 0u);
  EXPECT_EQ(c.smaps[0].huge_pages, 1024u) << "a THP for each written 2 MiB";
}

// The huge and mask comparisons fire: each with the oracle mutant that
// breaks its rule (model/mutant.h), on the same kernel answers.
TEST(ConsistencyKernel, OracleMutantsMakeHugeAndMaskFire) {
  KernelFeatures features;
  auto target = HostTarget(&features);
  ASSERT_TRUE(target);
  if ((features.features & (kFeatPagemapScan | kFeatThp)) != (kFeatPagemapScan | kFeatThp))
    GTEST_SKIP() << "needs PAGEMAP_SCAN and THP";
  KernelProfile profile = MakeProfile(features);
  profile.mutant = Mutant::kHugeCountsZeroPage;
  Trace trace;
  std::string zero = std::string(MMDIFF_SOURCE_DIR) + "/corpus/scan_zeropfn_huge.mmp";
  Judgement j = RunAndJudge(target.get(), profile, zero, true, &trace);
  ASSERT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
  EXPECT_EQ(j.line.rfind("DIVERGENCE inconsistent op=4 ", 0), 0u) << j.line;
  EXPECT_NE(j.line.find("field=huge scan=512 smaps=0"), std::string::npos) << j.line;
  profile.mutant = Mutant::kMaskIgnoresInverted;
  j = RunAndJudge(target.get(), profile, "mmap 0 4 rw anon private\nwrite 1\nscan 0 4 inv=present req=present\n",
                  false, &trace);
  ASSERT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
  EXPECT_NE(j.line.find("inconsistent op=2 \"scan 0 4 req=present inv=present\" page=0 field=mask"),
            std::string::npos)
      << j.line;
  // Split: two present regions, max=1 cuts after the first; the oracle that
  // forgets the resumed walk sees one region where the unsplit scan has two.
  profile.mutant = Mutant::kSplitIgnoresResumed;
  j = RunAndJudge(target.get(), profile, "mmap 0 4 rw anon private\nwrite 0\nwrite 2\nscan 0 4 req=present max=1\n",
                  false, &trace);
  ASSERT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
  EXPECT_NE(j.line.find("field=split"), std::string::npos) << j.line;
  profile.mutant = Mutant::kNone;
  j = RunAndJudge(target.get(), profile, "mmap 0 4 rw anon private\nwrite 0\nwrite 2\nscan 0 4 req=present max=1\n",
                  false, &trace);
  EXPECT_NE(j.kind, Judgement::Kind::kFail) << j.line;
}

TEST(ConsistencyKernel, HugeZeroPagePagemapFileIsInconsistent) {
  KernelFeatures features;
  auto target = HostTarget(&features);
  ASSERT_TRUE(target);
  if ((features.features & (kFeatPagemapScan | kFeatThp)) != (kFeatPagemapScan | kFeatThp))
    GTEST_SKIP() << "needs PAGEMAP_SCAN and THP";
  std::string path = std::string(MMDIFF_SOURCE_DIR) + "/corpus/quirks/huge_zero_page_pagemap_file.mmp";
  const std::string inconsistent = "inconsistent op=4 \"pagemap 0 1\" page=0 field=file pagemap=1 scan=0";
  // With the quirks: a pass that names the quirk and the inconsistency.
  KernelProfile profile = MakeProfile(features);
  Trace trace;
  Judgement j = RunAndJudge(target.get(), profile, path, true, &trace);
  EXPECT_EQ(j.kind, Judgement::Kind::kPass) << j.line;
  EXPECT_EQ(j.line.rfind("known quirk huge_zero_page_pagemap_file; " + inconsistent, 0), 0u) << j.line;
  EXPECT_EQ(j.verdict.consistency.excused, 1u);
  // Without: the divergence `inconsistent`, before the model's.
  profile.quirks = {};
  j = RunAndJudge(target.get(), profile, path, true, &trace);
  ASSERT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
  ASSERT_TRUE(j.verdict.divergence);
  EXPECT_EQ(j.verdict.divergence->cls, DivergenceClass::kInconsistent) << j.line;
  EXPECT_EQ(j.line.rfind("DIVERGENCE " + inconsistent, 0), 0u) << j.line;
}

}  // namespace
}  // namespace mmdiff
