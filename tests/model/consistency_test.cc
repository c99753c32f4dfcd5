// The consistency oracle on hand-made traces: pagemap against PAGEMAP_SCAN,
// a split scan against the unsplit one; it fires without the model, also
// past an op the model does not model, and counts what it compared.
#include <gtest/gtest.h>

#include "model/checker.h"
#include "model/consistency.h"
#include "model_test_util.h"

namespace mmdiff {
namespace {

constexpr uint32_t kAllCats = 0xff;
constexpr uint64_t P = kPmPresent;

Result PagemapResult(std::vector<uint64_t> words, std::vector<ScanRegion> scan, uint64_t walk_end) {
  Result r;
  r.kind = ResultKind::kPagemap;
  r.pagemap = std::move(words);
  r.cross.kind = CrossAnswer::kAnswered;
  r.cross.scan_ret = kAllCats;
  r.cross.regions = std::move(scan);
  r.cross.walk_end = walk_end;
  return r;
}

std::optional<Inconsistency> Check(const Program& prog, const Trace& t, uint32_t features, ConsistencyTally* tally,
                                   QuirkSet quirks = {}, std::vector<Inconsistency>* excused = nullptr) {
  std::vector<Inconsistency> ignored;
  return CheckConsistency(prog, t, features, quirks, tally, excused ? excused : &ignored);
}

// A scan that found [0,1) present, walked to `walk_end`, and the pagemap
// words of what it walked.
Result ScanResult(uint64_t walk_end, uint32_t ret, std::vector<uint64_t> words) {
  Result r;
  r.kind = ResultKind::kValue;
  r.is_scan = true;
  r.value = 1;
  r.regions = {{0, 1, kCatPresent}};
  r.walk_end = walk_end;
  r.cross.kind = CrossAnswer::kAnswered;
  r.cross.scan_ret = ret;
  r.cross.pagemap = std::move(words);
  return r;
}

// The trace is consistent, after `checks` comparisons and `skipped` not applicable.
void ExpectConsistent(const Program& prog, const Trace& t, uint64_t checks, uint64_t skipped) {
  ConsistencyTally tally;
  auto found = Check(prog, t, 0, &tally);
  EXPECT_FALSE(found) << found->line;
  EXPECT_EQ(tally.checks, checks);
  EXPECT_EQ(tally.skipped, skipped);
}

Trace OkTrace(const Program& prog) {
  Trace t;
  t.results.resize(prog.ops.size(), Result{.kind = ResultKind::kOk});
  return t;
}

TEST(Consistency, AgreeingAnswersPassAndCount) {
  Program prog = MustParse("mmap 0 2 rw anon private\nwrite 0\npagemap 0 3\n");
  Trace t = OkTrace(prog);
  // Page 0 present and written, page 1 none (written: the scan's policy for
  // a none entry, not compared), page 2 outside every VMA (no region).
  t.results[2] = PagemapResult({P | kPmMmapExclusive, 0, 0},
                               {{0, 1, kCatPresent | kCatWritten}, {1, 2, kCatWritten}}, 3);
  ExpectConsistent(prog, t, 1, 0);
}

TEST(Consistency, PagemapFileAgainstScanIsInconsistent) {
  Program prog = MustParse("mmap 0 1 r anon private\nread 0\npagemap 0 1\n");
  Trace t = OkTrace(prog);
  t.results[1] = Result{.kind = ResultKind::kValue};
  t.results[2] = PagemapResult({P | kPmFile}, {{0, 1, kCatPresent | kCatWritten | kCatPfnZero | kCatHuge}}, 1);
  ConsistencyTally tally;
  auto found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->op_index, 2u);
  EXPECT_EQ(found->line,
            "DIVERGENCE inconsistent op=2 \"pagemap 0 1\" page=0 field=file pagemap=1 scan=0 "
            "(pagemap P-F--- 0xa000000000000000, scan [0,1):wpzh)");
  EXPECT_EQ(found->signature, "inconsistent|file|pm1scan0|P-F---|zh");
  // The known quirk explains exactly this: excused, still reported.
  QuirkSet quirks;
  quirks.Set(Quirk::kHugeZeroPagePagemapFile);
  std::vector<Inconsistency> excused;
  EXPECT_FALSE(Check(prog, t, 0, &tally, quirks, &excused));
  ASSERT_EQ(excused.size(), 1u);
  EXPECT_EQ(excused[0].line, found->line);
  EXPECT_EQ(excused[0].quirk_bits, 1u << static_cast<int>(Quirk::kHugeZeroPagePagemapFile));
  // Not on a page that is not the huge zero page.
  t.results[2].cross.regions[0].categories &= ~kCatHuge;
  EXPECT_TRUE(Check(prog, t, 0, &tally, quirks, &excused));
}

TEST(Consistency, PageOutsideEveryVmaMustReadEmpty) {
  Program prog = MustParse("pagemap 0 1\n");
  Trace t = OkTrace(prog);
  t.results[0] = PagemapResult({P}, {}, 1);
  ConsistencyTally tally;
  auto found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_NE(found->line.find("field=present pagemap=1 scan=0"), std::string::npos) << found->line;
  EXPECT_NE(found->line.find("scan no region"), std::string::npos) << found->line;
}

TEST(Consistency, UffdWpAgainstWrittenOnPopulatedEntriesOnly) {
  Program prog = MustParse("mmap 0 2 rw anon private\nwrite 0\npagemap 0 2\n");
  Trace t = OkTrace(prog);
  // Page 1 is none: its PAGE_IS_WRITTEN is not compared either way.
  t.results[2] = PagemapResult({P | kPmUffdWp, 0}, {{0, 1, kCatPresent | kCatWritten}, {1, 2, 0}}, 2);
  ConsistencyTally tally;
  auto found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_NE(found->line.find("page=0 field=uffd_wp pagemap=1 scan=0"), std::string::npos) << found->line;
  t.results[2].pagemap[0] &= ~kPmUffdWp;
  EXPECT_FALSE(Check(prog, t, 0, &tally));
}

TEST(Consistency, ZeroPfnAgainstPfnZero) {
  Program prog = MustParse("mmap 0 1 r anon private\nread 0\npagemap 0 1\n");
  Trace t = OkTrace(prog);
  t.zero_pfn = 0x1234;
  t.results[1] = Result{.kind = ResultKind::kValue};
  t.results[2] = PagemapResult({P | 0x1234}, {{0, 1, kCatPresent | kCatWritten}}, 1);
  ConsistencyTally tally;
  auto found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_NE(found->line.find("field=pfnzero pagemap=1 scan=0"), std::string::npos) << found->line;
  t.results[2].cross.regions[0].categories |= kCatPfnZero;
  EXPECT_FALSE(Check(prog, t, 0, &tally));
  t.zero_pfn = 0;  // PFNs not visible: not compared
  t.results[2].cross.regions[0].categories &= ~kCatPfnZero;
  EXPECT_FALSE(Check(prog, t, 0, &tally));
}

TEST(Consistency, HugetlbSwapAndSoftDirtyOnlyOneWay) {
  Program prog = MustParse("pagemap 0 1\n");
  Trace t = OkTrace(prog);
  // A hugetlb uffd-wp marker: pagemap W only, the scan swapped and not written.
  t.results[0] = PagemapResult({kPmUffdWp}, {{0, 1, kCatSwapped | kCatHuge | kCatSoftDirty}}, 1);
  ConsistencyTally tally;
  EXPECT_FALSE(Check(prog, t, kFeatSoftDirty, &tally));
  t.results[0].cross.regions[0].categories &= ~kCatHuge;
  EXPECT_TRUE(Check(prog, t, kFeatSoftDirty, &tally));
}

TEST(Consistency, ScanAgainstPagemapOnReportedPagesOnly) {
  Program prog = MustParse("mmap 0 3 rw anon private\nwrite 0\nscan 0 3 req=present ret=present,file\n");
  Trace t = OkTrace(prog);
  Result& r = t.results[2] = ScanResult(3, kCatPresent | kCatFile, {P, 0, 0});
  ConsistencyTally tally;
  EXPECT_FALSE(Check(prog, t, 0, &tally));
  EXPECT_EQ(tally.checks, 1u);
  r.cross.pagemap[0] |= kPmFile;
  auto found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_NE(found->line.find("\"scan 0 3 req=present ret=file,present\" page=0 field=file pagemap=1 scan=0"),
            std::string::npos)
      << found->line;
}

Trace SplitTrace(const Program& prog) {
  Trace t = OkTrace(prog);
  Result& r = t.results.back() = ScanResult(1, kCatPresent, {P});
  r.cross.resplit = true;
  r.cross.whole = {{0, 2, kCatPresent}, {3, 4, kCatPresent}};
  r.cross.whole_end = 4;
  // Resumed at 1: [1,2) continues the first region; then [3,4).
  r.cross.resumed = {{1, 2, kCatPresent}, {3, 4, kCatPresent}};
  r.cross.resumed_end = 4;
  return t;
}

TEST(Consistency, SplitScanResumedEqualsUnsplit) {
  Program prog = MustParse("mmap 0 4 rw anon private\nscan 0 4 req=present ret=present max=1\n");
  Trace t = SplitTrace(prog);
  ConsistencyTally tally;
  EXPECT_FALSE(Check(prog, t, 0, &tally));
  EXPECT_EQ(tally.checks, 2u);  // against pagemap, against the unsplit scan
  t.results.back().cross.resumed.pop_back();
  auto found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->line,
            "DIVERGENCE inconsistent op=1 \"scan 0 4 req=present ret=present max=1\" field=split up_to=4 "
            "split=\"none\" unsplit=\"[3,4):p\" (region 1)");
  EXPECT_EQ(found->signature, "inconsistent|scan|split|max|fewer");
}

