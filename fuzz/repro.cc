// The C reproducer of a program whose children use a userfaultfd
// (fuzz/repro_c.cc writes the others). Every op's C comes from one switch over OpKind
// (CWriter::Step, no default); the names of flags and constants from
// repro_uapi.h; the runtime (turn protocol, uffd handler, guarded access:
// repro_runtime.h; requirement probes: repro_probes.h) is emitted piece by
// piece, only what the program uses. The C mirrors executor/ops.cc, proc.cc
// and uffd_handler.cc: a reproducer must do exactly what the executor did.
// What it checks and why: repro_explain.cc.
#include "fuzz/repro.h"

#include <cinttypes>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <set>

#include "fuzz/repro_clib.h"
#include "fuzz/repro_fmt.h"
#include "fuzz/repro_probes.h"
#include "fuzz/repro_runtime.h"
#include "fuzz/repro_uapi.h"
#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff {
using namespace repro_detail;  // the pieces of a reproducer (fuzz/repro_*.h)

namespace {


char ResultStyle(const Op& op) {
  return op.kind == OpKind::kRead ? 'r' : op.kind == OpKind::kFork ? 'f' : 'n';
}

// The errnos the result printer names: common ones and those the checks expect.
constexpr int kCommonErrnos[] = {EPERM,  ENOENT, ESRCH,  EINTR,  EIO,    ENXIO,  EBADF,     EAGAIN,
                                 ENOMEM, EACCES, EFAULT, EBUSY,  EEXIST, ENODEV, EINVAL,    EFBIG,
                                 ENOSPC, ESPIPE, ENOTTY, ENOSYS, EOVERFLOW, EOPNOTSUPP};

class CWriter {
 public:
  CWriter(const Program& prog, const ReproSpec& spec) : prog_(prog), spec_(spec) { Analyze(); }
  std::string Write();

 private:
  void Analyze();
  std::string Step(size_t i);
  std::string Check(const ReproCheck& c);
  std::string Header() const;
  std::string Runtime();
  std::string Main();
  void Use(const std::string& name) { uses_.insert(name); }
  std::string A(uint32_t page) const { return "ADDR(" + std::to_string(page) + ")"; }
  std::string Len(uint32_t n) const { return std::to_string(n) + " * PAGE"; }

