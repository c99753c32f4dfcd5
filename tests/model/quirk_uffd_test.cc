// The userfaultfd quirks on the model: unregistering through another
// context (uffd_unregister_other_ctx), where the unregister succeeds and where
// it then fails at a hugetlb split, and the mremap merge that drops the
// registration of the part that stays (mremap_merge_drops_uffd_registration),
// which the model does not follow.
#include <gtest/gtest.h>

#include <cerrno>

#include "model/checker.h"
#include "model_test_util.h"

namespace mmdiff {
namespace {

// 6.1 unregisters through another context (no "prevent unregistering VMAs
// through a different userfaultfd"): ok instead of EINVAL, and the owner's
// registration is gone.
TEST(Quirk, UnregisterThroughAnotherContext) {
  Program prog = MustParse(R"(
mmap 0 4 rw anon private
uffd_open
uffd_register 0 2 wp
uffd_open
uffd_unregister 0 4
uffd_wp 0 2 on
)");
  KernelProfile g = GuestProfile61();
  ASSERT_TRUE(g.quirks.Has(Quirk::kUffdUnregisterOtherCtx));
  EXPECT_FALSE(HostProfile618().quirks.Has(Quirk::kUffdUnregisterOtherCtx));
  Trace t = Predicted(prog, g);
  EXPECT_EQ(PrintResult(prog.ops[4], t.results[4]), "err EINVAL");
  t.results[4] = Result{};
  t.results[4].kind = ResultKind::kOk;
  t.results[5] = Result{};
  t.results[5].kind = ResultKind::kErr;
  t.results[5].err = ENOENT;  // the second context does not own [0,2) anyway
  Verdict v = CheckTrace(prog, t, g);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.quirks_taken[static_cast<int>(Quirk::kUffdUnregisterOtherCtx)], 1u);
  Verdict off = CheckTrace(prog, t, WithoutQuirk(g, Quirk::kUffdUnregisterOtherCtx));
  ASSERT_EQ(off.status, Verdict::Status::kDivergence);
  EXPECT_EQ(off.divergence->cls, DivergenceClass::kWrongErrno);
  EXPECT_EQ(off.divergence->op_index, 4u);
}

// The same unchecked context, where the unregister then fails: the kernel
// resets write protection over the huge page before it refuses the hugetlb
// split, and EINVAL is the contract's answer too. Both states pass, the
// reset one as the quirk; without the quirk it is a wrong uffd-wp bit
// (corpus/quirks/uffd_unregister_other_ctx_refused_clears_wp.mmp; found on
// 6.12.118).
TEST(Quirk, UnregisterThroughAnotherContextRefusedAtAHugetlbSplit) {
  Program prog = MustParse(R"(
requires uffd_wp hugetlb
mmap 0 1 rw anon private hugetlb
uffd_open
uffd_register 0 512 wp
uffd_open
uffd_wp 0 512 on
uffd_unregister 0 1
pagemap 0 1
)");
  KernelProfile g = GuestProfile61();
  g.features |= kFeatHugetlb;
  g.hugetlb_free = 8;  // the guests' pool (vmimages/qemu.cc hugepages=8)
  ASSERT_TRUE(g.quirks.Has(Quirk::kUffdUnregisterOtherCtx));
  Trace t = Predicted(prog, g);
  ASSERT_EQ(PrintResult(prog.ops[1], t.results[1]), "ok");
  ASSERT_EQ(PrintResult(prog.ops[6], t.results[6]), "err EINVAL");
  ASSERT_EQ(t.results[7].kind, ResultKind::kPagemap);
  ASSERT_TRUE(t.results[7].pagemap[0] & kPmUffdWp) << "the contract keeps the page write-protected";
  Verdict contract = CheckTrace(prog, t, g);
  EXPECT_EQ(contract.status, Verdict::Status::kPass) << (contract.divergence ? contract.divergence->line : contract.note);
  EXPECT_EQ(contract.quirks_taken[static_cast<int>(Quirk::kUffdUnregisterOtherCtx)], 0u);
  t.results[7].pagemap[0] &= ~kPmUffdWp;
  Verdict v = CheckTrace(prog, t, g);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.quirks_taken[static_cast<int>(Quirk::kUffdUnregisterOtherCtx)], 1u);
  Verdict off = CheckTrace(prog, t, WithoutQuirk(g, Quirk::kUffdUnregisterOtherCtx));
  ASSERT_EQ(off.status, Verdict::Status::kDivergence);
  EXPECT_EQ(off.divergence->cls, DivergenceClass::kWrongWp);
  EXPECT_EQ(off.divergence->op_index, 7u);
}

// The mremap merge that drops the registration of the part that stays is
// not followed: the op is reported unmodelled where the quirk is on.
TEST(Quirk, MremapMergeDroppingRegistrationIsUnmodelled) {
  Program prog = MustParse(R"(
mmap 66 14 rw anon private
uffd_open
uffd_register 66 14 wp
mremap 72 6 6 move 66
)");
  Model m(HostProfile618());
  AdvanceTo(m, prog, 3);
  EXPECT_EQ(m.Predict(prog.ops[3], 3).unmodelled,
            "mremap next to a VMA of its uffd context (quirk mremap_merge_drops_uffd_registration)");
}

// The same with another VMA of the same context at the destination (found
// by generated programs: the neighbour lost its registration, so fork no
// longer copied its page table).
TEST(Quirk, MremapMergeWithAnotherRegisteredVmaIsUnmodelled) {
  Program prog = MustParse(R"(
mmap 66 4 rw anon private
mmap 80 4 rw anon private
uffd_open
uffd_register 66 4 wp
uffd_register 80 4 wp
mremap 66 2 2 move 78
mremap 67 1 1 move 90
)");
  Model m(HostProfile618());
  AdvanceTo(m, prog, 5);
  EXPECT_EQ(m.Predict(prog.ops[5], 5).unmodelled,
            "mremap next to a VMA of its uffd context (quirk mremap_merge_drops_uffd_registration)");
  EXPECT_EQ(m.Predict(prog.ops[6], 6).unmodelled, "");  // no neighbour at 90
  Model off(WithoutQuirk(HostProfile618(), Quirk::kMremapMergeDropsUffdRegistration));
  AdvanceTo(off, prog, 5);
  EXPECT_EQ(off.Predict(prog.ops[5], 5).unmodelled, "");
}

// The same with the rest of the VMA the destination's unmap splits (found by
// a host campaign: corpus/quirks/mremap_merge_drops_uffd_registration_split.mmp,
// where the kernel says ENOENT for pages 1-2 and the model said ok).
TEST(Quirk, MremapMergeWithTheSplitDestinationVmaIsUnmodelled) {
  Program prog = MustParse(R"(
mmap 0 44 rw anon private
uffd_open
uffd_register 0 44 wp
mremap 2 2 1
mremap 43 1 1 move 0
mremap 42 1 1 move 10
)");
  Model m(HostProfile618());
  AdvanceTo(m, prog, 4);
  EXPECT_EQ(m.Predict(prog.ops[4], 4).unmodelled,
            "mremap next to a VMA of its uffd context (quirk mremap_merge_drops_uffd_registration)");
  // Page 42 to 10, inside the source VMA itself: the copy (pgoff 10) sits
  // between pages 9 and 11 of [4,44), the same merge from both sides.
  EXPECT_NE(m.Predict(prog.ops[5], 5).unmodelled, "");
}

}  // namespace
}  // namespace mmdiff
