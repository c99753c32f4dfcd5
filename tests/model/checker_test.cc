// Checker tests: a trace the model predicts passes; a hand-made wrong trace is
// caught at the right op with the right class and the exact DIVERGENCE line.
#include <gtest/gtest.h>

#include <csignal>

#include "model/checker.h"
#include "model_test_util.h"

namespace mmdiff {
namespace {

constexpr const char* kSoftDirtyProgram = R"(
mmap 0 4 rw anon private
write 0
clear_refs 4
write 1
pagemap 0 4
read 1
)";

Trace Predicted(const Program& prog, const KernelProfile& profile) {
  Trace t = PredictTrace(prog, profile);
  for (Result& r : t.results) r.either.clear();  // a kernel answers exactly
  return t;
}

TEST(Checker, PredictedTracePasses) {
  Program prog = MustParse(kSoftDirtyProgram);
  Verdict v = CheckTrace(prog, Predicted(prog, GuestProfile61()), GuestProfile61());
  EXPECT_EQ(v.status, Verdict::Status::kPass);
  EXPECT_EQ(v.ops_checked, prog.ops.size());
}

TEST(Checker, MissedDirty) {
  Program prog = MustParse(kSoftDirtyProgram);
  Trace t = Predicted(prog, GuestProfile61());
  t.results[4].pagemap[1] &= ~kPmSoftDirty;
  Verdict v = CheckTrace(prog, t, GuestProfile61());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->cls, DivergenceClass::kMissedDirty);
  EXPECT_EQ(v.divergence->op_index, 4u);
  EXPECT_EQ(v.divergence->line, "DIVERGENCE missed-dirty op=4 \"pagemap 0 4\" page=1 bit=D kernel=0 model=1");
  EXPECT_EQ(v.divergence->signature,
            "missed-dirty|pagemap|D|k0m1|anon-private|vma=rw,anon_vma|pte=anon,sd");
  EXPECT_NE(v.divergence->picture.find("pte   aa.."), std::string::npos) << v.divergence->picture;
}

TEST(Checker, SpuriousDirty) {
  Program prog = MustParse(kSoftDirtyProgram);
  Trace t = Predicted(prog, GuestProfile61());
  t.results[4].pagemap[2] |= kPmSoftDirty;
  Verdict v = CheckTrace(prog, t, GuestProfile61());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->line,
            "DIVERGENCE spurious-dirty op=4 \"pagemap 0 4\" page=2 bit=D kernel=1 model=0");
}

TEST(Checker, SoftDirtyBitIsAlwaysZeroOnTheHost) {
  Program prog = MustParse(kSoftDirtyProgram);
  Trace t = Predicted(prog, HostProfile618());
  EXPECT_EQ(t.results[4].pagemap[1] & kPmSoftDirty, 0u);
  t.results[4].pagemap[1] |= kPmSoftDirty;
  Verdict v = CheckTrace(prog, t, HostProfile618());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->cls, DivergenceClass::kSpuriousDirty);
}

TEST(Checker, PfnBitsAreIgnored) {
  Program prog = MustParse(kSoftDirtyProgram);
  Trace t = Predicted(prog, GuestProfile61());
  t.results[4].pagemap[0] |= 0x1234;  // root sees PFNs
  EXPECT_EQ(CheckTrace(prog, t, GuestProfile61()).status, Verdict::Status::kPass);
}

TEST(Checker, WrongErrnoAndData) {
  Program prog = MustParse(kSoftDirtyProgram);
  Trace t = Predicted(prog, GuestProfile61());
  Trace bad = t;
  bad.results[0] = Result{};
  bad.results[0].kind = ResultKind::kErr;
  bad.results[0].err = ENOMEM;
  Verdict v = CheckTrace(prog, bad, GuestProfile61());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->line,
            "DIVERGENCE wrong-errno op=0 \"mmap 0 4 rw anon private\" kernel=\"err ENOMEM\" model=\"ok\"");
  EXPECT_EQ(v.divergence->signature, "wrong-errno|mmap|errno|kernel=ENOMEM,model=ok|unmapped|vma=none|pte=none");

  bad = t;
  bad.results[5].value = 0;
  v = CheckTrace(prog, bad, GuestProfile61());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->cls, DivergenceClass::kDataCorruption);
  EXPECT_EQ(v.divergence->line, "DIVERGENCE data-corruption op=5 \"read 1\" kernel=\"= 0x00\" model=\"= 0x04\"");
}