TEST(Consistency, WpMatchingSplitScanIsSkipped) {
  Program prog = MustParse("mmap 0 4 rw anon private\nscan 0 4 wp_matching max=1\n");
  Trace t = SplitTrace(prog);
  t.results.back().cross.resplit = false;
  ExpectConsistent(prog, t, 1, 1);
}

TEST(Consistency, NoSecondAnswerIsSkipped) {
  Program prog = MustParse("mmap 0 1 rw anon private\npagemap 0 1\n");
  Trace t = OkTrace(prog);
  t.results[1] = Result{.kind = ResultKind::kPagemap, .pagemap = {0}};
  ExpectConsistent(prog, t, 0, 1);
}

// A filtered scan against the same walk unfiltered: each page reported
// exactly when its unfiltered categories pass the filter, with them masked
// by ret=.
TEST(Consistency, MaskVariantAgainstUnfiltered) {
  Program prog = MustParse("mmap 0 4 rw anon private\nwrite 1\nscan 0 4 inv=present req=present ret=written\n");
  Trace t = OkTrace(prog);
  Result& r = t.results[2] = ScanResult(4, kCatWritten, {0, P, 0, 0});
  r.regions = {{0, 1, kCatWritten}, {2, 4, kCatWritten}};
  r.cross.has_unfiltered = true;
  r.cross.unfiltered = {{0, 1, kCatWritten}, {1, 2, kCatWritten | kCatPresent}, {2, 4, kCatWritten}};
  r.cross.unfiltered_end = 4;
  ConsistencyTally tally;
  auto found = Check(prog, t, 0, &tally);
  EXPECT_FALSE(found) << found->line;
  EXPECT_EQ(tally.mask, 1u);
  EXPECT_EQ(tally.checks, 2u);  // against pagemap, against the unfiltered scan
  r.regions = {{0, 1, kCatWritten}, {3, 4, kCatWritten}};
  found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->line,
            "DIVERGENCE inconsistent op=2 \"scan 0 4 req=present inv=present ret=written\" page=2 field=mask "
            "filtered=unreported unfiltered=w (unfiltered up to 4: [0,1):w [1,2):wp [2,4):w)");
  EXPECT_EQ(found->signature, "inconsistent|mask|missing|req,inv,ret");
  r.regions = {{0, 1, kCatWritten}, {2, 4, kCatWritten | kCatPresent}};
  found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_NE(found->line.find("page=2 field=ret filtered=wp unfiltered=w"), std::string::npos) << found->line;
  // Past the unfiltered walk's end nothing is compared.
  r.cross.unfiltered_end = 2;
  EXPECT_FALSE(Check(prog, t, 0, &tally));
}

