#include "model/kernel_compare.h"
#include <algorithm>


#include "prog/text.h"

namespace mmdiff {
namespace {

// How far the model judged one kernel's trace: ops [0, allowed) were
// allowed; `diverged`: op `allowed` itself was judged and not allowed.
struct Reach {
  size_t allowed = 0;
  bool diverged = false;
};

Reach ReachOf(const Verdict& v, size_t nops) {
  switch (v.status) {
    case Verdict::Status::kPass: return {nops, false};
    case Verdict::Status::kDivergence: return {v.divergence->op_index, true};
    case Verdict::Status::kUnmodelled: return {v.ops_checked, false};  // the ops before the unmodelled one
    case Verdict::Status::kSkipped: return {0, false};                 // a `requires` the kernel lacks
  }
  return {};
}

bool Completed(const KernelRun& k) {
  return k.trace->end == TraceEnd::kCompleted && k.judgement->kind != Judgement::Kind::kLimit;
}

// Equal answers: what the text shows (pagemap bits, regions, walk_end,
// values, errnos, faults), not the raw PFNs nor the second answers.
bool SameAnswer(const Result& a, const Result& b) { return ResultMatches(a, b) && ResultMatches(b, a); }

std::string Short(const Op& op, const Result& r) {
  switch (r.kind) {
    case ResultKind::kPagemap: return "pagemap";
    case ResultKind::kValue: return r.is_scan ? "scan" : "value";
    default: return PrintResult(op, r);
  }
}

// What differs, without numbers that change between pages or runs.
std::string WhatDiffers(const Op& op, const Result& a, const Result& b) {
  if (a.kind != b.kind || a.kind == ResultKind::kErr || a.kind == ResultKind::kFault)
    return Short(op, a) + "/" + Short(op, b);
  if (a.uffd_faults != b.uffd_faults) return "uffd-fault";
  if (a.kind == ResultKind::kPagemap) {
    size_t index = 0;
    const PagemapBit* bit = FirstPagemapDifference(a, b, &index);
    return std::string("bit=") + (bit ? bit->name : "?") + (bit && (a.pagemap[index] & bit->bit) ? "/1-0" : "/0-1");
  }
  if (a.is_scan) return a.regions != b.regions ? "regions" : a.walk_end != b.walk_end ? "walk_end" : "count";
  return "value";
}

std::string AllowedOn(const KernelRun& k, const Reach& r, size_t i) {
  const Verdict& v = k.judgement->verdict;
  if (r.allowed > i) return "allows its answer";
  if (r.diverged && r.allowed == i) return "does not allow its answer: " + v.divergence->line;
  if (r.diverged) return "stopped at op " + std::to_string(r.allowed) + ": " + v.divergence->line;
  if (v.status == Verdict::Status::kUnmodelled) return "does not model it (" + v.note + ")";
  return "does not judge it (" + k.judgement->line + ")";
}

}  // namespace

bool ModelsAgree(const KernelProfile& a, const KernelProfile& b) {
  return a.features == b.features && a.soft_dirty == b.soft_dirty && a.uffd_wp == b.uffd_wp &&
         a.uffd_features == b.uffd_features && a.pagemap_scan == b.pagemap_scan &&
         a.scan_categories == b.scan_categories && a.guard == b.guard && a.behaviours == b.behaviours &&
         a.commit_limit_pages == b.commit_limit_pages && a.thp == b.thp && a.hugetlb_free == b.hugetlb_free &&
         a.swap == b.swap && a.fault_around_pages == b.fault_around_pages &&
         a.file_slots_shmem == b.file_slots_shmem && a.mutant == b.mutant && a.quirks == b.quirks;
}

std::string TwoTraces(const Program& prog, const KernelRun& a, const KernelRun& b) {
  std::string out = "A: " + a.name + "\nB: " + b.name + "\n";
  bool marked = false;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    out += PrintOp(prog.ops[i]) + "\n";
    const Result* ra = i < a.trace->results.size() ? &a.trace->results[i] : nullptr;
    const Result* rb = i < b.trace->results.size() ? &b.trace->results[i] : nullptr;
    bool differs = ra && rb && !SameAnswer(*ra, *rb);
    out += "    A => " + (ra && ra->kind != ResultKind::kNone ? PrintResult(prog.ops[i], *ra) : "(not run)") + "\n";
    out += "    B => " + (rb && rb->kind != ResultKind::kNone ? PrintResult(prog.ops[i], *rb) : "(not run)") +
           (differs && !marked ? "    <<< the first difference" : "") + "\n";
    marked |= differs;
  }
  return out;
}

