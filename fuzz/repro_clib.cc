// The C helpers of a single-process reproducer, as text (fuzz/repro_clib.h).
// Kernel style (tabs), short: a reproducer is read in a mail.
#include "fuzz/repro_clib.h"

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "executor/uapi.h"
#include "fuzz/repro_fmt.h"
#include "prog/op_table.h"

#include "prog/result.h"

namespace mmdiff::repro_detail {

// executor/uffd_handler.cc: WP faults are resolved by un-protecting the page,
// MINOR by UFFDIO_CONTINUE, MISSING by a zero page (a copy of zeroes where
// UFFDIO_ZEROPAGE refuses: a uffd-wp marker, hugetlb); on hugetlb, where a
// 4 KiB range is EINVAL, for the whole 2 MiB page; events are read only.
// The executor's turn protocol (executor/runner.cc) in pipes: every process
// walks the same steps; the one that has the turn runs its own and hands the
// turn to the owner of the next; a child that fails (exit 1, a signal) fails
// its parent, and so on up to p0.
const char kCTurns[] = R"C(static void pass(int p) { holding = 0, ok(write(turns[p][1], "", 1)); }

/* Whether step's process p is this one, once its turn has come: the steps run in the program's order. */
static int turn(int p)
{
	char c;

	if (holding && p != me)
		pass(p);
	if (p != me)
		return 0;
	if (!holding)
		holding = read(turns[me][0], &c, 1) == 1;
	return 1;
}
)C";

// With `exit` ops: the next process runs once the exiting one is gone (its
// mm torn down, kernel/exit.c exit_mm() before exit_notify()).
const char kCTurnsExit[] = R"C(static void pass(int p, int pid) { holding = 0, ok(write(turns[p][1], &pid, sizeof pid)); }

/* Whether step's process p is this one, once its turn has come: the steps run in the program's order. */
static int turn(int p)
{
	int pid;

	if (holding && p != me)
		pass(p, 0);
	if (p != me)
		return 0;
	if (!holding && read(turns[me][0], &pid, sizeof pid) == sizeof pid) {
		int fd = pid ? syscall(SYS_pidfd_open, pid, 0) : -1;

		holding = 1;
		if (fd >= 0) /* handed over by a process on its way out: its exit first */
			poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, -1), close(fd);
	}
	return 1;
}
)C";

const char kCReap[] = R"C(static void reap(int sig) /* a process of the program that failed fails the program */
{
	int st;

	while (waitpid(-1, &st, sig ? WNOHANG : 0) > 0)
		if (st)
			exit(1);
}

static void stop_all(void) { if (!me) signal(SIGTERM, SIG_IGN), kill(0, SIGTERM); } /* p0's exit ends them all */
)C";

const char kCEventReader[] = R"C(static int uffds[16], nuffds;
static int adopt(int fd) { uffds[nuffds] = fd, __atomic_add_fetch(&nuffds, 1, __ATOMIC_RELEASE); return 0; }

/* Reads the userfaultfd events (fork, mremap, ...): the kernel waits until they are read. */
static void *handler(void *arg)
{
	for (struct uffd_msg m;; usleep(1000))
		for (int i = 0; i < __atomic_load_n(&nuffds, __ATOMIC_ACQUIRE); i++)
			while (read(uffds[i], &m, sizeof m) == sizeof m)
				;
	return arg;
}
)C";

const char kCOneEventReader[] = R"C(/* Reads the userfaultfd's events (fork, mremap, ...): the kernel waits until they are read. */
static void *handler(void *arg)
{
	for (struct uffd_msg m;; usleep(1000))
		while (read(uffd, &m, sizeof m) == sizeof m)
			;
	return arg;
}
)C";

const char kCHandler[] = R"C(static int uffds[16], nuffds, faults[3]; /* wp, missing, minor faults resolved */
static int adopt(int fd) { uffds[nuffds] = fd, __atomic_add_fetch(&nuffds, 1, __ATOMIC_RELEASE); return 0; }
static char zeros[2 << 20] __attribute__((aligned(1 << 21)));

