// The mutators and the repair walk (mutator.h).
//
// A mutator edits ctx.prog freely; validity is KeepModelled's job afterwards.
// Mutators that need the address space at an op walk a Model to it (Walk)
// and draw through the generator's Drafter, so their choices look like the
// generator's: ranges of mapped VMAs, free gaps next to mappings, open file
// slots, registered uffd ranges.
#include "fuzz/mutator.h"

#include <algorithm>
#include <optional>
#include <array>
#include <cstring>

#include "fuzz/draft.h"
#include "model/model.h"
#include "model/replay.h"
#include "prog/op_table.h"

namespace mmdiff {
namespace {

struct Ctx {
  Program& prog;
  Rng& rng;
  std::span<const Program> corpus;
  const KernelProfile& profile;
  size_t max_ops;
};

// A Model walked along a program's first ops, with a Drafter looking at it.
struct Walk {
  Model model;
  Drafter drafter;
  Walk(const KernelProfile& profile, Rng* rng) : model(profile), drafter(profile, rng, &model) {}
  Walk(const Walk&) = delete;

  // Applies ops [0, end) as the contract answers them (the one walk,
  // model/replay.h); passes over ops that could not run there (their
  // process is gone, the model does not model them).
  void To(const Program& prog, size_t end) {
    struct Track : ReplayVisitor {
      Drafter* drafter;
      explicit Track(Drafter* d) : drafter(d) {}
      bool Runs(const Op& op) override { return drafter->Alive(op.proc); }
      bool SkipsUnmodelled() const override { return true; }
      void After(const Model&, const ReplayStep& s) override { drafter->Track(s.op); }
    } track(&drafter);
    Replay(prog, nullptr, model.profile(), &track, end, &model);
  }
};

// Validate()'s per-op checks (ranges inside the arena, enums in range).
bool StaticOk(const Op& op) {
  Program one;
  Op o = op;
  o.proc = 0;
  one.Add(o);
  return !Validate(one).has_value();
}

bool IsFileOp(OpKind k) { return HasTrait(k, kTraitFileOp); }
// Ops with an arena range (page + npages).
bool HasArenaRange(const Op& op) {
  const OpInfo& info = GetOpInfo(op.kind);
  return HasArg(info, ArgKind::kPage) && HasArg(info, ArgKind::kNpages);
}
bool IsObserve(OpKind k) { return HasTrait(k, kTraitObserves); }
bool IsOptionWord(ArgKind k) { return k == ArgKind::kFlag || k == ArgKind::kMove || k == ArgKind::kOnOff; }

// A random index of an op that satisfies `pred`, or -1.
template <typename Pred>
int PickOp(const Program& prog, Rng& rng, Pred pred) {
  std::vector<int> c;
  for (size_t i = 0; i < prog.ops.size(); i++)
    if (pred(prog.ops[i])) c.push_back(static_cast<int>(i));
  return c.empty() ? -1 : c[rng.Below(c.size())];
}

uint32_t Delta(Rng& rng, uint32_t x, uint32_t lo, uint32_t hi) {
  uint32_t d = static_cast<uint32_t>(rng.Between(1, rng.OneIn(4) ? 64 : 4));
  uint64_t y = rng.OneIn(2) ? uint64_t{x} + d : (x > d ? x - d : 0);
  return static_cast<uint32_t>(std::clamp<uint64_t>(y, lo, hi));
}

// The process whose address space `op`'s range refers to: the uffd's mm for
// uffd range ops, else the op's own.
int RangeOwner(const Drafter& d, const Op& op) {
  if (op.kind == OpKind::kUffdRegister || op.kind == OpKind::kUffdUnregister || op.kind == OpKind::kUffdWp) {
    int owner = d.UffdOwner(op.proc);
    if (owner >= 0) return owner;
  }
  return op.proc;
}

// A new value for one argument of `op`, within its ArgSpec's domain, drawn
// mostly from the state the drafter sees.
void ChangeArg(Drafter& d, const KernelProfile& prof, Rng& rng, const ArgSpec& spec, Op* op) {
  const int proc = op->proc;
  const bool observe = IsObserve(op->kind);
  switch (spec.kind) {
    case ArgKind::kPage:
      switch (rng.Below(4)) {
        case 0:
          op->page = Delta(rng, op->page, 0, kArenaPages - 1);
          break;
        case 1:
          op->page = op->kind == OpKind::kRead || op->kind == OpKind::kWrite
                         ? d.PickPage(proc, op->kind == OpKind::kWrite)
                         : d.PickRange(RangeOwner(d, *op), observe ? kMaxObserve : kWorkPages).lo;
          break;
        case 2:
          op->page = op->page / kPagesPerPmd * kPagesPerPmd + (rng.OneIn(2) ? 0 : kPagesPerPmd);
          break;
        default:
          op->page = static_cast<uint32_t>(rng.Below(kWorkPages));
          break;
      }
      if (op->npages && uint64_t{op->page} + op->npages > kArenaPages) op->page = kArenaPages - op->npages;
      break;
    case ArgKind::kFilePage: {
      uint32_t size = d.FileSize(proc, op->file);
      op->page = rng.OneIn(2) ? static_cast<uint32_t>(rng.Below(size + 2)) : Delta(rng, op->page, 0, kMaxFilePages - 1);
      break;
    }
    case ArgKind::kNpages:
      if (IsFileOp(op->kind)) {
        uint32_t size = d.FileSize(proc, op->file);
        switch (rng.Below(4)) {
          case 0: op->npages = Delta(rng, op->npages, 0, kMaxFilePages); break;
          case 1: op->npages = static_cast<uint32_t>(rng.Between(0, size + 4)); break;
          case 2: op->npages = rng.OneIn(4) ? 0 : size; break;
          default: op->npages = static_cast<uint32_t>(rng.Between(1, 64)); break;
        }
      } else {
        uint32_t max_n = observe ? kMaxObserve : kWorkPages;
        switch (rng.Below(5)) {
          case 0: op->npages = Delta(rng, op->npages, 1, max_n); break;
          case 1: op->npages = std::clamp(op->npages * 2, 1u, max_n); break;
          case 2: op->npages = std::max(op->npages / 2, 1u); break;
          case 3: op->npages = kPagesPerPmd; break;
          default: {
            // To the end of the VMA the range starts in.
            const Process& p = d.P(RangeOwner(d, *op));
            int vi = d.St().VmaAt(p, op->page);
            op->npages = vi >= 0 ? std::min(p.vmas[vi].end - op->page, max_n) : rng.OneIn(20) ? 0 : op->npages + 1;
            break;
          }
        }
        if (uint64_t{op->page} + op->npages > kArenaPages) op->npages = kArenaPages - op->page;
      }
      break;
    case ArgKind::kNewNpages: {
      uint32_t n = std::max(op->npages, 1u);
      switch (rng.Below(3)) {
        case 0: op->new_npages = n; break;
        case 1: op->new_npages = static_cast<uint32_t>(rng.Between(1, 2 * n)); break;
        default: op->new_npages = Delta(rng, op->new_npages, 1, kWorkPages); break;
      }
      uint32_t base = (op->flags & kFlagMove) ? op->new_page : op->page;
      if (uint64_t{base} + op->new_npages > kArenaPages) op->new_npages = kArenaPages - base;
      break;
    }
    case ArgKind::kProt:
      op->prot = rng.OneIn(2) ? d.PickProt()
                              : static_cast<Prot>((static_cast<int>(op->prot) + 1 + rng.Below(4)) % 5);
      break;
    case ArgKind::kBacking: {
      static constexpr uint32_t kBackingWeights[] = {50, 25, 25};
      op->backing = static_cast<Backing>(rng.Weighted(kBackingWeights));
      op->file = static_cast<uint8_t>(d.PickSlot(proc));
      uint32_t size = d.FileSize(proc, op->file);
      op->file_pgoff = size == 0 || rng.Chance(2, 3) ? 0 : static_cast<uint32_t>(rng.Below(size + 1));
      if (op->backing == Backing::kAnon) op->file = 0, op->file_pgoff = 0;  // as its text reads (Validate)
      break;
    }
    case ArgKind::kSharing:
      op->shared = !op->shared;
      break;
    case ArgKind::kAdvice:
      op->advice = rng.OneIn(2) ? d.PickAdvice() : static_cast<Advice>(rng.Below(kNumAdvice));
      break;
    case ArgKind::kFile:
      op->file = static_cast<uint8_t>(rng.OneIn(2) ? d.PickSlot(proc) : (op->file + 1 + rng.Below(kMaxFiles - 1)) % kMaxFiles);
      break;
    case ArgKind::kClearRefsType:
      op->value = 1 + (std::clamp(op->value, 1u, 5u) - 1 + static_cast<uint32_t>(rng.Between(1, 4))) % 5;
      break;
    case ArgKind::kOnOff:
      op->flags ^= kFlagWpOn;
      break;
    case ArgKind::kFlag:
      op->flags ^= spec.bit;
      break;
    case ArgKind::kMove:
      if ((op->flags & kFlagMove) && rng.OneIn(2)) {
        op->flags &= ~kFlagMove;
        op->new_page = 0;
      } else {
        op->flags |= kFlagMove;
        uint32_t n = std::max(op->new_npages, 1u);
        op->new_page = rng.OneIn(5) ? static_cast<uint32_t>(rng.Below(kWorkPages))
                                    : d.FreeGap(proc, n, rng.OneIn(6) ? kPagesPerPmd : 1);
        if (uint64_t{op->new_page} + op->new_npages > kArenaPages) op->new_page = kArenaPages - op->new_npages;
      }
      break;
    case ArgKind::kOffset:
      if ((op->flags & kFlagHasOffset) && rng.OneIn(3)) {
        op->flags &= ~kFlagHasOffset;
        op->offset = 0;
      } else {
        op->flags |= kFlagHasOffset;
        op->offset = static_cast<uint16_t>(rng.OneIn(2) ? rng.Below(kPageSize) : kPageSize - 1 - rng.Below(8));
      }
      break;
    case ArgKind::kByte:
      if ((op->flags & kFlagHasByte) && rng.OneIn(3)) {
        op->flags &= ~kFlagHasByte;
        op->byte = 0;
      } else {
        op->flags |= kFlagHasByte;
        op->byte = static_cast<uint8_t>(rng.Below(256));
      }
      break;
    case ArgKind::kCategories: {
      uint32_t& field = ScanFieldRef(*op, spec.bit);
      uint32_t presence = PresenceFlag(spec);
      if (field && rng.OneIn(3)) {
        field = 0;
        op->flags &= ~presence;
      } else {
        uint32_t known = prof.pagemap_scan ? prof.scan_categories : (1u << kNumScanCategories) - 1;
        if (field && known && rng.OneIn(2)) {
          std::vector<uint32_t> bits;
          for (int b = 0; b < 16; b++)
            if (known & (1u << b)) bits.push_back(1u << b);
          field ^= bits[rng.Below(bits.size())];
        } else {
          field = d.PickCategories();
        }
        op->flags |= presence;
      }
      break;
    }
    case ArgKind::kNumber: {
      uint32_t& field = ScanFieldRef(*op, spec.bit);
      uint32_t presence = PresenceFlag(spec);
      if ((field || (op->flags & presence)) && rng.OneIn(3)) {
        field = 0;
        op->flags &= ~presence;
      } else {
        field = rng.OneIn(3) ? Delta(rng, field, 0, 64) : static_cast<uint32_t>(rng.Between(0, 8));
        op->flags |= presence;
      }
      break;
    }
    case ArgKind::kFeatures: {
      // Only features the kernel has: a program that requires another is skipped.
      std::vector<uint32_t> bits;
      for (int b = 0; b < kNumFeatures; b++)
        if (prof.features & (1u << b)) bits.push_back(1u << b);
      if (bits.empty()) break;
      op->required_features ^= bits[rng.Below(bits.size())];
      if (!op->required_features) op->required_features = bits[rng.Below(bits.size())];
      break;
    }
    case ArgKind::kUffdFeatures:
      if (rng.OneIn(2)) op->uffd_features = d.PickUffdFeatures();
      else op->uffd_features ^= 1u << rng.Below(kNumUffdFeatures);
      break;
    case ArgKind::kUffdModes:
      if (rng.OneIn(2)) op->uffd_modes = d.PickUffdModes();
      else op->uffd_modes ^= 1u << rng.Below(3);
      break;
  }
}

// --- the mutators ----------------------------------------------------------

// An op drafted from the model's state at a random position.
bool InsertOp(Ctx& c) {
  if (c.prog.ops.size() >= c.max_ops) return false;
  size_t at = c.rng.Below(c.prog.ops.size() + 1);
  Walk w(c.profile, &c.rng);
  w.To(c.prog, at);
  if (w.drafter.LiveProcs() == 0) return false;  // every process has exited there
  for (int tries = 0; tries < 8; tries++) {
    Op op;
    if (!w.drafter.Draft(&op)) continue;
    if (!w.model.Predict(op, at).unmodelled.empty()) continue;
    c.prog.ops.insert(c.prog.ops.begin() + static_cast<std::ptrdiff_t>(at), op);
    return true;
  }
  return false;
}

bool RemoveOp(Ctx& c) {
  if (c.prog.ops.size() < 2) return false;
  c.prog.ops.erase(c.prog.ops.begin() + static_cast<std::ptrdiff_t>(c.rng.Below(c.prog.ops.size())));
  return true;
}

// A copy of an op, right after it or later (the same access after a
// clear_refs, the same observation after a change).
bool DuplicateOp(Ctx& c) {
  size_t n = c.prog.ops.size();
  if (n == 0 || n >= c.max_ops) return false;
  size_t i = c.rng.Below(n);
  size_t to = c.rng.OneIn(2) ? i + 1 : c.rng.Between(i + 1, n);
  Op op = c.prog.ops[i];
  c.prog.ops.insert(c.prog.ops.begin() + static_cast<std::ptrdiff_t>(to), op);
  return true;
}

// A prefix of this program and a suffix of a corpus program.
bool Splice(Ctx& c) {
  if (c.corpus.empty()) return false;
  const Program& other = c.corpus[c.rng.Below(c.corpus.size())];
  if (other.ops.empty()) return false;
  size_t a = c.rng.Between(0, c.prog.ops.size());
  size_t b = c.rng.Below(other.ops.size());
  std::vector<Op> ops(c.prog.ops.begin(), c.prog.ops.begin() + static_cast<std::ptrdiff_t>(a));
  for (size_t i = b; i < other.ops.size() && ops.size() < c.max_ops; i++) ops.push_back(other.ops[i]);
  c.prog.ops = std::move(ops);
  return true;
}

// One argument to a new value of its ArgSpec's domain.
bool ChangeArgument(Ctx& c) {
  int i = PickOp(c.prog, c.rng, [](const Op& op) { return !GetOpInfo(op.kind).args.empty(); });
  if (i < 0) return false;
  Op& op = c.prog.ops[i];
  std::span<const ArgSpec> args = GetOpInfo(op.kind).args;
  Walk w(c.profile, &c.rng);
  w.To(c.prog, i);
  if (!w.drafter.Alive(op.proc)) return false;
  Op orig = op;
  for (int tries = 0; tries < 4 && op == orig; tries++)
    ChangeArg(w.drafter, c.profile, c.rng, args[c.rng.Below(args.size())], &op);
  return !(op == orig);
}

// An op to another process alive at that point.
bool MoveProcess(Ctx& c) {
  int i = PickOp(c.prog, c.rng, [](const Op& op) { return op.kind != OpKind::kRequires; });
  if (i < 0) return false;
  bool alive[kMaxProcs] = {true};
  int nprocs = 1;
  for (int k = 0; k < i; k++) {
    const Op& op = c.prog.ops[k];
    if (op.kind == OpKind::kFork && nprocs < kMaxProcs) alive[nprocs++] = true;
    if (op.kind == OpKind::kExit && op.proc < kMaxProcs) alive[op.proc] = false;
  }
  std::vector<int> other;
  for (int p = 0; p < nprocs; p++)
    if (alive[p] && p != c.prog.ops[i].proc) other.push_back(p);
  if (other.empty()) return false;
  c.prog.ops[i].proc = static_cast<uint8_t>(other[c.rng.Below(other.size())]);
  return true;
}

// A range (or an access) onto a mapped area of its process at that point.
bool RetargetRange(Ctx& c) {
  int i = PickOp(c.prog, c.rng, [](const Op& op) { return HasArg(GetOpInfo(op.kind), ArgKind::kPage); });
  if (i < 0) return false;
  Op& op = c.prog.ops[i];
  Walk w(c.profile, &c.rng);
  w.To(c.prog, i);
  Drafter& d = w.drafter;
  if (!d.Alive(op.proc)) return false;
  int owner = RangeOwner(d, op);
  const Process& p = d.P(owner);
  if (p.vmas.empty()) return false;
  const Vma& v = p.vmas[c.rng.Below(p.vmas.size())];
  Op orig = op;
  // By the pages the op names (prog/op_traits.h); mmap makes its range.
  OpPages pages = GetOpInfo(op.kind).pages;
  if (pages == OpPages::kOne) {
    op.page = v.start + static_cast<uint32_t>(c.rng.Below(v.end - v.start));
  } else if (op.kind == OpKind::kMmap) {
    // Next to (or onto, with `fixed`) a mapped area.
    if (c.rng.OneIn(3)) {
      op.page = v.start;
      op.flags |= kFlagFixed;
    } else {
      op.page = d.FreeGap(op.proc, std::max(op.npages, 1u), 1);
    }
  } else if (pages == OpPages::kRange || pages == OpPages::kRangeAndDest) {
    Range r = d.VmaSubRange(v);
    if (IsObserve(op.kind)) r.n = std::min(r.n, kMaxObserve);
    op.page = r.lo;
    op.npages = r.n;
    if (pages == OpPages::kRangeAndDest) {
      if (c.rng.OneIn(2)) op.new_npages = r.n;
      if (op.flags & kFlagMove) op.new_page = d.FreeGap(op.proc, std::max(op.new_npages, 1u), 1);
    }
  }
  return !(op == orig);
}

// A range onto a 2 MiB-aligned 512-page slot (THP-sized), inside a VMA when
// the process has one that covers a whole slot.
bool SnapThp(Ctx& c) {
  int i = PickOp(c.prog, c.rng, [](const Op& op) { return HasArenaRange(op); });
  if (i < 0) return false;
  Op& op = c.prog.ops[i];
  Walk w(c.profile, &c.rng);
  w.To(c.prog, i);
  Drafter& d = w.drafter;
  if (!d.Alive(op.proc)) return false;
  const Process& p = d.P(RangeOwner(d, op));
  std::vector<uint32_t> slots;
  for (const Vma& v : p.vmas)
    for (uint32_t s = AlignUp(v.start, kPagesPerPmd); s + kPagesPerPmd <= v.end; s += kPagesPerPmd)
      slots.push_back(s);
  Op orig = op;
  uint32_t slot = !slots.empty() && c.rng.Chance(3, 4) ? slots[c.rng.Below(slots.size())]
                                                       : op.page / kPagesPerPmd * kPagesPerPmd;
  if (op.kind == OpKind::kMmap && !d.RangeFree(p, slot, kPagesPerPmd))
    slot = d.FreeGap(op.proc, kPagesPerPmd, kPagesPerPmd);
  op.page = slot;
  op.npages = kPagesPerPmd;
  if (op.kind == OpKind::kMremap) {
    op.new_npages = kPagesPerPmd;
    if (op.flags & kFlagMove) op.new_page = d.FreeGap(op.proc, kPagesPerPmd, kPagesPerPmd);
  }
  if (op.kind == OpKind::kMmap && c.rng.Chance(2, 3)) {
    // As the generator draws THP mappings: private anonymous, no populate.
    op.backing = Backing::kAnon;
    op.shared = false;
    op.flags &= ~(kFlagHugetlb | kFlagPopulate);
  }
  if (uint64_t{op.page} + op.npages > kArenaPages) return false;
  return !(op == orig);
}

bool SwapAdjacent(Ctx& c) {
  size_t n = c.prog.ops.size();
  if (n < 2) return false;
  for (int tries = 0; tries < 4; tries++) {
    size_t i = c.rng.Below(n - 1);
    if (c.prog.ops[i] == c.prog.ops[i + 1]) continue;
    std::swap(c.prog.ops[i], c.prog.ops[i + 1]);
    return true;
  }
  return false;
}

// One option word of an op on or off (populate, fixed, move, dontunmap,
// on/off, wp_matching, ...).
bool ToggleOption(Ctx& c) {
  int i = PickOp(c.prog, c.rng, [](const Op& op) {
    for (const ArgSpec& s : GetOpInfo(op.kind).args)
      if (IsOptionWord(s.kind)) return true;
    return false;
  });
  if (i < 0) return false;
  Op& op = c.prog.ops[i];
  std::vector<ArgSpec> words;
  for (const ArgSpec& s : GetOpInfo(op.kind).args)
    if (IsOptionWord(s.kind)) words.push_back(s);
  const ArgSpec& spec = words[c.rng.Below(words.size())];
  if (spec.kind != ArgKind::kMove) {
    op.flags ^= spec.kind == ArgKind::kOnOff ? uint32_t{kFlagWpOn} : spec.bit;
    return true;
  }
  if (op.flags & kFlagMove) {
    op.flags &= ~kFlagMove;
    op.new_page = 0;
    return true;
  }
  Walk w(c.profile, &c.rng);
  w.To(c.prog, i);
  if (!w.drafter.Alive(op.proc)) return false;
  op.flags |= kFlagMove;
  op.new_page = w.drafter.FreeGap(op.proc, std::max(op.new_npages, 1u), 1);
  if (uint64_t{op.new_page} + op.new_npages > kArenaPages) return false;
  return true;
}

using MutateFn = bool (*)(Ctx&);
struct MutatorEntry {
  const char* name;
  MutateFn fn;
  uint32_t weight;  // relative odds of being drawn
};

// The table. Names are stable: stats and findings refer to them.
constexpr MutatorEntry kMutators[] = {
    {"insert_op", InsertOp, 20},
    {"remove_op", RemoveOp, 10},
    {"duplicate_op", DuplicateOp, 8},
    {"splice", Splice, 8},
    {"change_arg", ChangeArgument, 24},
    {"move_process", MoveProcess, 5},
    {"retarget_range", RetargetRange, 12},
    {"snap_thp", SnapThp, 4},
    {"swap_adjacent", SwapAdjacent, 6},
    {"toggle_option", ToggleOption, 8},
};
constexpr size_t kNumMutators = std::size(kMutators);

constexpr auto kNames = [] {
  std::array<const char*, kNumMutators> a{};
  for (size_t i = 0; i < kNumMutators; i++) a[i] = kMutators[i].name;
  return a;
}();

}  // namespace

// --- the repair walk -------------------------------------------------------

bool KeepModelled(Program* prog, const KernelProfile& profile, size_t max_ops, RepairStats* stats) {
  RepairStats local;
  RepairStats& st = stats ? *stats : local;
  Model model(profile);
  Program out;
  // Input process number → output process number, -1: none (never forked,
  // or its fork was dropped).
  int remap[kMaxProcs];
  std::fill(std::begin(remap), std::end(remap), -1);
  remap[0] = 0;
  int in_procs = 1;  // processes the input's forks have numbered so far
  auto alive = [&](int p) {
    return p < static_cast<int>(model.state().procs.size()) && model.state().procs[p].alive;
  };
  for (const Op& in : prog->ops) {
    st.walked++;
    int in_child = -1;
    if (in.kind == OpKind::kFork && in_procs < kMaxProcs) in_child = in_procs++;
    if (out.ops.size() >= max_ops) {
      st.dropped_too_many++;
      continue;
    }
    if (in.proc >= kMaxProcs || remap[in.proc] < 0 || !alive(remap[in.proc])) {
      st.dropped_no_process++;
      continue;
    }
    Op op = in;
    op.proc = static_cast<uint8_t>(remap[in.proc]);
    if (op.kind == OpKind::kFork && (in_child < 0 || model.state().procs.size() >= kMaxGenProcs)) {
      st.dropped_too_many++;
      continue;
    }
    if (!StaticOk(op)) {
      st.dropped_invalid++;
      continue;
    }
    size_t index = out.ops.size();
    size_t procs_before = model.state().procs.size();
    if (!model.Advance(op, index).unmodelled.empty()) {
      st.dropped_unmodelled++;
      continue;
    }
    if (op.kind == OpKind::kFork && model.state().procs.size() > procs_before)
      remap[in_child] = static_cast<int>(model.state().procs.size()) - 1;
    out.Add(op);
  }
  prog->ops = std::move(out.ops);
  prog->expect.assign(prog->ops.size(), Result{});
  prog->lines.assign(prog->ops.size(), 0);
  return !Validate(*prog).has_value();
}

// --- Mutator -----------------------------------------------------------------

Mutator::Mutator(KernelProfile profile, MutatorOptions options)
    : profile_(std::move(profile)), opts_(options), stats_(kNumMutators) {
  opts_.max_ops = std::clamp<size_t>(opts_.max_ops, 1, kMaxOps);
  opts_.max_attempts = std::max(opts_.max_attempts, 1);
}

Mutator::~Mutator() = default;

std::span<const char* const> Mutator::Names() { return kNames; }

int Mutator::IndexOf(const char* name) {
  for (size_t i = 0; i < kNumMutators; i++)
    if (std::strcmp(kNames[i], name) == 0) return static_cast<int>(i);
  return -1;
}

void Mutator::CreditLast(size_t mutator_index) {
  if (mutator_index < stats_.size()) stats_[mutator_index].new_coverage++;
}

bool Mutator::TryOne(size_t index, Program* prog, Rng& rng, std::span<const Program> corpus) {
  Program p;
  p.ops = prog->ops;
  Ctx c{p, rng, corpus, profile_, opts_.max_ops};
  if (!kMutators[index].fn(c)) return false;
  if (!KeepModelled(&p, profile_, opts_.max_ops, &repair_)) return false;
  if (p.ops.empty() || p.ops == prog->ops) return false;
  *prog = std::move(p);
  return true;
}

bool Mutator::MutateWith(size_t index, Program* prog, Rng& rng, std::span<const Program> corpus) {
  if (index >= kNumMutators) return false;
  stats_[index].tried++;
  if (!TryOne(index, prog, rng, corpus)) return false;
  stats_[index].applied++;
  last_ = static_cast<int>(index);
  return true;
}

bool Mutator::Mutate(Program* prog, Rng& rng, std::span<const Program> corpus, size_t* which) {
  // Start from a valid program: what a decoder or a caller handed in may
  // carry ops the model does not model.
  Program start = *prog;
  if (Validate(start).has_value() || start.ops.size() > opts_.max_ops)
    if (!KeepModelled(&start, profile_, opts_.max_ops, &repair_)) start = Program{};
  uint32_t weights[kNumMutators];
  for (size_t i = 0; i < kNumMutators; i++) weights[i] = kMutators[i].weight;
  for (int attempt = 0; attempt < opts_.max_attempts; attempt++) {
    size_t idx = rng.Weighted(weights);
    if (MutateWith(idx, &start, rng, corpus)) {
      *prog = std::move(start);
      if (which) *which = idx;
      return true;
    }
  }
  last_ = -1;
  return false;
}

}  // namespace mmdiff
