#include "fuzz/minimize.h"

#include <algorithm>
#include <regex>
#include <unordered_set>
#include <utility>
#include <vector>

#include "fuzz/findings.h"
#include "model/checker.h"
#include "prog/op_table.h"
#include "prog/op_traits.h"
#include "prog/text.h"

namespace mmdiff {
namespace {

// --- The program's structure, from the op table. ---

bool HasArg(const Op& op, ArgKind kind) {
  for (const ArgSpec& spec : GetOpInfo(op.kind).args)
    if (spec.kind == kind) return true;
  return false;
}

// The arena pages an op names: [first, first + count) for its range, and
// for mremap the destination too. Ops without an arena page name none.
struct PageRange {
  uint32_t lo, hi;
};
std::vector<PageRange> ArenaRanges(const Op& op) {
  std::vector<PageRange> out;
  if (!HasArg(op, ArgKind::kPage)) return out;
  uint32_t n = HasArg(op, ArgKind::kNpages) ? op.npages : 1;
  out.push_back({op.page, op.page + std::max<uint32_t>(n, 1)});
  if (op.kind == OpKind::kMremap) {
    uint32_t dst = (op.flags & kFlagMove) ? op.new_page : op.page;
    out.push_back({dst, dst + std::max<uint32_t>(op.new_npages, 1)});
  }
  return out;
}

// Whether the program places ranges on 2 MiB boundaries on purpose (THP,
// hugetlb): then page renumbering keeps every page's offset in its 2 MiB slot.
bool UsesPmdAlignment(const Program& prog) {
  for (const Op& op : prog.ops) {
    if (op.kind == OpKind::kMmap && (op.flags & kFlagHugetlb)) return true;
    if (op.kind == OpKind::kMadvise && (op.advice == Advice::kHugepage || op.advice == Advice::kNohugepage))
      return true;
    if (HasArg(op, ArgKind::kNpages) && HasArg(op, ArgKind::kPage) && op.page % kPagesPerPmd == 0 &&
        op.npages >= kPagesPerPmd)
      return true;
  }
  return false;
}

bool HasExpectations(const Program& prog) {
  for (const Result& r : prog.expect)
    if (r.kind != ResultKind::kNone) return true;
  return false;
}

// Removes the ops with keep[i] == false. When the program states results
// ("=>"), the bytes of unpinned writes after a removed op are pinned to the
// token they wrote before (WriteToken depends on the op's index), so a
// removal does not change what a later read expects.
Program RemoveOps(const Program& prog, const std::vector<bool>& keep) {
  bool pin = HasExpectations(prog);
  Program out;
  bool removed_before = false;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    if (!keep[i]) {
      removed_before = true;
      continue;
    }
    Op op = prog.ops[i];
    if (pin && removed_before && (op.kind == OpKind::kWrite || op.kind == OpKind::kFwrite) &&
        !(op.flags & kFlagHasByte)) {
      op.byte = WriteToken(op, i);
      op.flags |= kFlagHasByte;
    }
    out.Add(op, prog.expect[i], prog.lines[i]);
  }
  return out;
}

// The process each fork creates (the executor numbers them in program order).
std::vector<int> ForkChildren(const Program& prog) {
  std::vector<int> child(prog.ops.size(), -1);
  int next = 1;
  for (size_t i = 0; i < prog.ops.size(); i++)
    if (prog.ops[i].kind == OpKind::kFork) child[i] = next++;
  return child;
}

// Removes process `victim`, every process it forked (transitively), their
// ops and the forks that created them; renumbers the processes after them.
Program RemoveProcess(const Program& prog, int victim) {
  std::vector<int> child = ForkChildren(prog);
  std::vector<bool> gone(kMaxProcs + 1, false);
  gone[victim] = true;
  for (size_t i = 0; i < prog.ops.size(); i++)
    if (child[i] > 0 && child[i] < kMaxProcs && gone[prog.ops[i].proc]) gone[child[i]] = true;
  std::vector<bool> keep(prog.ops.size(), true);
  for (size_t i = 0; i < prog.ops.size(); i++)
    if (gone[prog.ops[i].proc] || (child[i] > 0 && child[i] < kMaxProcs && gone[child[i]])) keep[i] = false;
  Program out = RemoveOps(prog, keep);
  for (Op& op : out.ops) {
    int below = 0;
    for (int p = 0; p < op.proc; p++) below += gone[p];
    op.proc = static_cast<uint8_t>(op.proc - below);
  }
  return out;
}

// Removes the fork that created process `c` when its parent runs no op
// after it: the child's ops become the parent's, and the processes after
// `c` are renumbered. A finding in a child that a fork does not cause then
// reads as one process (no turns, no shared fault counts in its
// reproducer). Returns the program unchanged when the parent goes on.
Program HoistChild(const Program& prog, int c) {
  std::vector<int> child = ForkChildren(prog);
  size_t at = prog.ops.size();
  for (size_t i = 0; i < prog.ops.size(); i++)
    if (child[i] == c) at = i;
  if (at == prog.ops.size()) return prog;
  int parent = prog.ops[at].proc;
  for (size_t i = at + 1; i < prog.ops.size(); i++)
    if (prog.ops[i].proc == parent) return prog;
  std::vector<bool> keep(prog.ops.size(), true);
  keep[at] = false;
  Program out = RemoveOps(prog, keep);
  for (Op& op : out.ops) {
    if (op.proc == c) op.proc = static_cast<uint8_t>(parent);
    else if (op.proc > c) op.proc--;
  }
  return out;
}

// Variants of one op that are simpler by a well-founded measure (fewer
// option words and features, smaller numbers, defaults), each with a note.
std::vector<std::pair<Op, std::string>> SimplerOps(const Op& op) {
  std::vector<std::pair<Op, std::string>> out;
  auto add = [&](Op v, std::string what) {
    if (!(v == op)) out.push_back({v, std::move(what)});
  };
  // Option words and their values.
  for (const ArgSpec& spec : GetOpInfo(op.kind).args) {
    Op v = op;
    switch (spec.kind) {
      case ArgKind::kFlag:
      case ArgKind::kMove:  // dropping "move" changes where mremap goes; the predicate decides
        if (op.flags & spec.bit) {
          v.flags &= ~spec.bit;
          if (spec.kind == ArgKind::kMove) v.new_page = 0;
          add(v, std::string("dropped '") + spec.word + "'");
        }
        break;
      case ArgKind::kOffset:
        if (op.flags & kFlagHasOffset) {
          v.flags &= ~kFlagHasOffset;
          v.offset = 0;
          add(v, "dropped the byte offset");
        }
        break;
      case ArgKind::kByte:
        if (op.flags & kFlagHasByte) {
          v.flags &= ~kFlagHasByte;
          v.byte = 0;
          add(v, "dropped '=BYTE'");
        }
        break;
      case ArgKind::kCategories:
      case ArgKind::kNumber: {
        uint32_t presence = PresenceFlag(spec);
        bool given = presence ? (op.flags & presence) != 0 : ScanFieldValue(op, spec.bit) != 0;
        if (given) {
          ScanFieldRef(v, spec.bit) = 0;
          v.flags &= ~presence;
          add(v, std::string("dropped '") + spec.word + "='");
        }
        break;
      }
      case ArgKind::kUffdFeatures:
        for (uint32_t bit = 1; bit && bit <= op.uffd_features; bit <<= 1)
          if (op.uffd_features & bit) {
            Op w = op;
            w.uffd_features &= ~bit;
            add(w, "dropped a uffd feature");
          }
        break;
      case ArgKind::kUffdModes:
        for (uint32_t bit = 1; bit && bit <= op.uffd_modes; bit <<= 1)
          if ((op.uffd_modes & bit) && (op.uffd_modes & ~bit)) {
            Op w = op;
            w.uffd_modes &= ~bit;
            add(w, "dropped a uffd register mode");
          }
        break;
      case ArgKind::kProt:
        if (op.kind == OpKind::kMmap && op.prot != Prot::kRW) {
          v.prot = Prot::kRW;
          add(v, "prot rw");
        }
        break;
      case ArgKind::kBacking:
        if (op.backing != Backing::kAnon) {
          v.backing = Backing::kAnon;
          v.file = 0;
          v.file_pgoff = 0;
          add(v, "anonymous backing");
          if (op.file_pgoff) {  // the same file from its start
            v = op;
            v.file_pgoff = 0;
            add(v, "file offset 0");
          }
        }
        break;
      case ArgKind::kSharing:
        if (op.shared) {
          v.shared = false;
          add(v, "private");
        }
        break;
      case ArgKind::kPage: case ArgKind::kFilePage: case ArgKind::kNpages: case ArgKind::kNewNpages:
      case ArgKind::kAdvice: case ArgKind::kFile: case ArgKind::kClearRefsType: case ArgKind::kOnOff:
      case ArgKind::kFeatures:
        break;
    }
  }
  // Smaller counts: 1, half, one less; for arena ranges also from the left.
  auto counts = [](uint32_t n) {
    std::vector<uint32_t> c;
    for (uint32_t v : {1u, n / 2, n - 1})
      if (v >= 1 && v < n && std::find(c.begin(), c.end(), v) == c.end()) c.push_back(v);
    return c;
  };
  if (HasArg(op, ArgKind::kNpages) && op.npages > 1) {
    bool arena = HasArg(op, ArgKind::kPage);
    for (uint32_t n : counts(op.npages)) {
      Op v = op;
      v.npages = n;
      add(v, "N " + std::to_string(op.npages) + " -> " + std::to_string(n));
      if (arena) {
        v.page = op.page + (op.npages - n);
        add(v, "range [" + std::to_string(op.page) + "," + std::to_string(op.page + op.npages) + ") -> [" +
                   std::to_string(v.page) + "," + std::to_string(v.page + n) + ")");
      }
    }
  }
  if (HasArg(op, ArgKind::kNewNpages) && op.new_npages > 1) {
    for (uint32_t n : counts(op.new_npages)) {
      Op v = op;
      v.new_npages = n;
      add(v, "NEWN " + std::to_string(op.new_npages) + " -> " + std::to_string(n));
    }
  }
  return out;
}

// A pagemap expectation follows its op's narrowed range (the entries of the
// pages that remain).
void SliceExpectation(const Op& before, const Op& after, Result* r) {
  if (after.kind != OpKind::kPagemap || r->kind != ResultKind::kPagemap) return;
  if (after.page < before.page || after.page + after.npages > before.page + before.npages) return;
  size_t from = after.page - before.page;
  auto slice = [&](std::vector<uint64_t>& v) {
    if (v.size() < from + after.npages) return;
    v = std::vector<uint64_t>(v.begin() + from, v.begin() + from + after.npages);
  };
  slice(r->pagemap);
  slice(r->either);
}

// Pages renumbered through `map` (arena pages only).
Program MapPages(const Program& prog, const std::function<uint32_t(uint32_t)>& map) {
  Program out = prog;
  for (Op& op : out.ops) {
    if (!HasArg(op, ArgKind::kPage)) continue;
    op.page = map(op.page);
    if (op.kind == OpKind::kMremap && (op.flags & kFlagMove)) op.new_page = map(op.new_page);
  }
  return out;
}

class Minimizer {
 public:
  Minimizer(const Program& prog, std::function<bool(const Program&)> pred, MinimizeStats* stats,
            std::atomic<bool>* stop)
      : cur_(prog), pred_(std::move(pred)), stats_(stats), stop_(stop) {
    tried_.insert(PrintProgram(prog));
  }

