#include "model/checker.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <tuple>

#include "model/picture.h"
#include "model/replay.h"
#include "prog/op_table.h"
#include "prog/op_traits.h"
#include "prog/text.h"

namespace mmdiff {
namespace {

constexpr std::string_view kClassNames[] = {
    "missed-dirty", "spurious-dirty", "wrong-wp",    "wrong-scan",   "wrong-errno", "data-corruption",
    "wrong-pagemap", "wrong-fault",   "wrong-result", "hang",        "lost",          "inconsistent",
    "kernel-differs",
};

std::string MemKindName(const Vma* v) {
  if (!v) return "unmapped";
  std::string sharing = v->shared ? "-shared" : "-private";
  switch (v->kind) {
    case MemKind::kAnon: return "anon-private";
    case MemKind::kShmem: return "anon-shared";
    case MemKind::kMemfd: return "memfd" + sharing;
    case MemKind::kFile: return "file" + sharing;
    case MemKind::kHugetlb: return "hugetlb" + sharing;
  }
  return "?";
}

std::string VmaState(const Model& m, const Vma* v) {
  if (!v) return "none";
  static constexpr const char* kProt[] = {"none", "r", "rw", "rx", "rwx"};
  std::string s = kProt[static_cast<int>(v->prot)];
  if (v->soft_dirty) s += ",sd";
  if (v->uffd_modes & kUffdModeWp) s += m.WpAsync(*v) ? ",wp-async" : ",wp-sync";
  if (v->uffd_modes & kUffdModeMissing) s += ",missing";
  if (v->uffd_modes & kUffdModeMinor) s += ",minor";
  if (v->anon_vma) s += ",anon_vma";
  if (v->dontfork) s += ",dontfork";
  if (v->wipeonfork) s += ",wipeonfork";
  if (v->hugepage) s += ",hugepage";
  return s;
}

std::string PteState(const MmState& st, const Pte* pte) {
  if (!pte) return "none";
  std::string s;
  switch (pte->kind) {
    case PteKind::kPresent:
      if (pte->page == kZeroPage) s = "zero";
      else s = st.pages[pte->page].anon ? "anon" : "pagecache";
      if (pte->page != kZeroPage && st.pages[pte->page].mapcount > 1) s += ",shared";
      break;
    case PteKind::kSwap: s = "swap"; break;
    case PteKind::kUffdMarker: s = "marker"; break;
    case PteKind::kGuard: s = "guard"; break;
  }
  if (pte->soft_dirty) s += ",sd";
  if (pte->uffd_wp) s += ",wp";
  return s;
}

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

Divergence Describe(const Model& m, const Op& op, size_t index, const Prediction& pred,
                    const Result& kernel) {
  Divergence d;
  d.op_index = index;
  d.kernel = kernel;
  d.model = pred;
  const Result& e = pred.expected;
  std::string head = " op=" + std::to_string(index) + " " + Quote(PrintOp(op));
  uint32_t page = op.page;
  std::string field, dir;
  size_t pi = 0;
  const PagemapBit* bit = nullptr;
  if (kernel.kind == ResultKind::kHang || kernel.kind == ResultKind::kLost) {
    d.cls = kernel.kind == ResultKind::kHang ? DivergenceClass::kHang : DivergenceClass::kLost;
    field = "result";
    dir = PrintResult(op, kernel);
  } else if (e.kind == ResultKind::kPagemap && kernel.kind == ResultKind::kPagemap &&
             e.pagemap.size() == kernel.pagemap.size() && (bit = FirstPagemapDifference(e, kernel, &pi))) {
    bool k = kernel.pagemap[pi] & bit->bit;
    page = op.page + static_cast<uint32_t>(pi);
    if (bit->letter == 'D') d.cls = k ? DivergenceClass::kSpuriousDirty : DivergenceClass::kMissedDirty;
    else if (bit->letter == 'W') d.cls = DivergenceClass::kWrongWp;
    else d.cls = DivergenceClass::kWrongPagemap;
    field = std::string(1, bit->letter);
    dir = std::string("k") + (k ? "1" : "0") + "m" + (k ? "0" : "1");
    d.line = "DIVERGENCE " + std::string(DivergenceClassName(d.cls)) + head + " page=" +
             std::to_string(page) + " bit=" + bit->letter + " kernel=" + (k ? "1" : "0") +
             " model=" + (k ? "0" : "1");
  } else {
    if (kernel.kind == ResultKind::kErr || e.kind == ResultKind::kErr) {
      d.cls = DivergenceClass::kWrongErrno;
      field = "errno";
    } else if (kernel.kind == ResultKind::kFault || e.kind == ResultKind::kFault) {
      d.cls = DivergenceClass::kWrongFault;
      field = "fault";
    } else if (kernel.kind == e.kind && kernel.uffd_faults != e.uffd_faults) {
      d.cls = (kernel.uffd_faults ^ e.uffd_faults) & kFaultWp ? DivergenceClass::kWrongWp
                                                              : DivergenceClass::kWrongResult;
      field = "uffd";
    } else if (op.kind == OpKind::kScan) {
      d.cls = DivergenceClass::kWrongScan;
      field = "scan";
    } else if (op.kind == OpKind::kRead) {
      d.cls = DivergenceClass::kDataCorruption;
      field = "value";
    } else {
      d.cls = DivergenceClass::kWrongResult;
      field = "result";
    }
    // An errno against a success: "ok", not the successful result, whose
    // pages and regions are the program's, not what the kernel got wrong.
    auto side = [&](const Result& r) {
      if (r.kind == ResultKind::kErr) return ErrnoName(r.err);
      return d.cls == DivergenceClass::kWrongErrno ? std::string("ok") : PrintResult(op, r);
    };
    dir = "kernel=" + side(kernel) + ",model=" + side(e);
    if (d.cls == DivergenceClass::kDataCorruption || d.cls == DivergenceClass::kWrongScan ||
        d.cls == DivergenceClass::kWrongResult)
      dir = "value";
  }
  if (d.line.empty())
    d.line = "DIVERGENCE " + std::string(DivergenceClassName(d.cls)) + head + " kernel=" +
             Quote(PrintResult(op, kernel)) + " model=" + Quote(PrintResult(op, e));
  const Process& p = m.state().procs[op.proc];
  int vi = m.state().VmaAt(p, page);
  const Vma* v = vi >= 0 ? &p.vmas[vi] : nullptr;
  d.signature = std::string(DivergenceClassName(d.cls)) + "|" + GetOpInfo(op.kind).name + "|" + field + "|" + dir +
                "|" + MemKindName(v);
  d.where = "vma=" + VmaState(m, v) + "|pte=" + PteState(m.state(), p.ptes.Find(page));
  uint32_t lo, hi;
  uint32_t n = op.kind == OpKind::kMremap ? std::max(op.npages, op.new_npages) : op.npages;
  PictureRange(m, op.proc, op.page, n, 96, &lo, &hi);
  d.picture = DrawAddressSpace(m, op.proc, lo, hi);
  return d;
}

void CountGrants(const Prediction& pred, Grants used, size_t op_index, Verdict* v) {
  Grants offered;
  for (const Latitude& l : pred.latitudes) offered.Add(l.grant);
  for (const Alternative& a : pred.alternatives) offered.Add(a.grants);
  for (int a = 0; a < kNumAllowances; a++) {
    Grant g = Grant::Of(static_cast<Allowance>(a));
    if (offered.Has(g)) v->granted[a]++;
    if (used.Has(g)) v->taken[a]++;
  }
  for (int q = 0; q < kNumQuirks; q++)
    if (used.Has(Grant::Of(static_cast<Quirk>(q)))) v->quirks_taken[q]++;
  if (used.HasQuirk()) v->quirk_ops.push_back({op_index, used.QuirkBits()});
  if (used.bits & 0xffff) v->allowance_ops.push_back({op_index, used.bits & 0xffff});
}

}  // namespace

std::string_view DivergenceClassName(DivergenceClass c) { return kClassNames[static_cast<int>(c)]; }

namespace {
Verdict CheckTraceOnce(const Program& prog, const Trace& trace, const KernelProfile& profile, ReplayVisitor* also,
                       uint32_t* thp_faults);

// khugepaged-may-collapse: the collapses khugepaged could have made before
// the divergence at op `at` (model/khugepaged.cc), latest first. Collapses
// of a slot whose state no op between them changed, and that no op between
// them observed, are one: only the latest is walked.
std::vector<KernelProfile::KhugepagedCollapse> CollapseCandidates(const Program& prog, const Trace& trace,
                                                                  const KernelProfile& profile, size_t at) {
  struct Collect : ReplayVisitor {
    size_t at;
    std::vector<KernelProfile::KhugepagedCollapse> out;
    uint32_t observed = 0;  // observing ops walked
    struct Seen {
      uint32_t observed = 0;
      std::vector<std::tuple<uint32_t, Pte, uint32_t>> ptes;
      size_t candidate = 0;  // in `out`
      bool operator==(const Seen& o) const { return observed == o.observed && ptes == o.ptes; }
    };
    std::map<std::pair<int, uint32_t>, Seen> last;
    bool Before(const Model& m, const ReplayStep& s) override {
      for (int proc = 0; proc < static_cast<int>(m.state().procs.size()); proc++)
        for (uint32_t slot : m.CollapsibleSlots(proc)) {
          const Process& p = m.state().procs[proc];
          Seen now;
          now.observed = observed;
          for (auto it = p.ptes.LowerBound(slot * kPagesPerPmd);
               it != p.ptes.end() && it->first < (slot + 1) * kPagesPerPmd; ++it)
            now.ptes.emplace_back(it->first, it->second, m.state().pages[it->second.page].mapcount);
          auto found = last.find({proc, slot});
          if (found != last.end() && found->second == now) {
            out[found->second.candidate].before_op = s.index;
            continue;
          }
          now.candidate = out.size();
          last[{proc, slot}] = std::move(now);
          out.push_back({s.index, proc, slot});
        }
      observed += HasTrait(s.op.kind, kTraitObserves);
      return s.index < at;
    }
  } collect;
  collect.at = at;
  Replay(prog, &trace, profile, &collect, at + 1);
  std::reverse(collect.out.begin(), collect.out.end());
  return std::move(collect.out);
}

// A walk that a named allowance lets pass where the first did not.
Verdict Excused(Verdict w, Allowance a) {
  w.granted[static_cast<int>(a)]++;
  w.taken[static_cast<int>(a)]++;
  return w;
}

}  // namespace

Verdict CheckTrace(const Program& prog, const Trace& trace, const KernelProfile& profile, ReplayVisitor* also) {
  uint32_t thp_faults = 0;
  Verdict v = CheckTraceOnce(prog, trace, profile, also, &thp_faults);
  if (v.status != Verdict::Status::kDivergence || v.divergence->cls == DivergenceClass::kInconsistent ||
      profile.thp_fallbacks || profile.collapse.before_op != SIZE_MAX)
    return v;
  // khugepaged-may-collapse: one collapse before the divergence (at most 32
  // more walks, only here).
  std::vector<KernelProfile::KhugepagedCollapse> collapses =
      CollapseCandidates(prog, trace, profile, v.divergence->op_index);
  for (size_t i = 0; i < collapses.size() && i < 32; i++) {
    KernelProfile collapsed = profile;
    collapsed.collapse = collapses[i];
    uint32_t ignored = 0;
    Verdict w = CheckTraceOnce(prog, trace, collapsed, nullptr, &ignored);
    if (w.status != Verdict::Status::kDivergence) return Excused(std::move(w), Allowance::kKhugepagedMayCollapse);
  }
  if (!thp_faults) return v;
  // thp-may-fall-back: the THP faults before the divergence, some falling
  // back to 4K pages (the first four: up to 15 more walks, only here).
  uint32_t n = std::min(thp_faults, 4u);
  for (uint32_t mask = 1; mask < (1u << n); mask++) {
    KernelProfile fallback = profile;
    fallback.thp_fallbacks = mask;
    uint32_t ignored = 0;
    Verdict w = CheckTraceOnce(prog, trace, fallback, nullptr, &ignored);
    if (w.status != Verdict::Status::kDivergence) return Excused(std::move(w), Allowance::kThpMayFallBack);
  }
  return v;
}

namespace {

Verdict CheckTraceOnce(const Program& prog, const Trace& trace, const KernelProfile& profile, ReplayVisitor* also,
                       uint32_t* thp_faults) {
  Verdict v;
  if (uint32_t missing = prog.Requires() & ~profile.features) {
    v.status = Verdict::Status::kSkipped;
    v.note = "requires " + FeatureList(missing);
    return v;
  }
  // The kernel against itself first, over the whole trace: it needs no
  // model, so it holds also past an op the model does not model. It is
  // reported at its op unless the model diverged earlier.
  std::optional<Inconsistency> inconsistent =
      CheckConsistency(prog, trace, profile.features, profile.quirks, &v.consistency, &v.excused, profile.mutant);
  v.consistency.excused = v.excused.size();
  for (const Inconsistency& e : v.excused) {
    v.quirk_ops.push_back({e.op_index, e.quirk_bits});
    for (int q = 0; q < kNumQuirks; q++)
      if (e.quirk_bits & (1u << q)) v.quirks_taken[q]++;
  }
  // `pred`: the model's prediction at that op, where it got there (the
  // contract a reproducer checks against).
  auto report = [&](const Model* m, const Prediction* pred, uint32_t quirks) {
    const Op& op = prog.ops[inconsistent->op_index];
    v.status = Verdict::Status::kDivergence;
    Divergence d;
    d.op_index = inconsistent->op_index;
    d.cls = DivergenceClass::kInconsistent;
    d.line = inconsistent->line;
    // The model needed a quirk at this op, which is not the one that
    // explains a pagemap/scan disagreement (those are in v.excused).
    if (quirks) d.line += " (model: known quirk " + QuirkList(quirks) + ")";
    d.signature = inconsistent->signature;
    d.kernel = trace.results[d.op_index];
    if (pred) d.model = *pred;
    if (m) {
      uint32_t lo, hi;
      PictureRange(*m, op.proc, op.page, op.npages, 96, &lo, &hi);
      d.picture = DrawAddressSpace(*m, op.proc, lo, hi);
    }
    v.divergence = std::move(d);
    v.note.clear();
    return v;
  };
  // The model's checker is one visitor of the walk; `also` (coverage, in a
  // campaign) sees the same steps, up to the first divergence. At the
  // inconsistent op it stops with the model's prediction there; the walk
  // leaves the model before that op, for the picture.
  struct Check : ReplayVisitor {
    Verdict* v;
    size_t stop_at = SIZE_MAX;  // the inconsistent op, if any
    std::optional<Prediction> pred_at_stop;
    uint32_t quirks_at_stop = 0;
    bool Before(const Model& m, const ReplayStep& s) override {
      Grants used;
      bool allowed = PredictionAllows(s.pred, s.observed, &used);
      if (s.index == stop_at) {
        pred_at_stop = s.pred;
        quirks_at_stop = allowed ? used.QuirkBits() : 0;
        return false;
      }
      if (!allowed) {
        v->status = Verdict::Status::kDivergence;
        v->divergence = Describe(m, s.op, s.index, s.pred, s.observed);
        return false;
      }
      CountGrants(s.pred, used, s.index, v);
      return true;
    }
    void After(const Model&, const ReplayStep&) override { v->ops_checked++; }
  } check;
  check.v = &v;
  if (inconsistent) check.stop_at = inconsistent->op_index;
  ReplayVisitors both(&check, also);
  Model m(profile);
  ReplayEnd end = Replay(prog, &trace, profile, &both, SIZE_MAX, &m);
  *thp_faults = m.state().thp_faults;
  if (check.pred_at_stop) return report(&m, &*check.pred_at_stop, check.quirks_at_stop);
  if (end.why == ReplayEnd::Why::kVisitor) return v;  // the model's divergence, before the inconsistency
  if (inconsistent) return report(nullptr, nullptr, 0);
  if (end.why == ReplayEnd::Why::kUnmodelled) {
    v.status = Verdict::Status::kUnmodelled;
    v.note = "op " + std::to_string(end.at) + " " + Quote(PrintOp(prog.ops[end.at])) + ": " + end.note;
  }
  return v;
}

}  // namespace

Trace PredictTrace(const Program& prog, const KernelProfile& profile) {
  Trace t;
  t.results.resize(prog.ops.size());
  struct Record : ReplayVisitor {
    Trace* t;
    bool Before(const Model&, const ReplayStep& s) override {
      t->results[s.index] = s.observed;  // the contract's answer
      return true;
    }
  } record;
  record.t = &t;
  Replay(prog, nullptr, profile, &record);
  return t;
}

std::optional<std::string> ExpectationMismatch(const Op& op, const Result& expected,
                                               const Result& observed) {
  if (ResultMatches(expected, observed)) return std::nullopt;
  size_t pi = 0;
  const PagemapBit* bit = nullptr;
  if (expected.kind == ResultKind::kPagemap && observed.kind == ResultKind::kPagemap &&
      expected.pagemap.size() == observed.pagemap.size() &&
      (bit = FirstPagemapDifference(expected, observed, &pi))) {
    bool o = observed.pagemap[pi] & bit->bit;
    return "page=" + std::to_string(op.page + pi) + " bit=" + bit->letter + " observed=" +
           (o ? "1" : "0") + " expected=" + (o ? "0" : "1");
  }
  return "observed=" + Quote(PrintResult(op, observed)) + " expected=" + Quote(PrintResult(op, expected));
}

}  // namespace mmdiff
