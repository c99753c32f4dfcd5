// One finding per root cause (fuzz/root_cause.h): on the running kernel, a
// model broken on purpose (dontneed-keeps-anon) is seen through a pagemap
// bit and through a read; both findings name MADV_DONTNEED as the step, and
// the store and `mmdiff merge` keep one finding for them.
#include "fuzz/root_cause.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "fuzz/findings.h"
#include "fuzz/record.h"
#include "model/mutant.h"
#include "prog/text.h"
#include "tests/slurp.h"
#include "tests/temp_dir.h"

namespace mmdiff {
namespace {

using mmdiff::testing_util::Slurp;

Program Parse(const char* text) {
  Program p;
  TextError e;
  EXPECT_TRUE(ParseProgram(text, "t.mmp", &p, &e)) << e.message;
  return p;
}

// A judgement whose divergence has `signature` (the store keys on it).
Judgement Diverged(const std::string& signature, DivergenceClass cls) {
  Judgement j;
  j.kind = Judgement::Kind::kFail;
  j.line = "DIVERGENCE " + signature;
  Divergence d;
  d.cls = cls;
  d.signature = signature;
  j.verdict.divergence = d;
  return j;
}

// The probe of a program's ops before `upto`: where each read goes.
struct ProbeRow {
  const char* why;
  const char* program;
  size_t upto;
  uint32_t lo, n;
  bool with_scan;
  const char* probe;
  std::vector<size_t> probe_of;  // the step before each op of the probe (SIZE_MAX: none)
};

TEST(RootCause, ReadsGoWhereThePagesAre) {
  constexpr size_t N = SIZE_MAX;
  const ProbeRow rows[] = {
      {"in every process that lives, the child from its fork on",
       "mmap 0 2 rw anon private\nwrite 0\nfork\np1: write 1\np1: pagemap 0 2\n", 4, 0, 2, false,
       "mmap 0 2 rw anon private\npagemap 0 2\nwrite 0\npagemap 0 2\nfork\npagemap 0 2\np1: pagemap 0 2\n"
       "p1: write 1\npagemap 0 2\np1: pagemap 0 2\n",
       {N, 0, N, 1, N, 2, 2, N, 3, 3}},
      {"before an mremap, at the source of the pages it moved; a scan too",
       "mmap 8 5 rw anon private\nwrite 12\nmremap 8 5 5 move 0\nwrite 4\npagemap 4 1\n", 3, 4, 1, true,
       "mmap 8 5 rw anon private\npagemap 12 1\nscan 12 1\nwrite 12\npagemap 12 1\nscan 12 1\n"
       "mremap 8 5 5 move 0\npagemap 4 1\nscan 4 1\n",
       {N, 0, 0, N, 1, 1, N, 2, 2}},
  };
  for (const ProbeRow& r : rows) {
    std::vector<size_t> probe_of;
    Program probe = WithPagemapReads(Parse(r.program), r.upto, r.lo, r.n, r.with_scan, &probe_of);
    EXPECT_EQ(PrintProgram(probe), r.probe) << r.why;
    EXPECT_EQ(probe_of, r.probe_of) << r.why;
  }
}

TEST(RootCause, StepsWithoutWhereOrWhichBits) {
  Program prog = Parse("madvise 12 3 dontneed\nfork\np1: scan 0 9 ret=written,present max=4\nclear_refs 4\n");
  EXPECT_EQ(StepWithoutNumbers(prog.ops[0]), "madvise # # dontneed");
  EXPECT_EQ(StepWithoutNumbers(prog.ops[2]), "scan # # ret= max=");
  EXPECT_EQ(StepWithoutNumbers(prog.ops[3]), "clear_refs 4");
}

class RootCauseKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    TargetOptions options;
    options.executor_path = MMDIFF_EXECUTOR_PATH;
    std::string err;
    target_ = MakeLocalTarget(options, &err);
    ASSERT_TRUE(target_) << err;
    KernelFeatures features;
    ASSERT_TRUE(target_->Probe(&features, &err)) << err;
    profile_ = MakeProfile(features);
    profile_.mutant = Mutant::kDontneedKeepsAnon;
  }
  Judgement Run(const Program& prog) {
    Trace trace;
    std::string err;
    EXPECT_TRUE(target_->Run(prog, &trace, &err)) << err;
    return JudgeKernelRun(prog, trace, profile_);
  }
  std::unique_ptr<Target> target_;
  KernelProfile profile_;
};