  Program Run() {
    bool progress = true;
    while (progress && !Stopped()) {
      progress = false;
      progress |= Processes();
      progress |= Ops();
      progress |= Uffd();
      progress |= Simplify();
      progress |= Renumber();
    }
    return cur_;
  }

  bool Stopped() const { return stop_ && stop_->load(); }

 private:
  // Tries `cand`; on success it becomes the current program.
  bool Try(const Program& cand, const std::string& what) {
    if (Stopped()) return false;
    if (Validate(cand)) return false;
    if (!tried_.insert(PrintProgram(cand)).second) return false;
    if (stats_) stats_->attempts++;
    if (!pred_(cand)) return false;
    cur_ = cand;
    if (stats_) {
      stats_->accepted++;
      if (stats_->on_step) stats_->on_step(what, cur_);
    }
    return true;
  }

  bool Processes() {
    bool any = false;
    for (int p = cur_.NumProcs() - 1; p >= 1 && !Stopped(); p--)
      any |= Try(RemoveProcess(cur_, p), "removed process p" + std::to_string(p));
    for (int p = cur_.NumProcs() - 1; p >= 1 && !Stopped(); p--)
      any |= Try(HoistChild(cur_, p), "p" + std::to_string(p) + " hoisted into its parent");
    return any;
  }