// PAGE_IS_HUGE against smaps, per VMA the scan walked entirely: the huge,
// present pages that are not the huge zero page.
TEST(Consistency, HugeAgainstSmapsPerWholeVma) {
  Program prog = MustParse("mmap 0 1024 rw anon private\nmadvise 0 1024 hugepage\nwrite 0\npagemap 0 1024\n");
  Trace t = OkTrace(prog);
  std::vector<uint64_t> words(1024, 0);
  for (int i = 0; i < 512; i++) words[i] = P | kPmMmapExclusive;
  Result& r = t.results[3] = PagemapResult(words, {{0, 512, kCatPresent | kCatWritten | kCatHuge}, {512, 1024, 0}}, 1024);
  r.cross.has_smaps = true;
  r.cross.smaps = {{0, 1024, 512}};
  ConsistencyTally tally;
  auto found = Check(prog, t, 0, &tally);
  EXPECT_FALSE(found) << found->line;
  EXPECT_EQ(tally.huge, 1u);
  r.cross.smaps = {{0, 1024, 0}};
  found = Check(prog, t, 0, &tally);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->line.rfind("DIVERGENCE inconsistent op=3 \"pagemap 0 1024\" vma=[0,1024) field=huge scan=512 smaps=0 ",
                              0),
            0u)
      << found->line;
  EXPECT_EQ(found->signature, "inconsistent|huge|scan-more|smaps0");
  // A VMA the range covers in part is not compared.
  r.cross.smaps = {{0, 2048, 0}};
  tally = {};
  EXPECT_FALSE(Check(prog, t, 0, &tally));
  EXPECT_EQ(tally.huge, 0u);
}

