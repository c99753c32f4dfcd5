// The reference model of the Linux mm (docs/CONTRACT.md is its contract).
//
// For each op the model says which results it allows (Predict), then
// continues from what the kernel actually did (Apply): where the kernel may
// choose, the observed result picks the branch (docs/CONTRACT.md §11.1, trace checking).
// The model is a value: copy it to fork a what-if; it does no I/O.
//
// Executor conventions the model relies on (documented in the brief of the
// executor): MAP_FIXED_NOREPLACE unless `fixed`; uffd_open adds
// PAGEFAULT_FLAG_WP; the sync handler resolves a WP fault with
// UFFDIO_WRITEPROTECT(mode=0) on that page, a MISSING fault with
// UFFDIO_ZEROPAGE (and, when that finds a uffd-wp marker, UFFDIO_COPY of a
// zero page), a MINOR fault with UFFDIO_CONTINUE; `file F N` is
// open(O_CREAT|O_TRUNC) of one path per slot F + ftruncate; a second memfd/file
// on a used slot closes the old fd; fault-around is pinned off
// (fault_around_bytes = 4096) where debugfs allows it; elsewhere the profile
// says so (KernelProfile::fault_around_pages) and the model allows it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/allowance.h"
#include "model/profile.h"
#include "model/state.h"
#include "prog/op.h"
#include "prog/result.h"

namespace mmdiff {

// One named latitude inside a pagemap prediction: entry `index` may differ
// from `expected.pagemap[index]` in `bits`, as `grant` allows.
struct Latitude {
  uint32_t index = 0;
  uint64_t bits = 0;
  Grant grant;
};

// Another whole result the kernel may give, and what allows it.
struct Alternative {
  Result result;
  Grants grants;
};

struct Prediction {
  // The model's primary answer: the contract's. For pagemap,
  // `expected.either` holds the union of the latitudes' bits (empty when
  // exact), as in an expected result written with '?'.
  Result expected;
  // Other whole results also allowed (scans over page tables or PTEs the
  // model cannot know, uffd faults of a doubtful PTE), each with its grants.
  std::vector<Alternative> alternatives;
  std::vector<Latitude> latitudes;
  // Non-empty: the model does not model this op in this state (not a
  // divergence; the checker stops with an "unmodelled" verdict).
  std::string unmodelled;
};

// Whether the prediction or one of its alternatives allows `observed`
// (ResultMatches of prog/result.h: '?' pagemap bits may be either); when it
// does, `used` (if given) gets the allowances and quirks the kernel needed.
bool PredictionAllows(const Prediction& pred, const Result& observed, Grants* used = nullptr);
// The prediction without what quirks allow: the contract (and its latitude).
Prediction WithoutQuirks(const Prediction& pred);

class Model {
 public:
  using Variant = std::optional<Pte>;  // a PTE or none (nullopt)

  explicit Model(KernelProfile profile);

  const KernelProfile& profile() const { return profile_; }
  const MmState& state() const { return st_; }

  // What op `index` of the program may return in the current state.
  Prediction Predict(const Op& op, size_t index) const;
  // Advances the state past op `index`, following `observed` where the
  // kernel had a choice. `observed` should be allowed by Predict.
  void Apply(const Op& op, size_t index, const Result& observed);
  // Predict and Apply in one walk of the rules, for a caller that knows the
  // answer it will follow only once it sees the prediction (a trace, or the
  // contract's answer): applies the op on `after` (a copy of this model the
  // caller made) following the contract's branch and returns the
  // prediction. `*chose` false: no rule chose by the answer, so `after` is
  // this model after Apply of any answer the prediction allows; true: the
  // caller must Apply its answer to this model instead.
  Prediction PredictInto(Model& after, const Op& op, size_t index, bool* chose) const;
  // Predict, then Apply of the contract's answer (what a program generator
  // or a report's "after" picture follows). Unmodelled: the state stays.
  Prediction Advance(const Op& op, size_t index);

 private:
  struct Step {
    const Op& op;
    size_t index;
    const Result* observed;    // Apply: the kernel's answer; Predict: none
    Prediction* pred;          // latitudes and alternatives go here
    // Set by a rule that chose its branch by the kernel's answer (read it
    // through Observed()). A step that chose nothing leaves the same state
    // whatever the answer: Advance() relies on it.
    bool chose = false;
    const Result* Observed() {
      chose = true;
      return observed;
    }
  };
  Result Exec(Step& s);