/* Resolves sync faults as mmdiff's executor does; reads events (the kernel waits for them). */
static void *handler(void *arg)
{
	for (;;) {
		struct pollfd pfd[16];
		int n = __atomic_load_n(&nuffds, __ATOMIC_ACQUIRE);

		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd){.fd = uffds[i], .events = POLLIN};
		poll(pfd, n, 10);
		for (int i = 0; i < n; i++) {
			struct uffd_msg m;

			if (read(uffds[i], &m, sizeof m) != sizeof m || m.event != UFFD_EVENT_PAGEFAULT)
				continue;
			unsigned long a = m.arg.pagefault.address & ~(PAGE - 1), f = m.arg.pagefault.flags;
			int k = f & UFFD_PAGEFAULT_FLAG_WP ? 0 : f & UFFD_PAGEFAULT_FLAG_MINOR ? 2 : 1;

			__atomic_add_fetch(&faults[k], 1, __ATOMIC_RELEASE);
			if (k == 0 && (!ioctl(uffds[i], UFFDIO_WRITEPROTECT, &(struct uffdio_writeprotect){{a, PAGE}, 0}) ||
				       (errno == EINVAL && !ioctl(uffds[i], UFFDIO_WRITEPROTECT, &(struct uffdio_writeprotect){
						{a & ~((2ul << 20) - 1), 2ul << 20}, 0}))))
				continue;
			if (k == 2 && (!ioctl(uffds[i], UFFDIO_CONTINUE, &(struct uffdio_continue){.range = {a, PAGE}}) ||
				       (errno == EINVAL && !ioctl(uffds[i], UFFDIO_CONTINUE, &(struct uffdio_continue){
						.range = {a & ~((2ul << 20) - 1), 2ul << 20}}))))
				continue;
			if (k == 1 && (!ioctl(uffds[i], UFFDIO_ZEROPAGE, &(struct uffdio_zeropage){.range = {a, PAGE}}) ||
				       !ioctl(uffds[i], UFFDIO_COPY, &(struct uffdio_copy){a, (unsigned long)zeros, PAGE}) ||
				       (errno == EINVAL && !ioctl(uffds[i], UFFDIO_COPY, &(struct uffdio_copy){
						a & ~((2ul << 20) - 1), (unsigned long)zeros, 2ul << 20}))))
				continue;
			ioctl(uffds[i], UFFDIO_WAKE, &(struct uffdio_range){a, PAGE});
		}
	}
	return arg;
}
)C";

namespace {
// `from` once in `s`, replaced by `to` (the handler's text is one, its variants edits of it).
std::string Edit(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  if (at == std::string::npos || s.find(from, at + 1) != std::string::npos) std::abort();
  return s.replace(at, from.size(), to);
}
}  // namespace

