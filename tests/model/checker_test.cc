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
            "missed-dirty|pagemap|D|k0m1|anon-private");
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

// thp-may-fall-back: the kernel mapped a 4K page where the model assumed a
// THP. After the divergence the checker walks again with the THP fault
// falling back, and the program passes with the allowance taken; a trace
// that fits neither still diverges.
TEST(Checker, ThpFaultMayFallBack) {
  Program prog = MustParse(
      "mmap 0 1024 rw anon private\nmadvise 0 1024 hugepage\nwrite 5\nwrite 600\npagemap 5 2\npagemap 600 2\n");
  KernelProfile thp = GuestProfile61();
  thp.thp = ThpMode::kMadvise;
  Trace t = Predicted(prog, thp);
  ASSERT_EQ(CheckTrace(prog, t, thp).status, Verdict::Status::kPass);
  EXPECT_EQ(t.results[5].pagemap[1] & kPmPresent, kPmPresent);  // the THP's neighbour
  int a = static_cast<int>(Allowance::kThpMayFallBack);
  // The second THP fault fell back: page 601 is not mapped.
  t.results[5].pagemap[1] = t.results[4].pagemap[1] & kPmSoftDirty;  // a hole in a soft-dirty VMA
  Verdict v = CheckTrace(prog, t, thp);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.taken[a], 1u);
  // Both fell back.
  t.results[4].pagemap[1] = t.results[5].pagemap[1];
  v = CheckTrace(prog, t, thp);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  // A page missing that no fallback explains (the written page itself).
  t.results[4].pagemap[0] = 0;
  v = CheckTrace(prog, t, thp);
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.taken[a], 0u);
}

// khugepaged-may-collapse: the kernel's khugepaged collapsed a split THP
// between two ops. After the divergence the checker walks again with one
// collapse placed before an op, and the program passes with the allowance
// taken; a collapse the kernel must refuse (a uffd-wp'd PTE) excuses
// nothing, so a kernel that lost the uffd-wp bit that way still diverges.
TEST(Checker, KhugepagedMayCollapse) {
  KernelProfile thp = GuestProfile61();
  thp.thp = ThpMode::kMadvise;
  const std::string head = "mmap 0 512 rw anon private\nmadvise 0 512 hugepage\nwrite 5\n";
  const std::string tail = "clear_refs 4\nwrite 100\npagemap 0 4\npagemap 0 4\npagemap 100 1\n";
  int a = static_cast<int>(Allowance::kKhugepagedMayCollapse);
  for (const std::string& split : {std::string("madvise 0 3 dontneed\n"),
                                   std::string("uffd_open\nuffd_register 0 512 wp\nuffd_wp 0 1 on\nuffd_wp 0 1 off\n")}) {
    Program prog = MustParse(head + split + tail);
    size_t first_look = prog.ops.size() - 3;
    Trace plain = Predicted(prog, thp);
    ASSERT_EQ(CheckTrace(prog, plain, thp).status, Verdict::Status::kPass);
    // Collapsed between the two looks at pages 0-3: present, soft-dirty.
    KernelProfile collapsing = thp;
    collapsing.collapse = {first_look + 1, 0, 0};
    Trace t = Predicted(prog, collapsing);
    EXPECT_EQ(PrintResult(prog.ops[first_look + 1], t.results[first_look + 1]), "P--X-D P--X-D P--X-D P--X-D")
        << split;
    EXPECT_NE(PrintResult(prog.ops[first_look + 1], t.results[first_look + 1]),
              PrintResult(prog.ops[first_look + 1], plain.results[first_look + 1]));
    Verdict v = CheckTrace(prog, t, thp);
    EXPECT_EQ(v.status, Verdict::Status::kPass) << split << (v.divergence ? v.divergence->line : v.note);
    EXPECT_EQ(v.taken[a], 1u);
    // The same answers without the limits that allow it: with
    // max_ptes_none 0 the dontneed'd range cannot collapse.
    KernelProfile tamed = thp;
    tamed.khugepaged_max_ptes_none = 0;
    Verdict w = CheckTrace(prog, t, tamed);
    EXPECT_EQ(w.status, split[0] == 'm' ? Verdict::Status::kDivergence : Verdict::Status::kPass) << split;
  }
  // uffd-wp on page 0 kept: hpage_collapse_scan_pmd() refuses the range, so
  // answers that show it collapsed (soft-dirty everywhere, page 0 without
  // its uffd-wp bit) diverge.
  Program prog = MustParse(head + "uffd_open\nuffd_register 0 512 wp\nuffd_wp 0 1 on\n" + tail);
  KernelProfile collapsing = thp;
  collapsing.collapse = {prog.ops.size() - 2, 0, 0};
  Trace t = Predicted(prog, collapsing);
  Verdict v = CheckTrace(prog, t, thp);
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->op_index, prog.ops.size() - 2) << v.divergence->line;
  EXPECT_EQ(v.taken[a], 0u);
}

