#include "fuzz/report.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include <sys/utsname.h>

#include "fuzz/repro.h"
#include "fuzz/repro_fmt.h"
#include "fuzz/repro_uapi.h"
#include "model/checker.h"
#include "model/picture.h"
#include "model/replay.h"
#include "prog/op_table.h"
#include "prog/op_traits.h"
#include "prog/text.h"

namespace mmdiff {
using repro_detail::AdviceC;
using repro_detail::Fmt;
namespace {

constexpr char kSoftDirtyRst[] = "Documentation/admin-guide/mm/soft-dirty.rst";
constexpr char kPagemapRst[] = "Documentation/admin-guide/mm/pagemap.rst";
constexpr char kUserfaultfdRst[] = "Documentation/admin-guide/mm/userfaultfd.rst";

// The sentences, verbatim (torvalds/linux; docs/CONTRACT.md §1 names the versions).
constexpr char kSdTracking[] =
    "1. Clear soft-dirty bits from the task's PTEs. This is done by writing \"4\" into the "
    "``/proc/PID/clear_refs`` file of the task in question. [...] 3. Read soft-dirty bits from the PTEs. "
    "This is done by reading from the ``/proc/PID/pagemap``. The bit 55 of the 64-bit qword is the soft-dirty "
    "one. If set, the respective PTE was written to since step 1.";
constexpr char kSdNewRegions[] =
    "To notify user space application about such memory region renewal the kernel always marks new memory "
    "regions (and expanded regions) as soft dirty.";
constexpr char kPmBit55[] = "Bit  55    pte is soft-dirty (see Documentation/admin-guide/mm/soft-dirty.rst)";
constexpr char kPmBit56[] = "Bit  56    page exclusively mapped (since 4.2)";
constexpr char kPmBit57[] =
    "Bit  57    pte is uffd-wp write-protected (since 5.13) (see Documentation/admin-guide/mm/userfaultfd.rst)";
constexpr char kPmBit58[] = "Bit  58    pte is a guard region (since 6.15) (see madvise (2) man page)";
constexpr char kPmBit61[] = "Bit  61    page is file-page or shared-anon (since 3.5)";
constexpr char kPmBit62[] = "Bit  62    page swapped";
constexpr char kPmBit63[] = "Bit  63    page present";
constexpr char kPmScan[] =
    "Scan the address range and get the memory ranges matching the provided criteria. This is performed when "
    "the output buffer is specified.";
constexpr const char* kPmCategory[] = {
    "``PAGE_IS_WPALLOWED`` - Page has async-write-protection enabled",
    "``PAGE_IS_WRITTEN`` - Page has been written to from the time it was write protected",
    "``PAGE_IS_FILE`` - Page is file backed",
    "``PAGE_IS_PRESENT`` - Page is present in the memory",
    "``PAGE_IS_SWAPPED`` - Page is in swapped",
    "``PAGE_IS_PFNZERO`` - Page has zero PFN",
    "``PAGE_IS_HUGE`` - Page is PMD-mapped THP or Hugetlb backed",
    "``PAGE_IS_SOFT_DIRTY`` - Page is soft-dirty",
};
constexpr char kUffdAsync[] =
    "In async mode, there will be no message generated when a write operation happens, meanwhile the "
    "write-protection will be resolved automatically by the kernel.";
constexpr char kUffdAsyncCollect[] =
    "The user app can collect the \"written/dirty\" status by looking up the uffd bit for the pages being "
    "interested in /proc/pagemap.";
constexpr char kUffdAsyncZap[] =
    "For example: ``MADV_DONTNEED`` on anonymous (or ``MADV_REMOVE`` on a file mapping) will be treated as "
    "dirtying of memory by dropping the uffd bit during the procedure.";
constexpr char kUffdFileNone[] =
    "For file-backed memories like shmem and hugetlbfs, none ptes will be write protected just like a present "
    "pte.  In other words, there will be a userfaultfd write fault message generated when writing to a missing "
    "page on file typed memories, as long as the page range was write-protected before.";
constexpr char kUffdWpFault[] =
    "Then, in the thread reading from uffd the struct will have ``msg.arg.pagefault.flags & "
    "UFFD_PAGEFAULT_FLAG_WP`` set.";
constexpr char kUffdUnpopulated[] =
    "On newer kernels, one can also detect the feature UFFD_FEATURE_WP_UNPOPULATED and set the feature bit in "
    "advance to make sure none ptes will also be write protected even upon anonymous memory.";

std::vector<std::string> SignatureFields(const std::string& sig) {
  std::vector<std::string> f;
  std::stringstream ss(sig);
  std::string part;
  while (std::getline(ss, part, '|')) f.push_back(part);
  return f;
}

// The memory kind of the divergence ("anon-private"), or "".
std::string DivergenceMemKind(const Judgement& j) {
  // An inconsistency's signature names no memory kind (model/consistency.cc).
  if (!j.verdict.divergence || j.verdict.divergence->cls == DivergenceClass::kInconsistent) return "";
  auto f = SignatureFields(j.verdict.divergence->signature);
  return f.size() > 4 ? f[4] : "";
}

std::string StripStep(const std::string& after) {
  size_t at = after.rfind(" at step ");
  return at == std::string::npos ? after : after.substr(0, at);
}

// Wraps `text` at `width` columns, each line prefixed by `indent`.
// Text up to `verbatim` columns stays one line as it is (a quoted table row keeps its spacing).
std::string Wrap(const std::string& text, size_t width, const std::string& indent, size_t verbatim = 0) {
  if (text.size() <= verbatim) return indent + text + "\n";
  std::istringstream in(text);
  std::string word, line, out;
  while (in >> word) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += indent + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  if (!line.empty()) out += indent + line + "\n";
  return out;
}

std::string IndentLines(const std::string& text, const std::string& indent) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out += line.empty() ? "\n" : indent + line + "\n";
  return out;
}

std::string OpIndexOf(const Judgement& j, size_t* index) {
  std::smatch m;
  if (!std::regex_search(j.line, m, std::regex("op=([0-9]+)"))) return "";
  *index = std::stoul(m[1]);
  return m[1];
}

}  // namespace