TEST_F(RootCauseKernel, OneBrokenRuleSeenTwiceIsOneCause) {
  Program bit = Parse("mmap 0 2 rw anon private\nwrite 0 =0x41\nmadvise 0 2 dontneed\npagemap 0 1\n");
  Program data = Parse("mmap 0 2 rw anon private\nwrite 1 =0x41\nmadvise 0 2 dontneed\nread 1\n");
  Judgement jb = Run(bit), jd = Run(data);
  ASSERT_TRUE(jb.verdict.divergence) << jb.line;
  ASSERT_TRUE(jd.verdict.divergence) << jd.line;
  EXPECT_NE(jb.verdict.divergence->signature, jd.verdict.divergence->signature);  // two observations
  std::string kb = FoldKey(bit, jb, target_.get(), profile_), kd = FoldKey(data, jd, target_.get(), profile_);
  EXPECT_EQ(kb, "cause|madvise # # dontneed|mapping|private");
  EXPECT_EQ(kd, kb);

  // The store keeps one finding; later hits of the folded signature count there.
  testutil::TempDir fold{"fold"};
  std::string dir = fold.path(), err;
  FindingStore store;
  ASSERT_TRUE(store.Open(dir, &err)) << err;
  Trace trace;
  ASSERT_TRUE(store.Record(bit, trace, jb, 3, 3));
  ASSERT_TRUE(store.Record(data, trace, jd, 3, 3));
  EXPECT_EQ(store.unique(), 2u);
  std::string sb = store.SignatureOf(jb), sd = store.SignatureOf(jd);
  EXPECT_EQ(store.Fold(sb, kb), sb);
  EXPECT_EQ(store.Fold(sd, kd), sb);
  EXPECT_EQ(store.unique(), 1u);
  EXPECT_FALSE(store.Record(data, trace, jd, 3, 3));
  std::string meta = Slurp(dir + "/findings/" + FindingName(sb, FindingClass(jb)) + "/meta.txt");
  EXPECT_NE(meta.find("hits: 3\n"), std::string::npos) << meta;
  EXPECT_NE(meta.find("also: " + sd + "\n"), std::string::npos) << meta;
  EXPECT_NE(meta.find("cause: " + kb + "\n"), std::string::npos) << meta;
  // A resumed campaign keeps folding.
  FindingStore again;
  ASSERT_TRUE(again.Open(dir, &err)) << err;
  EXPECT_FALSE(again.Record(data, trace, jd, 3, 3));
  EXPECT_EQ(again.unique(), 1u);

  // And merge folds two campaigns' findings of the one cause.
  testutil::TempDir other_dir{"other"}, merged_dir{"merged"};
  std::string other = other_dir.path(), merged = merged_dir.path();
  FindingStore b;
  ASSERT_TRUE(b.Open(other, &err)) << err;
  ASSERT_TRUE(b.Record(data, trace, jd, 3, 3));
  b.Fold(sd, kd);
  MergeStats stats;
  ASSERT_TRUE(MergeFindingDirs({dir, other}, merged, &stats, &err)) << err;
  EXPECT_EQ(stats.findings, 1u);
  EXPECT_EQ(stats.duplicates, 1u);
}