// The checker reports it as a divergence of its own class, before the
// model, and also past an op the model does not model.
TEST(Consistency, CheckTraceReportsItEvenWhereUnmodelled) {
  KernelProfile profile = HostProfile618();
  // MADV_PAGEOUT of a PTE-mapped THP is not modelled.
  Program prog = MustParse(
      "mmap 0 512 rw anon private\nmadvise 0 512 hugepage\nwrite 0\nmprotect 256 256 r\n"
      "madvise 0 512 pageout\npagemap 0 1\n");
  Trace t = OkTrace(prog);
  t.results[5] = PagemapResult({P | kPmFile}, {{0, 1, kCatPresent | kCatWritten | kCatHuge}}, 1);
  Verdict v = CheckTrace(prog, t, profile);
  ASSERT_EQ(v.status, Verdict::Status::kDivergence) << v.note;
  EXPECT_EQ(v.divergence->cls, DivergenceClass::kInconsistent);
  EXPECT_EQ(v.divergence->op_index, 5u);
  EXPECT_EQ(v.consistency.checks, 1u);
  t.results[5].pagemap[0] &= ~kPmFile;
  v = CheckTrace(prog, t, profile);
  EXPECT_EQ(v.status, Verdict::Status::kUnmodelled);
  EXPECT_EQ(v.consistency.checks, 1u);
}

}  // namespace
}  // namespace mmdiff