// The ranges khugepaged may collapse (hpage_collapse_scan_pmd()): a split
// THP qualifies until a limit refuses it: empty PTEs past max_ptes_none,
// shared pages past max_ptes_shared (after fork), any empty PTE once the
// VMA is registered with userfaultfd, a uffd-wp'd PTE; a PMD-mapped THP has
// nothing to collapse.
TEST(Checker, KhugepagedCollapsibleSlots) {
  KernelProfile thp = GuestProfile61();
  thp.thp = ThpMode::kMadvise;
  auto slots = [&](const std::string& text, const KernelProfile& prof) {
    Model m(prof);
    Program prog = MustParse(text);
    for (size_t i = 0; i < prog.ops.size(); i++) m.Apply(prog.ops[i], i, m.Predict(prog.ops[i], i).expected);
    return m.CollapsibleSlots(0).size();
  };
  const std::string thp_slot = "mmap 0 512 rw anon private\nmadvise 0 512 hugepage\nwrite 5\n";
  EXPECT_EQ(slots(thp_slot, thp), 0u) << "PMD-mapped";
  EXPECT_EQ(slots(thp_slot + "madvise 0 3 dontneed\n", thp), 1u);
  KernelProfile tamed = thp;
  tamed.khugepaged_max_ptes_none = 2;
  EXPECT_EQ(slots(thp_slot + "madvise 0 3 dontneed\n", tamed), 0u) << "3 empty > max_ptes_none 2";
  EXPECT_EQ(slots(thp_slot + "madvise 0 3 dontneed\nfork\n", thp), 0u) << "509 shared > max_ptes_shared 256";
  KernelProfile shared_ok = thp;
  shared_ok.khugepaged_max_ptes_shared = 511;
  EXPECT_EQ(slots(thp_slot + "madvise 0 3 dontneed\nfork\n", shared_ok), 1u);
  EXPECT_EQ(slots(thp_slot + "madvise 0 3 dontneed\nuffd_open\nuffd_register 0 512 missing\n", thp), 0u)
      << "an empty PTE in an armed VMA";
  const std::string wp = thp_slot + "uffd_open\nuffd_register 0 512 wp\nuffd_wp 0 1 on\n";
  EXPECT_EQ(slots(wp, thp), 0u) << "a uffd-wp'd PTE";
  EXPECT_EQ(slots(wp + "uffd_wp 0 1 off\n", thp), 1u) << "armed, but no empty PTE";
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
  EXPECT_EQ(v.divergence->signature, "wrong-errno|mmap|errno|kernel=ENOMEM,model=ok|unmapped");
  EXPECT_EQ(v.divergence->where, "vma=none|pte=none");

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

  // A scan that failed where the model wanted regions: the signature says
  // "ok", not the regions (pages of this program, not what went wrong).
  t = Predicted(prog, HostProfile618());
  t.results[2] = Result{.kind = ResultKind::kErr, .err = EPERM};
  v = CheckTrace(prog, t, HostProfile618());
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->signature, "wrong-errno|scan|errno|kernel=EPERM,model=ok|anon-private");
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

