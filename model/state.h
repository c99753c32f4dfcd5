// The model's state of the Linux mm: processes, VMAs, page-table entries,
// pages and their contents, page caches, userfaultfd contexts.
//
// A plain value: copyable, comparable, no pointers between objects (indices
// instead), no I/O. model.h drives it op by op; the primitives here keep the
// bookkeeping (mapcounts, references, page-table slots) consistent so that
// invariants.h can check it after every step.
#pragma once

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "model/allowance.h"
#include "model/flat_map.h"
#include "prog/op.h"

namespace mmdiff {

// What backs a VMA. kShmem is MAP_SHARED|MAP_ANONYMOUS (an unnamed shmem file);
// kHugetlb a MAP_HUGETLB mapping of its own anonymous hugetlbfs file (model/hugetlb.cc).
enum class MemKind : uint8_t { kAnon, kShmem, kMemfd, kFile, kHugetlb };

// Sparse page contents: programs touch single bytes, everything else is zero.
struct Bytes {
  // (offset, byte), unsorted, unique offsets; a hugetlb page's offsets span 2 MiB.
  std::vector<std::pair<uint32_t, uint8_t>> v;
  uint8_t Get(uint32_t off) const {
    for (auto& [o, b] : v)
      if (o == off) return b;
    return 0;
  }
  void Set(uint32_t off, uint8_t b) {
    for (auto& [o, old] : v)
      if (o == off) {
        old = b;
        return;
      }
    v.push_back({off, b});
  }
  bool operator==(const Bytes&) const = default;
};

// A physical page. Index 0 is the shared zero page (never freed, never
// exclusive, neither anonymous nor file in pagemap terms).
constexpr uint32_t kZeroPage = 0;
struct PageObj {
  bool in_use = false;
  bool anon = true;        // anonymous page; else a page-cache page
  bool lazyfree = false;   // MADV_FREE'd and clean since
  // MADV_FREE cleared PG_swapbacked (folio_mark_lazyfree()); a write makes
  // the page dirty again (lazyfree false) but only reclaim sets the flag
  // back, and does not swap the page out that time (try_to_unmap_one()).
  bool not_swapbacked = false;
  bool dirty = false;      // page-cache page written (by a mapping or pwrite)
  // A clean shmem page reclaim may have dropped from the page cache
  // (MADV_PAGEOUT: __remove_mapping()); only MISSING/MINOR userfaults tell.
  bool maybe_dropped = false;
  // An anonymous page once swapped out: it may still sit in the swap cache
  // after a swap-in (mm/memory.c do_swap_page() frees the swap slot only
  // when should_try_to_free_swap()), which changes what MADV_FREE does.
  bool swap_cache = false;
  // The large folio (a THP) the page is a subpage of: an id shared by its
  // 512 pages (MmState::next_folio), 0 for a small folio. A PMD split keeps
  // the folio; only its last subpage's release ends it.
  uint32_t folio = 0;
  bool huge = false;       // a 2 MiB hugetlb page: each of its 512 PTEs counts in mapcount and refs
  uint32_t mapcount = 0;   // present PTEs mapping it, in all processes
  uint32_t refs = 0;       // mapcount + swap PTEs + page-cache membership
  Bytes bytes;
  bool operator==(const PageObj&) const = default;
};

enum class PteKind : uint8_t {
  kPresent,     // maps `page`
  kSwap,        // swapped out `page` (only with a swap device)
  kUffdMarker,  // uffd-wp PTE marker (pagemap: SWAP|UFFD_WP)
  kGuard,       // guard-region marker (pagemap: SWAP|GUARD)
};
// A non-none PTE; none PTEs are absent from the table.
struct Pte {
  PteKind kind = PteKind::kPresent;
  bool soft_dirty = false;
  bool uffd_wp = false;
  uint32_t page = kZeroPage;  // kPresent/kSwap
  // kPresent: mapped writable without soft-dirty write-notify by the quirk
  // softdirty_lost_on_uffd_wp_resolve (set only where the profile has it):
  // a write may leave soft_dirty as it is.
  bool sd_silent = false;
  // kPresent: a write in a VMA no longer registered for WP made the PTE
  // writable and kept its stale uffd-wp bit (wp_page_reuse(),
  // wp_page_shared() keep the other bits). Should the VMA be registered for
  // WP again, a write takes no fault and the bit stays: not modelled (see
  // DoUffdRegister). Conservative: cleared only when the PTE is replaced.
  bool stale_wp_writable = false;
  bool operator==(const Pte&) const = default;
};

// A PTE the model cannot pin down: the kernel holds either the model's PTE
// at that page (the primary: Process::ptes, or none when absent there) or
// this alternative, which `why` allows (allowance.h). The alternative holds no
// page reference: it is a none PTE, a uffd-wp marker, or the primary's own
// page with other bits. Observations resolve it (doubt.cc).
struct Doubt {
  bool alt_none = true;
  Pte alt;
  Grant why;
  bool operator==(const Doubt&) const = default;
};

struct Vma {
  uint32_t start = 0, end = 0;  // arena pages [start, end)
  Prot prot = Prot::kNone;
  bool shared = false;
  MemKind kind = MemKind::kAnon;
  int32_t obj = -1;          // FileObj index (shmem, memfd, file); -1 for private anon
  uint32_t pgoff = 0;        // file page at `start`; for anon the virtual page (merge rule)
  uint32_t open = 0;         // the struct file (Process::fd_open) a file mapping was made through
  bool soft_dirty = false;   // VM_SOFTDIRTY
  // soft_dirty is the contract's answer, but a known quirk (this Quirk + 1;
  // 0 = none) lets the kernel have lost it in a merge.
  uint8_t sd_lost_quirk = 0;
  bool account = false;      // VM_ACCOUNT (private writable at some point, not noreserve)
  bool noreserve = false;    // VM_NORESERVE
  bool resv_owner = false;   // hugetlb: HPAGE_RESV_OWNER (a private mapping's reservations)
  bool dontfork = false, wipeonfork = false, hugepage = false, nohugepage = false;
  // VM_MAYBE_GUARD: guard markers were installed (sticky: kept by splits,
  // OR-ed by merges, ignored for mergeability); fork copies the page tables.
  bool maybe_guard = false;
  uint8_t uffd_modes = 0;    // UffdMode bits registered
  int32_t uffd = -1;         // UffdCtx index when registered
  uint32_t anon_vma = 0;     // anon_vma identity, 0 = none (shared by split halves)
  bool anon_vma_cloned = false;  // anon_vma_chain not singular (VMA inherited at fork)

