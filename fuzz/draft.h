// Drafting ops from the model's state: the argument-choosing machinery the
// generator (generator.cc) and the mutator (mutator.cc) share.
//
// A Drafter looks at a Model someone else walks (it never changes it) and
// draws one op at a time: a process, an op kind by state-dependent integer
// weights, a generic value for every ArgSpec of the op's row in the op table
// (FillFromTable), then the per-op-kind semantic choices (ChooseArgs): free
// gaps for mmap, shrink/grow/move for mremap, registered ranges for uffd ops,
// observations where the last ops worked. The caller predicts the draft, and
// if it keeps it, applies it to the model and calls AfterAdd (the generator:
// queues the follow-up plans) or Track (the mutator: no plans, no draws).
//
// All draws come from the caller's Rng, so a Drafter is exactly as
// reproducible as its seed. Not thread-safe; one per program being built.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "fuzz/rng.h"
#include "model/model.h"
#include "model/profile.h"
#include "prog/op_table.h"
#include "prog/op_traits.h"

namespace mmdiff {

// Programs live in the first 32 MiB of the arena (16 PMD slots): far enough
// apart for THP ranges, close enough that random ranges hit mappings.
constexpr uint32_t kWorkPages = 16 * kPagesPerPmd;
// Forks stop here (Validate allows 16 processes; a few are enough to test
// sharing and COW, and each costs an OS process on the target).
constexpr size_t kMaxGenProcs = 6;
// pagemap and scan ranges stay within one PMD's worth of entries.
constexpr uint32_t kMaxObserve = kPagesPerPmd;

struct Range {
  uint32_t lo = 0, n = 0;
  uint32_t hi() const { return lo + n; }
};

// A follow-up op the drafter means to draft next. Fields it leaves at their
// defaults are chosen when it is drafted (range.n == 0: pick a range).
struct Plan {
  OpKind kind = OpKind::kPagemap;
  int proc = 0;
  Range range;
  int file = -1;
  Backing backing = Backing::kAnon;
  bool shared = false;
  uint32_t pgoff = 0;
  Advice advice = Advice::kNohugepage;
  bool on = true;
  bool wp_fast = false;  // kScan: WP_MATCHING without a buffer (vec=0), the fast path
  std::optional<Prot> prot;  // kMprotect
};

bool HasArg(const OpInfo& info, ArgKind kind);

class Drafter {
 public:
  // `model` and `rng` must outlive the drafter; the model is read only.
  Drafter(const KernelProfile& profile, Rng* rng, const Model* model)
      : prof_(profile), rng_(*rng), model_(*model) {}

  // --- state views ---
  const MmState& St() const { return model_.state(); }
  const Process& P(int proc) const { return St().procs[proc]; }
  bool Alive(int proc) const { return proc >= 0 && proc < static_cast<int>(St().procs.size()) && P(proc).alive; }
  int LiveProcs() const;
  uint32_t FileSize(int proc, int slot) const {
    int32_t obj = slot >= 0 ? P(proc).fds[slot] : -1;
    return obj >= 0 ? St().files[obj].size : 0;
  }
  std::vector<int> OpenSlots(int proc, int kind_filter) const;  // kind_filter: -1 any, else MemKind
  bool RangeFree(const Process& p, uint32_t lo, uint32_t n) const;
  bool HasPages(const Process& p, uint32_t lo, uint32_t hi) const;  // present or swapped PTEs
  // The process whose mm the uffd of `proc` serves, or -1.
  int UffdOwner(int proc) const;

  // --- drafting ---
  // Drafts the next op into *op (fresh): a queued plan, or a process and
  // kind of its own; false: no op this round.
  bool Draft(Op* op);
  int PickProc();
  OpKind PickKind(int proc);
  // One generic value per ArgSpec of op->kind (op->kind and op->proc set).
  void FillFromTable(Op* op);
  // The per-kind semantic choices over the generic values.
  bool ChooseArgs(Op* op, const Plan* plan);
  // `op` was added with `result`: follow-up plans and the observation range.
  void AfterAdd(const Op& op, const Result& result);
  // `op` was added, without plans or draws (the mutator walking a program).
  void Track(const Op& op);
  void ClearPlans() { plans_.clear(); }
  // Make `proc` the current process (PickProc stays with it mostly).
  void SetCurrent(int proc) { cur_ = proc; }

  // --- generic argument values ---
  Range PickRange(int proc, uint32_t max_n);
  Range VmaSubRange(const Vma& v);
  uint32_t PickPage(int proc, bool write);
  uint32_t FreeGap(int proc, uint32_t n, uint32_t align);
  int PickSlot(int proc);
  Prot PickProt();
  Advice PickAdvice();
  uint32_t PickCategories();
  uint32_t PickSubset(uint32_t set, uint32_t odds);
  uint32_t PickUffdModes();
  uint32_t PickUffdFeatures();
  uint32_t FlagOdds(uint32_t flag) const;

 private:
  bool ChooseMmap(Op* op, const Plan* plan);
  bool ChooseMremap(Op* op);
  bool ChooseMadvise(Op* op, const Plan* plan);
  bool ChooseFileCreate(Op* op);
  bool ChooseFtruncate(Op* op);
  bool ChooseFwrite(Op* op);
  bool ChooseFpunch(Op* op);
  bool ChooseRegister(Op* op, const Plan* plan);
  bool ChooseUnregister(Op* op);
  // The op's range over one VMA of `c`: all of it `whole_in_10` times in
  // ten, else a part (VmaSubRange).
  void RangeOver(Op* op, const std::vector<const Vma*>& c, int whole_in_10);
  // The VMAs of `owner` registered with `proc`'s uffd (with WP: `wp_only`).
  std::vector<const Vma*> RegisteredVmas(int proc, int owner, bool wp_only) const;
  bool ChooseWp(Op* op, const Plan* plan);
  bool ChooseObserve(Op* op, const Plan* plan);

  const KernelProfile& prof_;
  Rng& rng_;
  const Model& model_;
  std::deque<Plan> plans_;
  int cur_ = 0;
  // Per-process range of the last op that had one (observations look there).
  std::vector<Range> last_range_ = std::vector<Range>(kMaxProcs);
  // Notes of the draft in progress, acted on only if the op is added.
  struct Note {
    bool thp = false;            // mmap of a 2 MiB-aligned THP-sized range
    std::vector<Plan> then;      // plans to queue first
  } note_;
};

}  // namespace mmdiff
