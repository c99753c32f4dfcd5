// The root cause of a minimized finding (fuzz/root_cause.h).
#include "fuzz/root_cause.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "fuzz/findings.h"
#include "prog/op_traits.h"
#include "prog/text.h"

namespace mmdiff {

namespace {

// The diverging op's pages: where the wrong state was seen (at most 64, the
// first range; none for an op without arena pages).
bool ObservedPages(const Op& op, uint32_t* lo, uint32_t* n) {
  std::vector<PageRange> r = OpRanges(op);
  if (r.empty() || r[0].n == 0 || r[0].n > kArenaPages) return false;
  *lo = r[0].lo;
  *n = std::min<uint32_t>(r[0].n, 64);
  return true;
}

// The parts of a divergence signature "class|op|field|dir|memkind".
std::vector<std::string> Fields(const std::string& signature) {
  std::vector<std::string> f;
  for (size_t a = 0, b; a <= signature.size(); a = b + 1) {
    b = std::min(signature.find('|', a), signature.size());
    f.push_back(signature.substr(a, b - a));
  }
  return f;
}

// The memory kind as the kernel's fault and write-protect paths split it:
// every private mapping's written pages are anonymous (mm/memory.c
// wp_page_copy(), do_cow_fault()); a shared mapping's pages are its file's
// page cache, shmem or a filesystem's (do_shared_fault(), wp_page_shared()).
std::string CodePathKind(const std::string& memkind) {
  for (const char* sharing : {"private", "shared"}) {
    std::string suffix = std::string("-") + sharing;
    if (memkind.size() > suffix.size() && memkind.compare(memkind.size() - suffix.size(), suffix.size(), suffix) == 0)
      return sharing;
  }
  return memkind;
}

}  // namespace

std::string StepWithoutNumbers(const Op& op) {
  Op o = op;
  o.proc = 0;  // which process is where, not what
  std::string text = PrintOp(o), out;
  // Pages, counts and slots are where too, and an option's value (a scan's
  // categories, a write's byte) is which case: the options given are what.
  // clear_refs' value is what.
  bool value = false;
  for (char c : text) {
    if (c == ' ') value = false;
    if (value) continue;
    if (!isdigit(static_cast<unsigned char>(c)) || op.kind == OpKind::kClearRefs) out += c;
    else if (out.empty() || out.back() != '#') out += '#';
    if (c == '=') value = true;
  }
  return out;
}

std::string MinimizedShape(const Program& prog, size_t diverging_op) {
  std::string shape;
  for (size_t i = 0; i < prog.ops.size() && i < diverging_op; i++) {
    const Op& op = prog.ops[i];
    if (op.kind == OpKind::kRequires || Observes(op)) continue;
    shape += (shape.empty() ? "" : "; ") + StepWithoutNumbers(op);
  }
  return shape;
}

Program WithPagemapReads(const Program& prog, size_t upto, uint32_t lo, uint32_t n, bool with_scan,
                         std::vector<size_t>* probe_of) {
  // Where the observed pages were after each op: a move by mremap brought
  // them from its source (the read after an earlier op looks there).
  std::vector<uint32_t> at(upto + 1, lo);
  for (size_t i = std::min(upto, prog.ops.size()); i-- > 0;) {
    const Op& op = prog.ops[i];
    at[i] = at[i + 1];
    if (op.kind == OpKind::kMremap && (op.flags & kFlagMove) && at[i + 1] >= op.new_page &&
        at[i + 1] - op.new_page < std::min(op.npages, op.new_npages))
      at[i] = op.page + (at[i + 1] - op.new_page);
  }
  Program out;
  probe_of->clear();
  int procs = 1;
  std::vector<bool> exited(kMaxProcs);
  for (size_t i = 0; i < upto && i < prog.ops.size(); i++) {
    const Op& op = prog.ops[i];
    out.Add(op);
    probe_of->push_back(SIZE_MAX);
    if (op.kind == OpKind::kFork) procs++;
    if (op.kind == OpKind::kExit) exited[op.proc] = true;
    if (op.kind == OpKind::kRequires || Observes(op)) continue;
    // Every process that lives: a step may change another's pages (a COW
    // write, a shared page), and the observer may not exist yet.
    for (int q = 0; q < procs && q < static_cast<int>(kMaxProcs); q++) {
      if (exited[q]) continue;
      for (OpKind kind : {OpKind::kPagemap, OpKind::kScan}) {
        if (kind == OpKind::kScan && !with_scan) continue;
        Op read;
        read.kind = kind;
        read.proc = static_cast<uint8_t>(q);
        read.page = at[i + 1];
        read.npages = n;
        out.Add(read);
        probe_of->push_back(i);
      }
    }
  }
  return out;
}

namespace {

// Categories of `page` in a scan result (0: in no region).
uint32_t CategoriesAt(const Result& r, uint32_t page) {
  for (const ScanRegion& g : r.regions)
    if (page >= g.start && page < g.end) return g.categories;
  return 0;
}

// What state a divergence at a read shows wrong: the mapping (present,
// exclusive, file, zero page, huge, swapped), uffd-wp (W, written,
// wpallowed) or soft-dirty; a scan by its first differing category; other
// classes by their name.
std::string WrongState(const Op& read, const Divergence& d) {
  switch (d.cls) {
    case DivergenceClass::kMissedDirty: case DivergenceClass::kSpuriousDirty: return "soft-dirty";
    case DivergenceClass::kWrongWp: return "uffd-wp";
    case DivergenceClass::kWrongPagemap: return "mapping";
    case DivergenceClass::kWrongScan: {
      // Only pages both sides walked: past one side's walk_end (a scan
      // stopped by max_pages or a full vector) the other's regions differ
      // in extent, not in what a page is. A page some allowed answer
      // agrees on (the model's alternatives: an unpopulated hugetlb page
      // with or without `huge`) is not wrong either.
      uint64_t walked = std::min(d.kernel.walk_end, d.model.expected.walk_end);
      for (uint32_t pg = read.page; pg < read.page + read.npages && pg < walked; pg++) {
        uint32_t seen = CategoriesAt(d.kernel, pg);
        uint32_t diff = seen ^ CategoriesAt(d.model.expected, pg);
        for (const Alternative& a : d.model.alternatives)
          if (a.result.is_scan && CategoriesAt(a.result, pg) == seen) diff = 0;
        if (!diff) continue;
        if (diff & kCatSoftDirty) return "soft-dirty";
        if (diff & (kCatWritten | kCatWpAllowed)) return "uffd-wp";
        return "mapping";
      }
      return "scan";
    }
    default: return std::string(DivergenceClassName(d.cls));
  }
}

}  // namespace

std::string RootCause(const Program& prog, const Judgement& j, Target* target, const KernelProfile& profile) {
  const auto& d = j.verdict.divergence;
  if (!d || d->op_index >= prog.ops.size()) return "";
  const Op& seen = prog.ops[d->op_index];
  std::vector<std::string> f = Fields(d->signature);
  // The kernel disagreeing with itself (model/consistency.h): the observing
  // op is the step, and which of its checks failed is what it got wrong
  // ("mask", "huge", "scan|split", a pagemap field), whatever its options.
  if (f.size() >= 2 && f[0] == "inconsistent")
    return std::string("cause|") + GetOpInfo(seen.kind).name + "|" + f[0] + "|" + f[1] +
           (f[1] == "scan" && f.size() > 2 ? "|" + f[2] : "");
  if (f.size() < 5) return "";  // not the checker's (two kernels)
  // Where the pages read the same on both up to the diverging op, that op is
  // the step (a scan, an errno, data the pagemap does not show): the rule
  // it broke is in the observer, whatever memory it looked at.
  std::string key = "cause|" + StepWithoutNumbers(seen) + "|" + WrongState(seen, *d) +
                    (Observes(seen) ? "" : "|" + CodePathKind(f[4]));
  uint32_t lo, n;
  if (!ObservedPages(seen, &lo, &n)) return key;
  if (!target) return "";
  // The probe of pages [plo, plo + pn): the cause it names (`key` where it
  // names none; "" where it cannot say) and that step's index in `prog`
  // (SIZE_MAX: none).
  auto probe_cause = [&](uint32_t plo, uint32_t pn, size_t* step) -> std::string {
    *step = SIZE_MAX;
    std::vector<size_t> probe_of;
    Program probe =
        WithPagemapReads(prog, d->op_index, plo, pn, (profile.features & kFeatPagemapScan) != 0, &probe_of);
    if (Validate(probe)) return "";
    Trace trace;
    std::string err;
    if (!target->Run(probe, &trace, &err)) return "";
    Judgement pj = JudgeKernelRun(probe, trace, profile);
    if (pj.kind == Judgement::Kind::kPass) {
      // Every read agreed, but one only through a doubt whether a page is
      // still mapped (a lazyfree page reclaim may have discarded or
      // unmapped, a write that may have copied): the model could not say
      // there and took the kernel's answer, and the state it then followed
      // is what the diverging op shows wrong, so the step before that read
      // is the cause.
      Grants mapped;
      for (Allowance a : {Allowance::kLazyfreeMayBeDiscarded, Allowance::kReclaimMayUnmap, Allowance::kReuseMayCopy})
        mapped.Add(Grant::Of(a));
      std::string state = WrongState(seen, *d);
      for (auto [k, bits] : pj.verdict.allowance_ops)
        if ((bits & mapped.bits) && k < probe_of.size() && probe_of[k] != SIZE_MAX &&
            (state == "mapping" || state == "uffd-wp" || state == "soft-dirty")) {
          *step = probe_of[k];
          return "cause|" + StepWithoutNumbers(prog.ops[*step]) + "|" + state + "|" + CodePathKind(f[4]);
        }
      return key;
    }
    const auto& pd = pj.verdict.divergence;
    if (!pd || pd->op_index >= probe_of.size() || probe_of[pd->op_index] == SIZE_MAX) return "";
    std::vector<std::string> pf = Fields(pd->signature);
    if (pf.size() < 5) return "";
    // What state went wrong, not which bit shows it: a page left present is
    // wrong in P, in X and in a scan's categories alike.
    *step = probe_of[pd->op_index];
    return "cause|" + StepWithoutNumbers(prog.ops[*step]) + "|" + WrongState(probe.ops[pd->op_index], *pd) + "|" +
           CodePathKind(pf[4]);
  };
  size_t step;
  std::string cause = probe_cause(lo, n, &step);
  // A page mapped wrong by an access: a fault maps a THP or the huge zero
  // page only where the PMD has no page table (mm/memory.c
  // __handle_mm_fault(): pmd_none() → create_huge_pmd()), and that depends
  // on the other pages of its 2 MiB block (an earlier step that left one of
  // them mapped, or a uffd-wp marker, keeps the table). Where the probe of
  // the whole block names an earlier step, that step is the cause.
  if (step != SIZE_MAX && (prog.ops[step].kind == OpKind::kRead || prog.ops[step].kind == OpKind::kWrite) &&
      cause.find("|mapping|") != std::string::npos) {
    uint32_t block = lo / kPagesPerPmd * kPagesPerPmd;
    size_t earlier;
    std::string wider = probe_cause(block, kPagesPerPmd, &earlier);
    if (!wider.empty() && earlier != SIZE_MAX && earlier < step) return wider;
  }
  return cause;
}

std::string FoldKey(const Program& prog, const Judgement& j, Target* target, const KernelProfile& profile) {
  std::string cause = RootCause(prog, j, target, profile);
  if (!cause.empty()) return cause;
  const auto& d = j.verdict.divergence;
  return "shape|" + FindingClass(j) + "|" + MinimizedShape(prog, d ? d->op_index : prog.ops.size());
}

}  // namespace mmdiff