// Where the model cannot say whether a page is there (a lazyfree page
// reclaim may have discarded) it takes the kernel's answer, and a later
// step shows the wrong state it then followed: every read of the probe
// agrees, one only through that allowance, and the step before it is the
// cause (dontneed-keeps-anon keeps the page MADV_DONTNEED zapped).
TEST_F(RootCauseKernel, AStepWhoseReadAgreedOnlyByAnAllowanceIsTheCause) {
  KernelProfile p = profile_;
  if (!(p.features & kFeatWpAsync)) GTEST_SKIP() << "no WP_ASYNC";
  Program doubt = Parse("mmap 0 1 rw anon private\nuffd_open wp_async\nuffd_register 0 1 wp\nwrite 0\n"
                        "madvise 0 1 free\nmadvise 0 1 dontneed\nuffd_wp 0 1 on\npagemap 0 1\n");
  Judgement j = Run(doubt);
  ASSERT_TRUE(j.verdict.divergence) << j.line;
  EXPECT_EQ(FoldKey(doubt, j, target_.get(), profile_), "cause|madvise # # dontneed|mapping|private") << j.line;
}

// A scan cut short by max_pages where the model walks on: whether the
// model's extra pages have categories (written, present) or not, the scans
// differ in extent past the kernel's walk_end, one cause. So also where the
// pages both walked differ from the model's first answer but not from
// another it allows (an unpopulated hugetlb page, `huge` or not; a
// MAP_NORESERVE mapping needs no free huge page).
TEST_F(RootCauseKernel, AScanPastTheKernelsWalkEndDiffersInExtent) {
  profile_.mutant = Mutant::kScanIgnoresMaxPages;
  Program empty = Parse("mmap 0 4 rw anon private\nscan 0 4 max=3\n");
  Program written = Parse("mmap 0 4 rw anon private\nwrite 0\nwrite 1\nwrite 2\nwrite 3\nscan 0 4 max=3\n");
  Judgement je = Run(empty), jw = Run(written);
  ASSERT_TRUE(je.verdict.divergence && jw.verdict.divergence) << je.line << " / " << jw.line;
  std::string ke = FoldKey(empty, je, target_.get(), profile_), kw = FoldKey(written, jw, target_.get(), profile_);
  EXPECT_EQ(ke, "cause|scan # # max=|scan");
  EXPECT_EQ(kw, ke);
  Program hugetlb = Parse("mmap 0 1 rw anon shared noreserve hugetlb\nscan 340 6 max=5\n");
  Judgement jh = Run(hugetlb);
  ASSERT_TRUE(jh.verdict.divergence) << jh.line;
  EXPECT_EQ(FoldKey(hugetlb, jh, target_.get(), profile_), ke) << jh.line;
}

// A finding minimized to a simpler observer (its scan became a pagemap
// read) whose signature is another finding's folds into that one by its own
// signature, the one its directory was recorded under.
TEST_F(RootCauseKernel, AFindingSeenThroughPagemapAfterMinimizingFoldsByItsOwnName) {
  if (!(profile_.features & kFeatWpAsync) || !(profile_.features & kFeatPagemapScan))
    GTEST_SKIP() << "no WP_ASYNC or no PAGEMAP_SCAN";
  profile_.mutant = Mutant::kAsyncWriteKeepsWp;
  const std::string setup = "mmap 0 1 rw anon shared\nuffd_open wp_async\nuffd_register 0 1 wp\nuffd_wp 0 1 on\nwrite 0\n";
  Program read = Parse((setup + "pagemap 0 1\n").c_str()), scan = Parse((setup + "mmap 4 1 rw anon private\nscan 0 1\n").c_str());
  Judgement jr = Run(read), js = Run(scan);
  ASSERT_TRUE(jr.verdict.divergence && js.verdict.divergence) << jr.line << " / " << js.line;
  testutil::TempDir seen{"seen"};
  std::string dir = seen.path(), err, summary;
  FindingStore store;
  ASSERT_TRUE(store.Open(dir, &err)) << err;
  store.SetMutant(std::string(MutantName(profile_.mutant)));
  Trace trace;
  ASSERT_TRUE(store.Record(read, trace, jr, 3, 3));
  ASSERT_TRUE(store.Record(scan, trace, js, 3, 3));
  store.Fold(store.SignatureOf(jr), FoldKey(read, jr, target_.get(), profile_));
  std::string scan_dir = dir + "/findings/" + store.NameOf(store.SignatureOf(js));
  ASSERT_TRUE(MinimizeFinding(&store, scan_dir, scan, target_.get(), profile_, nullptr, &summary, &err)) << err;
  EXPECT_NE(summary.find("folded into " + store.NameOf(store.SignatureOf(jr))), std::string::npos) << summary;
  EXPECT_EQ(store.unique(), 1u);
}

