// Why a reproducer checks what it checks (fuzz/repro.h): the pagemap bits by
// letter, the checks from a divergence, a prediction or the program's
// expectations, and their reasons from the program's history ("written since
// clear_refs at step 3").
#include <algorithm>
#include <regex>

#include "fuzz/repro.h"
#include "fuzz/repro_consistency.h"
#include "fuzz/repro_fmt.h"
#include "fuzz/repro_uapi.h"
#include "model/replay.h"
#include "prog/op_table.h"
#include "prog/op_traits.h"

namespace mmdiff {
using namespace repro_detail;  // AdviceC, Fmt

namespace {

// --- Program history, for the reasons of a check. ---

// How a reason names an op: "a write", "mprotect", "madvise(MADV_DONTNEED)".
std::string OpNoun(const Op& op) {
  switch (op.kind) {
    case OpKind::kRead: return "a read";
    case OpKind::kWrite: return "a write";
    case OpKind::kMadvise: return std::string("madvise(") + AdviceC(op.advice) + ")";
    case OpKind::kClearRefs: return "clear_refs " + std::to_string(op.value);
    case OpKind::kUffdWp: return (op.flags & kFlagWpOn) ? "uffd_wp on" : "uffd_wp off";
    case OpKind::kScan: return "PAGEMAP_SCAN";
    case OpKind::kPagemap: return "a pagemap read";
    default: return GetOpInfo(op.kind).name;  // the op table's name says it
  }
}

bool WritesPage(const Op& op, uint32_t page) {
  if (op.kind == OpKind::kWrite) return op.page == page;
  if (op.kind == OpKind::kMadvise && op.advice == Advice::kPopulateWrite) return OpNamesPage(op, page);
  if (op.kind == OpKind::kMmap && (op.flags & kFlagPopulate) && !op.shared &&
      (op.prot == Prot::kRW || op.prot == Prot::kRWX))
    return OpNamesPage(op, page);
  return false;
}

bool AccessesPage(const Op& op, uint32_t page) {
  if (WritesPage(op, page)) return true;
  if (op.kind == OpKind::kRead) return op.page == page;
  if (op.kind == OpKind::kMadvise && op.advice == Advice::kPopulateRead) return OpNamesPage(op, page);
  return op.kind == OpKind::kMmap && (op.flags & kFlagPopulate) && OpNamesPage(op, page);
}

bool ZapsPage(const Op& op, uint32_t page) {
  if (!OpNamesPage(op, page)) return false;
  if (op.kind == OpKind::kMunmap) return true;
  if (op.kind == OpKind::kMmap) return true;  // a new mapping starts without pages
  if (op.kind == OpKind::kMadvise)
    return op.advice == Advice::kDontneed || op.advice == Advice::kFree || op.advice == Advice::kRemove ||
           op.advice == Advice::kPageout;
  if (op.kind == OpKind::kMremap) return page >= op.page && page < op.page + op.npages;
  return false;
}

std::string StepRef(size_t j) { return "step " + std::to_string(j); }

// --- Bits, checks and reasons. ---

// The pagemap bits: prog/result.h's one table.
const PagemapBit* Bit(char letter) { return PagemapBitByLetter(letter); }

Explanation Because(size_t cause, std::string because) {
  Explanation e;
  e.because = std::move(because);
  e.cause_op = cause;
  return e;
}

}  // namespace

std::string PagemapBitName(char letter) {
  const PagemapBit* b = Bit(letter);
  return b ? b->name : "?";
}

int PagemapBitNumber(char letter) {
  const PagemapBit* b = Bit(letter);
  return b ? b->number : 0;
}

bool FirstPagemapDifference(const Result& expected, const Result& observed, size_t* index, char* letter) {
  const PagemapBit* b = mmdiff::FirstPagemapDifference(expected, observed, index);
  if (b) *letter = b->letter;
  return b != nullptr;
}

Explanation ExplainBit(const Program& prog, size_t op_index, uint32_t page, char bit, bool value) {
  Lineage l = LineageOf(prog);
  int proc = prog.ops[op_index].proc;
  auto hist = [&](size_t j) { return InHistory(prog, l, j, proc, op_index); };
  // The last state-changing op that touched the page: what the kernel had just done.
  size_t last = SIZE_MAX;
  for (size_t j = op_index; j-- > 0;)
    if (hist(j) && !Observes(prog.ops[j]) && OpNamesPage(prog.ops[j], page)) {
      last = j;
      break;
    }
  // The latest op in the history (before op_index, after `from`) matching `pred`.
  auto latest = [&](size_t from, auto pred) {
    for (size_t j = op_index; j-- > 0;) {
      if (from != SIZE_MAX && j <= from) break;
      if (hist(j) && pred(prog.ops[j])) return j;
    }
    return SIZE_MAX;
  };
  Explanation e;
  switch (bit) {
    case 'D': {
      size_t clear = latest(SIZE_MAX, [](const Op& op) { return op.kind == OpKind::kClearRefs && op.value == 4; });
      std::string since = clear == SIZE_MAX ? "" : " since clear_refs at " + StepRef(clear);
      size_t write = latest(clear, [&](const Op& op) { return WritesPage(op, page); });
      size_t map = latest(clear, [&](const Op& op) { return op.kind == OpKind::kMmap && OpNamesPage(op, page); });
      size_t move = latest(clear, [&](const Op& op) {
        if (op.kind != OpKind::kMremap || !OpNamesPage(op, page)) return false;
        uint32_t dst = (op.flags & kFlagMove) ? op.new_page : op.page;
        return page >= dst && page < dst + op.new_npages;
      });
      if (!value) {
        e = Because(clear, clear == SIZE_MAX ? "the model requires 0" : "not written" + since);
        break;
      }
      size_t best = std::max({write == SIZE_MAX ? 0 : write + 1, map == SIZE_MAX ? 0 : map + 1,
                              move == SIZE_MAX ? 0 : move + 1});
      if (best == 0) {
        // A merge with a new (soft-dirty) mapping: the merged VMA keeps VM_SOFTDIRTY.
        size_t fresh = latest(clear, [&](const Op& op) { return op.kind == OpKind::kMmap && !OpNamesPage(op, page); });
        size_t merge = latest(fresh, [&](const Op& op) {
          return (op.kind == OpKind::kMprotect || op.kind == OpKind::kMremap || op.kind == OpKind::kMadvise) &&
                 OpNamesPage(op, page);
        });
        if (fresh != SIZE_MAX && merge != SIZE_MAX)
          e = Because(merge, OpNoun(prog.ops[merge]) + " at " + StepRef(merge) +
                                 " can merge its VMA with the new mapping of " + StepRef(fresh) +
                                 "; new mappings are soft-dirty, and a merged VMA stays soft-dirty");
        else
          e = Because(SIZE_MAX, "the model requires 1");
      }
      else if (best == write + 1)
        e = Because(write, "written" + (write == last ? std::string() : " at " + StepRef(write)) + since);
      else if (best == map + 1)
        e = Because(map, "mapped anew at " + StepRef(map) + since + "; new mappings are soft-dirty");
      else
        e = Because(move, "moved by mremap at " + StepRef(move) + since + "; moved pages are soft-dirty");
      break;
    }
    case 'W': {
      auto protects = [&](const Op& op) {
        return OpNamesPage(op, page) && ((op.kind == OpKind::kUffdWp && (op.flags & kFlagWpOn)) ||
                                    (op.kind == OpKind::kScan && (op.flags & kFlagWpMatching)));
      };
      size_t wp = latest(SIZE_MAX, protects);
      std::string by = wp == SIZE_MAX ? "" : (prog.ops[wp].kind == OpKind::kScan ? "PAGEMAP_SCAN(WP_MATCHING)"
                                                                                   : "uffd_wp on");
      if (value) {
        e = wp == SIZE_MAX ? Because(SIZE_MAX, "the model requires 1")
                           : Because(wp, "write-protected by " + by + " at " + StepRef(wp) + " and not written since");
        break;
      }
      size_t undo = latest(wp, [&](const Op& op) {
        return OpNamesPage(op, page) && ((op.kind == OpKind::kUffdWp && !(op.flags & kFlagWpOn)) ||
                                    op.kind == OpKind::kUffdUnregister || WritesPage(op, page) ||
                                    ZapsPage(op, page));
      });
      if (wp == SIZE_MAX) e = Because(SIZE_MAX, "never write-protected");
      else if (undo == SIZE_MAX) e = Because(SIZE_MAX, "the model requires 0");
      else
        e = Because(undo, OpNoun(prog.ops[undo]) + " at " + StepRef(undo) + " after " + by + " at " + StepRef(wp));
      break;
    }
    case 'P': {
      if (value) {
        size_t acc = latest(SIZE_MAX, [&](const Op& op) { return AccessesPage(op, page); });
        e = acc == SIZE_MAX ? Because(SIZE_MAX, "the model requires 1")
                            : Because(acc, (WritesPage(prog.ops[acc], page) ? "written at " : "accessed at ") +
                                               StepRef(acc));
      } else {
        size_t zap = latest(SIZE_MAX, [&](const Op& op) { return ZapsPage(op, page); });
        size_t acc = latest(zap, [&](const Op& op) { return AccessesPage(op, page); });
        if (zap != SIZE_MAX && acc == SIZE_MAX)
          e = Because(zap, "dropped by " + OpNoun(prog.ops[zap]) + " at " + StepRef(zap) + " and not touched since");
        else if (zap == SIZE_MAX && acc == SIZE_MAX)
          e = Because(SIZE_MAX, "never accessed");
        else
          e = Because(SIZE_MAX, "the model requires 0");
      }
      break;
    }
    case 'F': {
      size_t map = latest(SIZE_MAX, [&](const Op& op) { return op.kind == OpKind::kMmap && OpNamesPage(op, page); });
      if (map == SIZE_MAX) {
        e = Because(SIZE_MAX, std::string("the model requires ") + (value ? "1" : "0"));
        break;
      }
      const Op& m = prog.ops[map];
      std::string kind = m.backing == Backing::kMemfd ? (m.shared ? "shared memfd" : "private memfd")
                         : m.backing == Backing::kFile ? (m.shared ? "shared file" : "private file")
                         : m.shared                    ? "shared anonymous"
                                                       : "private anonymous";
      e = Because(map, "the page belongs to the " + kind + " mapping of " + StepRef(map));
      break;
    }
    case 'X': {
      size_t fork = latest(SIZE_MAX, [](const Op& op) { return op.kind == OpKind::kFork; });
      size_t acc = latest(SIZE_MAX, [&](const Op& op) { return AccessesPage(op, page); });
      if (!value && fork != SIZE_MAX && (acc == SIZE_MAX || acc < fork))
        e = Because(fork, "shared with the process forked at " + StepRef(fork));
      else if (!value && acc != SIZE_MAX && prog.ops[acc].kind == OpKind::kRead)
        e = Because(acc, "the read at " + StepRef(acc) + " maps a shared zero or page-cache page");
      else if (value && acc != SIZE_MAX)
        e = Because(acc, "mapped by this process only since " + StepRef(acc));
      else
        e = Because(SIZE_MAX, std::string("the model requires ") + (value ? "1" : "0"));
      break;
    }
    default:
      e = Because(SIZE_MAX, std::string("the model requires ") + (value ? "1" : "0"));
      break;
  }
  e.after = last == SIZE_MAX ? StepRef(op_index == 0 ? 0 : op_index - 1)
                             : OpNoun(prog.ops[last]) + " at " + StepRef(last);
  return e;
}

Explanation ExplainResult(const Program& prog, size_t op_index, const Result& expected) {
  const Op& op = prog.ops[op_index];
  Lineage l = LineageOf(prog);
  Explanation e;
  if (op.kind == OpKind::kRead && expected.kind == ResultKind::kValue) {
    for (size_t j = op_index; j-- > 0;) {
      const Op& w = prog.ops[j];
      if (InHistory(prog, l, j, op.proc, op_index) && w.kind == OpKind::kWrite && w.page == op.page &&
          w.offset == op.offset) {
        if (WriteToken(w, j) == static_cast<uint8_t>(expected.value))
          e = Because(j, Fmt("written with 0x%02x at step %zu", WriteToken(w, j), j));
        break;
      }
    }
  }
  return e;
}

ReproCheck CheckFromPrediction(const Program& prog, size_t op_index, const Prediction& pred) {
  ReproCheck c;
  c.op_index = op_index;
  Prediction contract = WithoutQuirks(pred);
  c.allowed.push_back(contract.expected);
  for (const Alternative& a : contract.alternatives) c.allowed.push_back(a.result);
  Explanation e = ExplainResult(prog, op_index, contract.expected);
  c.after = e.after;
  c.because = e.because;
  return c;
}

namespace {

// Whether the kernel's answer `got` fails check `c` (a result no allowed
// one matches, or the wrong pagemap bit).
bool KernelFails(const Program& prog, const ReproCheck& c, const Result& got) {
  if (c.single_bit) {
    const Op& op = prog.ops[c.op_index];
    size_t k = c.page - op.page;
    return k < got.pagemap.size() && ((got.pagemap[k] & Bit(c.bit)->bit) != 0) != c.value;
  }
  for (const Result& r : c.allowed)
    if (!ExpectationMismatch(prog.ops[c.op_index], r, got)) return false;
  return !c.allowed.empty();
}

}  // namespace

ReproCheck CheckFromDivergence(const Program& prog, const Divergence& d) {
  ReproCheck contract = ContractCheck(prog, d);
  repro_detail::ConsistencyCheck cc;
  // The kernel against itself: where the contract's check of the step also
  // fails on its answer, that check (what the documentation says); else
  // the step's answer and its second look must agree (its answer against
  // the contract would pass on the broken kernel).
  if (d.cls == DivergenceClass::kInconsistent && !KernelFails(prog, contract, d.kernel) &&
      repro_detail::ParseConsistency(d.line, &cc)) {
    ReproCheck c;
    c.op_index = d.op_index;
    c.consistency = cc.field;
    c.page = cc.page;
    c.vma_start = cc.vma_start;
    c.vma_end = cc.vma_end;
    c.because = cc.field == "mask"  ? "a filtered scan reports a page exactly when its unfiltered categories pass the "
                                      "filter, with them masked by ret="
                : cc.field == "huge" ? "the pages PAGEMAP_SCAN reports huge and present, not the huge zero page, are "
                                       "the ones smaps counts as PMD- or hugetlb-mapped"
                : cc.field == "split" ? "a scan cut by max= or vec= and resumed at its walk_end gives what the same "
                                        "scan gives unsplit"
                                      : "pagemap's " + cc.field + " bit and PAGEMAP_SCAN's category read the same entry";
    return c;
  }
  return contract;
}

ReproCheck ContractCheck(const Program& prog, const Divergence& d) {
  Prediction contract = WithoutQuirks(d.model);
  const Op& op = prog.ops[d.op_index];
  size_t index = 0;
  char letter = 0;
  if (contract.alternatives.empty() && contract.expected.kind == ResultKind::kPagemap &&
      d.kernel.kind == ResultKind::kPagemap && contract.expected.pagemap.size() == d.kernel.pagemap.size() &&
      FirstPagemapDifference(contract.expected, d.kernel, &index, &letter)) {
    ReproCheck c;
    c.op_index = d.op_index;
    c.single_bit = true;
    c.page = op.page + static_cast<uint32_t>(index);
    c.bit = letter;
    c.value = (contract.expected.pagemap[index] & Bit(letter)->bit) != 0;
    Explanation e = ExplainBit(prog, d.op_index, c.page, letter, c.value);
    c.after = e.after;
    c.because = e.because;
    return c;
  }
  return CheckFromPrediction(prog, d.op_index, d.model);
}

bool PredictionAt(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t index,
                  Prediction* out, std::string* err) {
  // The kernel's answers where the trace has them, the contract's elsewhere.
  struct At : ReplayVisitor {
    size_t index;
    Prediction* out;
    bool Before(const Model&, const ReplayStep& s) override {
      if (s.index != index) return true;
      *out = s.pred;
      return false;
    }
  } at;
  at.index = index, at.out = out;
  ReplayEnd end = Replay(prog, &trace, profile, &at, index + 1, nullptr, ReplayMissing::kContract);
  if (end.why == ReplayEnd::Why::kVisitor) return true;
  *err = end.why == ReplayEnd::Why::kUnmodelled
             ? "the model does not model op " + std::to_string(end.at) + ": " + end.note
             : "no op " + std::to_string(index);
  return false;
}

std::vector<ReproCheck> ChecksFromExpectations(const Program& prog) {
  std::vector<ReproCheck> out;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    if (prog.expect[i].kind == ResultKind::kNone) continue;
    ReproCheck c;
    c.op_index = i;
    c.allowed.push_back(prog.expect[i]);
    Explanation e = ExplainResult(prog, i, prog.expect[i]);
    c.after = e.after;
    c.because = e.because;
    out.push_back(c);
  }
  return out;
}