  uint32_t FilePage(uint32_t page) const { return pgoff + (page - start); }
  bool IsAnonymous() const { return kind == MemKind::kAnon; }  // vma_is_anonymous()
  bool IsShmem() const { return kind == MemKind::kShmem || kind == MemKind::kMemfd; }
  bool Writable() const { return prot == Prot::kRW || prot == Prot::kRWX; }
  bool Readable() const { return prot != Prot::kNone; }
  bool UffdWp() const { return uffd_modes & kUffdModeWp; }
  bool operator==(const Vma&) const = default;
};

// A shmem object (shared anon, memfd) or a regular file: its page cache.
struct FileObj {
  MemKind kind = MemKind::kMemfd;  // kShmem, kMemfd, kFile
  bool file_slot = false;          // made by a `file` op (kind kMemfd when the slot is on tmpfs)
  uint32_t size = 0;               // pages
  FlatMap<uint32_t, uint32_t> cache;  // file page → PageObj index
  // Regular files: file pages [lo, hi) that readahead may have brought into
  // the page cache beside `cache` (a fault on an uncached page reads around
  // it: do_sync_mmap_readahead()). Only fault-around can tell.
  std::vector<std::pair<uint32_t, uint32_t>> readahead;
  bool MayBeCached(uint32_t fp) const {
    if (cache.Find(fp)) return true;
    for (auto& [lo, hi] : readahead)
      if (fp >= lo && fp < hi) return true;
    return false;
  }
  bool operator==(const FileObj&) const = default;
};

struct UffdCtx {
  uint32_t features = 0;  // UffdFeature bits in effect (WP_ASYNC implies WP_UNPOPULATED)
  int owner = 0;          // the process whose mm it serves
  int refs = 0;           // fd tables holding it
  // The process whose executor thread reads its messages (the opener; for
  // an EVENT_FORK child context, the reader of the parent context): with
  // it gone, a userfault or an event that waits for its reader hangs.
  int handler = 0;
  bool Async() const { return features & kUffdWpAsync; }
  bool operator==(const UffdCtx&) const = default;
};

// Page-table existence per 2 MiB slot (docs/CONTRACT.md §6.5); absent slots are
// not stored.
enum class PtState : uint8_t { kAbsent, kPresent, kUnknown };

struct Process {
  bool alive = false;
  std::vector<Vma> vmas;  // sorted, non-overlapping
  FlatMap<uint32_t, Pte> ptes;
  std::array<int32_t, kMaxFiles> fds{};  // FileObj index or -1
  // Per slot, the open file description its fd names (MmState::next_open):
  // a file mapping's VMA merges only with one mapped through the same
  // struct file (is_mergeable_vma() compares vm_file).
  std::array<uint32_t, kMaxFiles> fd_open{};
  int32_t uffd = -1;                     // UffdCtx index or -1: the one uffd ops use
  // Contexts this process opened before `uffd`: the executor keeps their fds
  // open (its handler thread polls them), so they stay registered until exit.
  std::vector<int32_t> older_uffds;
  // `uffd` is the context EVENT_FORK made for this child, whose fd lives in
  // the parent's handler thread; the child borrows it (pidfd_getfd()) at its
  // first uffd ioctl, and only then holds a reference of its own.
  bool uffd_unborrowed = false;
  // Contexts of children whose fds this process's handler thread holds
  // (UFFD_EVENT_FORK messages): closed when this process exits.
  std::vector<int32_t> handler_uffds;
  FlatMap<uint32_t, PtState> pt;         // slot (page / 512) → present or unknown
  FlatMap<uint32_t, Doubt> doubts;       // page → the kernel's other possible PTE
  // Slots mapped by a PMD of the huge zero page (do_huge_pmd_anonymous_page()
  // on a read fault); their PTEs are kZeroPage entries, one per 4K page.
  FlatMap<uint32_t, bool> huge_zero;
  // Slots mapped by a PMD of an anonymous THP (mm/huge_memory.c
  // __do_huge_pmd_anonymous_page() on a write fault), each to the PMD's dirty
  // bit. Their PTEs are 512 present entries, one per subpage (each its own
  // PageObj, so its mapcount is the subpage's), carrying the PMD's soft-dirty
  // and uffd-wp bits; SplitHugePmd() turns them into a PTE table.
  FlatMap<uint32_t, bool> thp;
  bool operator==(const Process&) const = default;
};

class MmState {
 public:
  MmState();

