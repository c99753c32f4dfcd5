// The reference model of the Linux mm (SEMANTICS.md is its contract).
//
// For each op the model says which results it allows (Predict), then
// continues from what the kernel actually did (Apply): where the kernel may
// choose, the observed result picks the branch (DESIGN.md, trace checking).
// The model is a value: copy it to fork a what-if; it does no I/O.
//
// Executor conventions the model relies on (documented in the brief of the
// executor): MAP_FIXED_NOREPLACE unless `fixed`; uffd_open adds
// PAGEFAULT_FLAG_WP; the sync handler resolves a WP fault with
// UFFDIO_WRITEPROTECT(mode=0) on that page, a MISSING fault with
// UFFDIO_ZEROPAGE, a MINOR fault with UFFDIO_CONTINUE; `file F N` is
// open(O_CREAT|O_TRUNC) of one path per slot F + ftruncate; a second memfd/file
// on a used slot closes the old fd; fault-around is disabled
// (fault_around_bytes = 4096), so a read fault maps exactly one page.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/allowance.h"
#include "model/profile.h"
#include "model/state.h"
#include "prog/op.h"
#include "prog/result.h"

namespace mmdiff {

// One named latitude inside a pagemap prediction: entry `index` may differ
// from `expected.pagemap[index]` in `bits`.
struct Latitude {
  uint32_t index = 0;
  uint64_t bits = 0;
  Allowance allowance = Allowance::kLazyfreeMayBeDiscarded;
};

struct Prediction {
  // The model's primary answer. For pagemap, `expected.either` holds the
  // union of the latitudes' bits (empty when exact), as in an expected result
  // written with '?'.
  Result expected;
  // Other whole results also allowed (e.g. scans over page tables the model
  // cannot know), granted by `alternative_allowance`.
  std::vector<Result> alternatives;
  Allowance alternative_allowance = Allowance::kPageTableMayBeReclaimed;
  std::vector<Latitude> latitudes;
  // Non-empty: the model does not model this op in this state (not a
  // divergence; the checker stops with an "unmodelled" verdict).
  std::string unmodelled;
};

// Whether the prediction or one of its alternatives allows `observed`
// (ResultMatches of prog/result.h: '?' pagemap bits may be either).
bool PredictionAllows(const Prediction& pred, const Result& observed);

class Model {
 public:
  explicit Model(KernelProfile profile);

  const KernelProfile& profile() const { return profile_; }
  const MmState& state() const { return st_; }

  // What op `index` of the program may return in the current state.
  Prediction Predict(const Op& op, size_t index) const;
  // Advances the state past op `index`, following `observed` where the
  // kernel had a choice. `observed` should be allowed by Predict.
  void Apply(const Op& op, size_t index, const Result& observed);

 private:
  struct Step {
    const Op& op;
    size_t index;
    bool apply;                // false: dry run, nothing is written
    const Result* observed;    // Apply only
    Prediction* pred;          // latitudes and alternatives go here
  };
  Result Exec(Step& s);

  // model.cc: address-space ops.
  Result DoMmap(Step& s);
  Result DoMunmap(Step& s);
  Result DoMprotect(Step& s);
  Result DoFork(Step& s);
  Result DoExit(Step& s);
  Result DoClearRefs(Step& s);
  // access.cc: loads, stores and the faults they take.
  Result DoAccess(Step& s, bool write);
  // madvise.cc / mremap.cc
  Result DoMadvise(Step& s);
  Result DoMremap(Step& s);
  // files.cc
  Result DoFileCreate(Step& s);
  Result DoFtruncate(Step& s);
  Result DoFwrite(Step& s);
  Result DoFpunch(Step& s);
  // uffd.cc
  Result DoUffdOpen(Step& s);
  Result DoUffdRegister(Step& s, bool reg);
  Result DoUffdWp(Step& s);
  // observe.cc
  Result DoPagemap(Step& s);
  Result DoScan(Step& s);

 public:
  // --- Shared rules, used across the op files (and by tests). ---
  enum class Fault : uint8_t { kNone, kSegv, kBus };
  // Ways a mapping loses PTEs (zap_pte_range and its callers).
  enum class Zap : uint8_t {
    kUnmap,     // munmap, MAP_FIXED, exit, mremap source: every PTE and marker goes
    kDontneed,  // MADV_DONTNEED/REMOVE-like: guard markers stay, file uffd-wp turns to markers
    kTruncate,  // truncate/punch of file pages: only PTEs of those file pages
  };
  // Populates (faults in) one page as a user access would; returns the fault.
  // `flags` collects uffd faults taken (sync WP, MISSING, MINOR).
  Fault FaultIn(int proc, uint32_t page, bool write, uint8_t* uffd_faults);
  void ZapRange(int proc, uint32_t lo, uint32_t hi, Zap how);
  // Unmaps file pages [lo, hi) of `obj` in every process (unmap_mapping_range);
  // `even_cows` also zaps private COW copies (truncate).
  void UnmapMapping(int32_t obj, uint32_t lo, uint32_t hi, bool even_cows);
  // UFFDIO_WRITEPROTECT over [lo, hi) of one VMA's pages.
  void WriteProtect(int proc, uint32_t lo, uint32_t hi, bool on);
  // Drops uffd-wp bits and markers of [lo, hi) (unregister, close).
  void ClearUffdWp(int proc, uint32_t lo, uint32_t hi);
  bool UsesMarkers(const Vma& v) const;   // userfaultfd_wp_use_markers()
  bool WpAsync(const Vma& v) const;       // userfaultfd_wp_async()
  void ReleaseUffd(int32_t ctx);          // userfaultfd_release()
  void CloseFd(int proc, int slot);
  void EnsureAnonVma(Process& p, size_t vma_index);  // anon_vma_prepare()
  uint64_t PagemapEntry(const Process& p, uint32_t page) const;
  // Whether a fault at `page` may map a PMD THP (SEMANTICS.md §6 item 4): an
  // anonymous private VMA covering the page's whole aligned 2 MiB range, with
  // THP enabled for it. Not modelled yet: such ops are reported unmodelled.
  bool ThpPossible(const Vma& v, uint32_t page) const;

 private:
  KernelProfile profile_;
  MmState st_;
};

}  // namespace mmdiff