  // Ops that the op pass may remove: not `requires` (the program's
  // statement of what it needs), not `fork` (the process pass does that).
  std::vector<size_t> Removable() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < cur_.ops.size(); i++)
      if (cur_.ops[i].kind != OpKind::kRequires && cur_.ops[i].kind != OpKind::kFork) out.push_back(i);
    return out;
  }

  bool Ops() {
    bool any = false;
    size_t chunk = std::max<size_t>(1, Removable().size() / 2);
    for (;;) {
      std::vector<size_t> removable = Removable();
      for (size_t end = removable.size(); end > 0 && !Stopped();) {
        size_t start = end > chunk ? end - chunk : 0;
        std::vector<bool> keep(cur_.ops.size(), true);
        for (size_t k = start; k < end; k++) keep[removable[k]] = false;
        std::string what = end - start == 1
                               ? "removed op " + std::to_string(removable[start]) + " \"" +
                                     PrintOp(cur_.ops[removable[start]]) + "\""
                               : "removed ops " + std::to_string(removable[start]) + ".." +
                                     std::to_string(removable[end - 1]);
        if (Try(RemoveOps(cur_, keep), what)) {
          any = true;
          removable = Removable();
        }
        end = start;
      }
      if (chunk == 1 || Stopped()) break;
      chunk /= 2;
    }
    return any;
  }

  // A process's uffd_open and the uffd ops that use it, together.
  bool Uffd() {
    bool any = false;
    for (size_t i = 0; i < cur_.ops.size() && !Stopped(); i++) {
      if (cur_.ops[i].kind != OpKind::kUffdOpen) continue;
      int proc = cur_.ops[i].proc;
      std::vector<bool> keep(cur_.ops.size(), true);
      keep[i] = false;
      for (size_t k = i + 1; k < cur_.ops.size(); k++) {
        const Op& op = cur_.ops[k];
        if (op.proc != proc) continue;
        if (op.kind == OpKind::kUffdOpen) break;
        if (op.kind == OpKind::kUffdRegister || op.kind == OpKind::kUffdUnregister || op.kind == OpKind::kUffdWp)
          keep[k] = false;
      }
      if (Try(RemoveOps(cur_, keep), "removed the uffd setup of p" + std::to_string(proc) + " at op " +
                                         std::to_string(i))) {
        any = true;
        i--;  // the op now at i is a new one
      }
    }
    return any;
  }

  bool Simplify() {
    bool any = false;
    for (size_t i = 0; i < cur_.ops.size() && !Stopped(); i++) {
      bool changed = true;
      while (changed && !Stopped()) {
        changed = false;
        for (auto& [op, what] : SimplerOps(cur_.ops[i])) {
          Program cand = cur_;
          cand.ops[i] = op;
          SliceExpectation(cur_.ops[i], op, &cand.expect[i]);
          if (Try(cand, "op " + std::to_string(i) + " \"" + PrintOp(op) + "\": " + what)) {
            any = changed = true;
            break;
          }
        }
      }
    }
    return any;
  }

  bool Renumber() {
    std::vector<PageRange> used;
    for (const Op& op : cur_.ops)
      for (PageRange r : ArenaRanges(op)) used.push_back(r);
    if (used.empty()) return false;
    std::sort(used.begin(), used.end(), [](PageRange a, PageRange b) { return a.lo < b.lo; });
    std::vector<PageRange> merged;
    for (PageRange r : used) {
      if (!merged.empty() && r.lo <= merged.back().hi) merged.back().hi = std::max(merged.back().hi, r.hi);
      else merged.push_back(r);
    }
    bool aligned = UsesPmdAlignment(cur_);
    auto align = [&](uint32_t shift) { return aligned ? shift - shift % kPagesPerPmd : shift; };
    bool any = false;
    uint32_t delta = align(merged.front().lo);
    if (delta)
      any |= Try(MapPages(cur_, [delta](uint32_t p) { return p - delta; }),
                 "pages renumbered from " + std::to_string(delta) + " to 0");
    if (Stopped()) return any;
    // Gaps between used ranges down to one page each (kept apart, so VMAs
    // that did not touch still do not).
    std::vector<std::pair<uint32_t, uint32_t>> shifts;  // (range start, shift)
    uint32_t shift = 0;
    for (size_t k = 0; k < merged.size(); k++) {
      if (k > 0) {
        uint32_t gap = merged[k].lo - merged[k - 1].hi;
        if (gap > 1) shift += align(gap - 1);
      }
      shifts.push_back({merged[k].lo, shift});
    }
    if (shift == 0) return any;
    // Recomputed on the current program (the shift above may have been taken).
    if (any) return any;
    auto map = [&shifts](uint32_t p) {
      uint32_t s = 0;
      for (auto& [lo, sh] : shifts)
        if (p >= lo) s = sh;
      return p - s;
    };
    any |= Try(MapPages(cur_, map), "gaps between used ranges closed");
    return any;
  }

  Program cur_;
  std::function<bool(const Program&)> pred_;
  MinimizeStats* stats_;
  std::atomic<bool>* stop_;
  std::unordered_set<std::string> tried_;
};

}  // namespace

