// Named latitudes and quirks.
//
// An *allowance* is latitude the contract gives the kernel (docs/CONTRACT.md §11):
// where the model predicts "either", it names the allowance, and the checker
// counts how often the kernel took it. A *quirk* is a known kernel bug
// (corpus/QUIRKS.md): allowed only when the profile switches it on by name,
// and counted the same way. Neither is ever a silent `if` in the model.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mmdiff {

enum class Allowance : uint8_t {
  // §11.2, §6.5: PAGE_IS_WRITTEN of an untouched page in a non-uffd VMA
  // depends on whether a PTE table exists for its 2 MiB slot, which PT_RECLAIM
  // may have freed after MADV_DONTNEED of a whole slot.
  kPageTableMayBeReclaimed,
  // §11.2: MADV_FREE'd pages may be discarded by reclaim at any time.
  kLazyfreeMayBeDiscarded,
  // §11.2: a read fault of a file-backed VMA may also map neighbouring
  // page-cache pages (mm/memory.c do_read_fault/do_fault_around,
  // mm/filemap.c filemap_map_pages) when fault_around_bytes is not pinned;
  // for a regular file also pages its readahead just brought in.
  kFaultAroundMayMap,
  // §11.2: MADV_PAGEOUT (reclaim) may unmap a page-cache page mapped
  // once, whether or not it can then write it out (mm/vmscan.c
  // shrink_folio_list: try_to_unmap before pageout).
  kReclaimMayUnmap,
  // §11.2: a write fault on an anonymous page mapped once may reuse it or
  // copy it (mm/memory.c do_wp_page → wp_can_reuse_anon_folio(): a
  // reference held by a per-CPU LRU batch or the swap cache makes it copy);
  // only a stale uffd-wp bit (the VMA no longer WP-registered) tells them
  // apart: reuse keeps it (wp_page_reuse), a copy starts clean.
  kReuseMayCopy,
  // §3.4: "exclusively mapped" (pagemap bit 56) of a subpage of a large
  // folio that another process maps in part: per subpage on kernels with
  // per-page mapcounts (fs/proc/task_mmu.c folio_precise_page_mapcount()),
  // per folio without them (CONFIG_NO_PAGE_MAPCOUNT:
  // !folio_maybe_mapped_shared()), the head page's for a PMD on 6.1
  // (page_mapcount(pmd_page())).
  kLargeFolioExclusive,
  // §3.4, §11.3: a THP fault may fail to allocate its folio and fall back to
  // a 4K page (mm/huge_memory.c do_huge_pmd_anonymous_page():
  // VM_FAULT_FALLBACK, THP_FAULT_FALLBACK). The model assumes success and,
  // after a divergence, walks again with the program's THP faults falling
  // back (CheckTrace).
  kThpMayFallBack,
  // §11.3: khugepaged may collapse the 4K pages of a THP-eligible 2 MiB
  // range into a new THP between any two ops (mm/khugepaged.c
  // collapse_huge_page()). The model does not and, after a divergence,
  // walks again with one collapse placed before an op (CheckTrace).
  kKhugepagedMayCollapse,
  // §3.4: truncating or punching part of a large page-cache folio splits it
  // (mm/truncate.c truncate_inode_partial_folio() → split_folio()), and a
  // split leaves a file folio's pages unmapped in every mapping, to be
  // faulted back (mm/huge_memory.c unmap_folio(): "file pages can simply be
  // left unmapped"). Which folios are large the model cannot know.
  kLargeFolioSplitMayUnmap,
};
constexpr int kNumAllowances = 9;

std::string_view AllowanceName(Allowance a);
using AllowanceCounts = std::array<uint32_t, kNumAllowances>;
// "allowance NAME: granted G, taken T", as mmdiff check and fuzz summarize.
std::string AllowanceLine(Allowance a, uint64_t granted, uint64_t taken);