namespace mmdiff {
namespace {

// --- known quirks: taken and counted when the profile has them, a divergence
// of the right class when it does not ------------------------------------------


struct QuirkCase {
  const char* name;
  char profile;          // 'H' host 6.18, 'G' guest 6.1
  Quirk quirk;
  const char* program;   // the last op is the observation the quirk changes
  uint64_t set, clear;   // how the kernel's last pagemap entry differs from the contract
  DivergenceClass without;
};

const QuirkCase kQuirkCases[] = {
    {"ShmemDropKeepsMarker", 'H', Quirk::kShmemDropPageKeepsUffdWpMarker, R"(
memfd 0 1
mmap 0 1 rw memfd:0+0 shared
uffd_open wp_hugetlbfs_shmem
uffd_register 0 1 wp
write 0
uffd_wp 0 1 on
fpunch 0 0 1
pagemap 0 1
)",
     kPmSwap | kPmUffdWp, 0, DivergenceClass::kWrongWp},
    {"TruncateKeepsMarker", 'G', Quirk::kShmemDropPageKeepsUffdWpMarker, R"(
memfd 0 2
mmap 0 2 rw memfd:0+0 shared
uffd_open
uffd_register 0 2 wp
uffd_wp 0 2 on
ftruncate 0 0
pagemap 1 1
)",
     kPmSwap | kPmUffdWp, 0, DivergenceClass::kWrongWp},
    // An existing marker stays though the VMA is no longer uffd-wp
    // registered (zap_nonpresent_ptes() keeps file markers without
    // ZAP_FLAG_DROP_MARKER).
    {"PunchKeepsMarkerOfUnregisteredVma", 'H', Quirk::kShmemDropPageKeepsUffdWpMarker, R"(
memfd 0 2
mmap 0 2 rw memfd:0+0 private
uffd_open wp_hugetlbfs_shmem
uffd_register 0 2 wp
uffd_wp 0 2 on
uffd_register 0 2 minor
fpunch 0 0 1
pagemap 0 1
)",
     kPmSwap | kPmUffdWp, 0, DivergenceClass::kWrongWp},
    {"HugeZeroPageIsFile", 'H', Quirk::kHugeZeroPagePagemapFile, R"(
mmap 0 512 r anon private
madvise 0 512 hugepage
read 0
pagemap 0 1
)",
     kPmFile, 0, DivergenceClass::kWrongPagemap},
    {"SoftDirtyLostOnMergeByMprotect", 'G', Quirk::kSoftdirtyLostOnMerge, R"(
mmap 0 1 rw anon private
clear_refs 4
mmap 1 1 rwx anon private
mprotect 0 1 rwx
pagemap 1 1
)",
     0, kPmSoftDirty, DivergenceClass::kMissedDirty},
    {"SoftDirtyLostOnMergeByMremap", 'G', Quirk::kSoftdirtyLostOnMerge, R"(
mmap 0 1 rw anon private
clear_refs 4
mmap 4 1 rw anon private
mremap 4 1 1 move 1
pagemap 1 1
)",
     0, kPmSoftDirty, DivergenceClass::kMissedDirty},
    // The same root cause through madvise_update_vma() and
    // userfaultfd_unregister(): the merged VMA takes the clean changed VMA's flags.
    {"SoftDirtyLostOnMergeByMadvise", 'G', Quirk::kSoftdirtyLostOnMerge, R"(
mmap 0 1 rw anon private
madvise 0 1 dontfork
clear_refs 4
mmap 1 1 rw anon private
madvise 0 1 dofork
pagemap 1 1
)",
     0, kPmSoftDirty, DivergenceClass::kMissedDirty},
    {"SoftDirtyLostOnMergeByUffdUnregister", 'G', Quirk::kSoftdirtyLostOnMerge, R"(
mmap 0 1 rw anon private
uffd_open
uffd_register 0 1 wp
clear_refs 4
mmap 1 1 rw anon private
uffd_unregister 0 1
pagemap 1 1
)",
     0, kPmSoftDirty, DivergenceClass::kMissedDirty},
    // 6.1 uffd_wp_range() maps the shared PTE writable on unregister: the
    // write after clear_refs does not fault, the page stays soft-clean.
    {"SoftDirtyLostOnUffdWpResolve", 'G', Quirk::kSoftdirtyLostOnUffdWpResolve, R"(
mmap 0 2 rw anon shared
write 1
clear_refs 4
uffd_open wp_hugetlbfs_shmem
uffd_register 0 2 wp
uffd_unregister 0 2
write 1
pagemap 1 1
)",
     0, kPmSoftDirty, DivergenceClass::kMissedDirty},
    {"SoftDirtyLostOnUffdWpOff", 'G', Quirk::kSoftdirtyLostOnUffdWpResolve, R"(
mmap 0 2 rw anon shared
write 1
clear_refs 4
uffd_open wp_hugetlbfs_shmem
uffd_register 0 2 wp
uffd_wp 0 2 on
uffd_wp 0 2 off
write 1
write 1
pagemap 1 1
)",
     0, kPmSoftDirty, DivergenceClass::kMissedDirty},
};

class QuirkCheck : public testing::TestWithParam<QuirkCase> {};

TEST_P(QuirkCheck, TakenAndCountedOnlyWhenTheProfileHasIt) {
  const QuirkCase& c = GetParam();
  KernelProfile profile = c.profile == 'G' ? GuestProfile61() : HostProfile618();
  ASSERT_TRUE(profile.quirks.Has(c.quirk));
  Program prog = MustParse(c.program);
  Trace t = Predicted(prog, profile);
  size_t last = prog.ops.size() - 1;
  ASSERT_EQ(t.results[last].kind, ResultKind::kPagemap);
  t.results[last].pagemap[0] = (t.results[last].pagemap[0] | c.set) & ~c.clear;

  Verdict v = CheckTrace(prog, t, profile);
  ASSERT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.quirks_taken[static_cast<int>(c.quirk)], 1u);
  ASSERT_EQ(v.quirk_ops.size(), 1u);
  EXPECT_EQ(v.quirk_ops[0].first, last);
  EXPECT_EQ(v.QuirksTaken(), 1u << static_cast<int>(c.quirk));

  // The contract's own trace takes no quirk.
  Verdict clean = CheckTrace(prog, Predicted(prog, profile), profile);
  EXPECT_EQ(clean.status, Verdict::Status::kPass);
  EXPECT_EQ(clean.QuirksTaken(), 0u);

  Verdict off = CheckTrace(prog, t, WithoutQuirk(profile, c.quirk));
  ASSERT_EQ(off.status, Verdict::Status::kDivergence);
  EXPECT_EQ(off.divergence->cls, c.without) << off.divergence->line;
  EXPECT_EQ(off.divergence->op_index, last);
}

