// Table-driven model tests: each case is a .mmp program whose observing ops
// carry the result the model must predict (docs/CONTRACT.md is the reference
// for every expectation). H = the 6.18 host profile, G = the 6.1 guest profile.
#include <gtest/gtest.h>

#include "model/invariants.h"
#include "model_test_util.h"

namespace mmdiff {
namespace {

const ModelRow kCases[] = {
    // --- requires: a kernel with the features runs the program ---------------
    {"RequiresIsOk", 'H', R"(
requires pagemap_scan uffd_wp => ok
mmap 0 1 rw anon private => ok
)"},
    // --- soft-dirty (guest) ---------------------------------------------------
    {"SoftDirtyFormatExample", 'G', R"(
mmap 0 4 rw anon private => ok
write 0 => ok
clear_refs 4 => ok
write 1 => ok
pagemap 0 4 => P--X-- P--X-D ------ ------
)"},
    {"NewVmaIsSoftDirty", 'G', R"(
mmap 0 2 rw anon private => ok
pagemap 0 3 => -----D -----D ------
read 0 => = 0x00
pagemap 0 1 => P----D
clear_refs 4 => ok
pagemap 0 2 => P----- ------
)"},
    {"ReadDoesNotDirty", 'G', R"(
mmap 0 2 rw anon private
clear_refs 4
read 0 => = 0x00
pagemap 0 1 => P-----
write 0 => ok
pagemap 0 1 => P--X-D
)"},
    {"MprotectKeepsSoftDirtyClean", 'G', R"(
mmap 0 1 rw anon private
write 0
pagemap 0 1 => P--X-D
clear_refs 4
pagemap 0 1 => P--X--
mprotect 0 1 r => ok
pagemap 0 1 => P--X--
mprotect 0 1 rw => ok
pagemap 0 1 => P--X--
write 0 => ok
pagemap 0 1 => P--X-D
)"},
    {"MprotectNoneStaysPresent", 'G', R"(
mmap 0 2 rw anon private
write 0
clear_refs 4
mprotect 0 1 none => ok
read 0 => fault SEGV
pagemap 0 2 => P--X-- ------
mprotect 0 1 rw => ok
write 0 => ok
pagemap 0 2 => P--X-D ------
)"},
    {"SharedFileSoftDirty", 'G', R"(
file 0 1 => ok
mmap 0 1 rw file:0+0 shared => ok
write 0 => ok
pagemap 0 1 => P-FX-D
clear_refs 4
pagemap 0 1 => P-FX--
mprotect 0 1 r
mprotect 0 1 rw
write 0 => ok
pagemap 0 1 => P-FX-D
)"},
    {"MremapMoveMarksMovedPages", 'G', R"(
mmap 0 2 rw anon private
write 0
clear_refs 4
mremap 0 2 2 move 8 => ok
pagemap 8 2 => P--X-D ------
pagemap 0 2 => ------ ------
read 8 => = 0x02
)"},
    {"MremapGrowTailNotSoftDirty", 'G', R"(
mmap 0 2 rw anon private
clear_refs 4
mremap 0 2 4 => ok
pagemap 0 4 => ------ ------ ------ ------
write 3 => ok
pagemap 3 1 => P--X-D
mremap 0 4 8 => ok
mmap 12 1 rw anon private => ok
mremap 0 8 16 => err ENOMEM
mremap 0 8 2 => ok
pagemap 3 1 => ------
)"},
    {"MmapMergeMakesNeighbourSoftDirty", 'G', R"(
mmap 0 2 rw anon private
clear_refs 4
mmap 2 2 rw anon private => ok
pagemap 0 4 => -----D -----D -----D -----D
)"},
    // soft-dirty.c test_merge: VM_SOFTDIRTY is sticky across merges (the
    // contract; 6.1.192 reports 0 here, a known bug).
    {"SoftDirtyStickyOnMremapMerge", 'G', R"(
mmap 100 5 none anon private
munmap 100 4
mmap 101 1 rw anon private fixed
clear_refs 4
mmap 103 1 rw anon private fixed
mremap 103 1 1 move 102 => ok
pagemap 101 2 => -----D -----D
)"},
    {"SoftDirtyStickyOnMprotectMerge", 'G', R"(
mmap 100 5 none anon private
munmap 100 4
mmap 101 1 rw anon private fixed
clear_refs 4
mmap 102 1 rwx anon private fixed
mprotect 101 1 rwx => ok
pagemap 101 2 => -----D -----D
)"},
    {"ForkCopiesSoftDirty", 'G', R"(
mmap 0 2 rw anon private
write 0
clear_refs 4
write 1
fork => = p1
p1: pagemap 0 2 => P----- P----D
pagemap 0 2 => P----- P----D
)"},
    // --- anonymous memory, fork, COW (host) ------------------------------------
    {"ForkCow", 'H', R"(
mmap 0 4 rw anon private => ok
write 0 => ok
read 1 => = 0x00
fork => = p1
pagemap 0 3 => P----- P----- ------
p1: pagemap 0 3 => P----- P----- ------
p1: write 0 => ok
pagemap 0 1 => P--X--
p1: pagemap 0 1 => P--X--
read 0 => = 0x02
p1: read 0 => = 0x07
p1: exit => ok
)"},
    {"ForkExitMakesExclusiveAgain", 'H', R"(
mmap 0 1 rw anon private
write 0
fork => = p1
pagemap 0 1 => P-----
p1: exit => ok
pagemap 0 1 => P--X--
write 0 => ok
read 0 => = 0x07
)"},
    {"ForkZeroPageOnlyVmaNotCopied", 'H', R"(
mmap 0 2 r anon private
read 0 => = 0x00
fork => = p1
pagemap 0 1 => P-----
p1: pagemap 0 1 => ------
)"},
    {"SharedAnonForkNoPteCopy", 'H', R"(
mmap 0 2 rw anon shared => ok
write 0 => ok
pagemap 0 2 => P-FX-- ------
fork => = p1
p1: pagemap 0 2 => ------ ------
p1: read 0 => = 0x02
p1: pagemap 0 1 => P-F---
pagemap 0 1 => P-F---
p1: write 1 => ok
read 1 => = 0x09
)"},
    {"DontforkAndWipeonfork", 'H', R"(
mmap 0 2 rw anon private
mmap 4 2 rw anon private
write 0
write 4
madvise 0 2 dontfork => ok
madvise 4 2 wipeonfork => ok
fork => = p1
p1: pagemap 0 6 => ------ ------ ------ ------ ------ ------
p1: read 0 => fault SEGV
p1: read 4 => = 0x00
pagemap 4 1 => P--X--
madvise 0 2 wipeonfork => ok
mmap 8 1 rw memfd:0+0 shared => err EBADF
)"},
    {"MmapErrors", 'H', R"(
mmap 0 0 rw anon private => err EINVAL
mmap 0 4 rw anon private => ok
mmap 2 4 rw anon private => err EEXIST
mmap 2 4 r anon private fixed => ok
write 2 => fault SEGV
write 1 => ok
munmap 0 0 => err EINVAL
munmap 1 1 => ok
read 1 => fault SEGV
pagemap 0 3 => ------ ------ ------
mmap 0 1 rw anon private hugetlb => err EEXIST
mmap 1 1 rw anon private hugetlb => err EINVAL
mmap 512 1 rw anon private hugetlb => err ENOMEM
mprotect 0 8 rw => err ENOMEM
write 0 => ok
write 2 => fault SEGV
)"},
    {"MadviseDontneedAndFree", 'H', R"(
mmap 0 4 rw anon private
write 0
write 1
madvise 0 1 dontneed => ok
pagemap 0 2 => ------ P--X--
read 0 => = 0x00
madvise 1 1 free => ok
pagemap 1 1 => ?--?--
madvise 1 1 pageout => ok
pagemap 1 1 => ?--?--
read 1 => = 0x03
madvise 0 8 dontneed => err ENOMEM
madvise 0 1 remove => err EINVAL
madvise 0 1 guard_install => ok
pagemap 0 2 => -S----G ------
read 0 => fault SEGV
madvise 0 1 dontneed => ok
pagemap 0 1 => -S----G
madvise 0 1 guard_remove => ok
pagemap 0 1 => ------
)"},
    {"GuardNotOnGuest", 'G', R"(
mmap 0 4 rw anon private
madvise 0 1 guard_install => err EINVAL
)"},
    // --- memfd / files (host) --------------------------------------------------
    {"MemfdSharedAndPrivate", 'H', R"(
memfd 0 4 => ok
mmap 0 4 rw memfd:0+0 shared => ok
mmap 8 4 rw memfd:0+0 private => ok
write 0 => ok
read 8 => = 0x04
pagemap 8 1 => P-F---
pagemap 0 1 => P-F---
write 8 => ok
pagemap 8 1 => P--X--
pagemap 0 1 => P-FX--
read 0 => = 0x04
read 9 => = 0x00
read 12 => fault SEGV
fwrite 0 1 =7 => ok
read 1 => = 0x07
read 9 => = 0x07
)"},
    {"FileBeyondEofAndTruncate", 'H', R"(
memfd 0 2 => ok
mmap 0 4 rw memfd:0+0 shared => ok
read 3 => fault BUS
write 1 => ok
ftruncate 0 1 => ok
pagemap 0 2 => ------ ------
read 1 => fault BUS
ftruncate 0 2 => ok
read 1 => = 0x00
ftruncate 5 1 => err EBADF
)"},
    {"TruncateZapsPrivateCow", 'H', R"(
file 1 2 => ok
mmap 0 2 rw file:1+0 private => ok
write 1 => ok
pagemap 1 1 => P--X--
fpunch 1 1 1 => ok
pagemap 1 1 => P--X--
ftruncate 1 1 => ok
pagemap 1 1 => ------
read 1 => fault BUS
)"},
    {"MadviseRemoveShared", 'H', R"(
memfd 2 2
mmap 0 2 rw memfd:2+0 shared
write 0
madvise 0 1 remove => ok
pagemap 0 1 => ------
read 0 => = 0x00
mmap 4 2 rw memfd:2+0 private
madvise 4 1 remove => err EACCES
)"},
    // --- uffd-wp (host) ------------------------------------------------------------
    {"UffdAsyncMarkersAndScan", 'H', R"(
mmap 0 4 rw anon private
uffd_open wp_async => ok
uffd_register 0 4 wp => ok
uffd_wp 0 4 on => ok
pagemap 0 4 => -S--W- -S--W- -S--W- -S--W-
write 1 => ok
read 2 => = 0x00
pagemap 0 4 => -S--W- P--X-- P---W- -S--W-
scan 0 4 => = 4 [0,1):as [1,2):awp [2,3):apz [3,4):as end=4
scan 0 4 wp_matching check_wpasync req=written ret=written => = 1 [1,2):w end=4
pagemap 1 1 => P--XW-
scan 0 4 req=written ret=written => = 0 end=4
uffd_wp 2 1 off => ok
pagemap 2 1 => P-----
uffd_wp 3 1 off => ok
pagemap 3 1 => ------
scan 0 4 req=written ret=written => = 1 [2,4):w end=4
)"},
    {"UffdSyncWpFault", 'H', R"(
mmap 0 2 rw anon private
write 0
uffd_open => ok
uffd_register 0 2 wp => ok
uffd_wp 0 2 on => ok
pagemap 0 2 => P--XW- ------
write 0 => ok wpfault
pagemap 0 2 => P--X-- ------
write 1 => ok
pagemap 1 1 => P--X--
)"},
    {"UffdErrors", 'H', R"(
uffd_wp 0 1 on => err EBADF
uffd_open wp_async => ok
uffd_register 0 4 wp => err EINVAL
mmap 0 4 rw anon private
uffd_register 0 4 => err EINVAL
uffd_wp 0 4 on => err ENOENT
uffd_register 0 2 wp => ok
uffd_wp 0 4 on => err ENOENT
pagemap 0 4 => -S--W- -S--W- ------ ------
uffd_wp 0 1 on dontwake => err EINVAL
uffd_unregister 0 4 => ok
pagemap 0 2 => ------ ------
scan 0 4 check_wpasync => err EPERM
scan 0 4 wp_matching => = 0 end=4
scan 0 4 req=0x400 => err EINVAL
)"},
    {"UffdForkDropsWp", 'H', R"(
mmap 0 8 rw anon private
uffd_open wp_async
uffd_register 0 8 wp
write 0
uffd_wp 0 8 on
fork => = p1
pagemap 0 2 => P---W- -S--W-
p1: pagemap 0 2 => P----- ------
p1: write 0 => ok
p1: pagemap 0 1 => P--X--
pagemap 0 1 => P--XW-
)"},
    {"UffdShmemMarkersSurviveDontneed", 'H', R"(
mmap 0 4 rw anon shared
uffd_open wp_async
write 0
write 1
uffd_register 0 4 wp => ok
uffd_wp 0 4 on => ok
pagemap 0 3 => P-FXW- P-FXW- -S--W-
madvise 0 1 dontneed => ok
pagemap 0 1 => -S--W-
read 0 => = 0x03
pagemap 0 1 => P-FXW-
write 0 => ok
pagemap 0 1 => P-FX--
read 2 => = 0x00
pagemap 2 1 => P-FXW-
)"},
    {"UffdMremapDropsWp", 'H', R"(
mmap 0 2 rw anon private
uffd_open wp_async
uffd_register 0 2 wp
write 0
uffd_wp 0 2 on
mremap 0 2 2 move 8 => ok
pagemap 8 2 => P--X-- ------
uffd_wp 8 2 on => err ENOENT
)"},
    {"UffdMissingZeropage", 'H', R"(
mmap 0 2 rw anon private
uffd_open
uffd_register 0 2 missing => ok
read 0 => = 0x00 missingfault
pagemap 0 1 => P-----
write 1 => ok missingfault
pagemap 1 1 => P--X--
write 0 => ok
)"},
    {"GuestNoScanNoAsync", 'G', R"(
mmap 0 4 rw anon private
scan 0 4 => err ENOTTY
uffd_open wp_async => err EINVAL
uffd_open => ok
uffd_register 8 4 wp => err EINVAL
uffd_register 0 4 wp => ok
uffd_wp 0 4 on => ok
pagemap 0 2 => -----D -----D
mmap 4 4 r anon private
uffd_register 4 4 wp => ok
uffd_wp 2 4 on => err ENOENT
uffd_wp 4 4 on => ok
)"},
    {"GuestShmemMarkers", 'G', R"(
mmap 0 2 rw anon shared
uffd_open
uffd_register 0 2 wp
uffd_wp 0 2 on => ok
pagemap 0 2 => -S--WD -S--WD
write 0 => ok wpfault
pagemap 0 2 => P-FX-D -S--WD
)"},
};

class ModelCase : public testing::TestWithParam<ModelRow> {};
TEST_P(ModelCase, Predicts) { RunModelRow(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Table, ModelCase, testing::ValuesIn(kCases), ModelRowName);

// clear_refs write-protects again what 6.1's uffd_wp_range() left writable
// (quirk softdirty_lost_on_uffd_wp_resolve): the next write is soft-dirty for
// certain; without clear_refs the quirk leaves D open.
TEST(Quirk, ClearRefsEndsUffdWpResolveQuirk) {
  RunWithQuirks(GuestProfile61(), R"(
mmap 0 2 rw anon shared => ok
write 0 => ok
write 1 => ok
clear_refs 4 => ok
uffd_open wp_hugetlbfs_shmem => ok
uffd_register 0 2 wp => ok
uffd_unregister 0 2 => ok
write 0 => ok
pagemap 0 1 => P-FX-?
clear_refs 4 => ok
write 1 => ok
pagemap 1 1 => P-FX-D
)");
}

TEST(Picture, DrawsVmasAndPtes) {
  Model m = RunExpecting(GuestProfile61(), R"(
mmap 0 4 rw anon private
mmap 6 2 r anon shared
write 1
read 2
clear_refs 4
write 3
)");
  EXPECT_EQ(DrawAddressSpace(m, 0, 0, 8),
            "p0 pages [0,8)\n"
            "page  0\n"
            "vma   Aaaa..Ss\n"
            "prot  wwww  RR\n"
            "vmasd ....  ..\n"
            "uffd  ....  ..\n"
            "pte   .aza....\n"
            "sd    ...1....\n"
            "wp    ........\n"
            "excl  .x.x....\n"
            "pt    ++++++++\n");
}

TEST(Profile, HostAndGuest) {
  KernelProfile h = HostProfile618(), g = GuestProfile61();
  EXPECT_FALSE(h.soft_dirty);
  EXPECT_TRUE(h.pagemap_scan);
  EXPECT_TRUE(h.guard);
  EXPECT_TRUE(h.Has(kBehWpRangeMultiVma) && h.Has(kBehMremapMovesManyVmas));
  EXPECT_TRUE(h.HasUffdFeature(kUffdWpAsync | kUffdWpUnpopulated | kUffdEventFork));
  EXPECT_EQ(h.scan_categories, 0x1ffu);
  EXPECT_TRUE(g.soft_dirty);
  EXPECT_FALSE(g.pagemap_scan);
  EXPECT_EQ(g.behaviours, uint32_t{kBehMremapGrowMergesNext | kBehDontunmapSourcePgoffReset});
  EXPECT_FALSE(g.HasUffdFeature(kUffdWpAsync));
  EXPECT_TRUE(g.HasUffdFeature(kUffdWpHugetlbfsShmem | kUffdEventFork));
}

TEST(Model, IsACopyableValue) {
  Model a = RunExpecting(HostProfile618(), "mmap 0 2 rw anon private\nwrite 0\n");
  Model b = a;
  Program prog = MustParse("write 1\n");
  b.Advance(prog.ops[0], 5);
  EXPECT_EQ(a.state().procs[0].ptes.size(), 1u);
  EXPECT_EQ(b.state().procs[0].ptes.size(), 2u);
}

TEST(Model, ThpWriteFaultMapsAWholePmd) {
  // do_huge_pmd_anonymous_page(): a write fault on a none PMD of a
  // THP-enabled VMA maps all 512 subpages, dirty and soft-dirty.
  Program prog = MustParse("mmap 0 1024 rw anon private\nmadvise 0 1024 hugepage\nwrite 600\n");
  KernelProfile profile = GuestProfile61();
  profile.thp = ThpMode::kMadvise;
  Model m(profile);
  for (size_t i = 0; i < prog.ops.size(); i++) ASSERT_TRUE(m.Advance(prog.ops[i], i).unmodelled.empty());
  const Process& p = m.state().procs[0];
  EXPECT_TRUE(p.thp.Find(1));
  for (uint32_t page : {512u, 600u, 1023u}) {
    const Pte* pte = p.ptes.Find(page);
    ASSERT_TRUE(pte) << page;
    EXPECT_TRUE(pte->soft_dirty);
    EXPECT_NE(pte->page, kZeroPage);
  }
  EXPECT_FALSE(p.ptes.Find(0));
  // A partial munmap splits it: the PTEs left stay, soft-dirty (pte_mkdirty()).
  Program more = MustParse("munmap 512 10\n");
  ASSERT_TRUE(m.Advance(more.ops[0], 3).unmodelled.empty());
  const Process& after = m.state().procs[0];
  EXPECT_FALSE(after.thp.Find(1));
  EXPECT_FALSE(after.ptes.Find(515));
  ASSERT_TRUE(after.ptes.Find(600));
  EXPECT_TRUE(after.ptes.Find(600)->soft_dirty);
  EXPECT_EQ(CheckInvariants(m), std::nullopt);
  // The guest profile with THP "never" maps one 4K page.
  KernelProfile never = GuestProfile61();
  never.thp = ThpMode::kNever;
  Model g(never);
  for (size_t i = 0; i < prog.ops.size(); i++) EXPECT_TRUE(g.Advance(prog.ops[i], i).unmodelled.empty());
  EXPECT_FALSE(g.state().procs[0].ptes.Find(512));
}

TEST(Model, ThpFaultUnderMissingRegistrationIsUnmodelled) {
  Program prog = MustParse(
      "mmap 0 512 rw anon private\nmadvise 0 512 hugepage\nuffd_open\nuffd_register 0 512 missing\nwrite 0\n");
  Model m(HostProfile618());
  for (size_t i = 0; i < 4; i++) ASSERT_TRUE(m.Advance(prog.ops[i], i).unmodelled.empty());
  EXPECT_EQ(m.Predict(prog.ops[4], 4).unmodelled, "fault in a THP-eligible range registered for MISSING userfaults");
}

}  // namespace
}  // namespace mmdiff

namespace mmdiff {
namespace {

// Five 2 MiB slots zapped whole: each page table may be freed (PT_RECLAIM);
// past four the scan is not modelled rather than taking the rest as kept
// (a host campaign found the kernel freeing all five).
TEST(Model, ScanOverManyReclaimablePageTablesIsUnmodelled) {
  Program prog = MustParse(
      "mmap 0 2560 rw anon private\nmadvise 336 1713 populate_write\nmadvise 0 2560 dontneed\n"
      "scan 0 2560 req=written ret=written vec=1\nscan 0 2048 req=written ret=written vec=1\n");
  Model m(HostProfile618());
  for (size_t i = 0; i < 3; i++) ASSERT_TRUE(m.Advance(prog.ops[i], i).unmodelled.empty());
  EXPECT_EQ(m.Predict(prog.ops[3], 3).unmodelled, "PAGEMAP_SCAN over more than 4 page tables the model cannot know");
  EXPECT_TRUE(m.Predict(prog.ops[4], 4).unmodelled.empty());
}

}  // namespace
}  // namespace mmdiff