TEST(Checker, WrongWpFault) {
  Program prog = MustParse(R"(
mmap 0 1 rw anon private
write 0
uffd_open
uffd_register 0 1 wp
uffd_wp 0 1 on
write 0
)");
  Trace t = Predicted(prog, HostProfile618());
  EXPECT_EQ(t.results[5].uffd_faults, kFaultWp);
  t.results[5].uffd_faults = 0;
  Verdict v = CheckTrace(prog, t, HostProfile618());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->cls, DivergenceClass::kWrongWp);
  EXPECT_EQ(v.divergence->line, "DIVERGENCE wrong-wp op=5 \"write 0\" kernel=\"ok\" model=\"ok wpfault\"");
}

TEST(Checker, WrongScan) {
  Program prog = MustParse(R"(
mmap 0 4 rw anon private
write 1
scan 0 4 req=present ret=present
)");
  Trace t = Predicted(prog, HostProfile618());
  t.results[2].regions[0].end = 3;
  Verdict v = CheckTrace(prog, t, HostProfile618());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->cls, DivergenceClass::kWrongScan);
  EXPECT_EQ(v.divergence->line,
            "DIVERGENCE wrong-scan op=2 \"scan 0 4 req=present ret=present\" kernel=\"= 1 [1,3):p end=4\" "
            "model=\"= 1 [1,2):p end=4\"");
}

TEST(Checker, LazyfreeDiscardIsACountedAllowance) {
  Program prog = MustParse(R"(
mmap 0 2 rw anon private
write 0
madvise 0 1 free
pagemap 0 1
read 0
)");
  Trace t = Predicted(prog, HostProfile618());
  t.results[3].pagemap[0] = 0;  // reclaim discarded the page
  t.results[4].value = 0;       // and a read maps the zero page
  Verdict v = CheckTrace(prog, t, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.taken[static_cast<int>(Allowance::kLazyfreeMayBeDiscarded)], 1u);
}

TEST(Checker, ReclaimedPageTableIsAnAlternative) {
  Program prog = MustParse(R"(
mmap 0 512 rw anon private
write 0
madvise 0 512 dontneed
scan 0 2 ret=written
)");
  Trace t = Predicted(prog, HostProfile618());
  EXPECT_EQ(PrintResult(prog.ops[3], t.results[3]), "= 1 [0,2):w end=2");
  Result reclaimed = t.results[3];
  reclaimed.regions[0].categories = 0;
  t.results[3] = reclaimed;
  Verdict v = CheckTrace(prog, t, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.taken[static_cast<int>(Allowance::kPageTableMayBeReclaimed)], 1u);
}

TEST(Checker, SkipsMissingFeature) {
  Program prog = MustParse("requires soft_dirty\nmmap 0 1 rw anon private\n");
  Verdict v = CheckTrace(prog, Trace{}, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kSkipped);
  EXPECT_EQ(v.note, "requires soft_dirty");
}

TEST(Checker, HangIsADivergence) {
  Program prog = MustParse(kSoftDirtyProgram);
  Trace t = Predicted(prog, GuestProfile61());
  t.results[3].kind = ResultKind::kHang;
  Verdict v = CheckTrace(prog, t, GuestProfile61());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->cls, DivergenceClass::kHang);
}

TEST(Expectation, QuestionMarksAllowEither) {
  Program prog = MustParse("pagemap 0 2 => P--X?- P-----\n");
  Result obs;
  obs.kind = ResultKind::kPagemap;
  obs.pagemap = {kPmPresent | kPmMmapExclusive | kPmUffdWp, kPmPresent};
  EXPECT_FALSE(ExpectationMismatch(prog.ops[0], prog.expect[0], obs).has_value());
  obs.pagemap[1] |= kPmSoftDirty;
  EXPECT_EQ(*ExpectationMismatch(prog.ops[0], prog.expect[0], obs), "page=1 bit=D observed=1 expected=0");
}

}  // namespace
}  // namespace mmdiff