std::vector<DocQuote> DocumentationFor(const Program& prog, const Judgement& j) {
  std::vector<DocQuote> q;
  // A divergence, or a failed "=> RESULT" the model diverges on as well.
  if (!j.verdict.divergence) return q;
  const Divergence& d = *j.verdict.divergence;
  ReproCheck c = CheckFromDivergence(prog, d);
  const Op& op = prog.ops[d.op_index];
  bool async = d.where.find("wp-async") != std::string::npos;
  std::string kind = DivergenceMemKind(j);
  bool file_like = kind.rfind("anon-private", 0) != 0 && kind != "unmapped";
  switch (d.cls) {
    case DivergenceClass::kMissedDirty:
    case DivergenceClass::kSpuriousDirty:
      if (c.single_bit && c.value &&
          (c.because.find("mapped anew") != std::string::npos || c.because.find("moved") != std::string::npos ||
           c.because.find("new mapping") != std::string::npos))
        q.push_back({kSoftDirtyRst, kSdNewRegions});
      q.push_back({kSoftDirtyRst, kSdTracking});
      q.push_back({kPagemapRst, kPmBit55});
      break;
    case DivergenceClass::kWrongWp:
      if (!c.single_bit) {  // a uffd-wp fault taken or not
        q.push_back({kUserfaultfdRst, async ? kUffdAsync : kUffdWpFault});
        if (file_like) q.push_back({kUserfaultfdRst, kUffdFileNone});
        break;
      }
      q.push_back({kPagemapRst, kPmBit57});
      if (async) {
        q.push_back({kUserfaultfdRst, kUffdAsync});
        q.push_back({kUserfaultfdRst, kUffdAsyncCollect});
        if (c.because.find("MADV_DONTNEED") != std::string::npos || c.because.find("MADV_REMOVE") != std::string::npos)
          q.push_back({kUserfaultfdRst, kUffdAsyncZap});
      } else if (file_like) {
        q.push_back({kUserfaultfdRst, kUffdFileNone});
      } else {
        q.push_back({kUserfaultfdRst, kUffdUnpopulated});
      }
      break;
    case DivergenceClass::kKernelDiffers:  // two kernels: no one documentation sentence
      break;
    case DivergenceClass::kInconsistent:
      q.push_back({kPagemapRst, kPmScan});
      [[fallthrough]];  // and the bit where the contract's value differs
    case DivergenceClass::kWrongPagemap:
      if (c.single_bit) {
        switch (c.bit) {
          case 'P': q.push_back({kPagemapRst, kPmBit63}); break;
          case 'S': q.push_back({kPagemapRst, kPmBit62}); break;
          case 'F': q.push_back({kPagemapRst, kPmBit61}); break;
          case 'X': q.push_back({kPagemapRst, kPmBit56}); break;
          case 'G': q.push_back({kPagemapRst, kPmBit58}); break;
          default: break;
        }
      }
      break;
    case DivergenceClass::kWrongScan: {
      q.push_back({kPagemapRst, kPmScan});
      uint32_t cats = op.scan_req | op.scan_any | op.scan_inv | ((op.flags & kFlagHasRet) ? op.scan_ret : 0);
      for (size_t b = 0; b < std::size(kPmCategory); b++)
        if (cats & (1u << b)) q.push_back({kPagemapRst, kPmCategory[b]});
      if (async) q.push_back({kUserfaultfdRst, kUffdAsync});
      break;
    }
    case DivergenceClass::kWrongErrno: case DivergenceClass::kDataCorruption: case DivergenceClass::kWrongFault:
    case DivergenceClass::kWrongResult: case DivergenceClass::kHang: case DivergenceClass::kLost:
      break;
  }
  return q;
}