  const Program& prog_;
  const ReproSpec& spec_;
  std::set<std::string> uses_;
  std::set<int> errnos_;
  bool fork_ = false, access_ = false, pagemap_ = false, clear_refs_ = false, files_ = false,
       tmpdir_ = false, uffd_ = false, thread_ = false, borrow_ = false, scan_ = false,
       scan_default_ = false, file_mmap_ = false, mmap_ = false, mremap_ = false;
  uint32_t max_pm_ = 1, max_vec_ = 1;
  std::vector<int> fork_child_;  // per op: the process a fork creates
};

void CWriter::Analyze() {
  bool all_async_quiet = true, event_fork = false;
  fork_child_.assign(prog_.ops.size(), 0);
  int next_child = 1;
  for (size_t i = 0; i < prog_.ops.size(); i++)
    if (prog_.ops[i].kind == OpKind::kFork) fork_child_[i] = next_child++;
  for (const Op& op : prog_.ops) {
    switch (op.kind) {
      case OpKind::kFork: fork_ = true; break;
      case OpKind::kRead: case OpKind::kWrite: access_ = true; break;
      case OpKind::kPagemap:
        pagemap_ = true;
        max_pm_ = std::max(max_pm_, op.npages);
        break;
      case OpKind::kScan:
        scan_ = pagemap_ = true;
        max_vec_ = std::max(max_vec_, ScanVecLen(op));
        if (!(op.flags & kFlagHasRet)) scan_default_ = true;
        break;
      case OpKind::kClearRefs: clear_refs_ = true; break;
      case OpKind::kMemfd: files_ = true; break;
      case OpKind::kFile: files_ = tmpdir_ = true; break;
      case OpKind::kFtruncate: case OpKind::kFwrite: case OpKind::kFpunch: files_ = true; break;
      case OpKind::kMmap:
        mmap_ = true;
        if (op.backing != Backing::kAnon) files_ = true;
        if (op.backing != Backing::kAnon || op.shared) file_mmap_ = true;
        break;
      case OpKind::kMremap: mremap_ = true; break;
      case OpKind::kUffdOpen:
        uffd_ = true;
        if (!(op.uffd_features & kUffdWpAsync) ||
            (op.uffd_features & (kUffdEventFork | kUffdEventRemap | kUffdEventRemove | kUffdEventUnmap)))
          all_async_quiet = false;
        event_fork |= (op.uffd_features & kUffdEventFork) != 0;
        break;
      case OpKind::kUffdRegister:
        uffd_ = true;
        if (op.uffd_modes & ~uint32_t{kUffdModeWp}) all_async_quiet = false;
        break;
      case OpKind::kUffdUnregister: case OpKind::kUffdWp: uffd_ = true; break;
      case OpKind::kRequires: case OpKind::kMunmap: case OpKind::kMprotect: case OpKind::kMadvise:
      case OpKind::kExit:
        break;
    }
  }
  thread_ = uffd_ && !all_async_quiet;
  borrow_ = fork_ && event_fork && thread_;
  for (const ReproCheck& c : spec_.checks)
    for (const Result& r : c.allowed)
      if (r.kind == ResultKind::kErr) errnos_.insert(r.err);
  for (int e : kCommonErrnos) errnos_.insert(e);
}

std::string CWriter::Step(size_t i) {
  const Op& op = prog_.ops[i];
  std::string c;  // the body, indented by two
  auto line = [&c](const std::string& s) { c += "  " + s + "\n"; };
  switch (op.kind) {
    case OpKind::kRequires:
      line("set_ok(); /* checked before the first step */");
      break;
    case OpKind::kMmap: {
      std::string fd = op.backing == Backing::kAnon ? "-1" : "fds[" + std::to_string(op.file) + "]";
      line("{");
      line("  void *p = mmap(" + A(op.page) + ", " + Len(op.npages) + ", " + ProtC(op.prot) +
           ",");
      line("                 " + MmapFlagsC(op, " | ", &uses_) + ", " + fd + ", " +
           (op.file_pgoff ? "(off_t)" + std::to_string(op.file_pgoff) + " * PAGE" : std::string("0")) + ");");
      line("  mmap_result(p, " + A(op.page) + ", " + Len(op.npages) + ");");
      line("}");
      break;
    }
    case OpKind::kMunmap:
      line("ok_or_err(munmap(" + A(op.page) + ", " + Len(op.npages) + "));");
      break;
    case OpKind::kMprotect:
      line("ok_or_err(mprotect(" + A(op.page) + ", " + Len(op.npages) + ", " + ProtC(op.prot) +
           "));");
      break;
    case OpKind::kMremap: {
      std::string want = (op.flags & kFlagMove) ? A(op.new_page) : A(op.page);
      line("mremap_result(mremap(" + A(op.page) + ", " + Len(op.npages) + ", " + Len(op.new_npages) + ", " +
           MremapFlagsC(op, " | ", &uses_) + ", " + want + "), " + want + ");");
      break;
    }
    case OpKind::kMadvise:
      Use(AdviceC(op.advice));
      line("ok_or_err(madvise(" + A(op.page) + ", " + Len(op.npages) + ", " + AdviceC(op.advice) + "));");
      break;
    case OpKind::kRead:
    case OpKind::kWrite: {
      std::string addr = "ARENA + " + std::to_string(op.page) + " * PAGE" +
                         (op.offset ? " + " + std::to_string(op.offset) : std::string());
      if (op.kind == OpKind::kWrite)
        line("access_byte(" + addr + ", 1, " + Fmt("0x%02x", WriteToken(op, i)) + "); /* store one byte */");
      else
        line("access_byte(" + addr + ", 0, 0); /* load one byte */");
      break;
    }
    case OpKind::kFork:
      // Returns 1 in the child, which goes on to its own steps; the rest of
      // this step (result, check, turn) is the parent's: Write() closes the brace.
      line("if (!do_fork(" + std::to_string(fork_child_[i]) + ")) {");
      break;
    case OpKind::kExit:
      line("set_ok();");
      break;
    case OpKind::kClearRefs: {
      std::string v = std::to_string(op.value);
      line("ok_or_err(write(clear_refs_fd, \"" + v + "\", " + std::to_string(v.size()) + ") < 0 ? -1 : 0);");
      break;
    }
    case OpKind::kMemfd:
      line("open_slot(" + std::to_string(op.file) + ", memfd_create(\"mmdiff-" + std::to_string(op.file) +
           "\", 0), " + std::to_string(op.npages) + ");");
      break;
    case OpKind::kFile:
      line("{");
      line("  char path[300];");
      line("  snprintf(path, sizeof path, \"%s/f" + std::to_string(op.file) + "\", tmpdir);");
      line("  open_slot(" + std::to_string(op.file) + ", open(path, O_RDWR | O_CREAT | O_TRUNC, 0600), " +
           std::to_string(op.npages) + ");");
      line("}");
      break;
    case OpKind::kFtruncate:
      line("ok_or_err(ftruncate(fds[" + std::to_string(op.file) + "], (off_t)" + Len(op.npages) + "));");
      break;
    case OpKind::kFwrite:
      line("{");
      line("  uint8_t b = " + Fmt("0x%02x", WriteToken(op, i)) + ";");
      line("  ok_or_err(pwrite(fds[" + std::to_string(op.file) + "], &b, 1, (off_t)" + Len(op.page) +
           ") == 1 ? 0 : -1);");
      line("}");
      break;
    case OpKind::kFpunch:
      Use("FALLOC_FL_PUNCH_HOLE");
      Use("FALLOC_FL_KEEP_SIZE");
      line("ok_or_err(fallocate(fds[" + std::to_string(op.file) + "], FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)" +
           Len(op.page) + ", (off_t)" + Len(op.npages) + "));");
      break;
    case OpKind::kUffdOpen:
      Use("SYS_userfaultfd");
      Use("UFFD_API");
      Use("UFFDIO_API");
      line("{");
      line("  int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);");
      line("  struct uffdio_api api = {UFFD_API, " + UffdApiFeaturesC(op.uffd_features, " | ", &uses_) + ", 0};");
      line("  if (fd < 0) {");
      line("    set_err();");
      line("  } else if (ioctl(fd, UFFDIO_API, &api) < 0) {");
      line("    set_err();");
      line("    close(fd);");
      line("  } else {");
      line("    uffd_adopt(fd);");
      if (borrow_) line(std::string("    uffd_event_fork = ") + ((op.uffd_features & kUffdEventFork) ? "1" : "0") + ";");
      line("    set_ok();");
      line("  }");
      line("}");
      break;
    case OpKind::kUffdRegister: {
      Use("UFFDIO_REGISTER");
      std::string modes = UffdModesC(op.uffd_modes, " | ", &uses_);
      line("{");
      line("  struct uffdio_register reg = {{ARENA + " + Len(op.page) + ", " + Len(op.npages) + "}, " + modes +
           ", 0};");
      line("  ok_or_err(ioctl(" + std::string(borrow_ ? "uffd_for_ops()" : "uffd") + ", UFFDIO_REGISTER, &reg));");
      line("}");
      break;
    }
    case OpKind::kUffdUnregister:
      Use("UFFDIO_UNREGISTER");
      line("{");
      line("  struct uffdio_range range = {ARENA + " + Len(op.page) + ", " + Len(op.npages) + "};");
      line("  ok_or_err(ioctl(" + std::string(borrow_ ? "uffd_for_ops()" : "uffd") +
           ", UFFDIO_UNREGISTER, &range));");
      line("}");
      break;
    case OpKind::kUffdWp: {
      Use("UFFDIO_WRITEPROTECT");
      std::string mode;
      if (op.flags & kFlagWpOn) mode = "UFFDIO_WRITEPROTECT_MODE_WP", Use(mode);
      if (op.flags & kFlagDontwake) {
        Use("UFFDIO_WRITEPROTECT_MODE_DONTWAKE");
        mode += std::string(mode.empty() ? "" : " | ") + "UFFDIO_WRITEPROTECT_MODE_DONTWAKE";
      }
      line("{");
      line("  struct uffdio_writeprotect wp = {{ARENA + " + Len(op.page) + ", " + Len(op.npages) + "}, " +
           (mode.empty() ? "0" : mode) + "};");
      line("  ok_or_err(ioctl(" + std::string(borrow_ ? "uffd_for_ops()" : "uffd") +
           ", UFFDIO_WRITEPROTECT, &wp));");
      line("}");
      break;
    }
    case OpKind::kPagemap:
      line("{");
      line("  ssize_t n = pread(pagemap_fd, pm, " + std::to_string(op.npages) + " * 8, (off_t)(ARENA / PAGE + " +
           std::to_string(op.page) + ") * 8);");
      line("  if (n < 0) {");
      line("    set_err();");
      line("  } else {");
      line("    res.kind = RES_PAGEMAP;");
      line("    res.n = (unsigned)(n / 8);");
      line("  }");
      line("}");
      break;
    case OpKind::kScan: {
      Use("PAGEMAP_SCAN");
      uint32_t vec = ScanVecLen(op);
      std::string ret = (op.flags & kFlagHasRet) ? CategoriesC(op.scan_ret, " | ", &uses_) : "scan_default_ret";
      line("{");
      line("  struct pm_scan_arg arg = {");
      line("      .size = sizeof arg,");
      line("      .flags = " + ScanFlagsC(op, " | ", &uses_) + ",");
      line("      .start = ARENA + " + Len(op.page) + ",");
      line("      .end = ARENA + " + Len(op.page + op.npages) + ",");
      line("      .vec = " + std::string(vec ? "(uint64_t)(uintptr_t)regions" : "0") + ",");
      line("      .vec_len = " + std::to_string(vec) + ",");
      line("      .max_pages = " + std::to_string(op.scan_max) + ",");
      line("      .category_inverted = " + CategoriesC(op.scan_inv, " | ", &uses_) + ",");
      line("      .category_mask = " + CategoriesC(op.scan_req, " | ", &uses_) + ",");
      line("      .category_anyof_mask = " + CategoriesC(op.scan_any, " | ", &uses_) + ",");
      line("      .return_mask = " + ret + ",");
      line("  };");
      line("  long n = ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);");
      line("  if (n < 0) {");
      line("    set_err();");
      line("  } else {");
      line("    res.kind = RES_SCAN;");
      line("    res.value = n;");
      line("    res.n = (unsigned)n;");
      line("    res.walk_end = arg.walk_end;");
      line("  }");
      line("}");
      break;
    }
  }
  return c;
}


// Adds `extra` spaces before every line of `code`.
std::string Indent(const std::string& code, int extra) {
  std::string pad(extra, ' '), out;
  size_t pos = 0;
  while (pos < code.size()) {
    size_t nl = code.find('\n', pos);
    if (nl == std::string::npos) nl = code.size();
    if (nl > pos) out += pad + code.substr(pos, nl - pos);
    out += "\n";
    pos = nl + 1;
  }
  return out;
}

std::string CWriter::Check(const ReproCheck& c) {
  const Op& op = prog_.ops[c.op_index];
  std::string text = Quoted(PrintOp(op));
  if (c.single_bit) {
    return Fmt("  check_bit(%u, %u, %d, %d, ", c.page - op.page, c.page, PagemapBitNumber(c.bit), c.value ? 1 : 0) +
           Quoted(PagemapBitName(c.bit)) + ",\n            " + Quoted(c.after) + ",\n            " +
           Quoted(c.because) + ");\n";
  }
  if (c.allowed.empty()) return "";
  bool all_pagemap = true;
  for (const Result& r : c.allowed) all_pagemap &= r.kind == ResultKind::kPagemap && r.pagemap.size() == op.npages;
  std::string out = "  {\n";
  std::string texts;
  for (const Result& r : c.allowed) texts += "      " + Quoted(PrintResult(op, r)) + ",\n";
  if (all_pagemap && op.npages > 0) {
    std::string want, care;
    for (const Result& r : c.allowed) {
      want += "      {";
      care += "      {";
      for (size_t k = 0; k < r.pagemap.size(); k++) {
        uint64_t mask = kPmShownBits & ~(k < r.either.size() ? r.either[k] : 0);
        want += Fmt("%s0x%" PRIx64 "ull", k ? ", " : "", r.pagemap[k] & mask);
        care += Fmt("%s0x%" PRIx64 "ull", k ? ", " : "", mask);
      }
      want += "},\n";
      care += "},\n";
    }
    std::string dims = Fmt("[%zu][%u]", c.allowed.size(), op.npages);
    out += "    static const uint64_t want" + dims + " = {\n" + want + "    };\n";
    out += "    static const uint64_t care" + dims + " = {\n" + care + "    };\n";
    out += "    static const char *const text[] = {\n" + texts + "    };\n";
    out += Fmt("    check_pagemap(%s, %u, %u, %zu, &want[0][0], &care[0][0], text, ", text.c_str(), op.page, op.npages,
               c.allowed.size()) +
           Quoted(c.because) + ");\n";
  } else {
    out += "    static const char *const allowed[] = {\n" + texts + "    };\n";
    out += Fmt("    check_text(%s, '%c', %zu, allowed, ", text.c_str(), ResultStyle(op), c.allowed.size()) +
           Quoted(c.because) + ");\n";
  }
  return out + "  }\n";
}

std::string CWriter::Header() const {
  std::string h = "// mmdiff reproducer: " + spec_.title + "\n";
  for (const std::string& n : spec_.notes) h += "// " + n + "\n";
  h += "//\n// The program (.mmp), one step per line; step N is op N:\n";
  for (size_t i = 0; i < prog_.ops.size(); i++) h += Fmt("//   step %zu: ", i) + PrintOp(prog_.ops[i]) + "\n";
  if (!spec_.checks.empty()) h += "//\n// Checked:\n";
  for (const ReproCheck& c : spec_.checks) {
    if (c.single_bit)
      h += Fmt("//   after step %zu: page %u must read %s %d", c.op_index, c.page, PagemapBitName(c.bit).c_str(),
               c.value ? 1 : 0) +
           (c.because.empty() ? "" : " (" + c.because + ")") + "\n";
    else if (!c.allowed.empty())
      h += Fmt("//   step %zu: ", c.op_index) + PrintOp(prog_.ops[c.op_index]) + " => " +
           PrintResult(prog_.ops[c.op_index], c.allowed[0]) + (c.allowed.size() > 1 ? " (or another allowed result)" : "") +
           "\n";
  }
  h += "//\n"
       "// cc -O2 -static -Wall -o repro repro.c && ./repro     (-v: every step's result)\n"
       "// FAIL (exit 1): the kernel does not do what its documentation says.\n"
       "// PASS (exit 0): it does. SKIP (exit 125): it lacks a feature the program needs.\n"
       "// Pages are 4 KiB at ARENA + page * 4096, as in mmdiff's executor.\n";
  return h;
}

std::string CWriter::Write() {
  // Steps first: they record the uapi names they use.
  std::string steps;
  for (size_t i = 0; i < prog_.ops.size(); i++) {
    const Op& op = prog_.ops[i];
    std::string comment = "  /* step " + std::to_string(i) + ": " + PrintOp(op) + " */\n";
    std::string body = Step(i);
    std::string tail = "  show(" + Quoted(PrintOp(op)) + ", '" + ResultStyle(op) + "');\n";
    for (const ReproCheck& c : spec_.checks)
      if (c.op_index == i) tail += Check(c);
    if (!fork_) {
      if (op.kind == OpKind::kExit) tail += "  return;\n";
      steps += comment + Fmt("  begin_step(%zu);\n", i) + body + tail + "\n";
      continue;
    }
    if (op.kind == OpKind::kExit)
      tail += "  __atomic_store_n(&sh->exited_pid, getpid(), __ATOMIC_RELEASE);\n" +
              Fmt("  pass_turn(%zu);\n", i + 1) + "  _exit(0);\n";
    else if (op.kind == OpKind::kFork)
      tail = Indent(tail + Fmt("  pass_turn(%zu);\n", i + 1), 2) + "  }\n";
    else
      tail += Fmt("  pass_turn(%zu);\n", i + 1);
    steps += comment + Fmt("  if (me == %d) {\n    wait_turn(%zu);\n", op.proc, i) + Indent(body + tail, 2) + "  }\n\n";
  }
  if (fork_) steps += "  end_process();\n";
  else if (!steps.empty()) steps.pop_back();

  std::string runtime = Runtime();
  std::string main = Main();

  std::string out = Header();
  out += "#define _GNU_SOURCE\n";
  std::vector<std::string> inc = {"errno.h", "fcntl.h", "signal.h", "stdarg.h", "stdint.h", "stdio.h",
                                  "stdlib.h", "string.h", "unistd.h", "sys/mman.h", "sys/syscall.h"};
  if (access_) inc.push_back("setjmp.h");
  if (uffd_ || scan_ || (prog_.Requires() & (kFeatUffdWp | kFeatWpAsync | kFeatWpUnpopulated | kFeatPagemapScan |
                                            kFeatScanSoftDirty)))
    inc.push_back("sys/ioctl.h");
  if (fork_) {
    for (const char* h : {"limits.h", "sched.h", "time.h", "sys/prctl.h", "sys/wait.h"}) inc.push_back(h);
  }
  if (fork_ || thread_) inc.push_back("poll.h");
  if (thread_) inc.push_back("pthread.h"), inc.push_back("sys/eventfd.h");
  std::sort(inc.begin(), inc.end());
  for (const std::string& h : inc) out += "#include <" + h + ">\n";

  std::string defines = UapiDefines(uses_);
  if (!defines.empty())
    out += "\n/* The uapi constants this program uses (values of the Linux uapi headers). */\n" + defines;
  bool uffd_structs = uffd_ || (prog_.Requires() & (kFeatUffdWp | kFeatWpAsync | kFeatWpUnpopulated));
  bool scan_structs = scan_ || (prog_.Requires() & (kFeatPagemapScan | kFeatScanSoftDirty));
  if (uffd_structs || scan_structs) out += "\n/* uapi structures (include/uapi/linux/userfaultfd.h, fs.h) */\n";
  if (uffd_structs) out += kStructs;
  if (thread_) out += kHandlerStructs;
  if (scan_structs) out += kScanStructs;
  out += "\n#define UNUSED __attribute__((unused))\n"
         "#define ARENA 0x100000000000ull /* every address is ARENA + page * PAGE */\n"
         "#define PAGE 4096ull\n"
         "#define ADDR(page) ((void *)(uintptr_t)(ARENA + (uint64_t)(page) * PAGE))\n";
  out += Fmt("#define NSTEPS %zu\n#define TIMEOUT %d /* seconds */\n", prog_.ops.size(), spec_.timeout_s);
  out += "\nstatic int verbose; /* -v */\nstatic int step = -1; /* the step running */\n"
         "static UNUSED int me; /* the process running this code: p0, p1, ... */\n\n";
  out += runtime;
  out += "\nstatic void run_program(void)\n{\n" + steps + "}\n\n" + main;
  return out;
}

std::string CWriter::Runtime() {
  std::string r = kSay;
  r += "\n";
  r += kResult;
  r += "\nstatic void begin_step(int s)\n{\n  step = s;\n  memset(&res, 0, sizeof res);\n}\n\n";
  r += kShared;
  if (files_) r += std::string("\n") + kFiles;
  if (tmpdir_) r += std::string("\n") + kTmpdir;
  r += "\nstatic void cleanup(void)\n{\n";
  if (tmpdir_)
    r += "  char path[300];\n  for (int f = 0; f < 8; f++) {\n    snprintf(path, sizeof path, \"%s/f%d\", tmpdir, f);\n"
         "    unlink(path);\n  }\n  rmdir(tmpdir);\n";
  r += "}\n";
  if (fork_) {
    Use("FUTEX_WAIT");
    Use("FUTEX_WAKE");
    Use("SYS_pidfd_open");
    r += std::string("\n") + kTurns;
  } else {
    r += "\nstatic UNUSED void fail(void)\n{\n  cleanup();\n  exit(1);\n}\n";
  }
  // The result printer and the checks.
  r += "\n";
  if (pagemap_ && !scan_) r += Fmt("static uint64_t pm[%u]; /* the entries of the last pagemap step */\n", max_pm_);
  if (scan_) {
    r += Fmt("static uint64_t pm[%u]; /* the entries of the last pagemap step */\n", max_pm_);
    r += Fmt("static struct page_region regions[%u]; /* PAGEMAP_SCAN output */\n", max_vec_);
    if (scan_default_) r += "static uint64_t scan_default_ret; /* return_mask of a scan without ret= */\n";
  }
  r += "static char out_buf[1 << 18];\nstatic size_t out_n;\n\n"
       "static void out(const char *fmt, ...)\n{\n  va_list ap;\n  va_start(ap, fmt);\n"
       "  int n = vsnprintf(out_buf + out_n, sizeof out_buf - out_n, fmt, ap);\n  va_end(ap);\n"
       "  if (n > 0)\n    out_n += (size_t)n;\n  if (out_n > sizeof out_buf - 1)\n    out_n = sizeof out_buf - 1;\n}\n\n";
  r += "static const char *errno_name(int e)\n{\n  switch (e) {\n";
  for (int e : errnos_) {
    std::string name = ErrnoName(e);
    if (name.empty() || name[0] != 'E' || name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != std::string::npos)
      continue;
    r += "  case " + name + ":\n    return \"" + name + "\";\n";
  }
  r += "  }\n  static char buf[16];\n  snprintf(buf, sizeof buf, \"E%d\", e);\n  return buf;\n}\n\n";
  if (pagemap_)
    r += "/* A pagemap entry as the .mmp format prints it: P S F X W D (bits 63 62 61 56 57 55), G (58). */\n"
         "static void pm_token(char t[8], uint64_t e)\n{\n"
         "  static const char letters[] = \"PSFXWD\";\n"
         "  static const int bits[] = {63, 62, 61, 56, 57, 55};\n"
         "  for (int k = 0; k < 6; k++)\n    t[k] = e >> bits[k] & 1 ? letters[k] : '-';\n"
         "  t[6] = e >> 58 & 1 ? 'G' : 0;\n  t[7] = 0;\n}\n\n";
  r += "/* The step's result in the .mmp result syntax; style 'r': a read (hex byte), 'f': fork (pN). */\n"
       "static const char *fmt_result(char style)\n{\n  out_n = 0;\n  out_buf[0] = 0;\n  switch (res.kind) {\n"
       "  case RES_OK:\n    out(\"ok\");\n    break;\n"
       "  case RES_ERR:\n    out(\"err %s\", errno_name(res.err));\n    break;\n"
       "  case RES_FAULT:\n    out(\"%s\", res.sig == SIGBUS ? \"fault BUS\" : \"fault SEGV\");\n    break;\n"
       "  case RES_VALUE:\n    if (style == 'r')\n      out(\"= 0x%02x\", (unsigned)res.value);\n"
       "    else if (style == 'f')\n      out(\"= p%lld\", (long long)res.value);\n"
       "    else\n      out(\"= %lld\", (long long)res.value);\n    break;\n";
  if (pagemap_)
    r += "  case RES_PAGEMAP:\n    for (unsigned k = 0; k < res.n; k++) {\n      char t[8];\n      pm_token(t, pm[k]);\n"
         "      out(\"%s%s\", k ? \" \" : \"\", t);\n    }\n    return out_buf;\n";
  if (scan_)
    r += "  case RES_SCAN:\n    out(\"= %lld\", (long long)res.value);\n"
         "    for (unsigned k = 0; k < res.n && k < sizeof regions / sizeof regions[0]; k++) {\n"
         "      char cats[16];\n      int c = 0;\n"
         "      for (int b = 0; b < 9; b++)\n        if (regions[k].categories >> b & 1)\n"
         "          cats[c++] = \"awfpszhdg\"[b];\n"
         "      if (!c)\n        cats[c++] = '-';\n      cats[c] = 0;\n"
         "      out(\" [%llu,%llu):%s\", (unsigned long long)((regions[k].start - ARENA) / PAGE),\n"
         "          (unsigned long long)((regions[k].end - ARENA) / PAGE), cats);\n    }\n"
         "    out(\" end=%llu\", (unsigned long long)((res.walk_end - ARENA) / PAGE));\n    break;\n";
  r += "  default:\n    break;\n  }\n"
       "  if (res.faults & 2)\n    out(\" missingfault\");\n  if (res.faults & 4)\n    out(\" minorfault\");\n"
       "  if (res.faults & 1)\n    out(\" wpfault\");\n  return out_buf;\n}\n\n";
  r += "static UNUSED void show(const char *op, char style)\n{\n  if (verbose)\n"
       "    say(\"step %d: %s => %s\\n\", step, op, fmt_result(style));\n}\n";
  bool bit = false, pagemap_check = false, text_check = false;
  for (const ReproCheck& c : spec_.checks) {
    if (c.single_bit) bit = true;
    else if (!c.allowed.empty()) {
      bool all_pm = true;
      for (const Result& res : c.allowed)
        all_pm &= res.kind == ResultKind::kPagemap && res.pagemap.size() == prog_.ops[c.op_index].npages;
      (all_pm && prog_.ops[c.op_index].npages ? pagemap_check : text_check) = true;
    }
  }
  if (bit) r += std::string("\n") + kCheckBit;
  if (pagemap_check) r += "\n" + CPagemapBitTable() + "\n" + kCheckPagemap;
  if (text_check) r += std::string("\n") + kCheckText;
  if (access_) r += std::string("\n") + kAccess;
  if (pagemap_ || clear_refs_ || fork_) {
    r += "\n";
    if (pagemap_) r += "static int pagemap_fd = -1;\n";
    if (clear_refs_) r += "static int clear_refs_fd = -1;\n";
    r += "\n/* /proc/self files name the task that opened them: reopened after fork. */\n"
         "static void open_proc_files(void)\n{\n";
    if (pagemap_)
      r += "  if (pagemap_fd >= 0)\n    close(pagemap_fd);\n"
           "  pagemap_fd = open(\"/proc/self/pagemap\", O_RDONLY | O_CLOEXEC);\n";
    if (clear_refs_)
      r += "  if (clear_refs_fd >= 0)\n    close(clear_refs_fd);\n"
           "  clear_refs_fd = open(\"/proc/self/clear_refs\", O_WRONLY | O_CLOEXEC);\n";
    r += "}\n";
  }
  if (mmap_) r += std::string("\n") + kMmapResult;
  if (mremap_) r += std::string("\n") + kMremapResult;
  if (file_mmap_) {
    for (const char* u : {"SYS_mount", "SYS_umount2", "MNT_DETACH"}) Use(u);
    r += std::string("\n") + kFaultAround;
  }
  if (uffd_) {
    r += "\nstatic int uffd = -1; /* this process's userfaultfd */\n";
    if (borrow_) r += "static int uffd_event_fork; /* it reports forks (UFFD_FEATURE_EVENT_FORK) */\n";
    if (thread_) {
      for (const char* u : {"UFFDIO_ZEROPAGE", "UFFDIO_COPY", "UFFDIO_WAKE", "UFFDIO_WRITEPROTECT", "UFFDIO_CONTINUE",
                            "UFFD_EVENT_PAGEFAULT", "UFFD_PAGEFAULT_FLAG_WP", "UFFD_PAGEFAULT_FLAG_MINOR"})
        Use(u);
      std::string h = kUffdHandler;
      size_t at = h.find("@EVENT_FORK@");
      if (borrow_) {
        Use("UFFD_EVENT_FORK");
        h.replace(at, strlen("@EVENT_FORK@"), kEventForkDrain);
      } else {
        h.erase(at, strlen("@EVENT_FORK@"));
      }
      if (borrow_) {
        std::string reset = "  thread_running = 0;\n}\n";
        size_t pos = h.rfind(reset);
        h.replace(pos, reset.size(), "  thread_running = 0;\n  uffd_event_fork = 0;\n}\n");
      }
      r += "\n" + h;
    } else {
      r += std::string("\n") + kUffdNoThread;
    }
    if (borrow_) {
      Use("SYS_pidfd_open");
      Use("SYS_pidfd_getfd");
      r += std::string("\n") + kUffdBorrow;
    }
  }
  if (fork_) {
    r += "\n/* fork: 1 in the child (which becomes process `child`), 0 in the parent. */\n"
         "static int do_fork(int child)\n{\n  sh->forking_child = child;\n  pid_t pid = fork();\n"
         "  if (pid < 0) {\n    set_err();\n    return 0;\n  }\n  if (pid == 0) {\n    me = child;\n"
         "    open_proc_files();\n";
    if (uffd_) r += "    uffd_after_fork();\n";
    r += "    return 1;\n  }\n";
    if (borrow_)
      r += "  /* with EVENT_FORK the child's context reaches our handler during fork(): wait until it is recorded */\n"
           "  for (int spin = 0; uffd_event_fork && spin < 100000; spin++) {\n"
           "    if (__atomic_load_n(&sh->holder_pid[child], __ATOMIC_ACQUIRE))\n      break;\n    sched_yield();\n  }\n";
    r += "  res.kind = RES_VALUE;\n  res.value = child;\n  return 0;\n}\n";
  }
  // Requirement probes, and what a scan without ret= asks for.
  uint32_t req = prog_.Requires();
  if (scan_default_ || (req & (kFeatPagemapScan | kFeatScanSoftDirty))) {
    Use("PAGEMAP_SCAN");
    Use("PAGE_IS_PRESENT");
    r += std::string("\n") + kScanCategories;
  }
  if (req) {
    bool api = req & (kFeatWpAsync | kFeatWpUnpopulated);
    bool mem = req & (kFeatHugetlb | kFeatSwap);
    if (req & kFeatScanSoftDirty) req |= kFeatSoftDirty;  // have_scan_soft_dirty calls have_soft_dirty
    r += "\n";
    if (api) {
      for (const char* u : {"SYS_userfaultfd", "UFFD_API", "UFFDIO_API"}) Use(u);
      r += std::string(kUffdApiFeatures) + "\n";
    }
    if (mem) r += std::string(kMeminfo) + "\n";
    for (const FeatureProbe& p : kProbes) {
      if (!(req & p.feature)) continue;
      for (const char* u : p.uses) Use(u);
      r += std::string(p.code) + "\n";
    }
    r += "static void require(int ok, const char *what)\n{\n  if (!ok) {\n"
         "    say(\"SKIP: this kernel lacks %s, which the program requires\\n\", what);\n    exit(125);\n  }\n}\n";
  }
  return r;
}

std::string CWriter::Main() {
  std::string m;
  if (!fork_)
    m += "static void on_timeout(int sig)\n{\n  (void)sig;\n"
         "  say(\"FAIL: step %d did not finish within %d s (hang)\\n\", step, TIMEOUT);\n" +
         std::string(file_mmap_ ? "  restore_fault_around();\n" : "") + "  _exit(1);\n}\n\n";
  else
    m += kConduct;
  m += "int main(int argc, char **argv)\n{\n  verbose = argc > 1 && !strcmp(argv[1], \"-v\");\n";
  if (fork_)
    m += "  sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);\n"
         "  if (sh == MAP_FAILED) {\n    say(\"ERROR: mmap: %s\\n\", strerror(errno));\n    return 2;\n  }\n";
  else
    m += "  sh = &sh_local;\n";
  uint32_t req = prog_.Requires();
  for (const FeatureProbe& p : kProbes)
    if (req & p.feature) m += "  require(" + std::string(p.fn) + "(), \"" + FeatureNames()[__builtin_ctz(p.feature)] + "\");\n";
  if (scan_default_) m += "  scan_default_ret = scan_categories();\n";
  if (file_mmap_) m += "  pin_fault_around();\n";
  if (tmpdir_) m += "  make_tmpdir();\n";
  if (access_) m += "  install_fault_handlers();\n";
  if (!fork_) {
    m += "  signal(SIGALRM, on_timeout);\n  alarm(TIMEOUT);\n";
    if (pagemap_ || clear_refs_) m += "  open_proc_files();\n";
    m += "  run_program();\n  cleanup();\n  say(\"PASS\\n\");\n  return 0;\n}\n";
    return m;
  }
  Use("PR_SET_CHILD_SUBREAPER");
  m += "  prctl(PR_SET_CHILD_SUBREAPER, 1); /* grandchildren come back to us */\n"
       "  pid_t p0 = fork();\n  if (p0 < 0) {\n    say(\"ERROR: fork: %s\\n\", strerror(errno));\n    return 2;\n  }\n"
       "  if (p0 == 0) {\n    setpgid(0, 0);\n    open_proc_files();\n    run_program(); /* does not return */\n  }\n"
       "  setpgid(p0, p0);\n  return conduct(p0);\n}\n";
  return m;
}

}  // namespace

std::string repro_detail::WriteTurnsReproC(const Program& prog, const ReproSpec& spec) {
  return CWriter(prog, spec).Write();
}

}  // namespace mmdiff