  std::vector<Process> procs;
  std::vector<PageObj> pages;  // [0] = zero page
  std::vector<uint32_t> free_pages;
  std::vector<FileObj> files;
  std::array<int32_t, kMaxFiles> named_files{};  // regular file per slot name, -1 none
  std::vector<UffdCtx> uffds;
  uint32_t next_open = 1;  // struct file identities, one per memfd/file op
  uint32_t next_anon_vma = 1;
  uint32_t next_folio = 1;
  uint32_t thp_faults = 0;  // THP faults so far (KernelProfile::thp_fallbacks numbers them)
  // The hugetlb pool (model/hugetlb.cc): HugePages_Free and _Rsvd, the
  // unconsumed reservations (private: process << 24 | slot page, of the
  // owner; shared: 1 << 56 | file << 24 | file slot page), and how many more
  // reservations the kernel may hold (restored by a zap on some kernels).
  uint32_t huge_free = 0, huge_rsvd = 0, huge_rsvd_maybe = 0;
  FlatMap<uint64_t, bool> huge_resv;
  // 6.1's is_mergeable_anon_vma() tests list_is_singular() on the merge
  // target: a VMA with an anon_vma never merges into a neighbour without
  // one (set from the kBehAnonVmaMergeEitherSide behaviour).
  bool legacy_anon_vma_merge = false;
  // x86's pte_mkdirty() sets _PAGE_SOFT_DIRTY too (with CONFIG_MEM_SOFT_DIRTY),
  // so a dirty huge PMD splits into soft-dirty PTEs where the split makes
  // them dirty (the behaviour kBehThpSplitDirtiesPtes).
  bool mkdirty_sets_soft_dirty = false;