namespace {

// The kernel file a step's system call lands in, for the subject: the list's
// "mm/mprotect: ..." style.
std::string Subsystem(const Op& op) {
  std::string call = GetOpInfo(op.kind).syscall;
  if (call.find("UFFDIO") != std::string::npos || call == "userfaultfd") return "mm/userfaultfd";
  if (call.find("/proc/self") != std::string::npos || call.find("PAGEMAP_SCAN") != std::string::npos)
    return "fs/proc/task_mmu";
  if (call == "mprotect" || call == "mremap" || call == "madvise") return "mm/" + call;
  if (call == "mmap" || call == "munmap") return "mm/vma";
  if (call == "fork") return "kernel/fork";
  if (op.kind == OpKind::kFpunch || op.kind == OpKind::kFtruncate || op.kind == OpKind::kFwrite) return "mm/shmem";
  return "mm/memory";  // a load or a store: the fault path
}

// What the cause step did to the page, for the subject: "mprotect() changes a
// neighbouring VMA", "a store faults the page in".
std::string CauseClause(const Op& op, bool names_page) {
  std::string call = GetOpInfo(op.kind).syscall;
  if (op.kind == OpKind::kRead || op.kind == OpKind::kWrite) return call + " faults the page in";
  if (op.kind == OpKind::kFork) return "fork() copies the page";
  size_t paren = call.find('(');
  std::string name = paren == std::string::npos ? call + "()"
                     : call.rfind("ioctl", 0) == 0 ? call.substr(paren + 1, call.size() - paren - 2)
                                                   : call;
  if (op.kind == OpKind::kMadvise) name = std::string(AdviceC(op.advice));
  if (!names_page && !OpRanges(op).empty()) return name + " changes a neighbouring VMA";
  return name + " runs on the page";
}

}  // namespace