// Processes after a fork keep what executor/uffd_handler.cc UffdAfterFork
// and UffdForOps do: a child closes the uffds it inherited (they name its
// parent's contexts) and has no handler thread; with UFFD_FEATURE_EVENT_FORK
// its own context (mm/userfaultfd.c dup_fctx) reaches the handler of the
// process that read the fork event, and the child takes that fd with
// pidfd_getfd for its uffd ops. Fault counts are per process, in shared
// memory, as the executor's g_shared->faults.
std::string CHandler(bool procs, int nprocs, uint8_t kinds, bool faults) {
  std::string h = kCHandler;
  // No access can fault into a registered range: the thread only reads
  // events (a fork's, which the forking process waits for).
  if (!faults) {
    size_t from = h.find("\t\t\tunsigned long a = ");
    std::string last = "\t\t\tioctl(uffds[i], UFFDIO_WAKE, &(struct uffdio_range){a, PAGE});\n";
    size_t to = h.find(last);
    if (from != std::string::npos && to != std::string::npos) h.erase(from, to + last.size() - from);
    h = Edit(h, " || m.event != UFFD_EVENT_PAGEFAULT)\n", ")\n");
    h = Edit(h, "static char zeros[2 << 20] __attribute__((aligned(1 << 21)));\n", "");
    h = Edit(h, "/* Resolves sync faults as mmdiff's executor does; reads events (the kernel waits for them). */",
             "/* Reads events (the kernel waits for them); no access of the program can fault into a registration. */");
    h = Edit(h, "static int uffds[16], nuffds, faults[3]; /* wp, missing, minor faults resolved */",
             "static int uffds[16], nuffds;");
  }
  // Only the faults that can happen: a program registered for WP alone needs
  // no zero page and no UFFDIO_CONTINUE.
  if (faults && kinds && !(kinds & kFaultMissing)) {
    h = Edit(h, "static char zeros[2 << 20] __attribute__((aligned(1 << 21)));\n", "");
    h = Edit(h, "\t\t\tif (k == 1 && (!ioctl(uffds[i], UFFDIO_ZEROPAGE, &(struct uffdio_zeropage){.range = {a, PAGE}}) ||\n"
                "\t\t\t\t       !ioctl(uffds[i], UFFDIO_COPY, &(struct uffdio_copy){a, (unsigned long)zeros, PAGE}) ||\n"
                "\t\t\t\t       (errno == EINVAL && !ioctl(uffds[i], UFFDIO_COPY, &(struct uffdio_copy){\n"
                "\t\t\t\t\t\ta & ~((2ul << 20) - 1), (unsigned long)zeros, 2ul << 20}))))\n\t\t\t\tcontinue;\n", "");
  }
  if (faults && kinds && !(kinds & kFaultMinor))
    h = Edit(h, "\t\t\tif (k == 2 && (!ioctl(uffds[i], UFFDIO_CONTINUE, &(struct uffdio_continue){.range = {a, PAGE}}) ||\n"
                "\t\t\t\t       (errno == EINVAL && !ioctl(uffds[i], UFFDIO_CONTINUE, &(struct uffdio_continue){\n"
                "\t\t\t\t\t\t.range = {a & ~((2ul << 20) - 1), 2ul << 20}}))))\n"
                "\t\t\t\tcontinue;\n", "");
  if (!procs) return h;
  std::string statics = faults ? "static int uffds[16], nuffds, faults[3]; /* wp, missing, minor faults resolved */\n"
                               : "static int uffds[16], nuffds;\n";
  std::string shared =
      faults ? Fmt("\tint forking, held_pid[%d], held_fd[%d], faults[%d][3]; /* wp, missing, minor faults resolved */\n",
                   nprocs, nprocs, nprocs)
             : Fmt("\tint forking, held_pid[%d], held_fd[%d];\n", nprocs, nprocs);
  std::string s = Edit(h, statics + "static int adopt(int fd) { uffds[nuffds] = fd, ",
                       std::string("static struct { /* shared by the processes: the fork being made, each child's uffd "
                                   "in its holder") + (faults ? ", faults" : "") + " */\n" + shared +
                           "} *sh;\nstatic int uffds[16], owner[16], nuffds;\n"
                           "static int adopt(int fd, int p) { uffds[nuffds] = fd, owner[nuffds] = p, ");
  std::string fork_event =
      "\t\t\tif (m.event == UFFD_EVENT_FORK) /* the child's context: its faults come here */\n"
      "\t\t\t\tsh->held_fd[sh->forking] = m.arg.fork.ufd, adopt(m.arg.fork.ufd, sh->forking),\n"
      "\t\t\t\t__atomic_store_n(&sh->held_pid[sh->forking], getpid(), __ATOMIC_RELEASE);\n";
  if (faults) {
    s = Edit(s, "sizeof m || m.event != UFFD_EVENT_PAGEFAULT)\n",
             "sizeof m)\n\t\t\t\tcontinue;\n" + fork_event + "\t\t\tif (m.event != UFFD_EVENT_PAGEFAULT)\n");
    s = Edit(s, "&faults[k]", "&sh->faults[owner[i]][k]");
  } else {
    s = Edit(s, "sizeof m)\n\t\t\t\tcontinue;\n", "sizeof m)\n\t\t\t\tcontinue;\n" + fork_event);
  }
  return s + R"C(
/* After fork: the inherited uffds name the parent's contexts, and threads do not survive fork. */
static int drop_uffds(void)
{
	for (int i = 0; i < nuffds; i++)
		close(uffds[i]);
	nuffds = 0;
	return close(uffd), -1;
}
)C";
}

