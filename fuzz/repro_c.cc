// The C reproducer a person would send to linux-mm. main() makes the steps
// as plain libc calls at the executor's arena addresses, with the uapi
// structs named; a helper exists only for an op kind the program uses that
// needs more than one call (fuzz/repro_clib.h); steps that only observe and
// are not checked are left out; a handler thread only where a sync
// userfaultfd fault or an event can happen; fault-around pinned only where a
// read of a file page and a look at another page depend on it. A program
// whose forks leave their process only a block of its own steps before the
// child's is a chain (no turns: the parent runs its block, hands over on a
// pipe and waits); the processes of other programs that fork take turns
// through pipes; where its children use a uffd they share the handler's
// records (CHandler), and where p0 exits its parent waits for them all and
// reports. An inconsistent finding's step is repro_consistency.cc's block.
// What it checks and why: repro_explain.cc.
#include <cinttypes>
#include <regex>
#include <set>

#include "fuzz/repro.h"
#include "fuzz/repro_clib.h"
#include "fuzz/repro_consistency.h"
#include "fuzz/repro_fmt.h"
#include "fuzz/repro_uapi.h"
#include "model/mutant.h"
#include "prog/op_table.h"
#include "prog/op_traits.h"
#include "prog/text.h"

namespace mmdiff {
using namespace repro_detail;

namespace {

std::string Quoted1(const std::string& s) { return Quoted(s, /*one_line=*/true); }


std::string Cut(const std::string& s, size_t n) { return s.size() <= n ? s : s.substr(0, n) + "..."; }
// Its head and its tail (a scan's walk_end is at the end).
std::string CutMiddle(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 30) + " ... " + s.substr(s.size() - 25);
}

bool IsAccess(const Op& op) { return op.kind == OpKind::kRead || op.kind == OpKind::kWrite; }

// Ops after which an access may fault (SIGSEGV, SIGBUS) in the contract: a
// write after one that leaves pages without write permission, any access
// after one that leaves none or drops the mapping or the file's pages.
bool MayMakeAccessFault(const Op& op, bool write) {
  switch (op.kind) {
    case OpKind::kMunmap: case OpKind::kMremap: case OpKind::kFtruncate:
      return true;
    case OpKind::kMadvise: return op.advice == Advice::kGuardInstall;
    case OpKind::kMmap: case OpKind::kMprotect:
      return op.prot == Prot::kNone || (write && op.prot != Prot::kRW && op.prot != Prot::kRWX);
    default: return false;
  }
}

// Ops that fault pages in, where a sync userfaultfd registration can stop them.
bool FaultsPagesIn(const Op& op) {
  return IsAccess(op) || (op.kind == OpKind::kMadvise &&
                          (op.advice == Advice::kPopulateRead || op.advice == Advice::kPopulateWrite));
}

class CompactWriter {
 public:
  CompactWriter(const Program& prog, const ReproSpec& spec) : prog_(prog), spec_(spec) { Analyze(); }
  std::string Write();

 private:
  void Analyze();
  std::string Code(size_t i);       // the step's result: 0 ok, -errno, or its value
  std::string Call(size_t i);
  std::string Statement(size_t i);  // the step, its result unused
  std::string Step(size_t i);
  std::string StepBody(size_t i);
  std::string CheckLines(const ReproCheck& c);
  size_t StoreRun(size_t i) const;
  std::string StoreTable(size_t i, size_t n) const;
  std::string Require();
  std::string Includes(const std::string& body) const;
  long ResultCode(const Op& op, const Result& r) const;
  std::string A(uint32_t page, uint32_t offset = 0) const {
    return "ADDR(" + std::to_string(page) + ")" + (offset ? " + " + std::to_string(offset) : "");
  }
  // A uffd_open's fd to the handler (and, a child's first, the child's own thread).
  std::string Adopt(size_t i) const {
    return (procs_ ? "adopt(uffd, me)" : "adopt(uffd)") +
           std::string(start_thread_at_.count(i) ? " ?: pthread_create(&(pthread_t){0}, NULL, handler, NULL)" : "");
  }
  std::string Len(uint32_t n) const { return std::to_string(n) + " * PAGE"; }
  // Every category, as a scan without ret= asks (spec_.scan_categories, else the probed `cats`).
  std::string AllCategoriesC() const { return spec_.scan_categories ? Fmt("%#x", spec_.scan_categories) : "cats"; }

