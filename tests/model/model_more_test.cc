// Table-driven model tests, second table: PAGEMAP_SCAN details, fault-around,
// reclaim, mremap/madvise/fork corrections, uffd markers and the huge zero
// page. Same format as model_test.cc (docs/CONTRACT.md is the reference for
// every expectation): H = the 6.18 host profile, G = the 6.1 guest profile.
#include <gtest/gtest.h>

#include <cerrno>

#include "model_test_util.h"

namespace mmdiff {
namespace {

const ModelRow kCases[] = {
    // --- PAGEMAP_SCAN details (host) -------------------------------------------------
    {"ScanMaxPagesAndVec", 'H', R"(
mmap 0 8 rw anon private
write 0
write 1
write 2
write 4
scan 0 8 req=present ret=present => = 2 [0,3):p [4,5):p end=8
scan 0 8 req=present ret=present max=2 => = 1 [0,2):p end=2
scan 0 8 req=present ret=present vec=1 => = 1 [0,3):p end=4
scan 0 8 req=present ret=present max=3 => = 1 [0,3):p end=4
scan 0 8 req=present ret=present vec=0 => = 0 end=8
scan 0 0 => = 0 end=0
scan 0 8 ret=written => = 1 [0,8):w end=8
)"},
    // --- fault-around (host: fault_around_bytes not pinned, 64 KiB) ----------------
    // A read fault of a file VMA may map the cached neighbours in its 16-page
    // window (do_fault_around(), filemap_map_pages()): '?' for them, exact for
    // the faulting page; uncached pages and the other VMA stay none.
    {"FaultAroundMayMapCachedNeighbours", 'H', R"(
memfd 0 20 => ok
fwrite 0 2 =2 => ok
fwrite 0 5 =5 => ok
fwrite 0 17 =17 => ok
mmap 0 20 r memfd:0+0 shared => ok
read 0 => = 0x00
pagemap 0 6 => P-FX-- ------ ?-??-- ------ ------ ?-??--
pagemap 16 2 => ------ ------
read 2 => = 0x02
pagemap 2 1 => P-FX--
munmap 0 20 => ok
pagemap 5 1 => ------
)"},
    // The window is aligned to 16 pages, clamped to the VMA start (then 16
    // pages from there) and to the PTE table (a 512-page slot).
    {"FaultAroundWindowClamped", 'H', R"(
memfd 0 40 => ok
fwrite 0 0 =1 => ok
fwrite 0 1 =1 => ok
fwrite 0 18 =1 => ok
fwrite 0 19 =1 => ok
fwrite 0 20 =1 => ok
mmap 510 20 r memfd:0+0 shared => ok
read 510 => = 0x01
pagemap 510 2 => P-FX-- ?-??--
pagemap 528 2 => ------ ------
read 529 => = 0x01
pagemap 528 2 => ?-??-- P-FX--
)"},
    // No fault-around in uffd-wp or minor registered VMAs
    // (uffd_disable_fault_around()), for write faults, or in anonymous VMAs;
    // none on the guest (pinned to one page).
    {"FaultAroundOnlyReadFaultsUnregistered", 'H', R"(
memfd 0 4 => ok
fwrite 0 1 =1 => ok
mmap 0 4 rw memfd:0+0 shared => ok
uffd_open wp_async => ok
uffd_register 0 4 wp => ok
read 0 => = 0x00
pagemap 1 1 => ------
uffd_unregister 0 4 => ok
write 2 => ok
pagemap 1 1 => ------
read 3 => = 0x00
pagemap 1 1 => ?-??--
)"},
    {"FaultAroundPinnedOffOnGuest", 'G', R"(
memfd 0 4 => ok
fwrite 0 1 =1 => ok
mmap 0 4 r memfd:0+0 shared => ok
read 0 => = 0x00
pagemap 0 2 => P-FX-D -----D
)"},
    // Another mapper of a page fault-around may have mapped: EXCLUSIVE either.
    {"FaultAroundMakesOtherMappersExclusiveBitOpen", 'H', R"(
memfd 0 4 => ok
mmap 0 4 r memfd:0+0 shared => ok
mmap 8 4 r memfd:0+0 shared => ok
read 9 => = 0x00
pagemap 9 1 => P-FX--
read 0 => = 0x00
pagemap 9 1 => P-F?--
pagemap 1 1 => ?-?---
)"},
    // A write-protect applies to both sides (present → uffd-wp bit, none →
    // marker), unprotecting too (marker → none); a write makes the page
    // certain. (An observation that matches the primary resolves the doubt:
    // each doubt is observed once here.)
    {"FaultAroundDoubtFollowsWriteProtect", 'H', R"(
memfd 0 4 => ok
fwrite 0 1 =1 => ok
fwrite 0 2 =1 => ok
fwrite 0 3 =1 => ok
mmap 0 4 rw memfd:0+0 shared => ok
read 0 => = 0x00
uffd_open wp_async => ok
uffd_register 0 4 wp => ok
uffd_wp 0 4 on => ok
pagemap 1 1 => ????W-
uffd_wp 0 4 off => ok
pagemap 2 1 => ?-??--
write 3 => ok
pagemap 3 1 => P-FX--
)"},
    // --- reclaim (host, no swap) ------------------------------------------------------
    // MADV_PAGEOUT may unmap page-cache pages mapped once, dirty or clean,
    // shared or private, leaving a marker for a uffd-wp'd one; the data stays.
    // Dirty anonymous pages stay (no swap); pages mapped twice stay.
    {"PageoutMayUnmapPageCachePages", 'H', R"(
memfd 0 4 => ok
mmap 0 4 rw memfd:0+0 shared => ok
mmap 8 2 rw anon private => ok
mmap 12 1 rw memfd:0+1 shared => ok
write 0 => ok
write 1 => ok
write 2 => ok
write 8 => ok
read 12 => = 0x06
madvise 0 3 pageout => ok
madvise 8 1 pageout => ok
pagemap 0 2 => ?-??-- P-F---
pagemap 8 1 => P--X--
read 0 => = 0x05
pagemap 0 1 => P-FX--
uffd_open wp_async => ok
uffd_register 0 4 wp => ok
uffd_wp 0 4 on => ok
madvise 0 1 pageout => ok
pagemap 0 1 => ????W-
pagemap 2 1 => ????W-
)"},
    // --- mremap / madvise / fork corrections (host and guest) ---------------------------
    // mremap looks the address up first (vma_lookup()): no VMA → EFAULT, for a
    // shrink, a no-op resize and a move alike, before the destination is unmapped.
    {"MremapNoVmaIsEfault", 'H', R"(
mmap 0 4 rw anon private => ok
mremap 100 2 1 => err EFAULT
mremap 100 2 2 => err EFAULT
mremap 100 2 4 => err EFAULT
mmap 200 2 rw anon private => ok
write 200 => ok
mremap 100 2 2 move 200 => err EFAULT
pagemap 200 1 => P--X--
mremap 0 4 4 move 2 => err EINVAL
mremap 2 4 2 => ok
)"},
    {"MremapNoVmaIsEfaultGuest", 'G', R"(
mremap 100 2 1 => err EFAULT
mmap 200 2 rw anon private => ok
mremap 100 2 2 move 200 => err EFAULT
pagemap 200 1 => -----D
)"},
    // MADV_REMOVE on a read-only shared mapping: current kernels check
    // VM_SHARED|VM_MAYWRITE (vma_is_shared_maywrite()), and so does the
    // 6.1.192 guest (backported; before 6.7: VM_WRITE).
    {"MadviseRemoveReadOnlySharedHost", 'H', R"(
memfd 0 2 => ok
mmap 0 2 rw memfd:0+0 shared => ok
write 0 => ok
mprotect 0 2 r => ok
madvise 0 1 remove => ok
pagemap 0 1 => ------
read 0 => = 0x00
)"},
    {"MadviseRemoveReadOnlySharedGuest", 'G', R"(
memfd 0 2 => ok
mmap 0 2 r memfd:0+0 shared => ok
madvise 0 1 remove => ok
mmap 4 2 r memfd:0+0 private => ok
madvise 4 1 remove => err EACCES
)"},
    // Guard markers survive fork in every VMA kind: guard install gives the
    // VMA an anon_vma (6.13-6.18) so that vma_needs_copy() copies its page
    // tables, shared file pages included.
    {"GuardMarkersSurviveForkInSharedVmas", 'H', R"(
memfd 0 4 => ok
mmap 0 4 rw memfd:0+0 shared => ok
mmap 8 4 rw anon shared => ok
write 0 => ok
madvise 1 1 guard_install => ok
madvise 9 1 guard_install => ok
fork => = p1
p1: pagemap 0 2 => P-F--- -S----G
p1: pagemap 9 1 => -S----G
p1: read 1 => fault SEGV
)"},
    // --- uffd: a marker in a missing+wp VMA --------------------------------------------
    // Accessing a live uffd-wp marker in a VMA also registered MISSING raises a
    // MISSING fault (do_pte_missing()); the handler's UFFDIO_ZEROPAGE installs
    // over the marker for shared shmem, UFFDIO_COPY of zeroes for private
    // memory (ZEROPAGE: EEXIST): the page is then present, not write-protected.
    {"UffdMarkerInMissingVmaRaisesMissing", 'H', R"(
mmap 0 4 rw anon private => ok
uffd_open wp_async => ok
uffd_register 0 4 missing wp => ok
uffd_wp 0 4 on => ok
pagemap 0 2 => -S--W- -S--W-
read 0 => = 0x00 missingfault
pagemap 0 1 => P--X--
write 1 => ok missingfault
pagemap 1 1 => P--X--
scan 0 4 => = 2 [0,2):awp [2,4):as end=4
memfd 0 4 => ok
mmap 8 4 rw memfd:0+0 shared => ok
fwrite 0 1 =5 => ok
uffd_register 8 4 missing wp => ok
uffd_wp 8 4 on => ok
read 8 => = 0x00 missingfault
read 9 => = 0x05
write 10 => ok missingfault
pagemap 8 4 => P-FX-- P-FXW- P-FX-- -S--W-
)"},
    // A MISSING fault on a private shmem VMA: UFFDIO_ZEROPAGE maps the zero
    // page (mfill_atomic_pte_zeropage()), not a page-cache page.
    {"UffdMissingPrivateShmemMapsZeroPage", 'H', R"(
memfd 0 2 => ok
mmap 0 2 rw memfd:0+0 private => ok
uffd_open => ok
uffd_register 0 2 missing => ok
read 0 => = 0x00 missingfault
pagemap 0 1 => P-----
write 0 => ok
pagemap 0 1 => P--X--
)"},
    // --- the huge zero page (THP madvise) ------------------------------------------------
    // A read fault of a 2 MiB slot without PTE table maps the huge zero page:
    // present, not file, not exclusive (the contract), HUGE|PFNZERO in scans.
    // A partial munmap splits it into 4K zero pages.
    {"HugeZeroPageRead", 'H', R"(
mmap 0 1024 r anon private => ok
madvise 0 1024 hugepage => ok
read 5 => = 0x00
pagemap 0 1 => P-----
pagemap 511 2 => P----- ------
scan 0 1024 vec=1 req=pfnzero ret=pfnzero,huge => = 1 [0,512):hz end=1024
munmap 511 1 => ok
scan 0 1024 vec=1 req=pfnzero ret=pfnzero,huge => = 1 [0,511):z end=1024
)"},
    // Current kernels (remap_move(), 6.17+): a fixed move without resize
    // moves every VMA of the range, gaps kept; a gap at the start or a
    // uffd-armed VMA among several is EFAULT; overlapping ranges are EINVAL
    // before the lookup ([EMP] 6.18).
    {"MremapMovesEveryVmaOfTheRange", 'H', R"(
mmap 0 2 rw anon private => ok
mmap 2 1 r anon private => ok
write 0 => ok
mmap 100 3 rw anon private => ok
write 100 => ok
mremap 0 4 4 move 100 => ok
pagemap 100 3 => P--X-- ------ ------
pagemap 0 3 => ------ ------ ------
mremap 50 4 4 move 200 => err EFAULT
mmap 60 2 rw anon private => ok
uffd_open => ok
uffd_register 60 1 wp => ok
mremap 60 2 2 move 300 => err EFAULT
pagemap 300 2 => ------ ------
mremap 59 3 3 move 10 => err EFAULT
mremap 300 4 4 move 302 => err EINVAL
)"},
    // move_vma() unmaps the source only after copy_vma() inserted the new
    // VMA: a page table the new VMA shares with the source stays (none
    // PTEs there scan as written, a table hole would not).
    {"MremapMoveKeepsASharedSourceTable", 'H', R"(
mmap 600 2 rw anon private => ok
write 600 => ok
mremap 600 2 10 move 505 => ok
pagemap 505 2 => P--X-- ------
scan 505 10 ret=written => = 1 [505,515):w end=515
)"},
    // The copy merges while it still carries the source's uffd context;
    // losing it afterwards (no EVENT_REMAP) does not merge it with an
    // unregistered neighbour: the old range spans two VMAs.
    {"MremapUnregisteredCopyStaysApart", 'H', R"(
mmap 0 12 rw anon private => ok
uffd_open => ok
uffd_register 4 4 missing => ok
mremap 4 4 4 move 12 => ok
mremap 8 8 9 => err EFAULT
uffd_register 12 4 wp => ok
)"},
    // Guard install prepares the anon_vma of an anonymous VMA: the
    // DONTUNMAP copy keeps the source pgoff and stays a VMA of its own.
    {"GuardInstallPreparesAnonVma", 'H', R"(
mmap 0 16 r anon private => ok
madvise 12 2 guard_install => ok
mremap 0 2 2 move 16 dontunmap => ok
mprotect 0 18 rw => ok
mremap 3 15 16 => err EFAULT
)"},
    // 6.1 registers a range starting inside a VMA with the pgoff of the
    // VMA's start: the piece does not merge with the registered VMA after it
    // (UFFDIO_WRITEPROTECT over both: one VMA wanted → ENOENT); current
    // kernels merge them ([EMP] 6.1.192, 6.18).
    {"UffdRegisterMidVmaNoMergeOnGuest", 'G', R"(
mmap 100 4 rw anon private => ok
uffd_open => ok
uffd_register 103 1 wp => ok
uffd_register 101 3 wp => ok
uffd_wp 101 3 on => err ENOENT
uffd_wp 101 2 on => ok
)"},
    {"UffdRegisterMidVmaMergesOnHost", 'H', R"(
mmap 100 4 rw anon private => ok
uffd_open => ok
uffd_register 103 1 wp => ok
uffd_register 101 3 wp => ok
uffd_wp 101 3 on => ok
)"},
    // 6.1 does not merge a VMA that has an anon_vma into a neighbour that
    // has none (is_mergeable_anon_vma() tests the target's chain); current
    // kernels do ([EMP] 6.1.192, 6.18).
    {"AnonVmaIntoEmptyNeighbourNoMergeOnGuest", 'G', R"(
mmap 100 2 rw anon private => ok
mprotect 100 2 r => ok
mmap 102 2 rw anon private => ok
write 102 => ok
mprotect 102 2 r => ok
mremap 100 4 5 => err EFAULT
mmap 200 2 rw anon private => ok
write 200 => ok
mprotect 200 2 r => ok
mmap 202 2 rw anon private => ok
mprotect 202 2 r => ok
mremap 200 4 5 => ok
)"},
    // Current kernels uncharge an unfaulted anonymous VMA made read-only
    // (mprotect_fixup(), 6.6): it no longer merges with a charged one; a
    // VMA with an anon_vma merges into a neighbour without one.
    {"UnfaultedReadOnlyUnchargedOnHost", 'H', R"(
mmap 100 2 rw anon private => ok
mprotect 100 2 r => ok
mmap 102 2 rw anon private => ok
write 102 => ok
mprotect 102 2 r => ok
mremap 100 4 5 => err EFAULT
mmap 200 2 rw anon private => ok
mmap 202 2 rx anon private => ok
madvise 202 1 guard_install => ok
mprotect 202 2 rw => ok
mremap 200 4 5 => ok
)"},
    // copy_vma() merges the copy with the DONTUNMAP source itself when
    // adjacent (one VMA: a grow over both works); a whole-VMA move to a VMA
    // of its own unlinks the old anon_vma (fork copies nothing there), the
    // copy keeps it.
    {"MremapDontunmapMergesIntoItsSource", 'H', R"(
mmap 200 5 rw anon private => ok
mremap 200 5 5 move 205 dontunmap => ok
mremap 200 10 12 => ok
mmap 300 5 rw anon private => ok
write 300 => ok
mremap 300 2 2 move 400 dontunmap => ok
read 304 => = 0x00
fork => = p1
p1: pagemap 300 5 => ------ ------ ------ ------ P-----
p1: pagemap 400 2 => P----- ------
)"},
    // A live marker in a MINOR-registered shmem VMA with the page cached:
    // MINOR fault, UFFDIO_CONTINUE installs over the marker without the
    // uffd-wp bit (no WP fault on a write). A MISSING fault on a private
    // shmem VMA maps the zero page and prepares the anon_vma (fork copies it).
    {"UffdMinorOnMarkerAndPrivateMissing", 'H', R"(
memfd 0 4 => ok
fwrite 0 0 =5 => ok
fwrite 0 1 =6 => ok
mmap 0 4 rw memfd:0+0 shared => ok
uffd_open => ok
uffd_register 0 4 wp minor => ok
uffd_wp 0 4 on => ok
pagemap 0 2 => -S--W- -S--W-
read 0 => = 0x05 minorfault
write 1 => ok minorfault
pagemap 0 2 => P-FX-- P-FX--
mmap 8 2 rw memfd:0+0 private => ok
uffd_register 8 2 missing => ok
memfd 1 2 => ok
mmap 16 2 rw memfd:1+0 private => ok
uffd_register 16 2 missing => ok
read 16 => = 0x00 missingfault
fork => = p1
p1: pagemap 16 1 => P-----
)"},
    // WP_MATCHING sets the uffd-wp bit of a guard marker
    // (pte_swp_mkuffd_wp()); unregistering leaves it (change_pte_range()
    // skips guard entries), fork copies a fresh guard marker without it.
    {"GuardMarkerKeepsScanWpBit", 'H', R"(
mmap 0 4 rw anon private => ok
uffd_open wp_async => ok
uffd_register 0 4 wp => ok
madvise 1 1 guard_install => ok
scan 0 4 wp_matching => = 3 [0,1):aw [1,2):awsg [2,4):aw end=4
pagemap 1 1 => -S--W-G
fork => = p1
p1: pagemap 1 1 => -S----G
uffd_unregister 0 4 => ok
pagemap 1 1 => -S--W-G
scan 0 4 req=guard => = 1 [1,2):sg end=4
)"},
    // MADV_WILLNEED reads a regular file's pages into the cache; a SIGBUS
    // read fault past EOF still does fault-around over them. A SIGBUS write
    // to a private file mapping prepares the anon_vma (do_cow_fault()).
    {"ReadaheadAndSigbusFaultAround", 'H', R"(
file 0 8 => ok
mmap 0 8 r file:0+0 shared => ok
madvise 0 8 willneed => ok
mmap 16 4 rw file:0+6 private => ok
read 19 => fault BUS
pagemap 16 4 => ?-??-- ?-??-- ------ ------
file 1 1 => ok
mmap 32 4 rw file:1+0 private => ok
write 33 => fault BUS
fork => = p1
p1: pagemap 32 2 => ------ ------
)"},
    // A fault on a live uffd-wp marker of an uncached regular-file page goes
    // to filemap_fault() like a none PTE (do_pte_missing()): its readahead
    // may bring in other pages, which a later fault-around may map.
    {"MarkerFaultStartsReadahead", 'H', R"(
file 0 8 => ok
mmap 0 8 rw file:0+0 shared => ok
uffd_open wp_async => ok
uffd_register 0 8 wp => ok
uffd_wp 0 8 on => ok
write 1 =7 => ok
mmap 16 8 r file:0+0 shared => ok
read 17 => = 0x07
pagemap 21 3 => ?-??-- ?-??-- ?-??--
)"},
    // An EVENT_FORK child context lives in the parent's handler; the child
    // borrows it at its first ioctl and then keeps it past the parent's exit.
    {"UffdForkContextBorrowedByTheChild", 'H', R"(
mmap 0 4 rw anon private => ok
uffd_open event_fork => ok
uffd_register 0 4 wp => ok
write 0 => ok
uffd_wp 0 4 on => ok
fork => = p1
p1: uffd_wp 1 1 off => ok
exit => ok
p1: pagemap 0 2 => P--XW- ------
p1: uffd_wp 0 1 off => ok
p1: write 1 => ok
p1: pagemap 1 1 => P--X--
)"},
    // Not borrowed before the parent exits: the context is released (the
    // child's VMAs unregistered, bits cleared) and the child's ioctl has no fd.
    {"UffdForkContextGoneWithTheParent", 'H', R"(
mmap 0 4 rw anon private => ok
uffd_open event_fork => ok
uffd_register 0 4 wp => ok
write 0 => ok
uffd_wp 0 4 on => ok
fork => = p1
exit => ok
p1: uffd_wp 0 1 off => err EBADF
p1: pagemap 0 2 => P--X-- ------
p1: write 1 => ok
)"},
    // 6.1: the lookup first (EFAULT), the overlap check in mremap_to().
    {"MremapOverlapAfterLookupOnGuest", 'G', R"(
mremap 100 4 4 move 102 => err EFAULT
mmap 0 4 rw anon private => ok
mremap 0 4 4 move 2 => err EINVAL
mmap 8 1 rw anon private => ok
mmap 9 1 r anon private => ok
mremap 8 2 2 move 100 => err EFAULT
)"},
    // Punching a hole zaps the PTEs of the file pages in private mappings
    // too, except anonymous (COW) pages: the zero page UFFDIO_ZEROPAGE mapped
    // goes (should_zap_folio(): no folio).
    {"HolePunchZapsZeroPageOfPrivateMapping", 'H', R"(
memfd 0 4 => ok
mmap 0 4 rw memfd:0+0 private => ok
uffd_open => ok
uffd_register 0 4 missing => ok
read 1 => = 0x00 missingfault
write 2 => ok missingfault
pagemap 1 2 => P----- P--X--
fpunch 0 0 4 => ok
pagemap 1 2 => ------ P--X--
)"},
    // MADV_PAGEOUT of a clean shmem page may also drop it from the page cache
    // (__remove_mapping()): a later MINOR-registered read then faults no
    // MINOR userfault but allocates a new page; all three outcomes allowed.
    {"PageoutMayDropCleanShmemPage", 'H', R"(
memfd 0 4 => ok
mmap 0 4 r memfd:0+0 shared => ok
madvise 0 4 populate_read => ok
madvise 0 4 pageout => ok
uffd_open => ok
uffd_register 0 4 minor => ok
read 1 => = 0x00
pagemap 1 1 => P-FX--
)"},
    // Current kernels check the range to move before unmapping anything
    // (check_prep_vma()): a shrinking move over a gap is EFAULT and leaves
    // everything mapped; the old VMA of a DONTUNMAP move keeps VM_ACCOUNT and
    // merges with a new mapping.
    {"MremapChecksTheSourceFirst", 'H', R"(
mmap 100 4 rw anon private => ok
mmap 110 4 rw anon private => ok
write 111 => ok
mremap 100 20 8 move 300 => err EFAULT
pagemap 110 2 => ------ P--X--
mmap 200 2 rw anon private => ok
mremap 200 1 1 move 400 dontunmap => ok
mmap 202 1 rw anon private => ok
mremap 200 3 5 => ok
)"},
    {"ScanUntouchedSlotNotWritten", 'H', R"(
mmap 0 4 rw anon private
mmap 512 4 rw anon private
write 0
scan 0 4 ret=written,present => = 2 [0,1):wp [1,4):w end=4
scan 512 4 ret=written,present => = 1 [512,516):- end=516
)"},
};

class ModelCaseMore : public testing::TestWithParam<ModelRow> {};
// mprotect of a PTE whose uffd-wp bit went stale (its VMA re-registered
// for MISSING only) may map it writable; registered for WP again, a write
// takes no fault: the model says it does not follow (6.18, 6.12, 6.1 all
// write without a fault and keep the bit).
TEST(StaleUffdWp, MprotectMayMapAStaleBitWritable) {
  Program prog = MustParse(R"(
memfd 4 1
mmap 0 1 rw memfd:4+0 shared
uffd_open
uffd_register 0 1 wp
write 0
uffd_wp 0 1 on
uffd_register 0 1 missing
mprotect 0 1 rwx
uffd_register 0 1 wp
)");
  Model m(HostProfile618());
  AdvanceTo(m, prog, 8);
  EXPECT_EQ(m.Predict(prog.ops[8], 8).unmodelled, "uffd_register wp over a writable PTE with a stale uffd-wp bit");
  // Without the mprotect the bit still write-protects: modelled.
  Program kept = MustParse("memfd 4 1\nmmap 0 1 rw memfd:4+0 shared\nuffd_open\nuffd_register 0 1 wp\nwrite 0\n"
                           "uffd_wp 0 1 on\nuffd_register 0 1 missing\nuffd_register 0 1 wp\n");
  Model k(HostProfile618());
  AdvanceTo(k, kept, 7);
  EXPECT_EQ(k.Predict(kept.ops[7], 7).unmodelled, "");
}

// A hole punched in a file whose mapping may hold large folios: the
// folio it cuts may be split, and a split leaves the folio's other pages
// unmapped (mm/huge_memory.c unmap_folio()): kept or unmapped, counted.
TEST(LargeFolio, AHoleMaySplitAndUnmapItsNeighbours) {
  Program prog = MustParse(R"(
file 7 4
mmap 0 4 rw file:7+0 shared
madvise 0 4 hugepage
write 3
write 1
fpunch 7 3 1
pagemap 1 1
)");
  KernelProfile h = HostProfile618();
  Trace t = Predicted(prog, h);
  EXPECT_TRUE(t.results[6].pagemap[0] & kPmPresent);  // kept: the contract's first answer
  t.results[6].pagemap[0] = 0;                        // unmapped by the split
  Verdict v = CheckTrace(prog, t, h);
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);
  EXPECT_EQ(v.taken[static_cast<int>(Allowance::kLargeFolioSplitMayUnmap)], 1u);
  // A page of another 2 MiB block of the file is not in the cut folio.
  Program far = MustParse("file 7 1024\nmmap 0 1024 rw file:7+0 shared\nmadvise 0 1024 hugepage\nwrite 3\n"
                          "write 600\nfpunch 7 3 1\npagemap 600 1\n");
  Trace tf = Predicted(far, h);
  tf.results[6].pagemap[0] = 0;
  EXPECT_EQ(CheckTrace(far, tf, h).status, Verdict::Status::kDivergence);
}

// is_mergeable_vma() compares vm_file: mappings of one inode through two
// opens stay apart (an mremap over both fails), through one fd they merge.
TEST(Merge, OneInodeOpenedTwiceDoesNotMerge) {
  KernelProfile h = HostProfile618();
  Trace apart = Predicted(
      MustParse("file 0 1\nmmap 0 1 rw file:0+0 private\nfile 0 1\nmmap 1 6 rw file:0+1 private\nmremap 0 7 8\n"), h);
  EXPECT_EQ(apart.results[4].kind, ResultKind::kErr);
  EXPECT_EQ(apart.results[4].err, EFAULT);
  Trace merged = Predicted(MustParse("file 0 2\nmmap 0 1 rw file:0+0 private\nmmap 1 1 rw file:0+1 private\nmremap 0 2 3\n"), h);
  EXPECT_EQ(merged.results[3].kind, ResultKind::kOk);
}

TEST_P(ModelCaseMore, Predicts) { RunModelRow(GetParam()); }
INSTANTIATE_TEST_SUITE_P(Table, ModelCaseMore, testing::ValuesIn(kCases), ModelRowName);

}  // namespace
}  // namespace mmdiff