// Known kernel bugs (corpus/QUIRKS.md, same names), switched on per profile
// (MakeProfile). The model allows a quirk's outcome as an alternative to the
// contract's only when the profile has it.
enum class Quirk : uint8_t {
  // A VMA merge keeps the flags of one part (the changed VMA for mprotect,
  // madvise and UFFDIO_(UN)REGISTER: mprotect_fixup(), madvise_update_vma(),
  // userfaultfd_register_range() reset the merged VMA's flags to the changed
  // VMA's; the neighbour for mremap's copy_vma(); the grown VMA for an
  // mremap grown in place), so a VM_SOFTDIRTY part merged into a clean
  // keeper loses it: one root cause, every merge path (mm/vma.c vma_merge
  // ignores VM_SOFTDIRTY in is_mergeable_vma() and nothing ORs it back;
  // fixed by "mm: propagate VM_SOFTDIRTY on merge").
  kSoftdirtyLostOnMerge,
  // Truncation / hole punch of write-protected file pages leaves uffd-wp
  // markers (unmap_mapping_range() zaps without ZAP_FLAG_DROP_MARKER).
  kShmemDropPageKeepsUffdWpMarker,
  // pagemap reports the huge zero page as a file page (bit 61).
  kHugeZeroPagePagemapFile,
  // PAGEMAP_SCAN keeps walk_end from an earlier bounce-buffer stop when the
  // re-walk completes (>512 regions; docs/CONTRACT.md §6.3, [EMP] 6.18.44).
  kScanStaleWalkEnd,
  // UFFDIO_UNREGISTER through another uffd than the registering one
  // unregisters the VMA (no "prevent unregistering VMAs through a different
  // userfaultfd", 2025, in 6.1.192).
  kUffdUnregisterOtherCtx,
  // mremap moving part of a uffd-registered VMA next to that VMA merges the
  // copy into it and resets the registration of the whole (copy_vma() +
  // mremap_userfaultfd_prep()): the part that stays loses its registration.
  kMremapMergeDropsUffdRegistration,
  // MADV_GUARD_INSTALL over a file VMA holding uffd-wp markers never
  // returns: the zap keeps (or makes) the markers, the install finds them and
  // restarts the syscall.
  kGuardInstallLivelockOnUffdWp,
  // UFFDIO_WRITEPROTECT off / UFFDIO_UNREGISTER of a uffd-wp shared writable
  // VMA maps its present PTEs writable with vm_get_page_prot() (6.1
  // mm/userfaultfd.c uffd_wp_range()), ignoring soft-dirty write-notify: a
  // later write does not fault and the page stays soft-clean (fixed by
  // "mm/userfaultfd: rely on vma->vm_page_prot in uffd_wp_range()", 6.3).
  kSoftdirtyLostOnUffdWpResolve,
  // mremap's page-table move (mm/mremap.c move_normal_pmd(): a whole aligned
  // 2 MiB extent moves its PTE table with pmd_populate()) skips what
  // move_ptes() does for every moved PTE, move_soft_dirty_pte() ("Set soft
  // dirty bit so we can notice in userspace the ptes were moved"): the moved
  // pages keep their old, possibly clean, soft-dirty bits. No fix known.
  kSoftdirtyLostOnMremapPmdMove,
  // fork copies a uffd-wp marker as a fresh marker (6.12 mm/memory.c
  // copy_nonpresent_pte(): make_pte_marker(copy_pte_marker()),
  // include/linux/mm_inline.h), so the swap soft-dirty bit the marker got
  // when mremap moved it (move_soft_dirty_pte()) is gone in the child; 6.1
  // copies the entry as is. No fix known.
  kSoftdirtyLostOnForkMarker,
  // fork into a VMA without uffd-wp (no EVENT_FORK) keeps a present huge
  // PTE's uffd-wp bit (6.1 mm/hugetlb.c copy_hugetlb_page_range() lacks
  // 6.12's huge_pte_clear_uffd_wp() for !userfaultfd_wp(dst_vma)); the
  // child's write then retries forever (hugetlb_wp() refuses a uffd-wp
  // entry, hugetlb_fault() handles uffd-wp only in a uffd-wp VMA). The
  // model reports the fork unmodelled where the profile has it.
  kHugetlbForkKeepsUffdWp,
};
constexpr int kNumQuirks = 11;

std::string_view QuirkName(Quirk q);
std::optional<Quirk> QuirkByName(std::string_view name);
using QuirkCounts = std::array<uint32_t, kNumQuirks>;

struct QuirkSet {
  uint32_t bits = 0;
  bool Has(Quirk q) const { return bits & (1u << static_cast<int>(q)); }
  void Set(Quirk q) { bits |= 1u << static_cast<int>(q); }
  bool operator==(const QuirkSet&) const = default;
};

// What grants the kernel an outcome other than the model's primary one: an
// allowance or a quirk.
struct Grant {
  bool quirk = false;
  uint8_t id = 0;
  static Grant Of(Allowance a) { return {false, static_cast<uint8_t>(a)}; }
  static Grant Of(Quirk q) { return {true, static_cast<uint8_t>(q)}; }
  std::string_view Name() const;
  bool operator==(const Grant&) const = default;
};

// A set of grants: bit i = allowance i, bit 16 + i = quirk i.
struct Grants {
  uint32_t bits = 0;
  static uint32_t Bit(Grant g) { return 1u << ((g.quirk ? 16 : 0) + g.id); }
  void Add(Grant g) { bits |= Bit(g); }
  void Add(Grants g) { bits |= g.bits; }
  bool Has(Grant g) const { return bits & Bit(g); }
  bool HasQuirk() const { return bits >> 16; }
  uint32_t QuirkBits() const { return bits >> 16; }
  bool empty() const { return bits == 0; }
  bool operator==(const Grants&) const = default;
};

// "known quirk a, b" style list of the quirks in `quirk_bits`.
std::string QuirkList(uint32_t quirk_bits);

}  // namespace mmdiff