Program Minimize(const Program& prog, std::function<bool(const Program&)> still_fails, MinimizeStats* stats,
                 std::atomic<bool>* stop) {
  if (stats) stats->ops_before = prog.ops.size();
  Minimizer m(prog, std::move(still_fails), stats, stop);
  Program out = m.Run();
  if (stats) {
    stats->ops_after = out.ops.size();
    stats->interrupted = m.Stopped();
  }
  return out;
}

std::string MinimizeSignature(const Judgement& j) {
  if (j.kind != Judgement::Kind::kFail) return "";
  std::string sig = FindingSignature(j);
  if (FindingClass(j) != "expectation") return sig;
  // EXPECTATION op=3 "mmap 0 4 ..." kernel: page=2 bit=D observed=0 expected=1
  std::string line = j.line;
  size_t q = line.find('"');
  std::string op = q == std::string::npos ? "" : line.substr(q + 1, line.find_first_of(" \"", q + 1) - q - 1);
  size_t close = q == std::string::npos ? std::string::npos : line.find("\" ", q + 1);
  // The quoted op may itself hold '"' only at its ends; the rest names the side and the field.
  std::string rest = close == std::string::npos ? line : line.substr(close + 2);
  rest = std::regex_replace(rest, std::regex("page=[0-9]+ "), "");
  return sig + "|" + op + "|" + rest;
}