  // mmap.cc
  Result DoMmap(Step& s);
  Result DoMunmap(Step& s);
  // The munmap sequence over [lo, hi) of `proc` (split, zap, remove the VMAs,
  // free their page tables): munmap, MAP_FIXED, mremap's shrink and move.
  void UnmapRange(int proc, uint32_t lo, uint32_t hi);
  // mprotect.cc
  Result DoMprotect(Step& s);
  // fork.cc
  Result DoFork(Step& s);
  Result DoExit(Step& s);
  // memory.cc: loads, stores and the faults they take.
  Result DoAccess(Step& s, bool write);
  // madvise.cc / mremap.cc
  Result DoMadvise(Step& s);
  Result DoMremap(Step& s);
  // One VMA's part of a move (mremap_to() / move_vma()).
  Result MoveRange(Step& s, uint32_t addr, uint32_t old_len, uint32_t new_len, uint32_t new_addr);
  // files.cc
  Result DoFileCreate(Step& s);
  Result DoFtruncate(Step& s);
  Result DoFwrite(Step& s);
  Result DoFpunch(Step& s);
  // uffd.cc
  Result DoUffdOpen(Step& s);
  Result DoUffdRegister(Step& s, bool reg);
  Result DoUffdWp(Step& s);
  // The caller's uffd for an ioctl, borrowed from the parent's handler if
  // it is a forked child's; false: no usable fd (EBADF).
  bool BorrowUffd(Step& s);
  // task_mmu.cc
  Result DoPagemap(Step& s);
  Result DoScan(Step& s);
  Result DoClearRefs(Step& s);
  // hugetlb.cc: MAP_HUGETLB mappings. HugetlbOp runs before every op: true
  // when it gave the op's result (`*out`), false when the op's own rules go on.
  Result DoMmapHugetlb(Step& s);
  bool HugetlbOp(Step& s, Result* out);
  Result HugetlbAccess(Step& s, bool write);
  Result HugetlbMadvise(Step& s);