std::string ReportSubject(const Program& prog, const Judgement& j, size_t cause, size_t prev) {
  if (j.line.rfind("KERNEL-SPLAT ", 0) == 0) return "mm: " + j.line.substr(13);
  size_t index = 0;
  if (OpIndexOf(j, &index).empty() || index >= prog.ops.size()) return "mm: " + j.line;
  const Op& op = prog.ops[index];
  std::string name = GetOpInfo(op.kind).name;
  if (!j.verdict.divergence) {
    std::smatch m;
    if (j.line.rfind("EXPECTATION", 0) != 0) return "mm: " + j.line;
    std::string call = op.kind == OpKind::kMadvise ? std::string(AdviceC(op.advice)) : GetOpInfo(op.kind).syscall;
    if (!std::regex_search(j.line, m, std::regex("observed=\"([^\"]*)\" expected=\"([^\"]*)\"")))
      return Subsystem(op) + ": " + call + " does not give the documented result";
    if (m[1] == "hang") return Subsystem(op) + ": " + call + " never returns";
    return Subsystem(op) + ": " + call + " gives \"" + std::string(m[1]) + "\" instead of \"" + std::string(m[2]) + "\"";
  }
  const Divergence& d = *j.verdict.divergence;
  std::string kind = DivergenceMemKind(j);
  std::string on = kind.empty() ? "" : " (" + kind + ")";
  ReproCheck c = CheckFromDivergence(prog, d);
  // The step that last changed the page in the model names the subsystem and the clause.
  const Op& by = cause < index ? prog.ops[cause] : op;
  bool names_page = c.single_bit ? OpNamesPage(by, c.page) : true;
  std::string when = cause < index ? " when " + CauseClause(by, names_page)
                                   : " after " + (c.after.empty() ? name : StripStep(c.after));
  std::string sys = Subsystem(by);
  // An access does what the state before it says: name the step that made that state.
  if (cause < index && (by.kind == OpKind::kRead || by.kind == OpKind::kWrite) && prev < cause) {
    std::string call = GetOpInfo(prog.ops[prev].kind).syscall;
    size_t paren = call.find('(');
    if (call.rfind("ioctl", 0) == 0 && paren != std::string::npos) call = call.substr(paren + 1, call.size() - paren - 2);
    when = std::string(" on ") + (by.kind == OpKind::kWrite ? "a store" : "a load") + " after " + call;
    sys = Subsystem(prog.ops[prev]);
  }
  std::string k = PrintResult(op, d.kernel), m = d.model.expected.kind == ResultKind::kNone
                                                    ? "?"
                                                    : PrintResult(op, WithoutQuirks(d.model).expected);
  switch (d.cls) {
    case DivergenceClass::kMissedDirty: return sys + ": soft-dirty lost" + when + on;
    case DivergenceClass::kSpuriousDirty: return sys + ": soft-dirty set without a write" + when + on;
    case DivergenceClass::kWrongWp:
      if (c.single_bit) return sys + ": uffd-wp bit " + (c.value ? "lost" : "left set") + when + on;
      return "mm/userfaultfd: " + name + " gives \"" + k + "\" instead of \"" + m + "\"" + on;
    case DivergenceClass::kWrongPagemap:
      if (c.single_bit)
        return "fs/proc/task_mmu: pagemap " + PagemapBitName(c.bit) + " bit " + (c.value ? "clear" : "set") + when + on;
      return "fs/proc/task_mmu: wrong pagemap entries" + when + on;
    case DivergenceClass::kWrongScan: return "fs/proc/task_mmu: PAGEMAP_SCAN reports wrong regions" + when + on;
    case DivergenceClass::kWrongErrno:
    case DivergenceClass::kWrongFault:
    case DivergenceClass::kWrongResult:
      // Refused after a step that changed its pages: that step's subsystem.
      if (cause < index)
        return sys + ": " + name + " gives \"" + k + "\" instead of \"" + m + "\" after " +
               CauseClause(by, true).substr(0, CauseClause(by, true).find(' ')) + on;
      return Subsystem(op) + ": " + name + " gives \"" + k + "\" instead of \"" + m + "\"" + on;
    case DivergenceClass::kDataCorruption: return sys + ": a read gives \"" + k + "\" instead of \"" + m + "\"" + when + on;
    case DivergenceClass::kHang: return Subsystem(op) + ": " + name + " hangs" + on;
    case DivergenceClass::kLost: return Subsystem(op) + ": the process dies in " + name + on;
    case DivergenceClass::kInconsistent:
      // The relation its check found broken (CheckFromDivergence).
      if (c.consistency == "mask") return "fs/proc/task_mmu: PAGEMAP_SCAN's filter disagrees with its unfiltered answer" + on;
      if (c.consistency == "huge") return "fs/proc/task_mmu: PAGEMAP_SCAN's huge pages disagree with smaps" + on;
      if (c.consistency == "split")
        return "fs/proc/task_mmu: PAGEMAP_SCAN resumed at walk_end disagrees with one unsplit scan" + on;
      return "fs/proc/task_mmu: pagemap and PAGEMAP_SCAN disagree after " +
             (c.after.empty() ? name : StripStep(c.after)) + on;
    case DivergenceClass::kKernelDiffers: return "mm: " + name + " answers differently on two kernels" + on;
  }
  return "mm: " + j.line;
}