std::string CAccessFaults(bool procs, bool signals) {
  std::string s = kCAccessFaults;
  if (!signals) {  // no access may fault with a signal: nothing to recover
    s = Edit(s, "static sigjmp_buf jmp;\nstatic volatile int fault_sig;\n"
                "static void on_fault(int sig) { fault_sig = sig, siglongjmp(jmp, 1); }\n\n", "");
    s = Edit(s, "/* A load (the byte) or store (0) of one byte; a fault gives 0x10000 + its signal;\n",
             "/* A load (the byte) or store (0) of one byte;\n");
    s = Edit(s, "\tif (sigsetjmp(jmp, 1))\n\t\tr = 0x10000 | fault_sig;\n\telse if (write)", "\tif (write)");
  }
  if (!procs) return s;
  for (size_t at = 0; (at = s.find("faults[", at)) != std::string::npos; at += 15) s.replace(at, 7, "sh->faults[me][");
  return s;
}

const char kCHeld[] = R"C(/* Child c's context once the handler that read its fork event recorded it: the pid holding it (0: none). */
static int held(int c)
{
	for (int spin = 0; !__atomic_load_n(&sh->held_pid[c], __ATOMIC_ACQUIRE) && spin < 200; spin++)
		usleep(1000); /* no event at all where nothing was registered: hence the bound */
	return sh->held_pid[c];
}
)C";

const char kCBorrow[] = R"C(/* A child's uffd: that context, taken with pidfd_getfd (-1: none). */
static int borrow(void)
{
	int pidfd = held(me) ? syscall(SYS_pidfd_open, sh->held_pid[me], 0) : -1;

	return pidfd < 0 ? -1 : syscall(SYS_pidfd_getfd, pidfd, sh->held_fd[me], 0);
}
)C";

const char kCAccess[] = R"C(static sigjmp_buf jmp;
static volatile int fault_sig;
static void on_fault(int sig) { fault_sig = sig, siglongjmp(jmp, 1); }

/* A load (the byte) or store (0) of one byte; a fault gives 0x10000 + its signal. */
static int acc(char *p, int write, char v)
{
	if (sigsetjmp(jmp, 1))
		return 0x10000 | fault_sig;
	if (write)
		return *(volatile char *)p = v, 0;
	return *(volatile unsigned char *)p;
}
)C";

const char kCAccessFaults[] = R"C(static sigjmp_buf jmp;
static volatile int fault_sig;
static void on_fault(int sig) { fault_sig = sig, siglongjmp(jmp, 1); }

/* A load (the byte) or store (0) of one byte; a fault gives 0x10000 + its signal;
   the uffd faults the handler resolved meanwhile add 0x100 (wp), 0x200 (missing), 0x400 (minor). */
static int acc(char *p, int write, char v)
{
	int before[3] = {faults[0], faults[1], faults[2]}, r;

	if (sigsetjmp(jmp, 1))
		r = 0x10000 | fault_sig;
	else if (write)
		r = 0, *(volatile char *)p = v;
	else
		r = *(volatile unsigned char *)p;
	for (int k = 0; k < 3; k++)
		r |= (__atomic_load_n(&faults[k], __ATOMIC_ACQUIRE) != before[k]) << (8 + k);
	return r;
}
)C";