KernelComparison CompareKernels(const Program& prog, const KernelRun& a, const KernelRun& b) {
  KernelComparison c;
  size_t n = std::min({prog.ops.size(), a.trace->results.size(), b.trace->results.size()});
  size_t i = 0;
  for (; i < n; i++) {
    const Result &ra = a.trace->results[i], &rb = b.trace->results[i];
    if (ra.kind == ResultKind::kNone || rb.kind == ResultKind::kNone) return c;  // one stopped: the rest is not comparable
    if (!SameAnswer(ra, rb)) break;
  }
  if (i == n) return c;
  c.op_index = i;
  if (!Completed(a) || !Completed(b)) {
    c.kind = KernelComparison::Kind::kSkipped;
    return c;
  }
  Reach ea = ReachOf(a.judgement->verdict, prog.ops.size()), eb = ReachOf(b.judgement->verdict, prog.ops.size());
  bool known_a = ea.allowed > i || (ea.diverged && ea.allowed == i);
  bool known_b = eb.allowed > i || (eb.diverged && eb.allowed == i);
  bool allowed_a = ea.allowed > i, allowed_b = eb.allowed > i;
  bool agree = ModelsAgree(*a.profile, *b.profile);
  if ((!known_a || !known_b) && !agree) {
    c.kind = KernelComparison::Kind::kSkipped;
    return c;
  }
  if (known_a && known_b && allowed_a && allowed_b) {
    c.kind = KernelComparison::Kind::kExplained;
    return c;
  }
  c.kind = KernelComparison::Kind::kDiffers;
  const Op& op = prog.ops[i];
  const Result &ra = a.trace->results[i], &rb = b.trace->results[i];
  std::string which = known_a && known_b ? (allowed_a ? "A only" : allowed_b ? "B only" : "neither")
                                         : "neither: not modelled, the same model for both";
  Divergence d;
  d.op_index = i;
  d.cls = DivergenceClass::kKernelDiffers;
  d.kernel = ra;
  d.line = "DIVERGENCE kernel-differs op=" + std::to_string(i) + " \"" + PrintOp(op) + "\" A=" + a.name + ": " +
           PrintResult(op, ra) + " B=" + b.name + ": " + PrintResult(op, rb) + " (model allows: " + which + ")";
  std::string word = PrintOp(op);
  word = word.substr(word.find(": ") == std::string::npos ? 0 : word.find(": ") + 2);
  word = word.substr(0, word.find(' '));
  d.signature = "kernel-differs|" + word + "|" + WhatDiffers(op, ra, rb) + "|" +
                (known_a && known_b ? (allowed_a ? "A" : allowed_b ? "B" : "none") : "unmodelled");
  d.picture = "model on A (" + a.name + "): " + AllowedOn(a, ea, i) + "\nmodel on B (" + b.name +
              "): " + AllowedOn(b, eb, i) + "\n\n" + TwoTraces(prog, a, b);
  c.judgement.kind = Judgement::Kind::kFail;
  c.judgement.line = d.line;
  c.judgement.detail = d.picture;
  c.judgement.verdict.status = Verdict::Status::kDivergence;
  c.judgement.verdict.divergence = std::move(d);
  return c;
}

}  // namespace mmdiff