  // --- VMAs ---
  // Index of the VMA containing `page`, or -1.
  int VmaAt(const Process& p, uint32_t page) const;
  // Index of the first VMA with end > page (vmas.size() if none): find_vma().
  size_t FirstVmaEnding(const Process& p, uint32_t page) const;
  // Ensures a VMA boundary at `page` (__split_vma) if `page` is inside a VMA.
  void SplitAt(Process& p, uint32_t page);
  // mm/huge_memory.c __split_huge_pmd(): the huge PMD of `slot` (THP or huge
  // zero page), if any, becomes a PTE table.
  void SplitHugePmd(Process& p, uint32_t slot);
  // Splits the huge PMDs that [lo, hi) covers only in part.
  void SplitHugePmdsPartly(Process& p, uint32_t lo, uint32_t hi);
  // Whether [lo, hi) touches a slot mapped by a THP PMD.
  static bool TouchesThp(const Process& p, uint32_t lo, uint32_t hi);
  // Merges the VMAs in [lo, hi) with mergeable neighbours (vma_merge(): the
  // changed VMA with its prev and next). Returns true if it merged anything.
  // Callers pass only ranges whose VMAs changed: unchanged VMAs do not merge.
  // No merge across the boundaries `not_at`/`not_at2`. `changed_starts`
  // (null: all changed): the starts of the VMAs in [lo, hi) the op actually
  // changed; the others in the range it skipped (UFFDIO_REGISTER of an
  // already registered VMA), so for 6.1's anon_vma test they are unchanged
  // neighbours.
  bool MergeAround(Process& p, uint32_t lo, uint32_t hi, uint32_t not_at = UINT32_MAX,
                   uint32_t not_at2 = UINT32_MAX, const std::vector<uint32_t>* changed_starts = nullptr);
  static bool Mergeable(const Vma& a, const Vma& b);

  // --- pages ---
  uint32_t NewPage(bool anon);
  uint32_t CopyPage(uint32_t from);  // a new anon page with `from`'s contents
  void Ref(uint32_t page) { if (page != kZeroPage) pages[page].refs++; }
  void Unref(uint32_t page);
  // Page-cache page of file page `fp`, allocated (zeroed) if absent.
  uint32_t CachePage(int32_t obj, uint32_t fp);
  // Drops file pages [lo, hi) from the cache.
  void DropCache(int32_t obj, uint32_t lo, uint32_t hi);

  // --- PTEs ---
  void SetPte(Process& p, uint32_t page, const Pte& pte);  // replaces any old PTE
  void ClearPte(Process& p, uint32_t page);
  const Pte* GetPte(const Process& p, uint32_t page) const { return p.ptes.Find(page); }
  // Page-table slot bookkeeping.
  static uint32_t Slot(uint32_t page) { return page / kPagesPerPmd; }
  void TouchPt(Process& p, uint32_t page) { p.pt[Slot(page)] = PtState::kPresent; }
  PtState PtAt(const Process& p, uint32_t page) const {
    const PtState* s = p.pt.Find(Slot(page));
    return s ? *s : PtState::kAbsent;
  }
  // free_pgtables(): slots overlapping [lo, hi) with no VMA left lose their table.
  void FreeEmptyPt(Process& p, uint32_t lo, uint32_t hi);
};

}  // namespace mmdiff