const char kCSlot[] = R"C(static int slot(int f, int fd, long pages) /* memfd/file slot f: fd, of `pages` pages */
{
	if (fd < 0 || ftruncate(fd, pages * PAGE))
		return -errno;
	if (fds[f] >= 0)
		close(fds[f]);
	fds[f] = fd;
	return 0;
}
)C";

const char kCFileDir[] = R"C(static char dir[256]; /* the `file` slots f0, f1, ... live here, in $TMPDIR (else /tmp) */

static const char *path(int f)
{
	static char p[300];

	snprintf(p, sizeof p, "%s/f%d", dir, f);
	return p;
}

static void remove_files(void)
{
	for (int f = 0; f < 8; f++)
		unlink(path(f));
	rmdir(dir);
}
)C";

// mm/memory.c do_read_fault(): a read fault of a file mapping maps up to
// fault_around_bytes of page cache around it; the executor pins it to one
// page in a guest, and a program that observes a page it did not read needs
// the same.
const char kCFaultAround[] = R"C(#ifndef FAULT_AROUND /* another file for a test: cc -DFAULT_AROUND='"FILE"' */
#define FAULT_AROUND "/sys/kernel/debug/fault_around_bytes"
#endif
static char fa_saved[32];
static int fa_mounted;

static void restore_fault_around(void)
{
	int fd = open(FAULT_AROUND, O_WRONLY | O_TRUNC);

	if (write(fd, fa_saved, strlen(fa_saved)) < 0)
		fa_saved[0] = 0;
	close(fd);
	if (fa_mounted)
		umount2("/sys/kernel/debug", MNT_DETACH);
}

/* mm/memory.c fault_around_bytes at 4096: a read fault of a file mapping maps
   only its own page, as in mmdiff's guests. System-wide: restored at exit. */
static void pin_fault_around(void)
{
	if (access(FAULT_AROUND, F_OK))
		fa_mounted = !mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	int fd = open(FAULT_AROUND, O_RDONLY);

	if (fd < 0 || read(fd, fa_saved, sizeof fa_saved - 1) <= 0 || close(fd))
		return;
	atexit(restore_fault_around);
	signal(SIGINT, exit), signal(SIGTERM, exit), signal(SIGHUP, exit);
	fd = open(FAULT_AROUND, O_WRONLY | O_TRUNC);
	if (write(fd, "4096", 4) < 0 || close(fd))
		return;
}
)C";

std::string CScanUapi(const std::string& body) {
  auto used = [&body](const std::string& name) {
    for (size_t at = body.find(name); at != std::string::npos; at = body.find(name, at + 1)) {
      char next = at + name.size() < body.size() ? body[at + name.size()] : ' ';
      if (!isalnum(static_cast<unsigned char>(next)) && next != '_') return true;
    }
    return false;
  };
  std::string defs;
  if (used("PM_SCAN_WP_MATCHING")) defs += Fmt("#define PM_SCAN_WP_MATCHING %d\n", PM_SCAN_WP_MATCHING);
  if (used("PM_SCAN_CHECK_WPASYNC")) defs += Fmt("#define PM_SCAN_CHECK_WPASYNC %d\n", PM_SCAN_CHECK_WPASYNC);
  // The categories used, as one enum wrapped at about 140 columns.
  auto names = ScanCategoryNames();
  std::string cats, line = "enum {";
  for (size_t b = 0; b < names.size(); b++) {
    std::string name = "PAGE_IS_" + std::string(names[b]);
    for (char& c : name) c = static_cast<char>(toupper(c));
    if (!used(name)) continue;
    std::string item = Fmt(" %s = 1 << %zu,", name.c_str(), b);
    if (line.size() + item.size() > 140) cats += line + "\n", line = "\t", item.erase(0, 1);
    line += item;
  }
  if (line != "enum {") defs += cats + line.substr(0, line.size() - 1) + " };\n";
  // Declared here whatever the system headers say (linux/fs.h is not
  // included): older ones lack PAGEMAP_SCAN, newer ones would clash.
  return std::string(R"C(struct page_region { unsigned long long start, end, categories; }; /* include/uapi/linux/fs.h, 6.7 */
struct pm_scan_arg { unsigned long long size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask, category_anyof_mask, return_mask; };
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
)C") + defs;
}

