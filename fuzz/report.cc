#include "fuzz/report.h"

#include <algorithm>
#include <regex>
#include <sstream>

#include "fuzz/repro.h"
#include "model/checker.h"
#include "model/picture.h"
#include "model/replay.h"
#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff {
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
  if (!j.verdict.divergence || j.line.rfind("DIVERGENCE", 0) != 0) return q;
  const Divergence& d = *j.verdict.divergence;
  ReproCheck c = CheckFromDivergence(prog, d);
  const Op& op = prog.ops[d.op_index];
  bool async = d.signature.find("wp-async") != std::string::npos;
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

std::string ReportSubject(const Program& prog, const Judgement& j) {
  if (j.line.rfind("KERNEL-SPLAT ", 0) == 0) return "mm: " + j.line.substr(13);
  size_t index = 0;
  if (OpIndexOf(j, &index).empty() || index >= prog.ops.size()) return "mm: " + j.line;
  const Op& op = prog.ops[index];
  std::string name = GetOpInfo(op.kind).name;
  if (j.line.rfind("EXPECTATION", 0) == 0) return "mm: " + name + " does not give the documented result";
  if (!j.verdict.divergence) return "mm: " + j.line;
  const Divergence& d = *j.verdict.divergence;
  std::string kind = DivergenceMemKind(j);
  std::string on = kind.empty() ? "" : " (" + kind + ")";
  ReproCheck c = CheckFromDivergence(prog, d);
  std::string after = c.after.empty() ? name : StripStep(c.after);
  std::string k = PrintResult(op, d.kernel), m = d.model.expected.kind == ResultKind::kNone
                                                    ? "?"
                                                    : PrintResult(op, WithoutQuirks(d.model).expected);
  switch (d.cls) {
    case DivergenceClass::kMissedDirty: return "mm: soft-dirty bit lost after " + after + on;
    case DivergenceClass::kSpuriousDirty: return "mm: soft-dirty bit set without a write after " + after + on;
    case DivergenceClass::kWrongWp:
      if (c.single_bit)
        return std::string("mm/userfaultfd: uffd-wp bit ") + (c.value ? "missing" : "still set") + " after " +
               after + on;
      return "mm/userfaultfd: " + name + " gives \"" + k + "\" instead of \"" + m + "\"" + on;
    case DivergenceClass::kWrongPagemap:
      if (c.single_bit)
        return "fs/proc/task_mmu: pagemap " + PagemapBitName(c.bit) + " bit " + (c.value ? "clear" : "set") +
               " after " + after + on;
      return "fs/proc/task_mmu: wrong pagemap entries after " + after + on;
    case DivergenceClass::kWrongScan: return "fs/proc/task_mmu: PAGEMAP_SCAN reports wrong regions after " + after + on;
    case DivergenceClass::kWrongErrno:
    case DivergenceClass::kWrongFault:
    case DivergenceClass::kWrongResult:
      return "mm: " + name + " gives \"" + k + "\" instead of \"" + m + "\"" + on;
    case DivergenceClass::kDataCorruption: return "mm: read gives \"" + k + "\" instead of \"" + m + "\" after " +
                                                  after + on;
    case DivergenceClass::kHang: return "mm: " + name + " hangs" + on;
    case DivergenceClass::kLost: return "mm: the process dies in " + name + on;
    case DivergenceClass::kInconsistent:
      return "fs/proc/task_mmu: pagemap and PAGEMAP_SCAN disagree after " + after + on;
  }
  return "mm: " + j.line;
}

bool PicturesAround(const Program& prog, const Trace& trace, const KernelProfile& profile, size_t op_index,
                    std::string* before, std::string* after) {
  if (op_index >= prog.ops.size() || op_index >= trace.results.size()) return false;
  Model m(profile);
  if (Replay(prog, &trace, profile, nullptr, op_index, &m).why != ReplayEnd::Why::kEnd) return false;
  const Op& op = prog.ops[op_index];
  uint32_t n = op.kind == OpKind::kMremap ? std::max(op.npages, op.new_npages) : op.npages;
  uint32_t lo, hi;
  PictureRange(m, op.proc, op.page, n, 72, &lo, &hi);  // mail width
  *before = DrawAddressSpace(m, op.proc, lo, hi);
  *after = m.Advance(op, op_index).unmodelled.empty() ? DrawAddressSpace(m, op.proc, lo, hi) : "";
  return true;
}