INSTANTIATE_TEST_SUITE_P(Quirks, QuirkCheck, testing::ValuesIn(kQuirkCases),
                         [](const testing::TestParamInfo<QuirkCase>& info) { return info.param.name; });

TEST(Quirk, NamesMatchQuirksMd) {
  EXPECT_EQ(QuirkName(Quirk::kShmemDropPageKeepsUffdWpMarker), "shmem_drop_page_keeps_uffd_wp_marker");
  EXPECT_EQ(QuirkByName("softdirty_lost_on_merge"), Quirk::kSoftdirtyLostOnMerge);
  EXPECT_EQ(QuirkByName("scan_stale_walk_end"), Quirk::kScanStaleWalkEnd);
  EXPECT_FALSE(QuirkByName("no_such_quirk").has_value());
}

TEST(Quirk, ProfilesSwitchThemOn) {
  KernelProfile h = HostProfile618(), g = GuestProfile61();
  EXPECT_TRUE(h.quirks.Has(Quirk::kShmemDropPageKeepsUffdWpMarker));
  EXPECT_TRUE(h.quirks.Has(Quirk::kHugeZeroPagePagemapFile));
  EXPECT_TRUE(h.quirks.Has(Quirk::kScanStaleWalkEnd));
  EXPECT_FALSE(h.quirks.Has(Quirk::kSoftdirtyLostOnMerge));  // no soft-dirty
  EXPECT_TRUE(g.quirks.Has(Quirk::kSoftdirtyLostOnMerge));
  EXPECT_FALSE(g.quirks.Has(Quirk::kScanStaleWalkEnd));  // no PAGEMAP_SCAN
  KernelFeatures fixed = GuestFeatures61();
  fixed.release = "6.19.0";
  EXPECT_FALSE(MakeProfile(fixed).quirks.Has(Quirk::kSoftdirtyLostOnMerge));
  EXPECT_TRUE(g.quirks.Has(Quirk::kSoftdirtyLostOnUffdWpResolve));
  EXPECT_FALSE(h.quirks.Has(Quirk::kSoftdirtyLostOnUffdWpResolve));
  fixed.release = "6.3.0";
  EXPECT_FALSE(MakeProfile(fixed).quirks.Has(Quirk::kSoftdirtyLostOnUffdWpResolve));
}

// A sync uffd-wp write to a page whose marker the quirk kept: the WP fault is
// allowed only through the quirk.
TEST(Quirk, KeptMarkerWpFaultIsAnAlternative) {
  Program prog = MustParse(R"(
memfd 0 1
mmap 0 1 rw memfd:0+0 shared
uffd_open wp_hugetlbfs_shmem
uffd_register 0 1 wp
write 0
uffd_wp 0 1 on
fpunch 0 0 1
write 0
)");
  Trace t = Predicted(prog, HostProfile618());
  EXPECT_EQ(t.results[7].uffd_faults, 0);
  t.results[7].uffd_faults = kFaultWp;
  Verdict v = CheckTrace(prog, t, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.quirks_taken[static_cast<int>(Quirk::kShmemDropPageKeepsUffdWpMarker)], 1u);
  Verdict off = CheckTrace(prog, t, WithoutQuirk(HostProfile618(), Quirk::kShmemDropPageKeepsUffdWpMarker));
  ASSERT_EQ(off.status, Verdict::Status::kDivergence);
  EXPECT_EQ(off.divergence->cls, DivergenceClass::kWrongWp);
}

// More than 512 regions: walk_end may keep the first bounce-buffer stop.
TEST(Quirk, StaleWalkEndIsAnAlternative) {
  std::string text = "mmap 0 1400 rw anon private\n";
  for (int i = 0; i < 1400; i += 2) text += "write " + std::to_string(i) + "\n";
  text += "scan 0 1400 req=present ret=present vec=4096\n";
  Program prog = MustParse(text);
  KernelProfile h = HostProfile618();
  Model m(h);
  AdvanceTo(m, prog, prog.ops.size() - 1);
  Prediction pred = m.Predict(prog.ops.back(), prog.ops.size() - 1);
  EXPECT_EQ(pred.expected.walk_end, 1400u);
  ASSERT_EQ(pred.alternatives.size(), 1u);
  EXPECT_TRUE(pred.alternatives[0].grants.Has(Grant::Of(Quirk::kScanStaleWalkEnd)));
  EXPECT_EQ(pred.alternatives[0].result.walk_end, 1024u);  // the first stop: 512 regions later
  Grants used;
  EXPECT_TRUE(PredictionAllows(pred, pred.alternatives[0].result, &used));
  EXPECT_TRUE(used.Has(Grant::Of(Quirk::kScanStaleWalkEnd)));
  Model n(WithoutQuirk(h, Quirk::kScanStaleWalkEnd));
  AdvanceTo(n, prog, prog.ops.size() - 1);
  EXPECT_FALSE(PredictionAllows(n.Predict(prog.ops.back(), prog.ops.size() - 1), pred.alternatives[0].result));
}