std::string CWrappedFields(const std::vector<std::string>& fields, size_t width) {
  std::string out, line;
  for (const std::string& f : fields) {
    if (!line.empty() && line.size() + f.size() > width) out += ",\n\t\t\t\t  " + std::exchange(line, "");
    line += (line.empty() ? "" : ", ") + f;
  }
  if (!line.empty()) out += ",\n\t\t\t\t  " + line;
  return out;
}

std::string CScan(uint32_t vec_len, const ScanArgList& constant, const std::array<bool, kNumScanArgs>& varies,
                  const std::string& note) {
  static constexpr const char* kParam[kNumScanArgs] = {"flags", "req", "inv", "any", "ret", "vec", "max"};
  static constexpr const char* kField[kNumScanArgs] = {".flags",       ".category_mask", ".category_inverted",
                                                       ".category_anyof_mask", ".return_mask", ".vec_len",
                                                       ".max_pages"};
  std::string params;
  std::vector<std::string> fields;
  for (int k = 0; k < kNumScanArgs; k++) {
    if (varies[k]) params += std::string(", long ") + kParam[k];
    std::string value = varies[k] ? kParam[k] : constant[k];
    if (value == "0") continue;
    if (k == kScanVec) fields.push_back(varies[k] ? ".vec = vec ? (unsigned long)regions : 0" : ".vec = (unsigned long)regions");
    fields.push_back(std::string(kField[k]) + " = " + value);
  }
  // The initializer: .start and .end on its first line, the rest wrapped under its brace.
  std::string init = "\tstruct pm_scan_arg arg = {.size = sizeof arg, .start = (unsigned long)ADDR(page), "
                     ".end = (unsigned long)ADDR(page + n)";
  init += CWrappedFields(fields, 80);
  std::string letters(ScanCategoryLetters().begin(), ScanCategoryLetters().end());
  return Fmt("static struct page_region regions[%u]; static char got[%u]; /* the last scan: \"= 2 [0,3):wp [3,4):p end=4\", "
             "\"err EINVAL\" */\n",
             vec_len, vec_len * 40 + 64) +
         "/* PAGEMAP_SCAN of pages [page, page + n) (Documentation/admin-guide/mm/pagemap.rst) into got[]" + note + " */\n"
         "static void scan(long page, long n" + params + ")\n{\n" + init + "};\n" +
         "\tlong r = ioctl(pm, PAGEMAP_SCAN, &arg), a0 = (long)ADDR(0);\n"
         "\tint len = r < 0 ? sprintf(got, \"err %s\", strerrorname_np(errno)) : sprintf(got, \"= %ld\", r);\n"
         "\tfor (long k = 0; k < r; k++) { /* [start,end): and the categories' letters, or - */\n"
         "\t\tlen += sprintf(got + len, \" [%llu,%llu):%s\", (regions[k].start - a0) / PAGE, (regions[k].end - a0) / PAGE, "
         "regions[k].categories ? \"\" : \"-\");\n"
         "\t\tfor (int b = 0; b < " + std::to_string(letters.size()) + "; b++)\n"
         "\t\t\tlen += regions[k].categories >> b & 1 ? sprintf(got + len, \"%c\", \"" + letters + "\"[b]) : 0;\n\t}\n"
         "\tif (r >= 0)\n\t\tsprintf(got + len, \" end=%llu\", (arg.walk_end - a0) / PAGE);\n}\n";
}

const char kCCheckScan[] =
    "static void check_scan(const char *step, const char *want) { if (strcmp(got, want)) printf(\"FAIL: %s gave %s "
    "(expected %s)\\n\", step, got, want), exit(1); }\n";

