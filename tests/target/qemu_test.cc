// The qemu target on a real guest: Debian's 6.1 cloud kernel under TCG.
// Slow (each boot is seconds), so one guest serves several checks where it can.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "prog/text.h"
#include "tests/qemu_monitor.h"
#include "target/target.h"

namespace mmdiff {
namespace {

Program Parse(const std::string& text) {
  Program p;
  TextError e;
  EXPECT_TRUE(ParseProgram(text, "test", &p, &e)) << e.ToString();
  return p;
}

TargetOptions Options() {
  TargetOptions o;
  o.executor_path = MMDIFF_EXECUTOR_PATH;
  return o;
}

// The QEMU processes this test process started.
std::vector<pid_t> QemuChildren() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    std::getline(stat, line);
    size_t close = line.rfind(')');
    if (close == std::string::npos || line.find("(qemu-system") == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (ppid == getpid()) out.push_back(pid);
  }
  if (d) closedir(d);
  return out;
}

const char kSoftDirty[] =
    "mmap 0 4 rw anon private\n"
    "madvise 0 4 nohugepage\n"
    "write 0\n"
    "write 1\n"
    "clear_refs 4\n"
    "write 1\n"
    "pagemap 0 3\n";

TEST(QemuTarget, DebianGuestHasSoftDirtyAndRunsPrograms) {
  std::string err;
  auto target = MakeQemuTarget(Options(), &err);
  ASSERT_TRUE(target) << err;
  KernelFeatures f;
  ASSERT_TRUE(target->Probe(&f, &err)) << err;
  EXPECT_EQ(f.release.rfind("6.1.", 0), 0u) << f.release;
  EXPECT_TRUE(f.features & kFeatSoftDirty) << PrintFeatures(f);
  EXPECT_TRUE(f.features & kFeatUffdWp) << PrintFeatures(f);
  EXPECT_FALSE(f.features & kFeatPagemapScan) << PrintFeatures(f);
  EXPECT_FALSE(f.features & kFeatWpAsync) << PrintFeatures(f);
  EXPECT_EQ(f.thp_mode, "always");  // needs >= 512 MiB of guest memory

  Program prog = Parse(kSoftDirty);
  Trace t;
  ASSERT_TRUE(target->Run(prog, &t, &err)) << err;
  ASSERT_EQ(t.end, TraceEnd::kCompleted) << t.console;
  const Result& pm = t.results.back();
  ASSERT_EQ(pm.kind, ResultKind::kPagemap);
  // Written before the clear and not after: clean. Written after: soft-dirty
  // (Documentation/admin-guide/mm/soft-dirty.rst). Never written: no entry.
  EXPECT_EQ(pm.pagemap[0] & (kPmPresent | kPmSoftDirty), kPmPresent);
  EXPECT_EQ(pm.pagemap[1] & (kPmPresent | kPmSoftDirty), kPmPresent | kPmSoftDirty);
  EXPECT_EQ(pm.pagemap[2] & kPmPresent, 0u);
  // PAGEMAP_SCAN does not exist on 6.1: the ioctl is unknown to the pagemap file.
  Trace scan;
  ASSERT_TRUE(target->Run(Parse("mmap 0 1 rw anon private\nscan 0 1\n"), &scan, &err)) << err;
  EXPECT_EQ(scan.results[1].kind, ResultKind::kErr);
  EXPECT_EQ(scan.results[1].err, ENOTTY);
}

// A bad --append makes the guest panic mid-run: the panic is reported with
// its console excerpt, and the next program runs on a fresh guest.
TEST(QemuTarget, PanicIsReportedAndTheGuestRebooted) {
  TargetOptions o = Options();
  // 2: panic on the OOM of a memory cgroup too, i.e. the guest's program cap.
  o.append = "sysctl.vm.panic_on_oom=2";
  o.memory_mb = 512;
  std::string err;
  auto target = MakeQemuTarget(o, &err);
  ASSERT_TRUE(target) << err;
  // Two 384 MiB mappings: each alone passes the overcommit heuristic (smaller
  // than RAM), together they do not fit in 512 MiB.
  Program oom = Parse(
      "mmap 0 98304 rw anon private\nmadvise 0 98304 populate_write\n"
      "mmap 98304 98304 rw anon private\nmadvise 98304 98304 populate_write\n");
  Trace t;
  ASSERT_TRUE(target->Run(oom, &t, &err)) << err;
  EXPECT_EQ(t.end, TraceEnd::kKernelSplat);
  EXPECT_NE(t.console.find("Kernel panic"), std::string::npos) << t.console;
  EXPECT_TRUE(QemuChildren().empty()) << "the panicked guest is gone";

  Trace after;
  ASSERT_TRUE(target->Run(Parse(kSoftDirty), &after, &err)) << err;
  EXPECT_EQ(after.end, TraceEnd::kCompleted) << after.console;
  EXPECT_EQ(after.results.back().kind, ResultKind::kPagemap);
}

// A booted guest that is given up on quickly when silent; its QEMU in `qemu`.
void BootQuickToGiveUp(std::unique_ptr<Target>* target, pid_t* qemu) {
  TargetOptions o = Options();
  o.program_timeout_ms = 1000;
  o.guest_margin_ms = 2000;
  std::string err;
  *target = MakeQemuTarget(o, &err);
  ASSERT_TRUE(*target) << err;
  KernelFeatures f;
  ASSERT_TRUE((*target)->Probe(&f, &err)) << err;
  std::vector<pid_t> children = QemuChildren();
  ASSERT_EQ(children.size(), 1u);
  *qemu = children[0];
}

// A guest that stops answering (its vCPUs stopped through QEMU's monitor,
// QEMU itself still running) is a hang: killed, reported, and replaced by a
// fresh guest for the next program.
TEST(QemuTarget, HangIsReportedAndTheGuestRebooted) {
  std::unique_ptr<Target> target;
  pid_t qemu;
  ASSERT_NO_FATAL_FAILURE(BootQuickToGiveUp(&target, &qemu));
  std::string err;
  ASSERT_TRUE(qemutest::SendMonitor(qemu, "stop\n"));
  Trace t;
  ASSERT_TRUE(target->Run(Parse(kSoftDirty), &t, &err)) << err;
  EXPECT_EQ(t.end, TraceEnd::kGuestHang);
  EXPECT_NE(t.console.find("timed out"), std::string::npos) << t.console;
  EXPECT_TRUE(QemuChildren().empty()) << "the hung guest is gone";

  Trace after;
  ASSERT_TRUE(target->Run(Parse(kSoftDirty), &after, &err)) << err;
  EXPECT_EQ(after.end, TraceEnd::kCompleted) << after.console;
}

// QEMU stopped from outside (SIGSTOP) is the host's doing, not a hang of the
// kernel under test: the target fails (and restarts), nothing is reported.
TEST(QemuTarget, StoppedQemuIsATargetFailureNotAHang) {
  std::unique_ptr<Target> target;
  pid_t qemu;
  ASSERT_NO_FATAL_FAILURE(BootQuickToGiveUp(&target, &qemu));
  std::string err;
  kill(qemu, SIGSTOP);
  Trace t;
  EXPECT_FALSE(target->Run(Parse(kSoftDirty), &t, &err));
  EXPECT_NE(err.find("QEMU is stopped"), std::string::npos) << err;
  EXPECT_TRUE(QemuChildren().empty()) << "the stopped guest is gone";
}

}  // namespace
}  // namespace mmdiff