// --- fault-around and reclaim: allowances with doubtful PTEs -----------------

constexpr const char* kFaultAround = R"(
memfd 0 8
fwrite 0 1 =1
fwrite 0 2 =2
fwrite 0 3 =3
mmap 0 8 r memfd:0+0 shared
read 0
pagemap 0 4
scan 0 4 ret=present
)";

TEST(FaultAround, KernelMappingAnySubsetPasses) {
  Program prog = MustParse(kFaultAround);
  KernelProfile h = HostProfile618();
  ASSERT_EQ(h.fault_around_pages, 16u);
  for (int mapped = 0; mapped < 8; mapped++) {
    Trace t = Predicted(prog, h);
    t.results.resize(7);  // up to the pagemap
    for (int k = 1; k <= 3; k++)
      if (!(mapped & (1 << (k - 1)))) t.results[6].pagemap[k] = 0;
    Verdict v = CheckTrace(prog, t, h);
    EXPECT_EQ(v.status, Verdict::Status::kPass) << mapped << ": " << (v.divergence ? v.divergence->line : v.note);
    EXPECT_EQ(v.taken[static_cast<int>(Allowance::kFaultAroundMayMap)], mapped == 7 ? 0u : 1u) << mapped;
    EXPECT_EQ(v.granted[static_cast<int>(Allowance::kFaultAroundMayMap)], 1u);
  }
  // Pinned off (the guest's executor): the same mapping is a divergence.
  KernelProfile pinned = h;
  pinned.fault_around_pages = 1;
  Trace t = Predicted(prog, h);
  t.results.resize(7);
  Verdict v = CheckTrace(prog, t, pinned);
  ASSERT_EQ(v.status, Verdict::Status::kDivergence);
  EXPECT_EQ(v.divergence->line, "DIVERGENCE wrong-pagemap op=6 \"pagemap 0 4\" page=1 bit=P kernel=1 model=0");
}

// MADV_HUGEPAGE on a file mapping: readahead's large folios may be mapped
// whole, beyond the 16-page window (found by a 10-minute host campaign:
// page 259 present after a read of page 297). Without hugepage too where
// the filesystem caches large folios anyway (file_folios_may_be_large, as
// 6.18's ext4); elsewhere that is a divergence.
TEST(FaultAround, HugepageFileMappingMayMapTheWholeTable) {
  KernelProfile large = HostProfile618();
  KernelProfile small = large;
  small.behaviours &= ~kBehFileFoliosMayBeLarge;
  for (bool hugepage : {true, false})
    for (const KernelProfile* h : {&large, &small}) {
      std::string text = std::string("file 7 39\nmmap 259 39 rwx file:7+0 shared\n") +
                         (hugepage ? "madvise 259 39 hugepage\n" : "madvise 259 39 nohugepage\n") +
                         "fork\np1: read 297\np1: pagemap 259 1\n";
      Program prog = MustParse(text);
      Trace t = Predicted(prog, *h);
      t.results[5].pagemap[0] = kPmPresent | kPmFile;  // what 6.18.44 answered
      Verdict v = CheckTrace(prog, t, *h);
      bool may = hugepage || h == &large;
      EXPECT_EQ(v.status, may ? Verdict::Status::kPass : Verdict::Status::kDivergence)
          << hugepage << (h == &large) << ": " << (v.divergence ? v.divergence->line : v.note);
    }
}

TEST(FaultAround, ScanGivesEveryCombinationAndResolvesThePtes) {
  Program prog = MustParse(kFaultAround);
  KernelProfile h = HostProfile618();
  Model m(h);
  AdvanceTo(m, prog, 6);
  EXPECT_EQ(m.state().procs[0].doubts.size(), 3u);
  Prediction pred = m.Predict(prog.ops[7], 7);
  EXPECT_EQ(PrintResult(prog.ops[7], pred.expected), "= 1 [0,4):p end=4");
  EXPECT_EQ(pred.alternatives.size(), 7u);
  // The kernel mapped only page 2: the scan shows it, and the model follows.
  Result k = pred.expected;
  k.value = 4;
  k.regions = {{0, 1, kCatPresent}, {1, 2, 0}, {2, 3, kCatPresent}, {3, 4, 0}};
  Grants used;
  ASSERT_TRUE(PredictionAllows(pred, k, &used));
  EXPECT_TRUE(used.Has(Grant::Of(Allowance::kFaultAroundMayMap)));
  m.Apply(prog.ops[7], 7, k);
  EXPECT_TRUE(m.state().procs[0].doubts.empty());
  EXPECT_NE(DrawAddressSpace(m, 0, 0, 8).find("pte   c.c....."), std::string::npos) << DrawAddressSpace(m, 0, 0, 8);
}