ReproSpec SpecForJudgement(const Program& prog, const Judgement& j) {
  ReproSpec spec;
  spec.title = j.line.empty() ? "PASS (the checks are the program's own expectations)" : j.line;
  if (j.line.rfind("DIVERGENCE", 0) == 0 && j.verdict.divergence) {
    spec.checks.push_back(CheckFromDivergence(prog, *j.verdict.divergence));
    return spec;
  }
  std::smatch m;
  if (j.line.rfind("EXPECTATION", 0) == 0 && std::regex_search(j.line, m, std::regex("op=([0-9]+)"))) {
    size_t i = std::stoul(m[1]);
    if (i < prog.ops.size() && prog.expect[i].kind != ResultKind::kNone) {
      // The model diverging on the same bit the expectation states: its
      // single-bit check says why that bit must be so.
      if (j.verdict.divergence && j.verdict.divergence->op_index == i) {
        ReproCheck c = CheckFromDivergence(prog, *j.verdict.divergence);
        const Result& want = prog.expect[i];
        size_t k = c.page - prog.ops[i].page;
        if (c.single_bit && want.kind == ResultKind::kPagemap && k < want.pagemap.size()) {
          uint64_t bit = Bit(c.bit)->bit;
          bool stated = k >= want.either.size() || !(want.either[k] & bit);
          if (stated && ((want.pagemap[k] & bit) != 0) == c.value) {
            spec.checks.push_back(c);
            return spec;
          }
        }
      }
      ReproCheck c;
      c.op_index = i;
      c.allowed.push_back(prog.expect[i]);
      Explanation e = ExplainResult(prog, i, prog.expect[i]);
      c.because = e.because;
      spec.checks.push_back(c);
    }
    return spec;
  }
  if (j.line.rfind("KERNEL-SPLAT", 0) == 0 || j.line.rfind("HANG", 0) == 0) {
    spec.notes.push_back("Nothing to check in userspace: run it and watch the kernel log (dmesg).");
    return spec;
  }
  spec.checks = ChecksFromExpectations(prog);
  return spec;
}

}  // namespace mmdiff