 public:
  // --- Shared rules, used across the op files (and by tests). ---
  enum class Fault : uint8_t { kNone, kSegv, kBus };
  // The result of an access that faulted: SIGSEGV (no access to the VMA) or
  // SIGBUS (a file page past the end of the file, an empty hugetlb pool).
  static Result FaultResult(Fault fault);
  // Ways a mapping loses PTEs (zap_pte_range and its callers).
  enum class Zap : uint8_t {
    kUnmap,     // munmap, MAP_FIXED, exit, mremap source: every PTE and marker goes
    kDontneed,  // MADV_DONTNEED/REMOVE-like: guard markers stay, file uffd-wp turns to markers
    kTruncate,  // truncate/punch of file pages: only PTEs of those file pages
  };
  // Populates (faults in) one page as a user access would; returns the fault.
  // `flags` collects uffd faults taken (sync WP, MISSING, MINOR).
  Fault FaultIn(int proc, uint32_t page, bool write, uint8_t* uffd_faults);
  // FaultIn on a page without doubt.
  Fault FaultInCertain(int proc, uint32_t page, bool write, uint8_t* uffd_faults);
  // Fault-around after a read fault at `page` (mm/memory.c do_fault_around()).
  void FaultAround(int proc, uint32_t page);
  // A shared file write fault may map the rest of the page's large folio
  // (a doubt each, fault-around-may-map).
  void FolioMapsNeighbours(int proc, uint32_t page, bool write);
  // Whether the page cache may hold large folios of this VMA's file.
  bool MayHaveLargeFolios(const Vma& v) const;
  // Pages [from, to) of VMA `v` but `page`, where none is mapped and the
  // file's page may be cached: each mapped as a doubt (fault-around-may-map).
  void MayMapFromCache(int proc, const Vma& v, uint32_t from, uint32_t to, uint32_t page, bool soft_dirty);
  // Quirk softdirty_lost_on_uffd_wp_resolve applies to the VMA at `page`.
  bool ResolveMapsWritable(const Process& p, uint32_t page) const;
  // The whole access op (read/write at op's page), mutating, for the
  // two-world simulation of a doubtful page.
  Result AccessNow(const Op& op, size_t index, bool write);
  void ZapRange(int proc, uint32_t lo, uint32_t hi, Zap how);
  // What zapping one PTE leaves (none or a uffd-wp marker).
  static Variant ZapOne(const Vma* v, const Variant& pte, Zap how);
  // Unmaps file pages [lo, hi) of `obj` in every process (unmap_mapping_range);
  // `even_cows` also zaps private COW copies (truncate).
  void UnmapMapping(int32_t obj, uint32_t lo, uint32_t hi, bool even_cows);
  // A truncation or hole of file pages [lo, hi) in a file a VMA may hold
  // large folios of: the other pages of the folios it cuts may lose their
  // PTEs (kLargeFolioSplitMayUnmap).
  void MaySplitLargeFolios(int32_t obj, uint32_t lo, uint32_t hi);
  // UFFDIO_WRITEPROTECT over [lo, hi) of one VMA's pages.
  void WriteProtect(int proc, uint32_t lo, uint32_t hi, bool on);
  // Drops uffd-wp bits and markers of [lo, hi) (unregister, close).
  void ClearUffdWp(int proc, uint32_t lo, uint32_t hi);
  bool UsesMarkers(const Vma& v) const;   // userfaultfd_wp_use_markers()
  bool WpAsync(const Vma& v) const;       // userfaultfd_wp_async()
  void ReleaseUffd(int32_t ctx);          // userfaultfd_release()
  void CloseFd(int proc, int slot);
  void EnsureAnonVma(Process& p, size_t vma_index);  // anon_vma_prepare()
  // Whether a VMA of [lo, hi) is registered with a context (having one of
  // `event_features`, or any if 0) whose messages nobody reads any more.
  bool NobodyReads(int proc, uint32_t lo, uint32_t hi, uint32_t event_features) const;
  // After a merge that the quirk `q` handles wrongly: marks merged VMAs whose
  // VM_SOFTDIRTY did not come from the part whose flags the kernel keeps (the
  // VMA in [lo, hi) if keeper_inside, else the neighbours) as possibly clean
  // (Vma::sd_lost_quirk).
  void MarkSoftDirtyLoss(Process& p, const std::vector<Vma>& before, uint32_t lo, uint32_t hi,
                         bool keeper_inside, Quirk q);
  // Every merge after VMAs in [lo, hi) changed or were made: MergeAround,
  // then, on kernels with softdirty_lost_on_merge, what the merge may have
  // lost (keeper_inside: the merged VMA takes the flags of the part in
  // [lo, hi), as flag changes do; else of the neighbour, as copy_vma() does).
  // kEither: the kernel keeps the flags of whichever VMA survives the merge
  // (6.12 userfaultfd_set_ctx() reads the merged VMA's own flags), so
  // either part may be the keeper.
  enum class Keeper : uint8_t { kInside, kOutside, kEither };
  // `changed_starts`: MmState::MergeAround.
  void MergeChanged(Process& p, uint32_t lo, uint32_t hi, Keeper keeper = Keeper::kInside,
                    uint32_t not_at = UINT32_MAX, uint32_t not_at2 = UINT32_MAX,
                    const std::vector<uint32_t>* changed_starts = nullptr);
  uint64_t PagemapEntry(const Process& p, uint32_t page) const;
  // Whether a fault at `page` may map a PMD THP (docs/CONTRACT.md §11.3): an
  // anonymous private VMA covering the page's whole aligned 2 MiB range, with
  // THP enabled for it. A read fault on a none PMD maps the huge zero page,
  // a write fault a THP (MapsHugePmd).
  bool ThpPossible(const Vma& v, uint32_t page) const;
  // A fault at `page` maps a huge PMD (do_huge_pmd_anonymous_page()): the
  // huge zero page for a read, a new THP for a write.
  bool MapsHugePmd(const Process& p, const Vma& v, uint32_t page) const;
  // Why a fault at `page` in a THP-eligible range is not modelled, or null.
  const char* ThpFaultUnmodelled(const Process& p, const Vma& v, uint32_t page) const;
  // mm/util.c __vm_enough_memory() in overcommit mode 0: a charge of more
  // pages than totalram_pages() + total_swap_pages is refused (ENOMEM).
  bool CommitRefused(uint64_t pages) const {
    return profile_.commit_limit_pages && pages > profile_.commit_limit_pages;
  }
  // Whether [lo, hi) touches a slot mapped by the huge zero page.
  bool TouchesHugeZero(const Process& p, uint32_t lo, uint32_t hi) const;
  // A write to the THP PMD of `page`'s slot: do_huge_pmd_wp_page() reuses it
  // whole or falls back to a split. Returns true when the write is done.
  bool WriteThpPmd(Process& p, const Vma& v, uint32_t page);
  // Which THP PMDs TouchesLargeFolio() does not count.
  enum class PmdsOk { kNone, kWhole, kAny };
  // Whether [lo, hi) maps a page of a large folio, other than through a THP
  // PMD that [lo, hi) covers whole (kWhole) or touches at all (kAny).
  bool TouchesLargeFolio(const Process& p, uint32_t lo, uint32_t hi, PmdsOk ok) const;
  // Counts a THP fault; whether the profile makes this one fall back.
  bool ThpFallsBack();
  // Maps a new THP at the slot starting at `s0`.
  void MapNewThp(Process& p, uint32_t s0);
  // MADV_PAGEOUT of the THP PMD at `slot`, covered whole or in part
  // (madvise.cc); the 4K pages it leaves are then paged out as any. False
  // (nothing done) where the model does not hold the PMD's 512 PTEs.
  bool PageOutThp(Process& p, uint32_t slot, bool whole);