TEST(FaultAround, ForkCopyingADoubtIsUnmodelled) {
  Program prog = MustParse(R"(
memfd 0 4
fwrite 0 1 =1
mmap 0 4 r memfd:0+0 private
read 0
fork
)");
  Model m(HostProfile618());
  AdvanceTo(m, prog, 4);
  // No anon_vma: the page tables are not copied, nothing to decide.
  EXPECT_TRUE(m.Predict(prog.ops[4], 4).unmodelled.empty());
  Program cow = MustParse("mprotect 0 4 rw\nwrite 3\n");
  AdvanceTo(m, cow, cow.ops.size(), 5);
  EXPECT_EQ(m.Predict(prog.ops[4], 7).unmodelled, "fork copying a PTE the model cannot pin down");
}

// A page whose first MADV_PAGEOUT may have unmapped it, and which uffd_wp
// then marked where it did: a second pageout under a VMA no longer WP
// registered would make a third state, which the model does not hold: it
// says so instead of forbidding the marker the kernel keeps.
TEST(Reclaim, PageoutOfAPageInDoubtIsUnmodelled) {
  Program prog = MustParse(R"(
mmap 0 1 rw anon shared
write 0
madvise 0 1 pageout
uffd_open
uffd_register 0 1 wp
uffd_wp 0 1 on
uffd_register 0 1 missing
madvise 0 1 pageout
pagemap 0 1
)");
  Trace t = Predicted(prog, HostProfile618());
  EXPECT_EQ(t.results[7].kind, ResultKind::kNone);  // the second pageout is not predicted
  t.results[7] = Result{.kind = ResultKind::kOk};
  t.results[8] = Result{.kind = ResultKind::kPagemap, .pagemap = {kPmSwap | kPmUffdWp}};  // the marker stayed
  Verdict v = CheckTrace(prog, t, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kUnmodelled) << (v.divergence ? v.divergence->line : v.note);
}

// p1, the reader of p2's uffd, exited: p2's minor fault waits forever. The
// model says so (unmodelled) also where the pageout left it unsure whether
// the page is still cached and it runs the access once per possibility.
TEST(Reclaim, AUserfaultNobodyAnswersIsUnmodelledInEveryWorld) {
  Program prog = MustParse(R"(
memfd 2 1
mmap 0 1 rw memfd:2+0 shared populate
madvise 0 1 pageout
fork
madvise 0 1 populate_read
p1: uffd_open event_fork
p1: uffd_register 0 1 minor
p1: fork
p2: uffd_unregister 2 1
p1: exit
p2: write 0
)");
  Trace t = Predicted(prog, HostProfile618());
  t.results[10] = Result{.kind = ResultKind::kHang};
  Verdict v = CheckTrace(prog, t, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kUnmodelled) << (v.divergence ? v.divergence->line : v.note);
}

// The page's only doubt is its stale uffd-wp bit (both worlds present):
// one mapping, not two, so the second pageout may unmap it too, which one
// doubt cannot carry beside the bit's: unmodelled, not "stays mapped".
TEST(Reclaim, APageWhoseWpBitIsInDoubtIsMappedOnce) {
  Program prog = MustParse(R"(
mmap 0 1 rw anon shared
write 0
madvise 0 1 pageout
uffd_open
uffd_register 0 1 wp
uffd_wp 0 1 on
uffd_register 0 1 missing
write 0
madvise 0 1 pageout
pagemap 0 1
)");
  Trace t = Predicted(prog, HostProfile618());
  ASSERT_EQ(t.results.size(), 10u);
  t.results[7] = Result{.kind = ResultKind::kOk};
  t.results[8] = Result{.kind = ResultKind::kOk};
  t.results[9] = Result{.kind = ResultKind::kPagemap, .pagemap = {0}};  // unmapped
  Verdict v = CheckTrace(prog, t, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kUnmodelled) << (v.divergence ? v.divergence->line : v.note);
}

TEST(Reclaim, PageoutUnmapIsACountedAllowance) {
  Program prog = MustParse(R"(
mmap 0 2 rw anon shared
write 0
madvise 0 1 pageout
pagemap 0 1
read 0
)");
  Trace t = Predicted(prog, HostProfile618());
  t.results[3].pagemap[0] = 0;  // unmapped; the data stays in the page cache
  Verdict v = CheckTrace(prog, t, HostProfile618());
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.taken[static_cast<int>(Allowance::kReclaimMayUnmap)], 1u);
  EXPECT_EQ(t.results[4].value, 2);
}

}  // namespace
}  // namespace mmdiff

#include "model/judge.h"

