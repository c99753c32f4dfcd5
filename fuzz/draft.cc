// Drafting ops from the model's state (draft.h). Moved out of the generator
// so that the mutator draws ops and arguments the same way.
//
// Probabilities are integer weights and odds (no floating point), so the
// drafting is exact on every machine.
#include "fuzz/draft.h"

#include <algorithm>
#include <vector>

namespace mmdiff {

bool HasArg(const OpInfo& info, ArgKind kind) {
  for (const ArgSpec& spec : info.args)
    if (spec.kind == kind) return true;
  return false;
}

// --- state views -------------------------------------------------------------

int Drafter::LiveProcs() const {
  int n = 0;
  for (const Process& p : St().procs) n += p.alive;
  return n;
}

std::vector<int> Drafter::OpenSlots(int proc, int kind_filter) const {
  std::vector<int> out;
  for (int f = 0; f < kMaxFiles; f++) {
    int32_t obj = P(proc).fds[f];
    if (obj < 0) continue;
    const FileObj& file = St().files[obj];
    // A `file` slot on tmpfs has the memfd kind (model/files.cc): still a file slot.
    MemKind kind = file.file_slot ? MemKind::kFile : file.kind;
    if (kind_filter >= 0 && static_cast<int>(kind) != kind_filter) continue;
    out.push_back(f);
  }
  return out;
}

bool Drafter::RangeFree(const Process& p, uint32_t lo, uint32_t n) const {
  if (uint64_t{lo} + n > kArenaPages) return false;
  size_t i = St().FirstVmaEnding(p, lo);
  return i == p.vmas.size() || p.vmas[i].start >= lo + n;
}

bool Drafter::HasPages(const Process& p, uint32_t lo, uint32_t hi) const {
  for (auto it = p.ptes.LowerBound(lo); it != p.ptes.end() && it->first < hi; ++it)
    if (it->second.kind == PteKind::kPresent || it->second.kind == PteKind::kSwap) return true;
  return false;
}

int Drafter::UffdOwner(int proc) const {
  int32_t ctx = P(proc).uffd;
  if (ctx < 0) return -1;
  int owner = St().uffds[ctx].owner;
  return Alive(owner) ? owner : -1;
}

// --- drafting ---------------------------------------------------------------

bool Drafter::Draft(Op* op) {
  note_ = Note{};
  Plan plan;
  bool planned = false;
  while (!plans_.empty()) {
    plan = plans_.front();
    plans_.pop_front();
    if (Alive(plan.proc) && rng_.Chance(9, 10)) {
      planned = true;
      break;
    }
  }
  int proc = planned ? plan.proc : PickProc();
  op->kind = planned ? plan.kind : PickKind(proc);
  op->proc = static_cast<uint8_t>(proc);
  FillFromTable(op);
  return ChooseArgs(op, planned ? &plan : nullptr);
}

int Drafter::PickProc() {
  if (Alive(cur_) && rng_.Chance(6, 10)) return cur_;
  std::vector<int> live;
  for (size_t i = 0; i < St().procs.size(); i++)
    if (St().procs[i].alive) live.push_back(static_cast<int>(i));
  cur_ = live[rng_.Below(live.size())];
  return cur_;
}

OpKind Drafter::PickKind(int proc) {
  const Process& p = P(proc);
  bool has_vma = !p.vmas.empty();
  bool open = !OpenSlots(proc, -1).empty();
  int owner = UffdOwner(proc);
  bool registered = false, wp_registered = false;
  if (owner >= 0)
    for (const Vma& v : P(owner).vmas)
      if (v.uffd == P(proc).uffd) {
        registered = true;
        wp_registered |= v.UffdWp();
      }
  uint32_t w[kNumOpKinds] = {};
  auto W = [&](OpKind k) -> uint32_t& { return w[static_cast<int>(k)]; };
  W(OpKind::kRequires) = 0;  // only at the start (Run)
  W(OpKind::kMmap) = has_vma ? 70 : 500;
  // Without a mapping, range ops and accesses can only fail: rarely then.
  W(OpKind::kMunmap) = has_vma ? 22 : 2;
  W(OpKind::kMprotect) = has_vma ? 35 : 2;
  W(OpKind::kMremap) = has_vma ? 35 : 2;
  W(OpKind::kMadvise) = has_vma ? 85 : 5;
  W(OpKind::kRead) = has_vma ? 90 : 4;
  W(OpKind::kWrite) = has_vma ? 160 : 6;
  W(OpKind::kFork) = St().procs.size() < kMaxGenProcs ? 22 : 0;
  W(OpKind::kExit) = LiveProcs() >= 2 ? 12 : 0;
  W(OpKind::kClearRefs) = 30;
  W(OpKind::kMemfd) = 14;
  W(OpKind::kFile) = 10;
  W(OpKind::kFtruncate) = open ? 12 : 1;
  W(OpKind::kFwrite) = open ? 20 : 1;
  W(OpKind::kFpunch) = open ? 10 : 1;
  W(OpKind::kUffdOpen) = prof_.uffd_wp ? (P(proc).uffd < 0 ? 30 : 5) : 3;
  W(OpKind::kUffdRegister) = owner >= 0 ? 35 : 3;
  W(OpKind::kUffdUnregister) = registered ? 10 : 1;
  W(OpKind::kUffdWp) = wp_registered ? 50 : 3;
  // Observations are a quarter of all ops: obs / (rest + obs) = 1/4.
  uint32_t rest = 0;
  for (uint32_t x : w) rest += x;
  uint32_t obs = rest / 3;
  if (prof_.pagemap_scan) {
    W(OpKind::kScan) = obs / 2;
    W(OpKind::kPagemap) = obs - obs / 2;
  } else {
    // Scan only for its errno (ENOTTY), rarely.
    W(OpKind::kScan) = std::max<uint32_t>(1, obs / 80);
    W(OpKind::kPagemap) = obs - W(OpKind::kScan);
  }
  return static_cast<OpKind>(rng_.Weighted(w));
}

// --- generic filling from the op table ---------------------------------------

void Drafter::FillFromTable(Op* op) {
  const OpInfo& info = GetOpInfo(op->kind);
  bool observe = op->kind == OpKind::kPagemap || op->kind == OpKind::kScan;
  bool file_op = HasArg(info, ArgKind::kFile);
  Range r;
  if (HasArg(info, ArgKind::kPage)) {
    if (HasArg(info, ArgKind::kNpages)) r = PickRange(op->proc, observe ? kMaxObserve : kWorkPages);
    else r = {PickPage(op->proc, op->kind == OpKind::kWrite), 1};
  }
  int slot = file_op ? PickSlot(op->proc) : 0;
  uint32_t fsize = file_op ? FileSize(op->proc, slot) : 0;
  for (const ArgSpec& spec : info.args) {
    switch (spec.kind) {
      case ArgKind::kPage:
        op->page = r.lo;
        break;
      case ArgKind::kFilePage:
        op->page = static_cast<uint32_t>(rng_.Below(fsize + 2));
        break;
      case ArgKind::kNpages:
        // A file op's N counts file pages: its Choose*() in ChooseArgs draws it.
        op->npages = file_op ? 1 : r.n;
        break;
      case ArgKind::kNewNpages:
        op->new_npages = static_cast<uint32_t>(rng_.Between(1, 2 * std::max(op->npages, 1u)));
        break;
      case ArgKind::kProt:
        op->prot = PickProt();
        break;
      case ArgKind::kBacking:
        // anon | memfd | file; the slot is mmap's choice.
        static constexpr uint32_t kBackingWeights[] = {62, 20, 18};
        op->backing = static_cast<Backing>(rng_.Weighted(kBackingWeights));
        op->file = static_cast<uint8_t>(slot);
        break;
      case ArgKind::kSharing:
        op->shared = rng_.OneIn(3);
        break;
      case ArgKind::kAdvice:
        op->advice = PickAdvice();
        break;
      case ArgKind::kFile:
        op->file = static_cast<uint8_t>(slot);
        break;
      case ArgKind::kClearRefsType:
        op->value = rng_.Chance(7, 10) ? 4 : static_cast<uint32_t>(rng_.Between(1, 5));
        break;
      case ArgKind::kOnOff:
        if (rng_.Chance(4, 5)) op->flags |= kFlagWpOn;
        break;
      case ArgKind::kFlag:
        if (rng_.OneIn(FlagOdds(spec.bit))) op->flags |= spec.bit;
        break;
      case ArgKind::kMove:
        if (rng_.OneIn(2)) {
          op->flags |= kFlagMove;
          op->new_page = static_cast<uint32_t>(rng_.Below(kWorkPages));
        }
        break;
      case ArgKind::kOffset:
        if (rng_.OneIn(4)) {
          op->flags |= kFlagHasOffset;
          op->offset = static_cast<uint16_t>(rng_.Below(kPageSize));
        }
        break;
      case ArgKind::kByte:
        if (rng_.OneIn(8)) {
          op->flags |= kFlagHasByte;
          op->byte = static_cast<uint8_t>(rng_.Below(256));
        }
        break;
      case ArgKind::kCategories: {
        // ret= most often (it shapes the output); the filters less.
        uint32_t odds = spec.bit == kScanRet ? 3 : spec.bit == kScanReq ? 5 : 6;
        if (rng_.OneIn(odds)) {
          ScanFieldRef(*op, spec.bit) = PickCategories();
          op->flags |= PresenceFlag(spec);
        }
        break;
      }
      case ArgKind::kNumber:
        if (spec.bit == kScanVec ? rng_.OneIn(5) : rng_.OneIn(6)) {
          // vec=0 sometimes: no buffer (the WP_MATCHING fast path, §6.4).
          uint32_t v = spec.bit == kScanVec && rng_.OneIn(4) ? 0 : static_cast<uint32_t>(rng_.Between(1, 8));
          ScanFieldRef(*op, spec.bit) = v;
          op->flags |= PresenceFlag(spec);
        }
        break;
      case ArgKind::kFeatures:
        op->required_features = PickSubset(prof_.features, 3);
        break;
      case ArgKind::kUffdFeatures:
        op->uffd_features = PickUffdFeatures();
        break;
      case ArgKind::kUffdModes:
        op->uffd_modes = PickUffdModes();
        break;
    }
  }
}

uint32_t Drafter::PickUffdFeatures() {
  // Only what UFFDIO_API accepts; WP_ASYNC half the time where it exists.
  uint32_t f = 0;
  for (int bit = 0; bit < kNumUffdFeatures; bit++) {
    uint32_t word = 1u << bit;
    if (!prof_.HasUffdFeature(word)) continue;
    uint32_t odds = word == kUffdWpAsync ? 2 : word == kUffdWpUnpopulated ? 3 : 7;
    if (rng_.OneIn(odds)) f |= word;
  }
  return f;
}

uint32_t Drafter::FlagOdds(uint32_t flag) const {
  switch (flag) {
    case kFlagPopulate: return 10;
    case kFlagNoreserve: return 16;
    case kFlagFixed: return 20;
    // With a huge-page pool hugetlb is modelled (model/hugetlb.cc); without
    // one a MAP_HUGETLB mmap is only errno coverage (ENOMEM).
    case kFlagHugetlb: return prof_.hugetlb_free ? 8 : 60;
    case kFlagDontunmap: return 6;
    case kFlagDontwake: return 10;
    case kFlagWpMatching: return 6;
    case kFlagCheckWpasync: return 10;
    default: return 8;
  }
}

Range Drafter::VmaSubRange(const Vma& v) {
  uint32_t len = v.end - v.start;
  if (rng_.Chance(1, 2)) return {v.start, len};
  uint32_t a = v.start + static_cast<uint32_t>(rng_.Below(len));
  uint32_t b = static_cast<uint32_t>(rng_.Between(a + 1, v.end));
  return {a, b - a};
}

Range Drafter::PickRange(int proc, uint32_t max_n) {
  const Process& p = P(proc);
  uint32_t u = static_cast<uint32_t>(rng_.Below(100));
  // 2 MiB-aligned slots inside VMAs (THP-sized ranges).
  std::vector<uint32_t> slots;
  if (u >= 84 && u < 92)
    for (const Vma& v : p.vmas)
      for (uint32_t s = AlignUp(v.start, kPagesPerPmd); s + kPagesPerPmd <= v.end; s += kPagesPerPmd)
        slots.push_back(s);
  Range r;
  if (!p.vmas.empty() && (u < 84 || (u < 92 && slots.empty() && rng_.Chance(3, 4)))) {
    size_t i = rng_.Below(p.vmas.size());
    const Vma& v = p.vmas[i];
    uint32_t len = v.end - v.start;
    switch (rng_.Below(10)) {
      case 0: case 1: case 2: case 3:
        r = {v.start, len};
        break;
      case 4: case 5: case 6: case 7: {
        uint32_t a = v.start + static_cast<uint32_t>(rng_.Below(len));
        uint32_t b = static_cast<uint32_t>(rng_.Between(a + 1, v.end));
        r = {a, b - a};
        break;
      }
      case 8: {  // across several VMAs (and the holes between them)
        size_t j = std::min(p.vmas.size() - 1, i + static_cast<size_t>(rng_.Between(1, 3)));
        const Vma& w = p.vmas[j];
        uint32_t lo = v.start + (rng_.OneIn(2) ? 0 : static_cast<uint32_t>(rng_.Below(len)));
        uint32_t hi = w.end - (rng_.OneIn(2) ? 0 : static_cast<uint32_t>(rng_.Below(w.end - w.start)));
        if (hi <= lo) hi = lo + 1;
        r = {lo, hi - lo};
        break;
      }
      default: {  // straddling an edge of the VMA
        uint32_t in = static_cast<uint32_t>(rng_.Between(1, std::min(len, 4u)));
        uint32_t out = static_cast<uint32_t>(rng_.Between(1, 4));
        if (rng_.OneIn(2) || v.start < out) r = {v.end - in, in + out};
        else r = {v.start - out, out + in};
        break;
      }
    }
  } else if (u < 92) {
    // A 2 MiB-aligned range: a slot inside a VMA if there is one.
    uint32_t s = !slots.empty() ? slots[rng_.Below(slots.size())]
                                : static_cast<uint32_t>(rng_.Below(kWorkPages / kPagesPerPmd)) * kPagesPerPmd;
    r = {s, kPagesPerPmd};
  } else {
    r = {static_cast<uint32_t>(rng_.Below(kWorkPages)), static_cast<uint32_t>(rng_.Between(1, 32))};
  }
  if (r.n > max_n) {
    r.lo += static_cast<uint32_t>(rng_.Below(r.n - max_n + 1));
    r.n = max_n;
  }
  return r;
}

uint32_t Drafter::PickPage(int proc, bool write) {
  const Process& p = P(proc);
  if (p.vmas.empty() || rng_.OneIn(25)) return static_cast<uint32_t>(rng_.Below(kWorkPages));
  // Mostly VMAs the access can succeed in (writes: writable ones).
  std::vector<size_t> ok;
  for (size_t i = 0; i < p.vmas.size(); i++)
    if (write ? p.vmas[i].Writable() : p.vmas[i].Readable()) ok.push_back(i);
  size_t i = !ok.empty() && rng_.Chance(9, 10) ? ok[rng_.Below(ok.size())] : rng_.Below(p.vmas.size());
  const Vma& v = p.vmas[i];
  // Near the start of big VMAs most of the time, so pages get touched twice.
  uint32_t len = v.end - v.start;
  if (len > 64 && rng_.Chance(3, 4)) len = 64;
  return v.start + static_cast<uint32_t>(rng_.Below(len));
}

uint32_t Drafter::FreeGap(int proc, uint32_t n, uint32_t align) {
  const Process& p = P(proc);
  for (int attempt = 0; attempt < 12; attempt++) {
    uint32_t cand;
    if (!p.vmas.empty() && rng_.OneIn(2)) {
      // Next to a mapping (merges) or a few pages away from it.
      const Vma& v = p.vmas[rng_.Below(p.vmas.size())];
      uint32_t gap = rng_.OneIn(2) ? 0 : static_cast<uint32_t>(rng_.Between(1, 4));
      if (rng_.OneIn(2) || v.start < n + gap) cand = v.end + gap;
      else cand = v.start - n - gap;
    } else {
      cand = static_cast<uint32_t>(rng_.Below(kWorkPages - std::min(n, kWorkPages - 1)));
    }
    cand = AlignUp(cand, align);
    if (RangeFree(p, cand, n)) return cand;
  }
  uint32_t end = p.vmas.empty() ? 0 : p.vmas.back().end;
  return AlignUp(end + 1, align);
}

int Drafter::PickSlot(int proc) {
  std::vector<int> open = OpenSlots(proc, -1);
  if (!open.empty() && rng_.Chance(14, 15)) return open[rng_.Below(open.size())];
  return static_cast<int>(rng_.Below(kMaxFiles));
}

Prot Drafter::PickProt() {
  // none r rw rx rwx
  static constexpr uint32_t kW[] = {5, 12, 60, 5, 18};
  return static_cast<Prot>(rng_.Weighted(kW));
}

Advice Drafter::PickAdvice() {
  uint32_t w[kNumAdvice];
  auto W = [&](Advice a) -> uint32_t& { return w[static_cast<int>(a)]; };
  W(Advice::kDontneed) = 14;
  W(Advice::kFree) = 9;
  W(Advice::kRemove) = 5;
  W(Advice::kWillneed) = 4;
  // With swap, pageout makes swap entries, where soft-dirty and uffd-wp
  // ride in the swap PTE (pte_swp_soft_dirty(), pte_swp_uffd_wp()).
  W(Advice::kPageout) = prof_.swap ? 28 : 4;
  W(Advice::kCold) = 3;
  W(Advice::kPopulateRead) = 5;
  W(Advice::kPopulateWrite) = 6;
  W(Advice::kHugepage) = 3;
  W(Advice::kNohugepage) = 4;
  W(Advice::kDontfork) = 4;
  W(Advice::kDofork) = 3;
  W(Advice::kWipeonfork) = 4;
  W(Advice::kKeeponfork) = 3;
  // Guard regions where the kernel has them; elsewhere only for the EINVAL.
  W(Advice::kGuardInstall) = prof_.guard ? 8 : 1;
  W(Advice::kGuardRemove) = prof_.guard ? 5 : 1;
  return static_cast<Advice>(rng_.Weighted(w));
}

uint32_t Drafter::PickCategories() {
  // The categories the kernel accepts (any set where it has no PAGEMAP_SCAN:
  // the ioctl fails before looking); rarely an unknown bit, for EINVAL.
  uint32_t known = prof_.pagemap_scan ? prof_.scan_categories : (1u << kNumScanCategories) - 1;
  if (rng_.OneIn(150)) return 1u << rng_.Between(kNumScanCategories, 15);
  std::vector<uint32_t> bits;
  for (int b = 0; b < 16; b++)
    if (known & (1u << b)) bits.push_back(1u << b);
  if (bits.empty()) return 0;
  uint32_t c = bits[rng_.Below(bits.size())];
  while (rng_.OneIn(3)) c |= bits[rng_.Below(bits.size())];
  return c;
}

uint32_t Drafter::PickSubset(uint32_t set, uint32_t odds) {
  uint32_t out = 0, first = 0;
  for (int b = 0; b < 32; b++) {
    uint32_t bit = 1u << b;
    if (!(set & bit)) continue;
    if (!first) first = bit;
    if (rng_.OneIn(odds)) out |= bit;
  }
  return out ? out : first;
}

uint32_t Drafter::PickUffdModes() {
  // wp, wp|missing, missing, minor, wp|minor
  static constexpr uint32_t kW[] = {70, 8, 8, 7, 7};
  static constexpr uint32_t kModes[] = {kUffdModeWp, kUffdModeWp | kUffdModeMissing, kUffdModeMissing,
                                        kUffdModeMinor, kUffdModeWp | kUffdModeMinor};
  return kModes[rng_.Weighted(kW)];
}

// --- per-kind choices -----------------------------------------------------------

bool Drafter::ChooseArgs(Op* op, const Plan* plan) {
  switch (op->kind) {
    case OpKind::kRequires:
      return true;
    case OpKind::kMmap:
      return ChooseMmap(op, plan);
    case OpKind::kMunmap:
    case OpKind::kMprotect:
      if (plan && plan->range.n) {
        op->page = plan->range.lo;
        op->npages = plan->range.n;
      }
      if (plan && plan->prot) op->prot = *plan->prot;
      return true;
    case OpKind::kMremap:
      return ChooseMremap(op);
    case OpKind::kMadvise:
      return ChooseMadvise(op, plan);
    case OpKind::kRead:
    case OpKind::kWrite: {
      if (plan && plan->range.n) op->page = plan->range.lo + static_cast<uint32_t>(rng_.Below(plan->range.n));
      // A write where nothing is writable: half the time, draft something else.
      const Process& p = P(op->proc);
      int vi = St().VmaAt(p, op->page);
      if (op->kind == OpKind::kWrite && !plan && vi >= 0 && !p.vmas[vi].Writable() && rng_.OneIn(2)) return false;
      return true;
    }
    case OpKind::kFork:
    case OpKind::kExit:
    case OpKind::kClearRefs:
    case OpKind::kUffdOpen:
      return true;
    case OpKind::kMemfd:
    case OpKind::kFile:
      return ChooseFileCreate(op);
    case OpKind::kFtruncate:
      return ChooseFtruncate(op);
    case OpKind::kFwrite:
      return ChooseFwrite(op);
    case OpKind::kFpunch:
      return ChooseFpunch(op);
    case OpKind::kUffdRegister:
      return ChooseRegister(op, plan);
    case OpKind::kUffdUnregister:
      return ChooseUnregister(op);
    case OpKind::kUffdWp:
      return ChooseWp(op, plan);
    case OpKind::kPagemap:
    case OpKind::kScan:
      return ChooseObserve(op, plan);
  }
  return false;
}

bool Drafter::ChooseMmap(Op* op, const Plan* plan) {
  const Process& p = P(op->proc);
  if (plan) {
    // The mmap planned when its memfd/file was created.
    op->page = RangeFree(p, plan->range.lo, plan->range.n) ? plan->range.lo : FreeGap(op->proc, plan->range.n, 1);
    op->npages = plan->range.n;
    op->backing = plan->backing;
    op->file = static_cast<uint8_t>(plan->file);
    op->shared = plan->shared;
    op->file_pgoff = plan->pgoff;
    op->flags &= ~(kFlagFixed | kFlagHugetlb);
    return true;
  }
  uint32_t u = static_cast<uint32_t>(rng_.Below(100));
  bool thp = u >= 90;
  uint32_t n = u < 65 ? static_cast<uint32_t>(rng_.Between(1, 16))
               : !thp ? static_cast<uint32_t>(rng_.Between(17, 64))
                      : (rng_.OneIn(3) ? 2 : 1) * kPagesPerPmd + (rng_.OneIn(4) ? static_cast<uint32_t>(rng_.Between(1, 64)) : 0);
  if ((op->flags & kFlagHugetlb) && prof_.hugetlb_free && !thp && rng_.Chance(3, 4)) {
    // Whole huge pages, one or two (the guests' pool has 8), the length
    // sometimes not a multiple (hugetlb rounds it up).
    n = (rng_.OneIn(3) ? 2 : 1) * kPagesPerPmd - (rng_.OneIn(4) ? static_cast<uint32_t>(rng_.Between(1, 64)) : 0);
  }
  if (thp) {
    op->backing = Backing::kAnon;
    op->shared = false;
    if (rng_.Chance(4, 5)) op->prot = Prot::kRW;
    // No populate: the first fault after the planned MADV_HUGEPAGE should
    // map a THP, which 4K pages present before it would prevent.
    op->flags &= ~(kFlagHugetlb | kFlagPopulate);
  } else if (op->backing == Backing::kFile && !op->shared) {
    op->shared = rng_.OneIn(2);
  }
  // Where: a free gap mostly; over an existing VMA with `fixed` (replace) or
  // without it (EEXIST) sometimes.
  if (!p.vmas.empty() && (((op->flags & kFlagFixed) && rng_.Chance(7, 10)) || rng_.OneIn(30))) {
    const Vma& v = p.vmas[rng_.Below(p.vmas.size())];
    op->page = v.start + static_cast<uint32_t>(rng_.Below(v.end - v.start));
  } else {
    // THP ranges, and most hugetlb attempts (half without a pool), at a 2 MiB boundary.
    bool align = thp || ((op->flags & kFlagHugetlb) && (prof_.hugetlb_free ? !rng_.OneIn(10) : rng_.OneIn(2)));
    op->page = FreeGap(op->proc, n, align ? kPagesPerPmd : 1);
  }
  op->npages = n;
  note_.thp = thp;
  if (op->backing == Backing::kAnon) {
    op->file = 0, op->file_pgoff = 0;  // its text has neither (Validate)
    return true;
  }

  MemKind want = op->backing == Backing::kMemfd ? MemKind::kMemfd : MemKind::kFile;
  std::vector<int> open = OpenSlots(op->proc, static_cast<int>(want));
  if (!open.empty() && !rng_.OneIn(12)) {
    int slot = open[rng_.Below(open.size())];
    uint32_t size = FileSize(op->proc, slot);
    op->file = static_cast<uint8_t>(slot);
    op->file_pgoff = size == 0 || rng_.Chance(3, 4) ? 0 : static_cast<uint32_t>(rng_.Below(size));
    // The whole file (from the offset) mostly; past its end sometimes (SIGBUS).
    if (size > op->file_pgoff && rng_.Chance(7, 10)) op->npages = std::min(size - op->file_pgoff, 64u);
    if (op->npages != n) op->page = FreeGap(op->proc, op->npages, 1);
    return true;
  }
  if (open.empty() && rng_.Chance(17, 20)) {
    // Create the file first: this draft becomes the memfd/file op, and the
    // mmap of it is planned next.
    std::vector<int> used = OpenSlots(op->proc, -1);
    std::vector<int> free_slots;
    for (int f = 0; f < kMaxFiles; f++)
      if (std::find(used.begin(), used.end(), f) == used.end()) free_slots.push_back(f);
    int slot = !free_slots.empty() ? free_slots[rng_.Below(free_slots.size())] : static_cast<int>(rng_.Below(kMaxFiles));
    Plan m;
    m.kind = OpKind::kMmap;
    m.proc = op->proc;
    m.range = {op->page, n};
    m.file = slot;
    m.backing = op->backing;
    m.shared = op->shared;
    note_.then.push_back(m);
    uint8_t proc = op->proc;
    *op = Op{};
    op->kind = want == MemKind::kMemfd ? OpKind::kMemfd : OpKind::kFile;
    op->proc = proc;
    op->file = static_cast<uint8_t>(slot);
    // The mapping's size, a little more, or (rarely) less: SIGBUS past EOF.
    op->npages = rng_.OneIn(10) ? static_cast<uint32_t>(rng_.Between(1, n))
                                : n + (rng_.OneIn(4) ? static_cast<uint32_t>(rng_.Between(1, 4)) : 0);
    return true;
  }
  // A slot that is probably not open: EBADF.
  op->file = static_cast<uint8_t>(rng_.Below(kMaxFiles));
  return true;
}

bool Drafter::ChooseMremap(Op* op) {
  const Process& p = P(op->proc);
  if (p.vmas.empty() || rng_.OneIn(12)) {
    // The table's random values (errno coverage); old_len 0 is unmodelled.
    if (op->npages == 0) op->npages = 1;
    return true;
  }
  const Vma& v = p.vmas[rng_.Below(p.vmas.size())];
  uint32_t len = v.end - v.start;
  op->flags &= ~(kFlagMove | kFlagDontunmap);
  op->new_page = 0;  // only with `move`
  uint32_t s = static_cast<uint32_t>(rng_.Below(10));
  uint32_t a, n, new_n;
  if (s < 3) {  // shrink in place
    a = v.start + static_cast<uint32_t>(rng_.Below(len));
    n = static_cast<uint32_t>(rng_.Between(1, v.end - a));
    new_n = static_cast<uint32_t>(rng_.Between(1, n));
  } else if (s < 5) {  // grow in place: the range ends the VMA
    a = v.end - static_cast<uint32_t>(rng_.Between(1, len));
    n = v.end - a;
    new_n = n + static_cast<uint32_t>(rng_.Between(1, 16));
  } else {  // move
    a = v.start + (rng_.OneIn(2) ? 0 : static_cast<uint32_t>(rng_.Below(len)));
    n = rng_.OneIn(2) ? v.end - a : static_cast<uint32_t>(rng_.Between(1, v.end - a));
    uint32_t k = static_cast<uint32_t>(rng_.Below(10));
    new_n = k < 6 ? n : k < 8 ? static_cast<uint32_t>(rng_.Between(1, n)) : n + static_cast<uint32_t>(rng_.Between(1, 16));
    op->flags |= kFlagMove;
    if (rng_.OneIn(4)) {
      op->flags |= kFlagDontunmap;
      new_n = n;
    }
    if (rng_.OneIn(10)) {  // onto another mapping: MREMAP_FIXED unmaps it
      const Vma& w = p.vmas[rng_.Below(p.vmas.size())];
      op->new_page = w.start;
    } else {
      op->new_page = FreeGap(op->proc, new_n, rng_.OneIn(6) ? kPagesPerPmd : 1);
    }
  }
  op->page = a;
  op->npages = n;
  op->new_npages = new_n;
  return true;
}

bool Drafter::ChooseMadvise(Op* op, const Plan* plan) {
  const Process& p = P(op->proc);
  if (plan) {
    op->advice = plan->advice;
    op->page = plan->range.lo;
    op->npages = plan->range.n;
    return true;
  }
  auto pick_vma = [&](auto pred) -> const Vma* {
    std::vector<const Vma*> c;
    for (const Vma& v : p.vmas)
      if (pred(v)) c.push_back(&v);
    return c.empty() ? nullptr : c[rng_.Below(c.size())];
  };
  switch (op->advice) {
    case Advice::kHugepage: {
      // Only deliberately, on a 2 MiB-aligned slot of a private anonymous
      // VMA: mostly one with no pages yet, whose next fault maps a THP;
      // now and then one with 4K pages, which khugepaged may then collapse
      // (the checker allows it: khugepaged-may-collapse).
      std::vector<uint32_t> empty, populated;
      for (const Vma& v : p.vmas) {
        if (v.kind != MemKind::kAnon) continue;
        for (uint32_t s = AlignUp(v.start, kPagesPerPmd); s + kPagesPerPmd <= v.end; s += kPagesPerPmd)
          (HasPages(p, s, s + kPagesPerPmd) ? populated : empty).push_back(s);
      }
      const std::vector<uint32_t>& slots = !populated.empty() && (empty.empty() || rng_.OneIn(4)) ? populated : empty;
      if (slots.empty()) {
        op->advice = Advice::kNohugepage;
      } else {
        op->page = slots[rng_.Below(slots.size())];
        op->npages = kPagesPerPmd;
      }
      break;
    }
    case Advice::kPageout:
    case Advice::kCold: {
      // Reclaim of file pages is what the model follows least: rarely there.
      bool file = false;
      for (const Vma& v : p.vmas)
        if (v.start < op->page + op->npages && op->page < v.end && !v.IsAnonymous()) file = true;
      if (file && rng_.Chance(3, 4)) op->advice = Advice::kDontneed;
      // With swap, mostly where anonymous pages are mapped: they swap out.
      if (!file && prof_.swap && rng_.Chance(4, 5)) {
        std::vector<uint32_t> anon;
        for (auto& [pg, pte] : p.ptes)
          if (pte.kind == PteKind::kPresent && pte.page != kZeroPage && St().pages[pte.page].anon) anon.push_back(pg);
        if (!anon.empty()) {
          uint32_t at = anon[rng_.Below(anon.size())];
          op->page = at;
          op->npages = static_cast<uint32_t>(rng_.Between(1, 8));
          int vi = St().VmaAt(p, at);
          if (vi >= 0) op->npages = std::min(op->npages, p.vmas[vi].end - at);
        }
      }
      break;
    }
    case Advice::kRemove:
      if (rng_.Chance(2, 3))
        if (const Vma* v = pick_vma([](const Vma& v) { return !v.IsAnonymous() && v.shared; })) {
          Range r = VmaSubRange(*v);
          op->page = r.lo;
          op->npages = r.n;
        }
      break;
    case Advice::kFree:
    case Advice::kWipeonfork:
    case Advice::kKeeponfork:
      if (rng_.Chance(2, 3))
        if (const Vma* v = pick_vma([](const Vma& v) { return v.kind == MemKind::kAnon; })) {
          Range r = VmaSubRange(*v);
          op->page = r.lo;
          op->npages = r.n;
        }
      break;
    case Advice::kDontneed: case Advice::kWillneed: case Advice::kPopulateRead:
    case Advice::kPopulateWrite: case Advice::kNohugepage: case Advice::kDontfork:
    case Advice::kDofork: case Advice::kGuardInstall: case Advice::kGuardRemove:
      break;
  }
  return true;
}

bool Drafter::ChooseFileCreate(Op* op) {
  // Mostly a slot this process has not opened (reopening closes the old fd).
  std::vector<int> used = OpenSlots(op->proc, -1);
  if (rng_.Chance(7, 10)) {
    std::vector<int> free_slots;
    for (int f = 0; f < kMaxFiles; f++)
      if (std::find(used.begin(), used.end(), f) == used.end()) free_slots.push_back(f);
    if (!free_slots.empty()) op->file = static_cast<uint8_t>(free_slots[rng_.Below(free_slots.size())]);
  }
  if (rng_.OneIn(20)) op->npages = 0;
  return true;
}

// The file ops' page and length, from the slot's size (FileSize): inside,
// at the end and past it, where the kernel's answers change.
bool Drafter::ChooseFtruncate(Op* op) {
  uint32_t size = FileSize(op->proc, op->file);
  uint32_t k = static_cast<uint32_t>(rng_.Below(10));
  op->npages = k < 4 ? static_cast<uint32_t>(rng_.Between(0, size))
               : k < 8 ? size + static_cast<uint32_t>(rng_.Between(1, 16))
                       : static_cast<uint32_t>(rng_.Between(0, 64));
  return true;
}

bool Drafter::ChooseFwrite(Op* op) {
  op->page = static_cast<uint32_t>(rng_.Below(FileSize(op->proc, op->file) + 2));
  return true;
}

bool Drafter::ChooseFpunch(Op* op) {
  uint32_t size = FileSize(op->proc, op->file);
  op->page = static_cast<uint32_t>(rng_.Below(std::max(size, 1u)));
  // N = 0 now and then: vfs_fallocate()'s EINVAL.
  op->npages = rng_.OneIn(30) ? 0 : static_cast<uint32_t>(rng_.Between(1, std::max(size, op->page + 1) - op->page + 2));
  return true;
}

bool Drafter::ChooseRegister(Op* op, const Plan* plan) {
  int owner = UffdOwner(op->proc);
  if (owner < 0) return true;  // no uffd: EBADF (or unmodelled: dropped)
  const Process& o = P(owner);
  if (o.vmas.empty()) return true;
  bool async = St().uffds[P(op->proc).uffd].Async();
  // VMAs a registration can take: anon and shmem; any with an async WP-only ctx.
  std::vector<const Vma*> c;
  for (const Vma& v : o.vmas) {
    bool can = v.IsAnonymous() || v.IsShmem() || (async && op->uffd_modes == kUffdModeWp);
    if (op->uffd_modes & kUffdModeMinor) can = v.IsShmem();
    if (can && v.uffd < 0) c.push_back(&v);
  }
  if (c.empty() || rng_.OneIn(10)) {
    if (!plan) return true;  // the table's range: errno coverage
    for (const Vma& v : o.vmas) c.push_back(&v);
  }
  RangeOver(op, c, 7);
  return true;
}

void Drafter::RangeOver(Op* op, const std::vector<const Vma*>& c, int whole_in_10) {
  const Vma& v = *c[rng_.Below(c.size())];
  Range r = rng_.Chance(whole_in_10, 10) ? Range{v.start, v.end - v.start} : VmaSubRange(v);
  op->page = r.lo;
  op->npages = r.n;
}

std::vector<const Vma*> Drafter::RegisteredVmas(int proc, int owner, bool wp_only) const {
  std::vector<const Vma*> c;
  for (const Vma& v : P(owner).vmas)
    if (v.uffd == P(proc).uffd && (!wp_only || v.UffdWp())) c.push_back(&v);
  return c;
}

bool Drafter::ChooseUnregister(Op* op) {
  int owner = UffdOwner(op->proc);
  if (owner < 0 || rng_.OneIn(8)) return true;
  std::vector<const Vma*> c = RegisteredVmas(op->proc, owner, /*wp_only=*/false);
  if (c.empty()) return true;
  RangeOver(op, c, 7);
  return true;
}

bool Drafter::ChooseWp(Op* op, const Plan* plan) {
  if (plan) {
    op->page = plan->range.lo;
    op->npages = plan->range.n;
    op->flags = plan->on ? uint32_t{kFlagWpOn} : 0u;
    return true;
  }
  int owner = UffdOwner(op->proc);
  if (owner < 0 || rng_.OneIn(10)) return true;
  std::vector<const Vma*> c = RegisteredVmas(op->proc, owner, /*wp_only=*/true);
  if (c.empty()) return true;
  RangeOver(op, c, 6);
  return true;
}

bool Drafter::ChooseObserve(Op* op, const Plan* plan) {
  const Process& p = P(op->proc);
  if (plan && plan->wp_fast && op->kind == OpKind::kScan) {
    op->flags |= kFlagWpMatching | kFlagHasVec;
    op->scan_vec = 0;
  }
  Range r = plan && plan->range.n ? plan->range : last_range_[op->proc];
  uint32_t u = static_cast<uint32_t>(rng_.Below(100));
  if (!(plan && plan->range.n) && u >= 40 && u < 70 && !p.ptes.empty()) {
    // Around a page that has an entry: something to see.
    auto it = p.ptes.begin();
    std::advance(it, rng_.Below(p.ptes.size()));
    uint32_t before = static_cast<uint32_t>(rng_.Below(8)), after = static_cast<uint32_t>(rng_.Below(24));
    r = {it->first - std::min(it->first, before), 0};
    r.n = before + 1 + after;
  } else if (!(plan && plan->range.n) && (u >= 40 || !r.n)) {
    return true;  // the table's range
  }
  // Where the last ops worked, and a page either side.
  uint32_t lo = r.lo > 0 && rng_.OneIn(2) ? r.lo - 1 : r.lo;
  op->page = lo;
  op->npages = std::min(r.hi() + 1 - lo, kMaxObserve);
  return true;
}

void Drafter::Track(const Op& op) {
  const OpInfo& info = GetOpInfo(op.kind);
  if (HasArg(info, ArgKind::kPage) && HasArg(info, ArgKind::kNpages) && op.npages)
    last_range_[op.proc] = {op.page, std::min(op.npages, kMaxObserve)};
  if (op.kind == OpKind::kRead || op.kind == OpKind::kWrite) {
    Range& r = last_range_[op.proc];
    if (!(r.lo <= op.page && op.page < r.hi())) r = {op.page, 1};
  }
  cur_ = op.proc;
  note_ = Note{};
}

// An op planned to follow, on `proc`'s `range`.
static Plan Then(OpKind kind, int proc, Range range) {
  Plan next;
  next.kind = kind;
  next.proc = proc;
  next.range = range;
  return next;
}

void Drafter::AfterAdd(const Op& op, const Result& result) {
  const OpInfo& info = GetOpInfo(op.kind);
  if (HasArg(info, ArgKind::kPage) && HasArg(info, ArgKind::kNpages) && op.npages)
    last_range_[op.proc] = {op.page, std::min(op.npages, kMaxObserve)};
  if (op.kind == OpKind::kRead || op.kind == OpKind::kWrite) {
    Range& r = last_range_[op.proc];
    if (!(r.lo <= op.page && op.page < r.hi())) r = {op.page, 1};
  }
  plans_.insert(plans_.begin(), note_.then.begin(), note_.then.end());  // first, in order
  bool ok = result.kind == ResultKind::kOk || result.kind == ResultKind::kValue;
  switch (op.kind) {
    case OpKind::kMmap:
      if (ok && op.backing == Backing::kAnon && !op.shared && prof_.thp != ThpMode::kNever) {
        Plan m;
        m.kind = OpKind::kMadvise;
        m.proc = op.proc;
        if (note_.thp && rng_.Chance(7, 10)) {
          // THP deliberately: MADV_HUGEPAGE on the aligned part.
          m.advice = Advice::kHugepage;
          m.range = {op.page, op.npages / kPagesPerPmd * kPagesPerPmd};
          plans_.push_front(m);
        } else if (rng_.Chance(11, 20)) {
          // docs/CONTRACT.md §11.3: MADV_NOHUGEPAGE on fuzzed mappings.
          m.advice = Advice::kNohugepage;
          m.range = {op.page, op.npages};
          plans_.push_front(m);
        }
      }
      break;
    case OpKind::kFork:
      if (ok && rng_.OneIn(2)) cur_ = static_cast<int>(result.value);
      break;
    case OpKind::kUffdOpen:
      if (ok && rng_.Chance(17, 20)) {
        Plan m;
        m.kind = OpKind::kUffdRegister;
        m.proc = op.proc;
        plans_.push_front(m);
      }
      break;
    case OpKind::kClearRefs: {
      // After clear_refs 4, now and then the soft-dirty selftest's
      // mprotect test (tools/testing/selftests/mm/soft-dirty.c
      // test_mprotect()): take write permission away from a written range
      // and give it back, write, look. mprotect must not make a clean PTE
      // writable (can_change_pte_writable(), pte_needs_soft_dirty_wp()).
      const Range& r = last_range_[op.proc];
      int vi = r.n ? St().VmaAt(P(op.proc), r.lo) : -1;
      if (!ok || op.value != 4 || !prof_.soft_dirty || vi < 0 || !rng_.OneIn(3)) break;
      const Vma& v = P(op.proc).vmas[vi];
      if (!v.Writable()) break;
      Range w{r.lo, std::min(r.n, v.end - r.lo)};
      std::vector<Plan> seq = {Then(OpKind::kMprotect, op.proc, w), Then(OpKind::kMprotect, op.proc, w),
                               Then(OpKind::kWrite, op.proc, w), Then(OpKind::kPagemap, op.proc, w)};
      seq[0].prot = rng_.OneIn(4) ? Prot::kNone : Prot::kR;
      seq[1].prot = v.prot;
      plans_.insert(plans_.begin(), seq.begin(), seq.end());
      break;
    }
    case OpKind::kUffdRegister: {
      // Ops planned to follow, in this order, on this process.
      std::vector<Plan> seq;
      if (ok && (op.uffd_modes & kUffdModeWp) && prof_.swap && prof_.pagemap_scan && P(op.proc).uffd >= 0 &&
          St().uffds[P(op.proc).uffd].Async() && rng_.OneIn(3)) {
        // With swap: write pages, page them out, write-protect them with the
        // scan's fast path (WP_MATCHING, vec=0: pagemap_scan_pmd_entry()'s
        // loop over swap entries) and look: where uffd-wp must ride in swap
        // entries (pte_swp_uffd_wp()).
        Range r{op.page, std::min<uint32_t>(op.npages, 8)};
        for (int k = rng_.Between(1, 3); k > 0; k--) seq.push_back(Then(OpKind::kWrite, op.proc, r));
        seq.push_back(Then(OpKind::kMadvise, op.proc, r));
        seq.back().advice = Advice::kPageout;
        seq.push_back(Then(OpKind::kScan, op.proc, r));
        seq.back().wp_fast = true;
        seq.push_back(Then(rng_.OneIn(2) ? OpKind::kScan : OpKind::kPagemap, op.proc, r));
      } else if (ok && (op.uffd_modes & kUffdModeWp) && rng_.Chance(3, 4)) {
        // Write-protect what was registered, then touch it and look.
        Range r{op.page, op.npages};
        seq.push_back(Then(OpKind::kUffdWp, op.proc, r));
        if (rng_.OneIn(2)) seq.push_back(Then(OpKind::kWrite, op.proc, r));
        if (rng_.Chance(3, 5))
          seq.push_back(Then(prof_.pagemap_scan && rng_.OneIn(2) ? OpKind::kScan : OpKind::kPagemap, op.proc,
                             {r.lo, std::min(r.n, kMaxObserve)}));
      }
      plans_.insert(plans_.begin(), seq.begin(), seq.end());
      break;
    }
    case OpKind::kRequires: case OpKind::kMunmap: case OpKind::kMprotect: case OpKind::kMremap:
    case OpKind::kMadvise: case OpKind::kRead: case OpKind::kWrite: case OpKind::kExit:
    case OpKind::kMemfd: case OpKind::kFile: case OpKind::kFtruncate:
    case OpKind::kFwrite: case OpKind::kFpunch: case OpKind::kUffdUnregister: case OpKind::kUffdWp:
    case OpKind::kPagemap: case OpKind::kScan:
      break;
  }
  note_ = Note{};
}


}  // namespace mmdiff