bool ModelAccepts(const Program& prog, const KernelProfile& profile, bool fully_modelled) {
  if (Validate(prog)) return false;
  if (prog.Requires() & ~profile.features) return false;
  if (!fully_modelled) return true;
  Trace t = PredictTrace(prog, profile);
  for (size_t i = 0; i < prog.ops.size(); i++)
    if (t.results[i].kind == ResultKind::kNone) return false;
  return true;
}

namespace {

}  // namespace

Program DropUnneededRequires(const Program& prog, const KernelProfile& profile,
                             const std::function<bool(const Program&)>& still_fails) {
  Program cur = prog;
  // prog/op_traits.h: a feature an op names stays required; `requires`
  // ops name none, so removals leave it as is.
  uint32_t named = FeaturesNamed(prog);
  for (size_t i = 0; i < cur.ops.size();) {
    bool op_removed = false;
    for (uint32_t f = 1; cur.ops[i].kind == OpKind::kRequires && f < (1u << kNumFeatures) && !op_removed; f <<= 1) {
      if (!(cur.ops[i].required_features & f) || (named & f)) continue;
      Program cand = cur;
      cand.ops[i].required_features &= ~f;
      Trace with = PredictTrace(cand, profile), without = PredictTrace(cand, WithoutFeature(profile, f));
      bool modelled = true;
      for (const Result& r : with.results) modelled &= r.kind != ResultKind::kNone;
      if (!modelled || !(with == without)) continue;
      bool empty = cand.ops[i].required_features == 0;
      if (empty) {
        std::vector<bool> keep(cand.ops.size(), true);
        keep[i] = false;
        cand = RemoveOps(cand, keep);
      }
      if (Validate(cand) || !still_fails(cand)) continue;
      cur = cand;
      op_removed = empty;
    }
    if (!op_removed) i++;
  }
  return cur;
}