namespace mmdiff {
namespace {

// A corpus program documents the contract; on a kernel with the quirk it
// passes with a note, and its expectations after the quirk are excused.
TEST(Judge, ExpectationMismatchThroughAQuirkIsAKnownQuirk) {
  Program prog = MustParse(R"(
memfd 0 1 => ok
mmap 0 1 rw memfd:0+0 shared => ok
uffd_open wp_hugetlbfs_shmem => ok
uffd_register 0 1 wp => ok
write 0 => ok
uffd_wp 0 1 on => ok
fpunch 0 0 1 => ok
pagemap 0 1 => ------
write 0 => ok
)");
  KernelProfile h = HostProfile618();
  Trace t = Predicted(prog, h);
  t.results[7].pagemap[0] = kPmSwap | kPmUffdWp;  // the marker stayed
  t.results[8].uffd_faults = kFaultWp;             // and a sync write faults on it
  Judgement j = JudgeKernelRun(prog, t, h);
  EXPECT_EQ(j.kind, Judgement::Kind::kPass) << j.line;
  EXPECT_EQ(j.line, "known quirk shmem_drop_page_keeps_uffd_wp_marker");
  EXPECT_EQ(JudgeKernelRun(prog, Predicted(prog, h), h).line, "");

  KernelProfile off = WithoutQuirk(h, Quirk::kShmemDropPageKeepsUffdWpMarker);
  Judgement f = JudgeKernelRun(prog, t, off);
  EXPECT_EQ(f.kind, Judgement::Kind::kFail);
  EXPECT_EQ(f.line, "EXPECTATION op=7 \"pagemap 0 1\" kernel: page=0 bit=W observed=1 expected=0");
  // The model alone agrees with the documented contract.
  EXPECT_EQ(JudgeModelOnly(prog, h).kind, Judgement::Kind::kPass);
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// After MADV_PAGEOUT of a clean shmem page, a MINOR-registered read may see
// the page still mapped (no fault), unmapped but cached (MINOR fault), or
// dropped from the cache (no fault, a new page): all pass, counted.
TEST(Reclaim, CleanShmemPageMayLeaveTheCache) {
  Program prog = MustParse(R"(
memfd 0 4
mmap 0 4 r memfd:0+0 shared
madvise 0 4 populate_read
madvise 0 4 pageout
uffd_open
uffd_register 0 4 minor
read 1
read 2
)");
  KernelProfile h = HostProfile618();
  Trace t = Predicted(prog, h);
  EXPECT_EQ(t.results[6].uffd_faults, 0);
  t.results[7].uffd_faults = kFaultMinor;  // page 2: unmapped, still cached
  Verdict v = CheckTrace(prog, t, h);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_GE(v.taken[static_cast<int>(Allowance::kReclaimMayUnmap)], 1u);
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// A new mapping between an unfaulted prev and a faulted next: 6.1's
// mmap_region() tries next first and then refuses prev (its empty
// anon_vma_chain is not singular), so prev stays apart and clean after
// clear_refs; upstream merges all three, and the merged VMA is soft-dirty.
// Found by a 6.1 guest campaign (missed-dirty, kernel D=0); the behaviour
// probe mmap_merges_prev_first measures which a kernel does.
TEST(MmapMerge, PrevBesideAFaultedNextFollowsTheBehaviour) {
  Program prog = MustParse(R"(
mmap 0 4 rw anon private
mmap 1028 24 rw anon private
write 1051
clear_refs 4
mmap 4 1024 rw anon private
read 0
pagemap 0 1
)");
  KernelProfile old = GuestProfile61();
  ASSERT_FALSE(old.Has(kBehMmapMergesPrevFirst));
  Trace t = Predicted(prog, old);
  EXPECT_FALSE(t.results[6].pagemap[0] & kPmSoftDirty) << "6.1: prev did not merge, still clean";
  KernelProfile upstream = old;
  upstream.behaviours |= kBehMmapMergesPrevFirst;
  Trace u = Predicted(prog, upstream);
  EXPECT_TRUE(u.results[6].pagemap[0] & kPmSoftDirty) << "merged into the new, soft-dirty VMA";
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// A write while the VMA was registered MINOR only made the shmem PTE
// writable with its stale uffd-wp bit; registered for WP again, the kernel's
// next write takes no fault and the bit stays (6.18, 6.12: PAGEMAP_SCAN says
// not written). Not modelled: the register op says so instead of the scan
// diverging (found by bench/false_positives on the host).
TEST(UffdWp, RegisterOverAStaleWritableBitIsUnmodelled) {
  Program prog = MustParse(R"(
mmap 0 1 rwx anon shared
read 0
uffd_open wp_async
uffd_register 0 1 wp
uffd_wp 0 1 on
uffd_register 0 1 minor
write 0
uffd_register 0 1 wp minor
)");
  Model m(HostProfile618());
  AdvanceTo(m, prog, 7);
  EXPECT_EQ(m.Predict(prog.ops[7], 7).unmodelled, "uffd_register wp over a writable PTE with a stale uffd-wp bit");
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// PAGEMAP_SCAN's soft_dirty category reads VM_SOFTDIRTY as pagemap does, so
// a VMA whose flag a merge may have lost (quirk softdirty_lost_on_merge) is
// an alternative of the scan too. Found on Debian 6.12 by
// bench/false_positives: an mremap moved a new VMA next to a clean one, the
// merge kept the clean flags, and the scan said not soft-dirty.
TEST(Quirk, ScanSoftDirtyLostInAMerge) {
  Program prog = MustParse(R"(
requires soft_dirty pagemap_scan scan_soft_dirty
mmap 338 1 rw anon private
clear_refs 4
mmap 88 1 rw anon private
mremap 88 1 6 move 332
scan 332 1
)");
  KernelFeatures f = GuestFeatures61();  // soft-dirty, and PAGEMAP_SCAN as 6.12 has it
  f.features |= kFeatPagemapScan | kFeatScanSoftDirty;
  f.scan_categories = 0xff;
  KernelProfile k = MakeProfile(f);
  ASSERT_TRUE(k.quirks.Has(Quirk::kSoftdirtyLostOnMerge));
  Trace t = Predicted(prog, k);
  ASSERT_EQ(t.results[5].regions.size(), 1u);
  EXPECT_TRUE(t.results[5].regions[0].categories & kCatSoftDirty);  // the contract: still soft-dirty
  t.results[5].regions[0].categories &= ~kCatSoftDirty;            // 6.12: lost in the merge
  Verdict v = CheckTrace(prog, t, k);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.quirks_taken[static_cast<int>(Quirk::kSoftdirtyLostOnMerge)], 1u);
  Verdict off = CheckTrace(prog, t, WithoutQuirk(k, Quirk::kSoftdirtyLostOnMerge));
  EXPECT_EQ(off.status, Verdict::Status::kDivergence);
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// 6.12's fork copies a uffd-wp marker as a fresh one: the soft-dirty bit
// mremap gave it is gone in the child (corpus/quirks/softdirty_lost_on_fork_marker.mmp).
TEST(Quirk, ForkDropsAMovedMarkersSoftDirty) {
  Program prog = MustParse(R"(
requires soft_dirty uffd_wp wp_async
mmap 0 2 none anon private
uffd_open wp_async event_fork event_remap
uffd_register 1 1 wp
uffd_wp 1 1 on
clear_refs 4
uffd_register 0 1 wp
mremap 0 2 2 move 3
fork
p1: pagemap 4 1
)");
  KernelFeatures f = GuestFeatures61();
  f.features |= kFeatWpAsync;
  f.uffd_api_features = 0x1ffff;
  KernelProfile k = MakeProfile(f);
  ASSERT_TRUE(k.quirks.Has(Quirk::kSoftdirtyLostOnForkMarker));
  Trace t = Predicted(prog, k);
  ASSERT_TRUE(t.results[9].pagemap[0] & kPmSoftDirty) << "the contract: the moved marker reads soft-dirty";
  t.results[9].pagemap[0] &= ~kPmSoftDirty;  // 6.12's child
  Verdict v = CheckTrace(prog, t, k);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.quirks_taken[static_cast<int>(Quirk::kSoftdirtyLostOnForkMarker)], 1u);
  EXPECT_EQ(CheckTrace(prog, t, WithoutQuirk(k, Quirk::kSoftdirtyLostOnForkMarker)).status,
            Verdict::Status::kDivergence);
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// UFFDIO_REGISTER over a range holding an already registered VMA skips it,
// and 6.1 then tests each changed VMA against that unchanged neighbour with
// the changed VMA's own anon_vma (fs/userfaultfd.c userfaultfd_register():
// vma_merge(prev, ..., vma->anon_vma, ...)). Found by bench/false_positives
// on Debian 6.1, minimized: both merge directions, each 5/5 there.
TEST(UffdRegister, SkippedVmaIsAnUnchangedNeighbourOn61) {
  KernelProfile k = GuestProfile61();
  // A faulted changed VMA does not merge into the skipped unfaulted one...
  Program a = MustParse("mmap 0 80 rw anon private\nuffd_open\nuffd_register 78 1 wp\nwrite 0\n"
                        "uffd_register 0 80 wp\nuffd_wp 77 2 on\n");
  EXPECT_EQ(PrintResult(a.ops[5], Predicted(a, k).results[5]), "err ENOENT");
  // ...and an unfaulted one merges into the skipped faulted one.
  Program b = MustParse("mmap 0 3 rw anon private\nuffd_open\nuffd_register 1 1 wp\nwrite 1\n"
                        "uffd_register 0 3 wp\nuffd_wp 0 2 on\n");
  EXPECT_EQ(PrintResult(b.ops[5], Predicted(b, k).results[5]), "ok");
}

}  // namespace
}  // namespace mmdiff