  // --- khugepaged.cc ---
  // The 2 MiB slots of `proc` khugepaged could collapse now
  // (hpage_collapse_scan_pmd() with the profile's max_ptes_* limits).
  std::vector<uint32_t> CollapsibleSlots(int proc) const;
  // collapse_huge_page() of one of them.
  void CollapseHugePage(int proc, uint32_t slot);

  // --- hugetlb.cc ---
  bool TouchesHugetlb(const Process& p, uint32_t lo, uint32_t hi) const;
  // hugetlb_vm_op_split(): a split at `addr` inside a hugetlb VMA is refused.
  bool HugetlbSplitRefused(const Process& p, uint32_t addr) const;
  // Whether the PMD table that holds the huge PTE of `page` exists.
  PtState HugetlbSlotTable(const Process& p, uint32_t page) const;
  // A huge page for `slot` of VMA `v` could be allocated now / is allocated
  // (kZeroPage: none): alloc_hugetlb_folio().
  bool HugetlbPageAvailable(int proc, const Vma& v, uint32_t slot, bool use_reserve) const;
  uint32_t HugetlbAlloc(int proc, const Vma& v, uint32_t slot, bool use_reserve);
  // After VMAs of `proc` went: their reservations and unmapped hugetlb files.
  void HugetlbReleased(int proc);
  // Why a fault at `page` (hugetlb) is not modelled, or "".
  std::string HugetlbFaultUnmodelled(const Process& p, uint32_t page, bool write) const;
  Fault HugetlbFault(int proc, uint32_t page, bool write, uint8_t* uffd_faults);
  // fork: the child's copy (its last VMA) of parent VMA `pv`.
  void CopyHugetlbRange(int parent, int child, const Vma& pv);
  uint64_t HugetlbPagemapEntry(const Vma& vma, const Variant& v) const;
  uint32_t HugetlbCategories(const Pte* pte) const;  // PAGEMAP_SCAN, without the VMA's

  // --- doubt.cc: PTEs the model cannot pin down (state.h Doubt) ---
  Variant Primary(const Process& p, uint32_t page) const;
  // The doubt's alternative; the primary when there is no doubt.
  Variant AlternativeAt(const Process& p, uint32_t page) const;
  // Records that the kernel may hold `alt` instead of the primary at `page`,
  // as `why` allows. Dropped when equal to the primary or not representable
  // (an alternative present page must be the primary's page).
  void SetDoubt(int proc, uint32_t page, const Variant& alt, Grant why);
  // Makes one side of the doubt at `page` certain.
  void ResolveDoubt(int proc, uint32_t page, bool to_alt);
  // Removes and returns the doubts of [lo, hi): ops that rewrite PTEs take
  // them first and put back what their per-PTE rule makes of the alternative.
  std::vector<std::pair<uint32_t, Doubt>> TakeDoubts(int proc, uint32_t lo, uint32_t hi);
  // Doubtful PTEs (in any process) that map `page_id` while their
  // alternative does not: the spread of its mapcount.
  uint32_t DoubtfulMaps(uint32_t page_id) const;
  // After one op run on two copies of the model (this one from the primary
  // side of a doubt, `other` from the alternative side), keeps both outcomes:
  // every PTE that differs becomes a doubt granted by `why`. False (and no
  // change) when the two differ in more than PTEs.
  bool MergeWorld(const Model& other, Grant why);
  // Pagemap entry of `page` if its PTE were `v`.
  uint64_t PagemapEntryOf(const Process& p, uint32_t page, const Variant& v) const;

 private:
  KernelProfile profile_;
  MmState st_;
};

}  // namespace mmdiff