// A pagemap read of the pages op `d` observes (a scan's range, an access's
// page), in its process, in place of op `d`.
Program PagemapInPlaceOf(const Program& prog, size_t d) {
  Program out = prog;
  const Op& op = prog.ops[d];
  Op read;
  read.kind = OpKind::kPagemap;
  read.proc = op.proc;
  read.page = op.page;
  read.npages = op.kind == OpKind::kScan ? op.npages : 1;
  out.ops[d] = read;
  out.expect[d] = Result{};
  return out;
}

bool MinimizeOnTarget(const Program& prog, Target* target, const KernelProfile& profile,
                      const TargetMinimizeOptions& options, MinimizeStats* stats, std::atomic<bool>* stop,
                      TargetMinimizeResult* out, std::string* err) {
  auto run = [&](const Program& p, Trace* t, Judgement* j, std::string* e) {
    for (int attempt = 0; attempt < 2; attempt++) {
      if (target->Run(p, t, e)) {
        *j = JudgeKernelRun(p, *t, profile);
        return true;
      }
    }
    return false;
  };
  Trace trace;
  Judgement j;
  if (!run(prog, &trace, &j, err)) return false;
  std::string sig = MinimizeSignature(j);
  if (sig.empty()) {
    *err = "the program does not fail on this target (" +
           std::string(j.kind == Judgement::Kind::kSkip ? "skipped: " + j.line
                                                        : j.line.empty() ? "PASS" : "PASS, " + j.line) +
           ")";
    return false;
  }
  // A divergence (or splat, hang) does not depend on the program's own
  // "=> RESULT" lines (the judgement checks them first: none failed); they
  // go, so that a candidate is not rejected for an expectation of a state
  // the reduction changed.
  Program start = prog;
  if (FindingClass(j) != "expectation")
    for (Result& r : start.expect) r = Result{};
  bool fully = ModelAccepts(start, profile, true);
  // The last program that still failed, with its judgement: the minimized
  // program's, which the observer substitution below starts from.
  Program last_failed = start;
  Judgement last_judgement = j;
  auto still_fails = [&](const Program& cand) {
    if (stop && stop->load()) return false;
    if (!ModelAccepts(cand, profile, fully)) return false;
    Trace t;
    Judgement cj;
    std::string e;
    if (!run(cand, &t, &cj, &e) || MinimizeSignature(cj) != sig) return false;
    last_failed = cand;
    last_judgement = cj;
    return true;
  };
  out->program = Minimize(start, still_fails, stats, stop);
  if (!(stop && stop->load())) {
    // The simplest observer of the same wrong state: where the diverging op
    // is a scan or an access (the fault it raised) and a pagemap read of its
    // pages in its place diverges there too, the finding is that read, and
    // its reproducer needs no PAGEMAP_SCAN machinery, no handler thread for
    // a fault's count. A scan-only or data-only wrong answer keeps its op.
    Trace t;
    Judgement cj = last_judgement;
    std::string e;
    bool judged = out->program == last_failed ||
                  (run(out->program, &t, &cj, &e) && MinimizeSignature(cj) == sig);
    if (FindingClass(j) != "expectation" && judged && cj.verdict.divergence) {
      const Divergence& dv = *cj.verdict.divergence;
      size_t d = dv.op_index;
      OpKind k = d < out->program.ops.size() ? out->program.ops[d].kind : OpKind::kRequires;
      // An access only where the fault it raised is all that differs: a byte
      // read back wrong or a signal is the finding itself, and more than any
      // pagemap bit behind it.
      const Result &kr = dv.kernel, &mr = dv.model.expected;
      bool fault_only = kr.kind == mr.kind && kr.value == mr.value && kr.err == mr.err &&
                        kr.signal == mr.signal && kr.uffd_faults != mr.uffd_faults;
      Program cand = k == OpKind::kScan || ((k == OpKind::kRead || k == OpKind::kWrite) && fault_only)
                         ? PagemapInPlaceOf(out->program, d)
                         : out->program;
      Trace ct;
      Judgement pj;
      if (!(cand == out->program) && !Validate(cand) && ModelAccepts(cand, profile, fully) &&
          run(cand, &ct, &pj, &e) && pj.verdict.divergence && pj.verdict.divergence->op_index == d &&
          !MinimizeSignature(pj).empty()) {
        sig = MinimizeSignature(pj);
        if (stats && stats->on_step) stats->on_step("op " + std::to_string(d) + " observed through pagemap", cand);
        size_t before = stats ? stats->ops_before : 0;
        out->program = Minimize(cand, still_fails, stats, stop);
        if (stats) stats->ops_before = before;
      }
    }
    out->program = DropUnneededRequires(out->program, profile, still_fails);
    if (stats) stats->ops_after = out->program.ops.size();
  }
  out->signature = sig;
  out->trace = trace;
  out->judgement = j;
  out->reproduced = 0;
  out->runs = 0;
  if (stop && stop->load()) {
    if (out->program == start) return true;
    // Interrupted: one run, for the judgement of what is written.
    Trace t;
    Judgement cj;
    std::string e;
    if (run(out->program, &t, &cj, &e)) {
      out->trace = t;
      out->judgement = cj;
    }
    return true;
  }
  bool have = false;
  for (int r = 0; r < options.confirm_runs; r++) {
    Trace t;
    Judgement cj;
    std::string e;
    if (!run(out->program, &t, &cj, &e)) continue;
    out->runs++;
    bool same = MinimizeSignature(cj) == sig;
    out->reproduced += same;
    if (!have || (same && MinimizeSignature(out->judgement) != sig)) {
      out->trace = t;
      out->judgement = cj;
      have = true;
    }
  }
  if (out->runs < options.confirm_runs) out->runs = options.confirm_runs;  // a target failure counts as a miss
  return true;
}

}  // namespace mmdiff