std::string WriteReport(const ReportInput& in) {
  const Program& prog = in.prog;
  const Judgement& j = in.judgement;
  std::string r;
  // A self-test finding must never read as a kernel bug report.
  if (in.profile.mutant != Mutant::kNone)
    r += "Subject: [SELF-TEST model mutant " + std::string(MutantName(in.profile.mutant)) + ", not a kernel bug] " +
         ReportSubject(prog, j) + "\n\n";
  else
    r += "Subject: [BUG] " + ReportSubject(prog, j) + "\n\n";
  r += "Kernel: " + in.features.release + "\n";
  r += "Features (mmdiff probe):\n" + IndentLines(PrintFeatures(in.features), "  ") + "\n";

  size_t index = 0;
  bool have_op = !OpIndexOf(j, &index).empty() && index < prog.ops.size();
  ReproSpec spec = SpecForJudgement(prog, j);

  r += "Expected\n--------\n";
  for (const ReproCheck& c : spec.checks) {
    const Op& op = prog.ops[c.op_index];
    std::string s;
    if (c.single_bit)
      s = "Page " + std::to_string(c.page) + (DivergenceMemKind(j).empty() ? "" : " (" + DivergenceMemKind(j) + ")") + " must read " +
          PagemapBitName(c.bit) + " " + (c.value ? "1" : "0") + " at step " + std::to_string(c.op_index) + " (" +
          PrintOp(op) + ")" + (c.because.empty() ? "." : ": " + c.because + ".");
    else if (!c.allowed.empty())
      s = "Step " + std::to_string(c.op_index) + " (" + PrintOp(op) + ") must give \"" +
          PrintResult(op, c.allowed[0]) + "\"" + (c.allowed.size() > 1 ? " (or another allowed result)" : "") +
          (c.because.empty() ? "." : ": " + c.because + ".");
    r += Wrap(s, 76, "") + "\n";
  }
  if (spec.checks.empty()) r += "No kernel warning, oops or hang while running the steps below.\n\n";
  std::vector<DocQuote> docs = DocumentationFor(prog, j);
  for (const DocQuote& d : docs) r += d.file + ":\n" + Wrap("\"" + d.text + "\"", 74, "  ", 96) + "\n";
  if (docs.empty() && j.verdict.divergence)
    r += "(None of soft-dirty.rst, pagemap.rst and userfaultfd.rst states this result; the model follows the\n"
         "system call's man page and the kernel's selftests.)\n\n";

  r += "What happened\n-------------\n";
  if (j.verdict.divergence && have_op) {
    const Divergence& d = *j.verdict.divergence;
    const Op& op = prog.ops[d.op_index];
    r += "step " + std::to_string(d.op_index) + ": " + PrintOp(op) + "\n";
    r += "  kernel => " + PrintResult(op, d.kernel) + "\n";
    r += "  model  => " + PrintResult(op, WithoutQuirks(d.model).expected) + "   ('?': either is allowed)\n";
  }
  r += j.line + "\n";
  if (j.verdict.divergence) r += "signature: " + j.verdict.divergence->signature + "\n";
  if (in.runs > 0) r += "Reproduced " + std::to_string(in.reproduced) + " of " + std::to_string(in.runs) + " runs.\n";
  if (!in.trace.console.empty()) r += "\nConsole:\n" + IndentLines(in.trace.console, "  ");
  r += "\n";

  r += "Steps (mmdiff .mmp program; pages are 4 KiB at 0x100000000000 + page * 4096;\n"
       "each line's system call and the kernel's answer below it)\n"
       "-----\n";
  for (size_t i = 0; i < prog.ops.size(); i++) {
    const Op& op = prog.ops[i];
    r += "step " + std::to_string(i) + ": " + PrintOp(op) + "\n";
    r += "        " + SyscallText(op, i);
    if (i < in.trace.results.size() && in.trace.results[i].kind != ResultKind::kNone)
      r += "  => " + PrintResult(op, in.trace.results[i]);
    r += "\n";
  }
  r += "\n";

  std::string before, after;
  if (have_op && PicturesAround(prog, in.trace, in.profile, index, &before, &after)) {
    r += "Address space (model; one column per page)\n"
         "------------------------------------------\n";
    r += "before step " + std::to_string(index) + ":\n" + IndentLines(before, "  ");
    if (after == before) r += "after step " + std::to_string(index) + ": the same (the step only observes)\n";
    else if (!after.empty()) r += "after step " + std::to_string(index) + ", as documented:\n" + IndentLines(after, "  ");
    r += "Rows: vma (first page upper case; a anon, s shared anon, m memfd, f file), prot,\n"
         "vmasd (VM_SOFTDIRTY), uffd (w sync wp, a async wp), pte (a anon page, c page cache,\n"
         "z zero page, m uffd-wp marker, s swap), sd/wp (PTE bits), excl, pt (page table).\n\n";
  }

  spec.notes.push_back("kernel " + in.features.release);
  if (in.runs > 0) spec.notes.push_back("reproduced " + std::to_string(in.reproduced) + "/" + std::to_string(in.runs));
  r += "Reproducer (cc -O2 -static -Wall -o repro repro.c && ./repro)\n"
       "----------\n";
  r += WriteReproC(prog, spec);
  r += "\n-- \nFound by mmdiff: differential testing of the kernel against a model of its\n"
       "documented memory-tracking behaviour.\n";
  return r;
}

}  // namespace mmdiff