  const Program& prog_;
  const ReproSpec& spec_;
  std::set<std::string> uses_;
  // What the program needs, each emitted only then: the uffd (and its
  // handler thread, for sync faults or only events), guarded access, the
  // /proc files, file slots (and their directory), PAGEMAP_SCAN (and the
  // categories a scan without ret= asks), the fault-around pin, the checks'
  // helpers, the turns of forked processes.
  bool uffd_ = false, thread_ = false, sync_faults_ = false, acc_ = false, pm_ = false, cr_ = false,
       files_ = false, slots_ = false, dir_ = false, scan_ = false, cats_ = false, fault_around_ = false;
  // A scan without ret= asks for every category: those the kernel it was
  // found on accepts (spec_.scan_categories), else what the C's kernel
  // accepts, probed into `cats`.
  bool probe_cats_ = false;
  bool fail_ = false, want_ = false, expect_ = false, expect_page_ = false, expect_pagemap_ = false,
       expect_multi_ = false, check_scan_ = false;
  bool forks_ = false, child_exits_ = false;
  bool signals_ = false;     // an access may fault with SIGSEGV/SIGBUS: acc() recovers
  uint8_t fault_kinds_ = 0;  // the sync uffd faults the handler may see (kFaultWp, ...)
  bool procs_ = false;       // children use a uffd: CHandler(procs), sh in shared memory
  bool supervisor_ = false;  // p0 exits: its parent waits for every process and says PASS
  // Every fork is its process's last op and no child uses a uffd or exits:
  // the program is one line of descent, each process running on in its
  // child, so no turns are needed; a parent waits and passes its child's
  // status on.
  bool chain_ = false;
  // Per fork of a chain: the end of the steps its process runs after it,
  // before its child runs its own (i + 1: none); handover_: some fork has
  // such steps, and the child waits for them on the pipe `go`.
  std::vector<size_t> parent_block_end_;
  bool handover_ = false;
  const ReproCheck* consistency_ = nullptr;  // an inconsistent finding's check
  // The thread only reads events, of p0's only uffd: it reads `uffd`, no adopt().
  bool one_reader_ = false;
  uint32_t req_ = 0, vec_ = 1;
  // The arguments of the scans emitted: the first's, and which differ in another.
  bool scan_calls_ = false;
  ScanArgList scan_const_;
  std::array<bool, kNumScanArgs> scan_varies_{};
  ScanArgList ScanArgs(const Op& op);
  std::vector<int> fork_child_;  // per op: the process a fork makes
  std::set<size_t> start_thread_at_;  // a child's first uffd_open: its own handler thread
  std::set<size_t> borrow_at_;        // a fork whose child takes its context from the fork event
  std::set<size_t> wait_held_at_;     // a fork with an event that a later fork must not overtake
  void AnalyzeProcs();
};

// Whether a child uses a uffd (an op on one, or an access under a sync
// registration, whose fault another process's handler resolves): then the
// processes share the handler's records (CHandler).
bool ChildrenUseUffd(const Program& prog) {
  bool sync_uffd = false;
  for (const Op& op : prog.ops) {
    if (op.kind == OpKind::kUffdOpen && !(op.uffd_features & kUffdWpAsync)) sync_uffd = true;
    if (op.kind == OpKind::kUffdRegister && (op.uffd_modes & ~uint32_t{kUffdModeWp})) sync_uffd = true;
  }
  for (const Op& op : prog.ops) {
    if (op.proc == 0) continue;
    if (op.kind == OpKind::kUffdOpen || HasTrait(op.kind, kTraitUffdIoctl)) return true;
    if (sync_uffd && FaultsPagesIn(op)) return true;
  }
  return false;
}

// Per process, as executor/ops.cc and uffd_handler.cc track it: whether its
// uffds report forks (a child forked then gets its context through the
// event, UffdForOps), whether its handler thread runs (p0's from main).
void CompactWriter::AnalyzeProcs() {
  procs_ = forks_ && ChildrenUseUffd(prog_);
  if (!procs_) return;
  thread_ = uffd_ = true;  // drop_uffds() and the fork event need the handler's table
  size_t n = prog_.NumProcs();
  std::vector<bool> event_fork(n), running(n), own(n), with_event(n);
  running[0] = true;
  std::vector<size_t> fork_of(n, 0);
  for (size_t i = 0; i < prog_.ops.size(); i++) {
    const Op& op = prog_.ops[i];
    if (op.kind == OpKind::kUffdOpen) {
      event_fork[op.proc] = event_fork[op.proc] || (op.uffd_features & kUffdEventFork);
      own[op.proc] = true;
      if (!running[op.proc]) start_thread_at_.insert(i), running[op.proc] = true;
    } else if (HasTrait(op.kind, kTraitUffdIoctl) && op.proc > 0 && !own[op.proc] && with_event[op.proc]) {
      borrow_at_.insert(fork_of[op.proc]);
      own[op.proc] = true;
    } else if (op.kind == OpKind::kFork) {
      int c = fork_child_[i];
      with_event[c] = event_fork[op.proc], fork_of[c] = i;
      for (size_t j = i + 1; with_event[c] && j < prog_.ops.size(); j++)
        if (prog_.ops[j].kind == OpKind::kFork) wait_held_at_.insert(i);
    }
  }
}

void CompactWriter::Analyze() {
  req_ = prog_.Requires();
  fork_child_.assign(prog_.ops.size(), 0);
  int next_child = 1;
  for (size_t i = 0; i < prog_.ops.size(); i++)
    if (prog_.ops[i].kind == OpKind::kFork) fork_child_[i] = next_child++, forks_ = true;
  for (const Op& op : prog_.ops) child_exits_ |= op.kind == OpKind::kExit;
  if (req_ & kFeatScanSoftDirty) req_ |= kFeatSoftDirty;  // its probe asks both
  auto checked = [this](size_t i) {
    for (const ReproCheck& c : spec_.checks)
      if (c.op_index == i) return true;
    return false;
  };
  bool sync_missing = false, sync_wp = false, wp_on = false, async = false, may_fault_read = false,
       may_fault_write = false;
  std::set<uint32_t> file_pages, read_file_pages;
  for (size_t i = 0; i < prog_.ops.size(); i++) {
    const Op& op = prog_.ops[i];
    bool emitted = !(Observes(op) && !checked(i));
    if (op.kind == OpKind::kUffdOpen) {
      uffd_ = true;
      async = op.uffd_features & kUffdWpAsync;
      if (op.uffd_features & (kUffdEventFork | kUffdEventRemap | kUffdEventRemove | kUffdEventUnmap)) thread_ = true;
    }
    if (op.kind == OpKind::kUffdRegister || op.kind == OpKind::kUffdUnregister || op.kind == OpKind::kUffdWp)
      uffd_ = true;
    if (op.kind == OpKind::kUffdRegister) {
      sync_missing |= (op.uffd_modes & ~uint32_t{kUffdModeWp}) != 0;
      sync_wp |= (op.uffd_modes & kUffdModeWp) && !async;
      if (op.uffd_modes & kUffdModeMissing) fault_kinds_ |= kFaultMissing;
      if (op.uffd_modes & kUffdModeMinor) fault_kinds_ |= kFaultMinor;
      if ((op.uffd_modes & kUffdModeWp) && !async) fault_kinds_ |= kFaultWp;
    }
    // A sync WP fault needs a protected PTE or marker: some uffd_wp on (or a
    // WP_MATCHING scan) before the access, in this registration or an earlier one.
    wp_on |= (op.kind == OpKind::kUffdWp && (op.flags & kFlagWpOn)) ||
             (op.kind == OpKind::kScan && (op.flags & kFlagWpMatching));
    if (FaultsPagesIn(op) && (sync_missing || (sync_wp && wp_on))) thread_ = sync_faults_ = true;
    if (op.kind == OpKind::kRead && may_fault_read) acc_ = signals_ = true;
    if (op.kind == OpKind::kWrite && may_fault_write) acc_ = signals_ = true;
    may_fault_read |= MayMakeAccessFault(op, false);
    may_fault_write |= MayMakeAccessFault(op, true);
    if (op.kind == OpKind::kClearRefs) cr_ = true;
    // fds[]: every op on a file slot, and a mapping of one.
    if (HasTrait(op.kind, kTraitFileOp) || (op.kind == OpKind::kMmap && op.backing != Backing::kAnon)) files_ = true;
    if (op.kind == OpKind::kFile) slots_ = dir_ = true;
    bool redone = false;  // an inconsistent finding's op: its block does the scans
    for (const ReproCheck& c : spec_.checks) redone |= c.op_index == i && !c.consistency.empty();
    if (op.kind == OpKind::kScan && emitted && !redone) {
      scan_ = pm_ = true;
      vec_ = std::max(vec_, ScanVecLen(op));
      if (!(op.flags & kFlagHasRet)) cats_ = true, probe_cats_ = !spec_.scan_categories;
      ScanArgList args = ScanArgs(op);
      for (int k = 0; scan_calls_ && k < kNumScanArgs; k++) scan_varies_[k] |= args[k] != scan_const_[k];
      if (!scan_calls_) scan_const_ = args;
      scan_calls_ = true;
    }
    if (op.kind == OpKind::kPagemap && emitted) pm_ = true;
    // Fault-around (mm/memory.c do_fault_around) maps page-cache pages next
    // to a read one: it matters where a read of a file page is followed by a
    // look at another page of a file mapping.
    if (op.kind == OpKind::kMmap && (op.backing != Backing::kAnon || op.shared))
      for (uint32_t k = 0; k < op.npages; k++) file_pages.insert(op.page + k);
    if (op.kind == OpKind::kRead && file_pages.count(op.page)) read_file_pages.insert(op.page);
    if ((op.kind == OpKind::kPagemap || op.kind == OpKind::kScan) && emitted && !read_file_pages.empty())
      for (uint32_t k = 0; k < op.npages; k++)
        if (file_pages.count(op.page + k) && !read_file_pages.count(op.page + k)) fault_around_ = true;
  }
  for (const ReproCheck& c : spec_.checks) {
    const Op& op = prog_.ops[c.op_index];
    if (!c.consistency.empty()) {
      // Its own scans (pm_scan) ask every category in the unfiltered look.
      consistency_ = &c;
      scan_ = pm_ = true;
      if (!spec_.scan_categories) cats_ = probe_cats_ = true;
      continue;
    }
    if (c.single_bit) {
      pm_ = fail_ = true;
      continue;
    }
    // Where the handler resolves sync faults, an access's result includes
    // the faults it raised (executor/ops.cc): counted even when none is allowed.
    if (IsAccess(op) && sync_faults_) acc_ = true;
    bool all_pm = !c.allowed.empty();
    for (const Result& r : c.allowed) {
      all_pm &= r.kind == ResultKind::kPagemap && r.pagemap.size() == op.npages;
      if (r.uffd_faults) thread_ = acc_ = sync_faults_ = true;
      fault_kinds_ |= r.uffd_faults;
      if (r.kind == ResultKind::kFault) acc_ = signals_ = true;
    }
    if (op.kind == OpKind::kPagemap) {
      if (all_pm && op.npages) expect_pagemap_ = pm_ = true;
    } else if (op.kind == OpKind::kScan) {
      check_scan_ = true;
    }
  }
  for (const Op& op : prog_.ops) supervisor_ |= op.kind == OpKind::kExit && op.proc == 0;
  AnalyzeProcs();
  // A chain: after each fork its process runs a block of steps of its own
  // (none: the usual case) and no step after the child's first.
  chain_ = forks_ && !procs_ && !child_exits_ && !supervisor_;
  parent_block_end_.assign(prog_.ops.size(), 0);
  for (size_t i = 0; chain_ && i < prog_.ops.size(); i++) {
    if (prog_.ops[i].kind != OpKind::kFork) continue;
    size_t j = i + 1;
    while (j < prog_.ops.size() && prog_.ops[j].proc == prog_.ops[i].proc && prog_.ops[j].kind != OpKind::kFork)
      j++;
    parent_block_end_[i] = j;
    for (size_t k = j; chain_ && k < prog_.ops.size(); k++) chain_ = prog_.ops[k].proc != prog_.ops[i].proc;
    handover_ |= j > i + 1;
  }
  size_t opens = 0;
  for (const Op& op : prog_.ops) opens += op.kind == OpKind::kUffdOpen;
  one_reader_ = thread_ && !sync_faults_ && !procs_ && start_thread_at_.empty() && opens == 1;
  for (const Op& op : prog_.ops) one_reader_ &= op.kind != OpKind::kUffdOpen || op.proc == 0;
  if (thread_) uffd_ = true;  // the thread polls every uffd: adopt() gives it one
  if (req_ & kFeatSoftDirty) pm_ = cr_ = true;
  if (req_ & (kFeatPagemapScan | kFeatScanSoftDirty)) scan_ = pm_ = true;
  if (req_ & kFeatGuard) uses_.insert("MADV_GUARD_INSTALL");
}

long CompactWriter::ResultCode(const Op& op, const Result& r) const {
  long code = 0;
  if (IsAccess(op)) {
    if (r.kind == ResultKind::kValue) code = r.value & 0xff;
    if (r.kind == ResultKind::kFault) code = 0x10000 | r.signal;
    if (r.uffd_faults & kFaultWp) code |= 0x100;
    if (r.uffd_faults & kFaultMissing) code |= 0x200;
    if (r.uffd_faults & kFaultMinor) code |= 0x400;
    return code;
  }
  if (r.kind == ResultKind::kErr) return -r.err;
  if (r.kind == ResultKind::kValue) return r.value;
  return 0;
}

// The C of op i as an expression whose value is its result: ok() turns a
// system call's into 0 or -errno.
std::string CompactWriter::Code(size_t i) {
  const Op& op = prog_.ops[i];
  switch (op.kind) {
    case OpKind::kRead:
      if (!acc_) return "*(volatile unsigned char *)(" + A(op.page, op.offset) + ")";
      return "acc(" + A(op.page, op.offset) + ", 0, 0)";
    case OpKind::kWrite:
      if (!acc_) return "(" + Call(i) + ", 0)";
      return Fmt("acc(%s, 1, 0x%02x)", A(op.page, op.offset).c_str(), WriteToken(op, i));
    case OpKind::kMmap: case OpKind::kMremap: return "ok((long)" + Call(i) + ")";
    case OpKind::kMemfd:
      if (slots_) return Call(i);
      return "(ok(fds[" + std::to_string(op.file) + Fmt("] = memfd_create(\"mmdiff-%u\", 0)) ?: ", op.file) +
             "ok(ftruncate(fds[" + std::to_string(op.file) + "], " + Len(op.npages) + ")))";
    case OpKind::kUffdOpen:
      return "(ok(uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK)) ?: ok(ioctl(uffd, UFFDIO_API, "
             "&(struct uffdio_api){.api = UFFD_API, .features = " +
             UffdApiFeaturesC(op.uffd_features, " | ", &uses_) + "}))" + (thread_ && !one_reader_ ? " ?: " + Adopt(i) : "") + ")";
    case OpKind::kClearRefs: case OpKind::kFile: case OpKind::kScan:
      return Call(i);
    default: return "ok(" + Call(i) + ")";
  }
}

// The call(s) of op i.
std::string CompactWriter::Call(size_t i) {
  const Op& op = prog_.ops[i];
  std::string f = "fds[" + std::to_string(op.file) + "]";
  auto range = [&] { return "RANGE(" + std::to_string(op.page) + ", " + std::to_string(op.npages) + ")"; };
  switch (op.kind) {
    case OpKind::kMmap:
      return "mmap(" + A(op.page) + ", " + Len(op.npages) + ", " + ProtC(op.prot) + ", " +
             MmapFlagsC(op, " | ", &uses_) + ", " + (op.backing == Backing::kAnon ? "-1" : f) + ", " +
             (op.file_pgoff ? Len(op.file_pgoff) : "0") + ")";
    case OpKind::kMunmap: return "munmap(" + A(op.page) + ", " + Len(op.npages) + ")";
    case OpKind::kMprotect: return "mprotect(" + A(op.page) + ", " + Len(op.npages) + ", " + ProtC(op.prot) + ")";
    case OpKind::kMremap:
      return "mremap(" + A(op.page) + ", " + Len(op.npages) + ", " + Len(op.new_npages) + ", " +
             MremapFlagsC(op, " | ", &uses_) + ", " + A((op.flags & kFlagMove) ? op.new_page : op.page) + ")";
    case OpKind::kMadvise:
      uses_.insert(AdviceC(op.advice));
      return "madvise(" + A(op.page) + ", " + Len(op.npages) + ", " + AdviceC(op.advice) + ")";
    case OpKind::kRead: return "(void)*(volatile char *)(" + A(op.page, op.offset) + ")";
    case OpKind::kWrite:
      return Fmt("*(volatile char *)(%s) = 0x%02x", A(op.page, op.offset).c_str(), WriteToken(op, i));
    case OpKind::kClearRefs: return "clear_refs(\"" + std::to_string(op.value) + "\")";
    case OpKind::kMemfd:
      return Fmt("slot(%u, memfd_create(\"mmdiff-%u\", 0), %u)", op.file, op.file, op.npages);
    case OpKind::kFile:
      return Fmt("slot(%u, open(path(%u), O_RDWR | O_CREAT | O_TRUNC, 0600), %u)", op.file, op.file, op.npages);
    case OpKind::kFtruncate: return "ftruncate(" + f + ", " + Len(op.npages) + ")";
    case OpKind::kFwrite:
      return Fmt("pwrite(%s, \"\\x%02x\", 1, %s)", f.c_str(), WriteToken(op, i), Len(op.page).c_str());
    case OpKind::kFpunch:
      uses_.insert("FALLOC_FL_PUNCH_HOLE");
      return "fallocate(" + f + ", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, " + Len(op.page) + ", " +
             Len(op.npages) + ")";
    case OpKind::kUffdOpen: return "uffd_open(" + UffdApiFeaturesC(op.uffd_features, " | ", &uses_) + ")";
    case OpKind::kUffdRegister:
      return "ioctl(uffd, UFFDIO_REGISTER, &(struct uffdio_register){" + range() + ", " +
             UffdModesC(op.uffd_modes, " | ", &uses_) + "})";
    case OpKind::kUffdUnregister: return "ioctl(uffd, UFFDIO_UNREGISTER, &(struct uffdio_range)" + range() + ")";
    case OpKind::kUffdWp: {
      std::string mode = (op.flags & kFlagWpOn) ? "UFFDIO_WRITEPROTECT_MODE_WP" : "";
      if (op.flags & kFlagDontwake) mode += std::string(mode.empty() ? "" : " | ") + "UFFDIO_WRITEPROTECT_MODE_DONTWAKE";
      return "ioctl(uffd, UFFDIO_WRITEPROTECT, &(struct uffdio_writeprotect){" + range() + ", " +
             (mode.empty() ? "0" : mode) + "})";
    }
    case OpKind::kScan: {
      std::string call = Fmt("scan(%u, %u", op.page, op.npages);
      ScanArgList args = ScanArgs(op);
      for (int k = 0; k < kNumScanArgs; k++)
        if (scan_varies_[k]) call += ", " + args[k];
      return call + ")";
    }
    case OpKind::kPagemap: case OpKind::kRequires: case OpKind::kExit: case OpKind::kFork:
      return "0";
  }
  return "0";
}

ScanArgList CompactWriter::ScanArgs(const Op& op) {
  return {ScanFlagsC(op, " | ", &uses_),
          CategoriesC(op.scan_req, " | ", &uses_),
          CategoriesC(op.scan_inv, " | ", &uses_),
          CategoriesC(op.scan_any, " | ", &uses_),
          (op.flags & kFlagHasRet) ? CategoriesC(op.scan_ret, " | ", &uses_)
          : spec_.scan_categories  ? Fmt("%#x", spec_.scan_categories)
                                   : "cats",
          std::to_string(ScanVecLen(op)),
          std::to_string(op.scan_max)};
}

// Op i, its result unused (ok() consumes what must not be ignored).
std::string CompactWriter::Statement(size_t i) {
  const Op& op = prog_.ops[i];
  if (IsAccess(op)) return (acc_ ? Code(i) : Call(i)) + ";";
  if (op.kind == OpKind::kFtruncate || op.kind == OpKind::kFwrite) return "ok(" + Call(i) + ");";
  if (op.kind == OpKind::kMemfd && !slots_) {
    // The slot's old fd first, as the executor's OpenFileSlot.
    std::string f = "fds[" + std::to_string(op.file) + "]";
    bool reopened = false;
    for (size_t j = 0; j < i; j++) reopened |= prog_.ops[j].kind == OpKind::kMemfd && prog_.ops[j].file == op.file;
    return (reopened ? "close(" + f + "), " : std::string()) + f +
           Fmt(" = memfd_create(\"mmdiff-%u\", 0), ok(ftruncate(", op.file) + f + ", " + Len(op.npages) + "));";
  }
  if (op.kind == OpKind::kUffdOpen)
    return "uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), ioctl(uffd, UFFDIO_API, &(struct uffdio_api){.api = "
           "UFFD_API, .features = " + UffdApiFeaturesC(op.uffd_features, " | ", &uses_) + "})" +
           (thread_ && !one_reader_ ? ", " + Adopt(i) + ";" : ";");
  return Call(i) + ";";
}

std::string CompactWriter::CheckLines(const ReproCheck& c) {
  const Op& op = prog_.ops[c.op_index];
  std::string at = "step " + std::to_string(c.op_index);
  if (c.single_bit) {
    int bit = PagemapBitNumber(c.bit);
    return Fmt("\tif ((pagemap(ADDR(%u)) >> %d & 1) != %d)\n", c.page, bit, c.value ? 1 : 0) + "\t\tfail(" +
           Quoted1(Fmt("page %u: %s is %d after %s (expected %d: %s)", c.page, PagemapBitName(c.bit).c_str(),
                      c.value ? 0 : 1, c.after.c_str(), c.value ? 1 : 0, c.because.c_str())) +
           ");\n";
  }
  if (c.allowed.empty()) return "";
  std::string want = PrintResult(op, c.allowed[0]);
  std::string text = CutMiddle(want, 120) + (c.allowed.size() > 1 ? " or another allowed result" : "") +
                     (c.because.empty() ? "" : ": " + c.because);
  std::string what = at + ": " + Cut(PrintOp(op), 80);
  if (op.kind == OpKind::kPagemap) {
    if (!expect_pagemap_ || c.allowed[0].pagemap.size() != op.npages) return "";
    if (c.allowed.size() == 1) {
      expect_page_ = true;
      std::string out;
      const Result& r = c.allowed[0];
      for (size_t k = 0; k < r.pagemap.size(); k++) {
        uint64_t mask = kPmShownBits & ~(k < r.either.size() ? r.either[k] : 0);
        Result one = r;
        one.pagemap = {r.pagemap[k]};
        one.either = {k < r.either.size() ? r.either[k] : 0};
        Op page_op = op;
        page_op.npages = 1;
        out += Fmt("\texpect_page(%zu, %#" PRIx64 "ul, %#" PRIx64 "ul, ", op.page + k, r.pagemap[k] & mask, mask) +
               Quoted1(c.because) + "); /* " + PrintResult(page_op, one) + " */\n";
      }
      return out;
    }
    expect_multi_ = true;
    std::string want_c, care_c;
    for (const Result& r : c.allowed)
      for (size_t k = 0; k < r.pagemap.size(); k++) {
        uint64_t mask = kPmShownBits & ~(k < r.either.size() ? r.either[k] : 0);
        want_c += Fmt("%s%#" PRIx64 "ul", want_c.empty() ? "" : ", ", r.pagemap[k] & mask);
        care_c += Fmt("%s%#" PRIx64 "ul", care_c.empty() ? "" : ", ", mask);
      }
    return Fmt("\texpect_pagemap(%zu, %u, %u, %zu, (const unsigned long[]){%s},\n", c.op_index, op.page, op.npages,
               c.allowed.size(), want_c.c_str()) +
           "\t\t       (const unsigned long[]){" + care_c + "}, " + Quoted1(c.because) + ");\n";
  }
  if (op.kind == OpKind::kScan) {
    // got[] against each allowed result as mmdiff prints it.
    if (c.allowed.size() == 1) return "\tcheck_scan(" + Quoted1(what) + ", " + Quoted1(text) + ");\n";
    std::string cond;
    for (const Result& r : c.allowed)
      cond += std::string(cond.empty() ? "" : " &&\n\t    ") + "strcmp(got, " + Quoted1(PrintResult(op, r)) + ")";
    return "\tif (" + cond + ")\n\t\tcheck_scan(" + Quoted1(what) + ", " + Quoted1(text) + ");\n";
  }
  if (c.allowed.size() == 1) {
    want_ = true;
    return "\tstep = " + std::to_string(c.op_index) + ", want(" + Code(c.op_index) + ", " +
           std::to_string(ResultCode(op, c.allowed[0])) + ", " + Quoted1(Cut(PrintOp(op), 80) + " should give " + text) +
           ");\n";
  }
  std::string codes;
  for (const Result& r : c.allowed) codes += (codes.empty() ? "" : ", ") + std::to_string(ResultCode(op, r));
  expect_ = true;
  return "\tstep = " + std::to_string(c.op_index) + ", expect(" + Code(c.op_index) + ", " +
         std::to_string(c.allowed.size()) + ", (const long[]){" + codes + "},\n\t       " +
         Quoted1(Cut(PrintOp(op), 80) + " should give " + text) + ");\n";
}

// Op i in a program that forks: only its process runs it, in its turn.
std::string CompactWriter::Step(size_t i) {
  const Op& op = prog_.ops[i];
  std::string body = StepBody(i);
  std::string p = std::to_string(op.proc), at = "\tstep = " + std::to_string(i) + "; ";
  if (chain_ && op.kind == OpKind::kFork) {
    // A child has no alarm of its own (fork() clears it): its own, so that a
    // hang names its step. /proc/self names the opener.
    std::string reopen = Fmt("\talarm(%d)", spec_.timeout_s);
    if (pm_) reopen += ", pm = open(\"/proc/self/pagemap\", O_RDONLY)";
    if (cr_) reopen += ", cr = open(\"/proc/self/clear_refs\", O_WRONLY)";
    reopen += ";\n";
    size_t end = parent_block_end_[i];
    if (end > i + 1) {  // its process's steps first, then the child's
      std::string block;
      for (size_t j = i + 1; j < end; j++) {  // one tab deeper, line by line
        std::string b = StepBody(j);
        for (size_t a = 0, nl; a < b.size(); a = nl + 1) {
          nl = b.find('\n', a);
          if (nl == std::string::npos) nl = b.size() - 1;
          block += "\t" + b.substr(a, nl - a + 1);
        }
      }
      return "\tif (pipe(go))\n\t\treturn 2;\n" + at + "if (fork()) { /* fork: " + (end == i + 2 ? "step " + std::to_string(i + 1)
                                                               : Fmt("steps %zu-%zu", i + 1, end - 1)) +
             " in p" + p + ", then the child's */\n" + block + "\t\treturn hand_over(), child_status();\n\t}\n" +
             "\tawait_parent(), " + reopen.substr(1);
    }
    return at + "if (fork()) /* fork: the child runs the steps after it */\n\t\treturn child_status();\n" + reopen;
  }
  if (!forks_ || chain_) return body;
  if (op.kind == OpKind::kFork) {
    std::string c = std::to_string(fork_child_[i]), child = "me = " + c + ", holding = 0";
    if (pm_) child += ", pm = open(\"/proc/self/pagemap\", O_RDONLY)";  // /proc/self names the opener
    if (cr_) child += ", cr = open(\"/proc/self/clear_refs\", O_WRONLY)";
    if (procs_) child += borrow_at_.count(i) ? ", drop_uffds(), uffd = borrow()" : ", uffd = drop_uffds()";
    std::string fork = procs_ ? "(sh->forking = " + c + ", !fork())" : "!fork()";
    return at + "if (turn(" + p + ") && " + fork + ") /* fork */\n\t\t" + child + ";\n" +
           (wait_held_at_.count(i) ? "\tif (turn(" + p + "))\n\t\theld(" + c + "); /* before the next fork */\n" : "");
  }
  if (op.kind == OpKind::kExit) {
    // Its children go to p0 (a subreaper), which waits for them at the end.
    std::string next =
        i + 1 < prog_.ops.size() ? "pass(" + std::to_string(prog_.ops[i + 1].proc) + ", getpid()), " : "";
    return at + "if (turn(" + p + ")) /* " + PrintOp(op) + " */\n\t\t" + next + "_exit(0);\n";
  }
  if (body.empty()) return "";
  if (std::count(body.begin(), body.end(), '\n') == 1) return "\tif (turn(" + p + ")) " + body.substr(1);
  std::string in;
  for (size_t a = 0, b; a < body.size(); a = b + 1) {
    b = body.find('\n', a);
    in += "\t" + body.substr(a, b - a + 1);
  }
  return "\tif (turn(" + p + ")) {\n" + in + "\t}\n";
}

std::string CompactWriter::StepBody(size_t i) {
  const Op& op = prog_.ops[i];
  if (op.kind == OpKind::kRequires || op.kind == OpKind::kExit || op.kind == OpKind::kFork) return "";
  std::vector<const ReproCheck*> checks;
  for (const ReproCheck& c : spec_.checks)
    if (c.op_index == i) checks.push_back(&c);
  if (Observes(op) && checks.empty()) return "";  // reads state only: nothing to reproduce
  for (const ReproCheck* c : checks)
    if (!c->consistency.empty()) {
      const MutantInfo* m = MutantByName(spec_.self_test);
      return CConsistencyStep(i, op, {c->consistency, c->page, c->vma_start, c->vma_end},
                              m ? m->mutant : Mutant::kNone, AllCategoriesC(), &uses_);
    }
  std::string comment = " /* " + Cut(PrintOp(op), 100) + " */\n", at = "\tstep = " + std::to_string(i);
  bool whole = false;  // a check of the result itself: it makes the step
  for (const ReproCheck* c : checks) whole |= !c->single_bit && !c->allowed.empty();
  std::string out;
  if (op.kind == OpKind::kPagemap) out = at + ";" + comment;
  else if (op.kind == OpKind::kScan && whole && checks.size() == 1 && checks[0]->allowed.size() == 1)
    return at + ", " + Code(i) + ", " + CheckLines(*checks[0]).substr(1);  // its check names it
  else if (op.kind == OpKind::kScan && whole) out = at + ", " + Code(i) + ";" + comment;
  else if (!whole) out = at + ", " + Statement(i) + comment;
  for (const ReproCheck* c : checks) out += CheckLines(*c);
  return out;
}

// A long run of plain stores (scan_stale_walk_end has 512): the number of
// unchecked writes at page offset 0 from op i on, in a program of one process
// whose accesses need no fault recovery.
size_t CompactWriter::StoreRun(size_t i) const {
  if (forks_ || acc_) return 0;
  size_t n = 0;
  for (size_t j = i; j < prog_.ops.size(); j++, n++) {
    const Op& op = prog_.ops[j];
    bool checked = false;
    for (const ReproCheck& c : spec_.checks) checked |= c.op_index == j;
    if (op.kind != OpKind::kWrite || op.offset != 0 || checked) break;
  }
  return n;
}

// Those stores as a table and a loop: the C grows by a line per 12 steps.
std::string CompactWriter::StoreTable(size_t i, size_t n) const {
  std::string pages, bytes;
  for (size_t k = 0; k < n; k++) {
    const char* sep = k == 0 ? "" : k % 12 ? ", " : ",\n\t\t\t";
    pages += sep + std::to_string(prog_.ops[i + k].page);
    bytes += sep + Fmt("0x%02x", WriteToken(prog_.ops[i + k], i + k));
  }
  return Fmt("\tfor (int k = 0; k < %zu; k++) { /* steps %zu-%zu: write PAGE */\n", n, i, i + n - 1) +
         "\t\tstatic const unsigned page[] = {" + pages + "};\n" +
         "\t\tstatic const unsigned char byte[] = {" + bytes + "};\n\n" +
         Fmt("\t\tstep = %zu + k, *(volatile char *)ADDR(page[k]) = byte[k];\n\t}\n", i);
}

// The probes of the features a `requires` names (executor/probe.cc tests the
// same), in Feature order: the first missing one is the SKIP's. The probe's
// page and userfaultfd stay until exit: they are away from the arena.
std::string CompactWriter::Require() {
  if (!req_) return "";
  auto skip = [](const std::string& cond, Feature f) {
    return "\tif (" + cond + ")\n\t\tskip(\"" + FeatureNames()[__builtin_ctz(f)] + "\");\n";
  };
  std::string b;
  if (req_ & (kFeatSoftDirty | kFeatUffdWp | kFeatGuard))
    b += "\tchar *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);\n";
  bool api = req_ & (kFeatWpAsync | kFeatWpUnpopulated);  // the features UFFDIO_API reports
  // Without the WP probe, which registers through it, the uffd is only asked for its features.
  bool api_only = api && !(req_ & kFeatUffdWp);
  if (api_only) b += "\tstruct uffdio_api api = {.api = UFFD_API};\n";
  else if (req_ & (kFeatUffdWp | kFeatWpAsync | kFeatWpUnpopulated))
    b += "\tint fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);\n" +
         std::string(api ? "\tstruct uffdio_api api = {.api = UFFD_API};\n\tioctl(fd, UFFDIO_API, &api);\n" : "");
  if (req_ & kFeatSoftDirty)  // a page written after clear_refs 4 reads soft-dirty
    b += "\t*(volatile char *)p = 1, clear_refs(\"4\"), *(volatile char *)p = 2;\n" +
         skip("!(pagemap(p) >> 55 & 1)", kFeatSoftDirty);
  if (req_ & kFeatUffdWp)
    b += skip(std::string(api ? "" : "ioctl(fd, UFFDIO_API, &(struct uffdio_api){.api = UFFD_API}) ||\n\t    ") +
                  "ioctl(fd, UFFDIO_REGISTER, &(struct uffdio_register){{(unsigned long)p, PAGE}, UFFDIO_REGISTER_MODE_WP})",
              kFeatUffdWp);
  for (auto [feat, name] : {std::pair{kFeatWpAsync, "UFFD_FEATURE_WP_ASYNC"},
                            std::pair{kFeatWpUnpopulated, "UFFD_FEATURE_WP_UNPOPULATED"}})
    if (req_ & feat) {
      uses_.insert(name);
      std::string ask = api_only && b.find("UFFDIO_API") == b.rfind("UFFDIO_API")
                            ? "ioctl(syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK), UFFDIO_API, &api) || "
                            : "";
      b += skip(ask + "!(api.features & " + name + ")", feat);
    }
  // Without `cats` (every scan has its ret=): one scan of nothing, which a
  // kernel without PAGEMAP_SCAN (ENOTTY) or the category (EINVAL) refuses.
  std::string probe = "ioctl(pm, PAGEMAP_SCAN, &(struct pm_scan_arg){.size = sizeof(struct pm_scan_arg)";
  if (req_ & kFeatPagemapScan && cats_ && !probe_cats_)  // a kernel without one of those categories too
    b += "\tif (" + probe + Fmt(", .return_mask = %#x}))\n", spec_.scan_categories) +
         Fmt("\t\tskip(\"pagemap_scan (with the categories %#x)\");\n", spec_.scan_categories);
  else if (req_ & kFeatPagemapScan)
    b += skip(probe_cats_ ? "!cats" : probe + "})", kFeatPagemapScan);
  if (req_ & kFeatScanSoftDirty)
    b += skip(probe_cats_ ? "!(cats & PAGE_IS_SOFT_DIRTY)" : probe + ", .return_mask = PAGE_IS_SOFT_DIRTY})",
              kFeatScanSoftDirty);
  if (req_ & kFeatThp)
    b += "\tchar thp[64] = \"\";\n\tint t = open(\"/sys/kernel/mm/transparent_hugepage/enabled\", O_RDONLY);\n" +
         skip("read(t, thp, sizeof thp - 1) < 0 || (!strstr(thp, \"[always]\") && !strstr(thp, \"[madvise]\"))",
              kFeatThp);
  if (req_ & kFeatHugetlb) b += skip("meminfo(\"HugePages_Free:\") <= 0", kFeatHugetlb);
  if (req_ & kFeatSwap) b += skip("meminfo(\"SwapTotal:\") <= 0", kFeatSwap);
  if (req_ & kFeatGuard) b += skip("madvise(p + PAGE, PAGE, MADV_GUARD_INSTALL)", kFeatGuard);
  return b;
}

std::string CompactWriter::Includes(const std::string& body) const {
  std::set<std::string> inc = {"stdio.h", "stdlib.h", "unistd.h", "signal.h"};
  auto has = [&body](const char* re) { return std::regex_search(body, std::regex(re)); };
  if (has("errno")) inc.insert("errno.h");
  if (has("\\bopen\\(|O_RDONLY|O_CLOEXEC|fallocate")) inc.insert("fcntl.h");
  if (has("\\b(mmap|munmap|mprotect|madvise|mremap|memfd_create)\\(")) inc.insert("sys/mman.h");
  if (has("\\bioctl\\(")) inc.insert("sys/ioctl.h");
  if (has("\\bsyscall\\(")) inc.insert("sys/syscall.h");
  if (has("\\b(strlen|strstr|strerror|strcmp|strncmp|strerrorname_np)\\(")) inc.insert("string.h");
  if (has("uffdio_|UFFD_")) inc.insert("linux/userfaultfd.h");
  if (has("pthread_")) inc.insert("pthread.h");
  if (has("\\bpoll\\(")) inc.insert("poll.h");
  if (has("sigsetjmp")) inc.insert("setjmp.h");
  if (has("\\bmount\\(")) inc.insert("sys/mount.h");
  if (has("\\bwait(pid)?\\(")) inc.insert("sys/wait.h");
  if (has("\\bprctl\\(")) inc.insert("sys/prctl.h");
  std::string out = "#define _GNU_SOURCE\n";
  for (const std::string& h : inc) out += "#include <" + h + ">\n";
  return out;
}

std::string CompactWriter::Write() {
  std::string steps;
  for (size_t i = 0; i < prog_.ops.size(); i++) {
    size_t run = StoreRun(i);
    if (run >= 8) {
      steps += StoreTable(i, run);
      i += run - 1;
      continue;
    }
    steps += Step(i);
    if (chain_ && prog_.ops[i].kind == OpKind::kFork) i = std::max(i, parent_block_end_[i] - 1);
  }
  std::string require = Require();

  // Helpers, each only when a step uses it.
  std::string helpers;
  auto add = [&helpers](const std::string& s) { helpers += (helpers.empty() ? "" : "\n") + s; };
  std::string globals = "static int step", what = "the step running";
  if (pm_) globals += ", pm", what += ", /proc/self/pagemap";
  if (cr_) globals += ", cr", what += ", clear_refs";
  if (probe_cats_) globals += ", cats", what += ", what a scan without ret= asks for";
  if (uffd_) globals += ", uffd = -1", what += ", the userfaultfd";
  if (files_) globals += ", fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1}", what += ", memfd/file slots";
  if (handover_) globals += ", go[2]", what += ", a pipe: the parent's steps after fork are done";
  globals += "; /* " + what + " */\n";
  std::string oneliners = Fmt(
      "static void died(int sig) { printf(sig == SIGALRM ? \"FAIL: step %%d did not finish within %%d s (hang)\\n\" : "
      "\"FAIL: step %%d: signal %%d\\n\", step, sig == SIGALRM ? %d : sig), exit(1); }\n",
      spec_.timeout_s);
  if (!require.empty())
    oneliners += "static void skip(const char *f) { printf(\"SKIP: this kernel lacks %s, which the program requires\\n\", f); "
                 "exit(125); }\n";
  if (fail_) oneliners += "static void fail(const char *why) { printf(\"FAIL: %s\\n\", why); exit(1); }\n";
  if ((steps + require).find("pagemap(") != std::string::npos || expect_page_ || expect_multi_)
    oneliners += "static unsigned long pagemap(char *p) { unsigned long e; return pread(pm, &e, 8, (unsigned long)p "
                 "/ PAGE * 8) == 8 ? e : 0; }\n";
  if (cr_ || (forks_ && !chain_) || handover_ || (steps + require).find("ok(") != std::string::npos)
    oneliners += "static long ok(long r) { return r < 0 ? -errno : 0; } /* a system call's result: 0 or -errno */\n";
  if (cr_) oneliners += "static int clear_refs(const char *v) { return ok(write(cr, v, 1)); }\n";
  if (handover_)
    oneliners += "static void hand_over(void) { ok(write(go[1], \"\", 1)); } /* to the child: its turn */\n"
                 "static void await_parent(void) { char c; close(go[1]); if (read(go[0], &c, 1) != 1) _exit(0); }\n";
  if (chain_)
    oneliners += "static int child_status(void) { int st = 1; wait(&st); return WIFEXITED(st) ? WEXITSTATUS(st) : "
                 "(printf(\"FAIL: the child died of signal %d\\n\", WTERMSIG(st)), 1); }\n";
  if (want_) oneliners += kCWant;
  helpers = oneliners;
  if (forks_ && !chain_)
    add(Fmt("static int me, holding = 1, turns[%d][2]; /* this process (p0, p1, ...), whether it has the turn, a pipe each */\n",
            prog_.NumProcs()) +
        (child_exits_ ? kCTurnsExit : kCTurns) + "\n" + kCReap);
  if (thread_)
    add(procs_ || sync_faults_ ? CHandler(procs_, prog_.NumProcs(), fault_kinds_, sync_faults_)
        : one_reader_          ? kCOneEventReader
                               : kCEventReader);
  if (!borrow_at_.empty() || !wait_held_at_.empty()) add(kCHeld);
  if (!borrow_at_.empty()) add(kCBorrow);
  if (acc_) add(sync_faults_ ? CAccessFaults(procs_, signals_) : kCAccess);
  if (dir_) add(kCFileDir);
  if (slots_) add(kCSlot);
  if (fault_around_) add(kCFaultAround);
  std::string note = cats_ && !probe_cats_
                         ? Fmt("; %#x: every category the kernel it was found on accepts", spec_.scan_categories)
                         : "";
  if (scan_calls_) add(CScan(vec_, scan_const_, scan_varies_, note) + (check_scan_ ? kCCheckScan : ""));
  if (consistency_)
    add(CConsistencyHelpers(prog_.ops[consistency_->op_index],
                            {consistency_->consistency, consistency_->page, consistency_->vma_start,
                             consistency_->vma_end},
                            AllCategoriesC(), &uses_));
  if (expect_) add(kCExpect);
  std::string bits = expect_page_ || expect_multi_ ? CPagemapBitTable() : "";  // once, before the first
  if (expect_page_) add(std::exchange(bits, "") + kCExpectPage);
  if (expect_multi_) add(bits + kCExpectPagemap);
  if (req_ & (kFeatHugetlb | kFeatSwap)) add(kCMeminfo);

  std::string main = "int main(void)\n{\n";
  // A fault where none may happen: FAIL.
  bool plain_access = (!acc_ && steps.find("volatile") != std::string::npos) || (acc_ && !signals_);
  main += Fmt("\tsignal(SIGALRM, died), %salarm(%d);\n", plain_access ? "signal(SIGSEGV, died), signal(SIGBUS, died), " : "",
              spec_.timeout_s);
  if (pm_ && cr_) main += "\tpm = open(\"/proc/self/pagemap\", O_RDONLY), cr = open(\"/proc/self/clear_refs\", O_WRONLY);\n";
  else if (pm_) main.insert(main.size() - 2, ", pm = open(\"/proc/self/pagemap\", O_RDONLY)");
  else if (cr_) main += "\tcr = open(\"/proc/self/clear_refs\", O_WRONLY);\n";
  if (probe_cats_) main += kCScanCategories;
  main += require;
  // What exit undoes (atexit) is set up by the process that says PASS; the
  // others end with _exit.
  if (dir_)
    main += "\tsnprintf(dir, sizeof dir, \"%s/mmdiff-repro.XXXXXX\", getenv(\"TMPDIR\") ?: \"/tmp\");\n"
            "\tif (!mkdtemp(dir) || atexit(remove_files))\n\t\treturn 2;\n";
  if (fault_around_) main += "\tpin_fault_around();\n";

  if (forks_ && !chain_)
    main += Fmt("\tsetpgid(0, 0), prctl(PR_SET_CHILD_SUBREAPER, 1), atexit(stop_all), signal(SIGCHLD, reap);\n"
                "\tfor (int p = 0; p < %d; p++)\n\t\tif (pipe(turns[p]))\n\t\t\treturn 2;\n",
                prog_.NumProcs());
  if (procs_) main += "\tsh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);\n";
  if (supervisor_) {
    main += "\tif (fork()) /* p0 exits: its parent waits for every process and reports */\n"
            "\t\treturn reap(0), printf(\"PASS\\n\"), 0;\n";
    if (pm_) main += "\tpm = open(\"/proc/self/pagemap\", O_RDONLY);\n";
    if (cr_) main += "\tcr = open(\"/proc/self/clear_refs\", O_WRONLY);\n";
  }
  if (acc_ && signals_) main += "\tsignal(SIGSEGV, on_fault), signal(SIGBUS, on_fault);\n";
  if (thread_) main += "\tpthread_create(&(pthread_t){0}, NULL, handler, NULL);\n";
  main += steps;
  if (forks_ && !chain_) main += "\treap(0); /* every process waits for its children; p0 says PASS */\n\tif (me)\n\t\t_exit(0);\n";
  main += "\tprintf(\"PASS\\n\");\n\treturn 0;\n}\n";

  std::string defs = "#define PAGE 4096ul\n#define ADDR(page) ((char *)0x100000000000ul + (page) * PAGE) /* mmdiff's arena */\n";
  if ((steps + helpers).find("RANGE(") != std::string::npos)
    defs += "#define RANGE(page, n) {(unsigned long)ADDR(page), (n) * PAGE}\n";
  std::string body = defs + globals + helpers + "\n" + main;
  std::string newer = NewerUapiDefines(uses_);
  if (scan_) newer += CScanUapi(body);

  std::string out = "// mmdiff reproducer" +
                    (spec_.self_test.empty() ? "" : " of model mutant " + spec_.self_test + " (a SELF-TEST, not a kernel bug)") +
                    ": " + Cut(spec_.title, 160) + "\n";
  for (const std::string& n : spec_.notes) out += "// " + Cut(n, 160) + "\n";
  out += std::string("// cc -O2 -Wall -o repro repro.c") + (thread_ ? " -pthread" : "") +
         " && ./repro: FAIL (exit 1), PASS (0), SKIP (125: a feature is missing)\n";
  out += Includes(body + newer) + newer;
  out += "\n" + body;
  return out;
}

}  // namespace

std::string WriteReproC(const Program& prog, const ReproSpec& spec) {
  return CompactWriter(prog, spec).Write();
}

}  // namespace mmdiff