std::string ReportSubject(const Program& prog, const Judgement& j) {
  return ReportSubject(prog, j, SIZE_MAX, SIZE_MAX);
}

bool PicturesAround(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t op_index,
                    std::string* before, std::string* after, const PageRange* only) {
  if (op_index >= prog.ops.size() || op_index >= trace.results.size()) return false;
  Model m(profile);
  if (Replay(prog, &trace, profile, nullptr, op_index, &m).why != ReplayEnd::Why::kEnd) return false;
  const Op& op = prog.ops[op_index];
  uint32_t n = op.kind == OpKind::kMremap ? std::max(op.npages, op.new_npages) : op.npages;
  uint32_t lo, hi;
  PictureRange(m, op.proc, op.page, n, 72, &lo, &hi);  // mail width
  if (only) lo = only->lo, hi = only->lo + only->n;
  *before = DrawAddressSpace(m, op.proc, lo, hi);
  *after = m.Advance(op, op_index).unmodelled.empty() ? DrawAddressSpace(m, op.proc, lo, hi) : "";
  return true;
}

namespace {

// The pages a report draws: where the kernel's pagemap differs from the
// contract's, else the checked page, else the op's range (at most 8 pages).
PageRange DivergedPages(const Program& prog, const Judgement& j, size_t index) {
  const Op& op = prog.ops[index];
  if (j.verdict.divergence) {
    const Divergence& d = *j.verdict.divergence;
    Result want = WithoutQuirks(d.model).expected;
    if (d.kernel.kind == ResultKind::kPagemap && want.kind == ResultKind::kPagemap &&
        want.pagemap.size() == d.kernel.pagemap.size()) {
      uint32_t lo = UINT32_MAX, hi = 0;
      for (size_t k = 0; k < want.pagemap.size(); k++) {
        Result a = want, b = d.kernel;
        a.pagemap = {want.pagemap[k]}, b.pagemap = {d.kernel.pagemap[k]};
        a.either = {k < want.either.size() ? want.either[k] : 0}, b.either.clear();
        if (!ResultMatches(a, b)) lo = std::min<uint32_t>(lo, op.page + k), hi = op.page + k + 1;
      }
      if (lo < hi) return {lo, std::min(hi - lo, 8u)};
    }
  }
  std::vector<PageRange> r = OpRanges(op);
  if (r.empty() || r[0].n == 0 || r[0].n > 4096) return {op.page, 1};
  return {r[0].lo, std::min(r[0].n, 8u)};
}

// The cause, by the model: the last step before `index` that changed what the
// model holds for `pages` in the diverging op's process (its VMAs, PTEs and
// their bits), the model following the kernel's answers. SIZE_MAX: none did.
size_t CauseStep(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t index, PageRange pages,
                 std::string* before, std::string* after, size_t* prev) {
  // Before its fork a process's pages are its parent's; the fork that makes
  // it changes them (a copy of each PTE, mm/memory.c copy_page_range()).
  struct Watch : ReplayVisitor {
    int proc;
    Lineage lineage;
    PageRange pages;
    std::string last;
    size_t cause = SIZE_MAX, prev = SIZE_MAX;
    std::string before, after;
    std::string Draw(const Model& m) const {
      int p = proc;
      while (p > 0 && static_cast<size_t>(p) >= m.state().procs.size()) p = lineage.parent[p];
      return DrawAddressSpace(m, p, pages.lo, pages.lo + pages.n);
    }
    bool Before(const Model& m, const ReplayStep&) override {
      last = Draw(m);
      return true;
    }
    void After(const Model& m, const ReplayStep& s) override {
      std::string now = Draw(m);
      bool made = proc > 0 && s.op.kind == OpKind::kFork && s.index == lineage.fork_at[proc];
      if (now != last || made) prev = cause, cause = s.index, before = last, after = now;
    }
  } w;
  w.proc = prog.ops[index].proc;
  w.lineage = LineageOf(prog);
  w.pages = pages;
  Replay(prog, &trace, profile, &w, index, nullptr, ReplayMissing::kContract);
  *before = w.before;
  *after = w.after;
  *prev = w.prev;
  return w.cause;
}

// Two pictures of the same few pages side by side, one row per line, rows
// that hold nothing in either left out.
std::string SideBySide(const std::string& before, const std::string& after, const std::string& left,
                       const std::string& right) {
  auto rows = [](const std::string& pic) {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(pic);
    std::string line;
    std::getline(in, line);  // "p0 pages [lo,hi)"
    while (std::getline(in, line)) {
      size_t sp = line.find(' ');
      std::string label = line.substr(0, sp), cells = sp == std::string::npos ? "" : line.substr(6);
      out.push_back({label, cells});
    }
    return out;
  };
  auto b = rows(before), a = rows(after);
  size_t w = std::max<size_t>(left.size(), b.empty() ? 0 : b[0].second.size()) + 3;
  std::string out = "  " + std::string(6, ' ') + left + std::string(w - left.size(), ' ') + right + "\n";
  for (size_t i = 0; i < std::max(a.size(), b.size()); i++) {
    std::string label = i < b.size() ? b[i].first : a[i].first;
    std::string l = i < b.size() ? b[i].second : "", r = i < a.size() ? a[i].second : "";
    auto empty = [](const std::string& c) { return c.find_first_not_of(". ") == std::string::npos; };
    if (label != "page" && empty(l) && empty(r)) continue;
    l.resize(std::max(l.size(), w), ' ');
    out += "  " + label + std::string(label.size() < 6 ? 6 - label.size() : 1, ' ') + l + r + "\n";
  }
  return out;
}

// The config options that matter to the program, from the probe.
std::string ConfigLine(const Program& prog, const KernelFeatures& f, const Judgement& j) {
  bool sd = prog.Requires() & (kFeatSoftDirty | kFeatScanSoftDirty), uffd = false, scan = false, guard = false;
  for (const Op& op : prog.ops) {
    sd |= op.kind == OpKind::kClearRefs;
    uffd |= op.kind == OpKind::kUffdOpen;
    scan |= op.kind == OpKind::kScan;
    guard |= op.kind == OpKind::kMadvise && (op.advice == Advice::kGuardInstall || op.advice == Advice::kGuardRemove);
  }
  if (j.verdict.divergence)
    sd |= j.verdict.divergence->cls == DivergenceClass::kMissedDirty ||
          j.verdict.divergence->cls == DivergenceClass::kSpuriousDirty;
  std::vector<std::string> c;
  if (sd) c.push_back((f.features & kFeatSoftDirty) ? "CONFIG_MEM_SOFT_DIRTY=y" : "CONFIG_MEM_SOFT_DIRTY is not set");
  if (uffd) {
    std::string u = (f.features & kFeatUffdWp) ? "CONFIG_USERFAULTFD=y, CONFIG_PTE_MARKER_UFFD_WP=y" : "CONFIG_USERFAULTFD";
    if (f.features & kFeatWpAsync) u += " (UFFD_FEATURE_WP_ASYNC)";
    c.push_back(u);
  }
  if (scan) c.push_back(std::string("PAGEMAP_SCAN ") + ((f.features & kFeatPagemapScan) ? "yes" : "no"));
  if (guard) c.push_back(std::string("guard regions ") + ((f.features & kFeatGuard) ? "yes" : "no"));
  c.push_back("THP " + (f.thp_mode.empty() ? std::string("unknown") : f.thp_mode));
  std::string out;
  for (const std::string& s : c) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string Machine() {
  struct utsname u;
  return uname(&u) == 0 ? u.machine : "unknown";
}

}  // namespace

std::string WriteReport(const ReportInput& in) {
  const Program& prog = in.prog;
  const Judgement& j = in.judgement;
  size_t index = 0;
  bool have_op = !OpIndexOf(j, &index).empty() && index < prog.ops.size();
  ReproSpec spec = SpecForJudgement(prog, j);
  PageRange pages = have_op ? DivergedPages(prog, j, index) : PageRange{};
  std::string before, after;
  // A step that only looks (pagemap, a scan, a read's byte) shows what an
  // earlier step did, and so does one refused where it should work (an
  // ENOENT of an unregistered range): the cause is in the history. A step
  // that works where it should be refused, or answers otherwise, is its own.
  bool refused = false;
  if (have_op && index < in.trace.results.size()) {
    const Result& got = j.verdict.divergence ? j.verdict.divergence->kernel : in.trace.results[index];
    ResultKind want = j.verdict.divergence ? WithoutQuirks(j.verdict.divergence->model).expected.kind
                                           : prog.expect[index].kind;
    refused = got.kind == ResultKind::kErr && want == ResultKind::kOk;
  }
  // The kernel against itself where the contract alone cannot tell: the
  // observing step's two answers are the finding.
  bool inconsistent = spec.checks.size() == 1 && !spec.checks[0].consistency.empty();
  bool looks = have_op && !inconsistent &&
               (Observes(prog.ops[index]) || prog.ops[index].kind == OpKind::kRead || refused);
  size_t prev = SIZE_MAX;  // the change before the cause's
  size_t cause = looks ? CauseStep(prog, in.trace, in.profile, index, pages, &before, &after, &prev) : SIZE_MAX;

  std::string r;
  // A self-test finding must never read as a kernel bug report.
  if (in.profile.mutant != Mutant::kNone)
    r += "Subject: [SELF-TEST model mutant " + std::string(MutantName(in.profile.mutant)) + ", not a kernel bug] " +
         ReportSubject(prog, j, cause, prev) + "\n\n";
  else
    r += "Subject: [BUG] " + ReportSubject(prog, j, cause, prev) + "\n\n";
  r += "Kernel: " + in.features.release + " (" + Machine() + ")\n";
  r += Wrap("Config: " + ConfigLine(prog, in.features, j), 76, "") + "\n";

  r += "Expected\n--------\n";
  for (const ReproCheck& c : spec.checks) {
    const Op& op = prog.ops[c.op_index];
    std::string s;
    if (c.single_bit)
      s = "Page " + std::to_string(c.page) + (DivergenceMemKind(j).empty() ? "" : " (" + DivergenceMemKind(j) + ")") +
          " must read " + PagemapBitName(c.bit) + " " + (c.value ? "1" : "0") + " at step " +
          std::to_string(c.op_index) + " (" + PrintOp(op) + ")" + (c.because.empty() ? "." : ": " + c.because + ".");
    else if (!c.consistency.empty())
      s = "Step " + std::to_string(c.op_index) + " (" + PrintOp(op) + ") must agree with a second look: " +
          c.because + ".";
    else if (!c.allowed.empty())
      s = "Step " + std::to_string(c.op_index) + " (" + PrintOp(op) + ") must give \"" +
          PrintResult(op, c.allowed[0]).substr(0, 200) + "\"" +
          (c.allowed.size() > 1 ? " (or another allowed result)" : "") +
          (c.because.empty() ? "." : ": " + c.because + ".");
    r += Wrap(s, 76, "");
  }
  if (spec.checks.empty()) r += "No kernel warning, oops or hang while running the steps below.\n";
  std::vector<DocQuote> docs = DocumentationFor(prog, j);
  if (docs.size() > 2) docs.resize(2);  // the sentences that say it; the rest are in the files
  for (const DocQuote& d : docs) r += d.file + ":\n" + Wrap("\"" + d.text + "\"", 74, "  ", 96);
  if (docs.empty() && j.verdict.divergence)
    r += "(No admin-guide sentence states this result; the model follows the man page\nand the kernel's selftests.)\n";

  r += "\nWhat happened\n-------------\n";
  if (j.verdict.divergence && have_op) {
    const Divergence& d = *j.verdict.divergence;
    const Op& op = prog.ops[d.op_index];
    r += "step " + std::to_string(d.op_index) + ": " + PrintOp(op) + "\n";
    r += "  kernel   => " + PrintResult(op, d.kernel).substr(0, 300) + "\n";
    if (inconsistent) {  // what the second look saw: the line after its quoted op
      size_t q = d.line.find('"'), close = q == std::string::npos ? q : d.line.find("\" ", q + 1);
      r += Wrap("and then " + (close == std::string::npos ? d.line : d.line.substr(close + 2)).substr(0, 400), 76, "  ");
    }
    Result want = WithoutQuirks(d.model).expected;
    bool either = false;
    for (uint64_t e : want.either) either |= e != 0;
    if (!inconsistent)
      r += "  expected => " + PrintResult(op, want).substr(0, 300) + (either ? "   ('?': either)" : "") + "\n";
  } else {
    r += Wrap(j.line.substr(0, 400), 76, "");
  }
  if (in.runs > 0) r += "Reproduced " + std::to_string(in.reproduced) + " of " + std::to_string(in.runs) + " runs.\n";
  if (!in.trace.console.empty()) r += "Console:\n" + IndentLines(in.trace.console, "  ");
  if (have_op) {
    std::string what = pages.n == 1 ? "page " + std::to_string(pages.lo)
                                    : Fmt("pages %u-%u", pages.lo, pages.lo + pages.n - 1);
    if (!looks) {
      r += Wrap("Cause: step " + std::to_string(index) + " itself, whose answer is the finding.", 76, "");
    } else if (cause == SIZE_MAX) {
      r += Wrap("Cause: no earlier step changed " + what + " in the model: step " + std::to_string(index) +
                    " itself is where the kernel and the documentation part.",
                76, "");
    } else {
      std::string s = "Cause: step " + std::to_string(cause) + " (" + PrintOp(prog.ops[cause]) +
                      ") is the last step that changed " + what + " before step " + std::to_string(index) +
                      (prev == SIZE_MAX ? std::string()
                                        : ", after step " + std::to_string(prev) + " (" + PrintOp(prog.ops[prev]) + ")") +
                      ".";
      for (const ReproCheck& c : spec.checks)
        if (c.single_bit && !c.because.empty() && c.because.rfind("the model requires", 0) != 0)
          s += " The model requires " + PagemapBitName(c.bit) + " " + (c.value ? "1" : "0") + " there: " + c.because +
               ".";
      r += Wrap(s, 76, "");
    }
  }

  r += "\nSteps (.mmp; page N is 0x100000000000 + N * 4096), the kernel's answers\n-----\n";
  for (size_t i = 0; i < prog.ops.size(); i++) {
    const Op& op = prog.ops[i];
    std::string line = Fmt("%3zu: ", i) + PrintOp(op);
    if (i < in.trace.results.size() && in.trace.results[i].kind != ResultKind::kNone)
      line += "  => " + PrintResult(op, in.trace.results[i]).substr(0, 60);
    if (have_op && i == index) line += "   <- differs";
    else if (i == cause) line += "   <- cause";
    r += line + "\n";
  }

  if (have_op) {
    std::string where = Fmt("pages [%u,%u)", pages.lo, pages.lo + pages.n);
    if (cause != SIZE_MAX) {
      r += "\n" + where + " in the model, before and after step " + std::to_string(cause) + ":\n";
      r += SideBySide(before, after, "before", "after");
    } else if (PicturesAround(prog, in.trace, in.profile, index, &before, &after, &pages)) {
      r += "\n" + where + " in the model, before step " + std::to_string(index) +
           (after.empty() ? ":\n" : " and after it as documented:\n");
      r += SideBySide(before, after, "before", after.empty() ? "" : "after");
    }
    r += "(vma: a anon, s shmem, m memfd, f file, upper case: first page; vmasd: VM_SOFTDIRTY; uffd: w/a wp;\n"
         " pte: a anon, c cache, z zero, m marker, s swap; sd/wp: PTE bits; excl: mapped once)\n";
  }

  // The kernel and the runs that reproduced it are the report's own lines.
  if (in.profile.mutant != Mutant::kNone) spec.self_test = MutantName(in.profile.mutant);
  spec.scan_categories = in.features.scan_categories;
  r += "\nReproducer\n----------\n";
  r += WriteReproC(prog, spec);
  r += "-- \nFound by mmdiff: the kernel against a model of its documented memory tracking.\n";
  return r;
}

}  // namespace mmdiff
