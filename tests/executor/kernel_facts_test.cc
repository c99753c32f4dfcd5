// Kernel facts on the running kernel, through the real mmdiff-executor: each
// case is a small .mmp program with the result every op must give.
// Facts are those of docs/CONTRACT.md (§3, §5, §6) as measured ([EMP]) on the
// host kernel (6.18: uffd WP_ASYNC, PAGEMAP_SCAN, guard regions; no
// soft-dirty). A case whose `requires` the kernel lacks is skipped.
#include <signal.h>

#include <cerrno>

#include "tests/executor/exec_test_util.h"

namespace mmdiff::exectest {
namespace {

struct FactCase {
  const char* name;
  std::vector<Step> steps;
};

void PrintTo(const FactCase& c, std::ostream* os) { *os << c.name; }

constexpr uint32_t a = kCatWpAllowed, w = kCatWritten, p = kCatPresent,
                   s = kCatSwapped, z = kCatPfnZero, g = kCatGuard;

std::vector<FactCase> FactCases() {
  return {
      {"AnonWriteIsPresentExclusive",
       {
           {"mmap 0 2 rw anon private", Ok()},
           {"write 0", Ok()},
           {"read 0", Ran()},
           {"pagemap 0 2", Pm({P | X, 0})},  // not F, not S; never-touched page: no bits
           {"scan 0 2 ret=present,file,swapped,pfnzero", Scan({{0, 1, p}, {1, 2, 0}}, 2)},
       }},
      {"ReadBeforeWriteMapsZeroPage",
       {
           {"mmap 0 2 rw anon private", Ok()},
           {"read 0", Val(0)},
           {"pagemap 0 1", Pm({P})},  // present, not exclusive, not file
           {"scan 0 2 ret=present,file,pfnzero", Scan({{0, 1, p | z}, {1, 2, 0}}, 2)},
           {"scan 0 2 ret=pfnzero", Scan({{0, 1, z}, {1, 2, 0}}, 2)},
           // A write replaces the zero page with an exclusive anon page.
           {"write 0 =0x5a", Ok()},
           {"read 0", Val(0x5a)},
           {"pagemap 0 1", Pm({P | X})},
           {"scan 0 1 ret=present,file,pfnzero", Scan({{0, 1, p}}, 1)},
       }},
      {"SharedAnonPageIsFile",
       {
           {"mmap 0 2 rw anon shared", Ok()},
           {"read 0", Val(0)},  // shmem: a read allocates a real page, not the zero page
           {"write 1", Ok()},
           {"pagemap 0 2", Pm({P | F | X, P | F | X})},
       }},
      {"UffdWpAsyncWriteClearsOnlyThatPage",
       {
           {"requires uffd_wp wp_async wp_unpopulated", Ok()},
           {"mmap 0 8 rw anon private", Ok()},
           {"write 0", Ok()},
           {"write 1", Ok()},
           {"write 2", Ok()},
           {"write 3", Ok()},  // pages 4..7 never touched
           {"uffd_open wp_async wp_unpopulated", Ok()},
           {"uffd_register 0 8 wp", Ok()},
           {"uffd_wp 0 8 on", Ok()},
           // Untouched pages carry the uffd-wp marker: swap bit + W.
           {"pagemap 0 8", Pm({P | X | W, P | X | W, P | X | W, P | X | W, S | W, S | W, S | W, S | W})},
           {"write 2", Ok()},  // async: no fault reaches the handler
           {"pagemap 0 8", Pm({P | X | W, P | X | W, P | X, P | X | W, S | W, S | W, S | W, S | W})},
           {"write 5", Ok()},  // a marker page: populated, unprotected
           {"pagemap 0 8", Pm({P | X | W, P | X | W, P | X, P | X | W, S | W, P | X, S | W, S | W})},
           {"uffd_wp 0 8 on", Ok()},
           {"pagemap 0 8", Pm({P | X | W, P | X | W, P | X | W, P | X | W, S | W, P | X | W, S | W, S | W})},
       }},
      {"ScanWrittenReturnsExactlyWrittenPages",
       {
           {"requires uffd_wp wp_async wp_unpopulated pagemap_scan", Ok()},
           {"mmap 0 16 rw anon private", Ok()},
           {"write 0", Ok()},
           {"write 1", Ok()},
           {"write 2", Ok()},
           {"write 3", Ok()},
           {"write 4", Ok()},
           {"write 5", Ok()},
           {"uffd_open wp_async wp_unpopulated", Ok()},
           {"uffd_register 0 16 wp", Ok()},
           {"uffd_wp 0 16 on", Ok()},
           {"scan 0 16 req=written ret=written", Scan({}, 16)},
           // 3..5 were populated before, 6..7 were markers: one merged region.
           {"write 3", Ok()},
           {"write 4", Ok()},
           {"write 5", Ok()},
           {"write 6", Ok()},
           {"write 7", Ok()},
           {"write 10", Ok()},
           {"write 13", Ok()},
           {"write 12", Ok()},
           {"scan 0 16 req=written ret=written", Scan({{3, 8, w}, {10, 11, w}, {12, 14, w}}, 16)},
           {"scan 0 16 req=written ret=wpallowed,written,present,pfnzero,file,swapped",
            Scan({{3, 8, a | w | p}, {10, 11, a | w | p}, {12, 14, a | w | p}}, 16)},
           {"scan 0 16 ret=present,swapped",
            Scan({{0, 8, p}, {8, 10, s}, {10, 11, p}, {11, 12, s}, {12, 14, p}, {14, 16, s}}, 16)},
           // max= stops after that many pages; walk_end says where.
           {"scan 0 16 req=written ret=written max=3", Scan({{3, 6, w}}, 6)},
           // wp_matching reports and write-protects again in one call.
           {"scan 0 16 wp_matching req=written ret=written", Scan({{3, 8, w}, {10, 11, w}, {12, 14, w}}, 16)},
           {"scan 0 16 req=written ret=written", Scan({}, 16)},
           {"pagemap 10 2", Pm({P | X | W, S | W})},
       }},
      {"ProtNoneAndUnmappedAccessIsSegv",
       {
           {"mmap 0 2 rw anon private", Ok()},
           {"mprotect 1 1 none", Ok()},
           {"write 1", Fault(SIGSEGV)},
           {"read 1", Fault(SIGSEGV)},
           {"write 0 =0x33", Ok()},  // the process survived the fault
           {"read 0", Val(0x33)},
           {"read 4", Fault(SIGSEGV)},  // no mapping
           {"write 4", Fault(SIGSEGV)},
           {"pagemap 1 1", Pm({0})},  // the faulting write mapped nothing
       }},
      {"BeyondEofOfTruncatedFileIsBus",
       {
           {"memfd 0 2", Ok()},
           {"mmap 4 2 rw memfd:0+0 shared", Ok()},
           {"write 4 =0x44", Ok()},
           {"write 5", Ok()},
           {"ftruncate 0 1", Ok()},
           {"read 5", Fault(SIGBUS)},
           {"write 5", Fault(SIGBUS)},
           {"read 4", Val(0x44)},  // inside EOF still works
           {"file 1 1", Ok()},
           {"mmap 8 2 rw file:1+0 shared", Ok()},
           {"write 8 =0x45", Ok()},
           {"read 9", Fault(SIGBUS)},
           {"write 9", Fault(SIGBUS)},
           {"read 8", Val(0x45)},
       }},
      {"ForkedChildWriteIsPrivateSharedMemfdIsShared",
       {
           {"mmap 0 1 rw anon private", Ok()},
           {"write 0 =0x11", Ok()},
           {"memfd 0 1", Ok()},
           {"mmap 1 1 rw memfd:0 shared", Ok()},
           {"write 1 =0x21", Ok()},
           {"fork", Val(1)},
           {"p1: pagemap 0 1", Pm({P})},  // COW-shared: not exclusive
           {"pagemap 0 1", Pm({P})},
           {"p1: read 0", Val(0x11)},
           {"p1: write 0 =0x22", Ok()},
           {"p1: write 1 =0x23", Ok()},
           {"p1: read 0", Val(0x22)},
           {"read 0", Val(0x11)},  // the parent's page did not change
           {"read 1", Val(0x23)},  // the shared memfd page did
           {"p1: exit", Ok()},
           {"read 1", Val(0x23)},
           {"pagemap 0 2", Pm({P | X, P | F | X})},  // the child's mappings are gone
       }},
      // `exit` passes the turn on before the kernel has torn the process
      // down; the executor waits for that, so the next op never sees the
      // exited process's mapping of a shared page (repeated: it was a race).
      {"ExitedProcessIsGoneBeforeNextOp",
       {
           {"memfd 0 1", Ok()},
           {"mmap 1 1 rw memfd:0 shared", Ok()},
           {"write 1", Ok()},
           {"fork", Val(1)},
           {"p1: write 1", Ok()},
           {"p1: exit", Ok()},
           {"pagemap 1 1", Pm({P | F | X})},
           {"fork", Val(2)},
           {"p2: write 1", Ok()},
           {"p2: exit", Ok()},
           {"pagemap 1 1", Pm({P | F | X})},
           {"fork", Val(3)},
           {"p3: write 1", Ok()},
           {"p3: exit", Ok()},
           {"pagemap 1 1", Pm({P | F | X})},
           {"fork", Val(4)},
           {"p4: write 1", Ok()},
           {"p4: fork", Val(5)},  // a shared VMA: fork copies no PTEs
           {"p5: write 1", Ok()},
           {"p4: exit", Ok()},  // p5 still maps the page
           {"pagemap 1 1", Pm({P | F})},
           {"p5: exit", Ok()},
           {"pagemap 1 1", Pm({P | F | X})},
           {"fork", Val(6)},
           {"p6: write 1", Ok()},
           {"exit", Ok()},  // p0 exits; p6 goes on alone
           {"p6: pagemap 1 1", Pm({P | F | X})},
       }},
      {"SyncUffdWpFaultUnprotectsAndEventForkChildKeepsWp",
       {
           {"requires uffd_wp", Ok()},
           {"mmap 0 4 rw anon private", Ok()},
           {"write 0", Ok()},
           {"write 1", Ok()},
           {"uffd_open event_fork", Ok()},
           {"uffd_register 0 4 wp", Ok()},
           {"uffd_wp 0 4 on", Ok()},
           {"pagemap 0 2", Pm({P | X | W, P | X | W})},
           {"write 0", Ok(kFaultWp)},  // the handler resolved a sync wp fault
           {"pagemap 0 2", Pm({P | X, P | X | W})},
           {"write 0", Ok()},  // no longer protected: no fault
           {"fork", Val(1)},
           {"p1: pagemap 0 2", Pm({P, P | W})},  // EVENT_FORK keeps W in the child
           {"p1: write 1", Ok(kFaultWp)},
           {"p1: pagemap 1 1", Pm({P | X})},
           {"p1: uffd_wp 1 1 on", Ok()},  // the child's own context works
           {"p1: pagemap 1 1", Pm({P | X | W})},
           {"p1: write 1", Ok(kFaultWp)},
           {"p1: pagemap 1 1", Pm({P | X})},
           {"pagemap 1 1", Pm({P | X | W})},  // the child's faults left the parent protected
           {"write 1", Ok(kFaultWp)},
           {"pagemap 1 1", Pm({P | X})},
       }},
      {"MissingModeReadGetsZeroPage",
       {
           {"mmap 0 2 rw anon private", Ok()},
           {"uffd_open", Ok()},
           {"uffd_register 0 2 missing", Ok()},
           {"read 0", Val(0, kFaultMissing)},
           {"read 0", Val(0)},  // resolved: no second fault
           {"write 1", Ok(kFaultMissing)},
           {"pagemap 0 2", Pm({P, P | X})},
       }},
      {"GuardRegion",
       {
           {"requires guard", Ok()},
           {"mmap 0 3 rw anon private", Ok()},
           {"madvise 1 1 guard_install", Ok()},
           {"pagemap 0 3", Pm({0, S | G, 0})},
           {"write 1", Fault(SIGSEGV)},
           {"read 1", Fault(SIGSEGV)},
           {"scan 0 3 ret=present,swapped,guard", Scan({{0, 1, 0}, {1, 2, s | g}, {2, 3, 0}}, 3)},
           {"madvise 1 1 guard_remove", Ok()},
           {"pagemap 0 3", Pm({0, 0, 0})},
           {"read 1", Val(0)},
       }},
      {"ErrorsAreReportedWithErrno",
       {
           {"mmap 0 1 rw anon private", Ok()},
           {"mmap 0 1 rw anon private", Err(EEXIST)},  // MAP_FIXED_NOREPLACE
           {"uffd_wp 0 1 on", Err(EBADF)},            // no uffd yet
           {"mprotect 100 1 rw", Err(ENOMEM)},         // nothing mapped there
           {"uffd_open", Ok()},
           {"uffd_register 0 1 minor", Err(EINVAL)},  // minor needs shmem/hugetlb
           {"uffd_wp 0 1 on", Err(ENOENT)},           // not registered
           {"ftruncate 3 1", Err(EBADF)},             // no file in slot 3
       }},
  };
}

class KernelFacts : public ::testing::TestWithParam<FactCase> {
 protected:
  static void SetUpTestSuite() {
    target_ = MakeTestTarget();
    std::string err;
    if (target_) probed_ = target_->Probe(&features_, &err);
    EXPECT_TRUE(probed_) << err;
  }
  static void TearDownTestSuite() { target_.reset(); }

  static std::unique_ptr<Target> target_;
  static KernelFeatures features_;
  static bool probed_;
};

std::unique_ptr<Target> KernelFacts::target_;
KernelFeatures KernelFacts::features_;
bool KernelFacts::probed_ = false;

TEST_P(KernelFacts, Run) {
  ASSERT_TRUE(target_ && probed_);
  const FactCase& c = GetParam();
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse(ProgramText(c.steps), &prog));
  if (uint32_t missing = prog.Requires() & ~features_.features)
    GTEST_SKIP() << "kernel " << features_.release << " lacks " << FeatureList(missing);
  Trace trace;
  RunSteps(target_.get(), c.steps, &trace);
}

INSTANTIATE_TEST_SUITE_P(Host, KernelFacts, ::testing::ValuesIn(FactCases()),
                         [](const ::testing::TestParamInfo<FactCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace mmdiff::exectest