// A campaign's end: a finding the minimizer had no time for still folds.
// dontneed-keeps-anon's table campaign (6.18.44): the mutant's DONTNEED
// keeps the uffd-wp marker at page 511, so the model keeps the PMD's page
// table, and the read of page 365 maps one 4 KiB zero page where the kernel,
// its table gone, maps the huge zero page. Page 364 reads the same in both
// until the read; the block around it shows the marker first: the cause is
// the DONTNEED, the wrong-wp finding's.
TEST_F(RootCauseKernel, AMappingAFaultMadeIsCausedWhereItsBlockWentWrong) {
  if (!(profile_.features & kFeatWpUnpopulated) || !(profile_.features & kFeatThp)) GTEST_SKIP() << "no WP_UNPOPULATED or THP";
  Program prog = Parse(
      "mmap 0 512 rw anon private\nmadvise 0 512 hugepage\nuffd_open wp_unpopulated\nuffd_register 0 512 wp\n"
      "uffd_wp 511 1 on\nmadvise 0 512 dontneed\nread 365\npagemap 364 1\n");
  Judgement j = Run(prog);
  ASSERT_TRUE(j.verdict.divergence) << j.line;
  EXPECT_EQ(FoldKey(prog, j, target_.get(), profile_), "cause|madvise # # dontneed|uffd-wp|private");
}

TEST_F(RootCauseKernel, AFindingLeftUnminimizedStillFolds) {
  Program bit = Parse("mmap 0 2 rw anon private\nwrite 0 =0x41\nmadvise 0 2 dontneed\npagemap 0 1\n");
  Program data = Parse("mmap 0 4 rw anon private\nwrite 3\nwrite 1 =0x41\nread 3\nmadvise 0 2 dontneed\nread 1\n");
  Judgement jb = Run(bit), jd = Run(data);
  ASSERT_TRUE(jb.verdict.divergence && jd.verdict.divergence) << jb.line << " / " << jd.line;
  testutil::TempDir late{"late"};
  std::string dir = late.path(), err, summary;
  FindingStore store;
  ASSERT_TRUE(store.Open(dir, &err)) << err;
  Trace trace;
  ASSERT_TRUE(store.Record(bit, trace, jb, 3, 3));
  ASSERT_TRUE(store.Record(data, trace, jd, 3, 3));
  store.Fold(store.SignatureOf(jb), FoldKey(bit, jb, target_.get(), profile_));
  ASSERT_TRUE(FoldUnminimized(&store, data, target_.get(), profile_, &summary));
  EXPECT_NE(summary.find("folded into " + store.NameOf(store.SignatureOf(jb))), std::string::npos) << summary;
  EXPECT_EQ(store.unique(), 1u);
}

TEST(RootCauseStore, DifferentCausesStayApart) {
  testutil::TempDir apart{"apart"};
  std::string dir = apart.path(), err;
  FindingStore store;
  ASSERT_TRUE(store.Open(dir, &err)) << err;
  Program prog = Parse("mmap 0 1 rw anon private\n");
  Trace trace;
  Judgement a = Diverged("missed-dirty|pagemap|D|k0m1|anon-private", DivergenceClass::kMissedDirty);
  Judgement b = Diverged("wrong-wp|pagemap|W|k0m1|anon-private", DivergenceClass::kWrongWp);
  ASSERT_TRUE(store.Record(prog, trace, a, 3, 3));
  ASSERT_TRUE(store.Record(prog, trace, b, 3, 3));
  store.Fold(store.SignatureOf(a), "cause|clear_refs 4|missed-dirty|private");
  EXPECT_EQ(store.Fold(store.SignatureOf(b), "cause|uffd_wp # # on|wrong-wp|private"), store.SignatureOf(b));
  EXPECT_EQ(store.unique(), 2u);
}

}  // namespace
}  // namespace mmdiff