const char kCScanCategories[] =
    "\tfor (int b = 0; b < 16; b++) /* cats: what this kernel accepts, all of which a scan without ret= asks for */\n"
    "\t\tcats |= ioctl(pm, PAGEMAP_SCAN, &(struct pm_scan_arg){.size = sizeof(struct pm_scan_arg), "
    ".return_mask = 1ul << b}) ? 0 : 1 << b;\n";

const char kCExpect[] = R"C(/* A step's result (0 ok, -errno, or its value) must be one of the `n` allowed ones. */
static void expect(long r, int n, const long *allowed, const char *what)
{
	for (int a = 0; a < n; a++)
		if (r == allowed[a])
			return;
	printf("FAIL: step %d: %s, gave %ld %s\n", step, what, r, r < 0 ? strerror(-r) : "");
	exit(1);
}
)C";

const char kCWant[] = R"C(static void want(long r, long allowed, const char *what) /* r: 0 ok, -errno, or a value */
{ if (r != allowed) printf("FAIL: step %d: %s, gave %ld %s\n", step, what, r, r < 0 ? strerror(-r) : ""), exit(1); }
)C";

std::string CPagemapBitTable() {
  std::string names, numbers;
  int n = 0;
  for (const char* c = PagemapReportOrder(); *c; c++, n++) {
    const PagemapBit* b = PagemapBitByLetter(*c);
    names += std::string(n ? ", " : "") + "\"" + b->name + "\"";
    numbers += (n ? ", " : "") + std::to_string(b->number);
  }
  return "#define NBITS " + std::to_string(n) + " /* pagemap bits, named in this order (Documentation/admin-guide/mm/pagemap.rst) */\n"
         "static const char *const bit_name[NBITS] = {" + names + "};\n"
         "static const int bit_no[NBITS] = {" + numbers + "};\n";
}

const char kCExpectPage[] = R"C(/* Page `page` must read `want` on the bits of `care` (the others, '?' in mmdiff's text, may be either). */
static void expect_page(int page, unsigned long want, unsigned long care, const char *because)
{
	unsigned long diff = (pagemap(ADDR(page)) ^ want) & care;

	for (int k = 0; k < NBITS; k++)
		if (diff >> bit_no[k] & 1)
			printf("FAIL: page %d: %s is %d at step %d (expected %d%s%s)\n", page, bit_name[k], !(want >> bit_no[k] & 1),
			       step, (int)(want >> bit_no[k] & 1), *because ? ": " : "", because), exit(1);
}
)C";

const char kCExpectPagemap[] = R"C(/* Pages [page, page + n) must read one of the `nalt` allowed pagemap results on the bits each cares about. */
static void expect_pagemap(int step, int page, int n, int nalt, const unsigned long *want, const unsigned long *care,
			   const char *because)
{
	for (int a = 0, k = 0; a < nalt; a++, k = 0) {
		while (k < n && !((pagemap(ADDR(page + k)) ^ want[a * n + k]) & care[a * n + k]))
			k++;
		if (k == n)
			return;
	}
	for (int k = 0; k < n; k++)
		for (int b = 0; b < NBITS; b++)
			if ((pagemap(ADDR(page + k)) ^ want[k]) & care[k] & 1ul << bit_no[b]) {
				printf("FAIL: page %d: %s is %d at step %d (expected %d%s%s)\n", page + k, bit_name[b],
				       (int)(pagemap(ADDR(page + k)) >> bit_no[b] & 1), step, (int)(want[k] >> bit_no[b] & 1),
				       *because ? ": " : "", because);
				exit(1);
			}
	exit(1);
}
)C";

const char kCMeminfo[] = R"C(static long meminfo(const char *name) /* a number of /proc/meminfo */
{
	static char buf[16384];
	int fd = open("/proc/meminfo", O_RDONLY);
	long n = read(fd, buf, sizeof buf - 1);
	char *s = n > 0 ? (buf[n] = 0, strstr(buf, name)) : NULL;

	close(fd);
	return s ? strtol(s + strlen(name), NULL, 10) : 0;
}
)C";

}  // namespace mmdiff::repro_detail
