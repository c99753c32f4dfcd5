// The qemu target on real guests: Debian's cloud kernels (6.12, the default,
// and 6.1) under TCG. Slow (each boot is seconds), so one guest serves
// several checks where it can.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "model/checker.h"
#include "model/profile.h"
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

const char kSoftDirty[] =
    "mmap 0 4 rw anon private\n"
    "madvise 0 4 nohugepage\n"
    "write 0\n"
    "write 1\n"
    "clear_refs 4\n"
    "write 1\n"
    "pagemap 0 3\n";

// What each Debian guest kernel has (vmimages/fetch-kernel), as its probe
// must measure it.
struct Guest {
  const char* name;  // TargetOptions::guest, --guest
  const char* release_prefix;
  uint32_t has;
  uint32_t lacks;
};

const Guest kGuests[] = {
    {"6.12", "6.12.",
     kFeatSoftDirty | kFeatUffdWp | kFeatWpAsync | kFeatWpUnpopulated | kFeatPagemapScan | kFeatScanSoftDirty |
         kFeatThp | kFeatHugetlb,
     kFeatGuard},
    {"6.1", "6.1.", kFeatSoftDirty | kFeatUffdWp | kFeatThp | kFeatHugetlb,
     kFeatPagemapScan | kFeatScanSoftDirty | kFeatWpAsync | kFeatWpUnpopulated | kFeatGuard},
};

// gtest and ctest name the instance by this rather than by its bytes.
void PrintTo(const Guest& g, std::ostream* os) { *os << g.name; }

class DebianGuest : public ::testing::TestWithParam<Guest> {};

// One boot per guest: the probe, a soft-dirty program, a `file` slot on the
// ext4 scratch disk (on NVMe, built into both kernels), and
// PAGEMAP_SCAN where the kernel has it.
TEST_P(DebianGuest, ProbesRunsProgramsAndHasFileSlotsOnExt4) {
  const Guest& g = GetParam();
  TargetOptions o = Options();
  o.guest = g.name;
  std::string err;
  auto target = MakeQemuTarget(o, &err);
  ASSERT_TRUE(target) << err;
  KernelFeatures f;
  ASSERT_TRUE(target->Probe(&f, &err)) << err;
  EXPECT_EQ(f.release.rfind(g.release_prefix, 0), 0u) << f.release;
  EXPECT_EQ(f.features & g.has, g.has) << PrintFeatures(f);
  EXPECT_EQ(f.features & g.lacks, 0u) << PrintFeatures(f);
  EXPECT_EQ(f.thp_mode, "always");  // needs >= 512 MiB of guest memory
  EXPECT_EQ(f.file_fs, "ext4") << "no scratch disk: file slots are not on ext4";

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

  // A shared mapping of a `file` slot: a page-cache page of the ext4 file.
  Trace file;
  ASSERT_TRUE(target->Run(Parse("file 0 1\nmmap 0 1 rw file:0+0 shared\nwrite 0\npagemap 0 1\n"), &file, &err))
      << err;
  ASSERT_EQ(file.end, TraceEnd::kCompleted) << file.console;
  ASSERT_EQ(file.results[3].kind, ResultKind::kPagemap);
  EXPECT_EQ(file.results[3].pagemap[0] & (kPmPresent | kPmFile), kPmPresent | kPmFile);

  Program scan_prog = Parse("mmap 0 4 rw anon private\nmadvise 0 4 nohugepage\nclear_refs 4\n"
                            "write 2\nwrite 3\nscan 0 4 req=soft_dirty ret=soft_dirty\n");
  Trace scan;
  ASSERT_TRUE(target->Run(scan_prog, &scan, &err)) << err;
  ASSERT_EQ(scan.end, TraceEnd::kCompleted) << scan.console;
  const Result& r = scan.results[5];
  if (!(g.has & kFeatPagemapScan)) {
    // 6.1: the ioctl is unknown to the pagemap file.
    EXPECT_EQ(r.kind, ResultKind::kErr);
    EXPECT_EQ(r.err, ENOTTY);
    return;
  }
  // PAGE_IS_SOFT_DIRTY after clear_refs 4: only the pages written since.
  ASSERT_TRUE(r.is_scan) << PrintResult(scan_prog.ops[5], r);
  ASSERT_EQ(r.regions.size(), 1u);
  EXPECT_EQ(r.regions[0].start, 2u);
  EXPECT_EQ(r.regions[0].end, 4u);
}

INSTANTIATE_TEST_SUITE_P(Guests, DebianGuest, ::testing::ValuesIn(kGuests),
                         [](const ::testing::TestParamInfo<Guest>& info) {
                           std::string name = std::string("Debian_") + info.param.name;
                           for (char& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

// --swap: a zram swap device in the guest. The probe says swap; MADV_PAGEOUT
// of anonymous memory leaves swap entries (pagemap bit 62, scan `swapped`)
// whose soft-dirty survives (pte_swp_soft_dirty), and a swap-in brings the
// data back: the kernel's answers, checked against the model.
TEST_P(DebianGuest, SwapDeviceMakesSwapEntriesTheModelPredicts) {
  const Guest& g = GetParam();
  TargetOptions o = Options();
  o.guest = g.name;
  o.swap_mb = 32;
  std::string err;
  auto target = MakeQemuTarget(o, &err);
  ASSERT_TRUE(target) << err;
  KernelFeatures f;
  ASSERT_TRUE(target->Probe(&f, &err)) << err;
  ASSERT_TRUE(f.features & kFeatSwap) << PrintFeatures(f);
  EXPECT_GT(f.swap_total_kb, 30000u);
  Program prog = Parse(
      "mmap 0 4 rw anon private\nmadvise 0 4 nohugepage\nwrite 0 =0x11\nclear_refs 4\nwrite 1 =0x22\n"
      "madvise 0 2 pageout\npagemap 0 2\nread 0\nread 1\nwrite 0\npagemap 0 2\n");
  Trace t;
  ASSERT_TRUE(target->Run(prog, &t, &err)) << err;
  ASSERT_EQ(t.end, TraceEnd::kCompleted) << t.console;
  const Result& out = t.results[6];
  ASSERT_EQ(out.kind, ResultKind::kPagemap);
  EXPECT_EQ(out.pagemap[0] & (kPmPresent | kPmSwap | kPmSoftDirty), kPmSwap);
  EXPECT_EQ(out.pagemap[1] & (kPmPresent | kPmSwap | kPmSoftDirty), kPmSwap | kPmSoftDirty);
  EXPECT_EQ(t.results[7].value, 0x11);
  EXPECT_EQ(t.results[8].value, 0x22);
  Verdict v = CheckTrace(prog, t, MakeProfile(f));
  EXPECT_EQ(v.status, Verdict::Status::kPass) << (v.divergence ? v.divergence->line : v.note);

  // Rules swap campaigns found missing. (1) MADV_FREE marks a folio
  // shared after fork lazyfree when it was never swapped (not in the swap
  // cache, not PG_dirty): after the child's exit pageout discards it.
  // (2) A swap entry's uffd-wp bit comes back with the page and stays on
  // after a write once the VMA is registered without WP. (3) MADV_FREE of
  // a swap entry frees it: the PTE is none, its soft-dirty and uffd-wp gone.
  // (4) A MADV_FREE'd page written again stays mapped through one pageout
  // (try_to_unmap_one() maps it back and sets PG_swapbacked) and swaps out
  // at the next (corpus/swap_lazyfree_redirtied_stays.mmp).
  for (const char* text : {"mmap 0 1 rw anon private populate\nmadvise 0 1 free\nwrite 0\nmadvise 0 1 pageout\n"
                           "pagemap 0 1\nmadvise 0 1 pageout\npagemap 0 1\nread 0\n","mmap 0 1 rw anon private\nwrite 0\nfork\nmadvise 0 1 free\np1: exit\n"
                           "madvise 0 1 pageout\npagemap 0 1\n",
                           "mmap 0 1 rw anon private\nwrite 0\nmadvise 0 1 pageout\nuffd_open\n"
                           "uffd_register 0 1 wp\nuffd_wp 0 1 on\nuffd_register 0 1 missing\nwrite 0\n"
                           "pagemap 0 1\n",
                           "mmap 0 1 rw anon private\nclear_refs 4\nmadvise 0 1 populate_write\nuffd_open\n"
                           "uffd_register 0 1 wp\nuffd_wp 0 1 on\nmadvise 0 1 pageout\nmadvise 0 1 free\n"
                           "pagemap 0 1\nread 0\n"}) {
    Program p = Parse(text);
    Trace pt;
    ASSERT_TRUE(target->Run(p, &pt, &err)) << err;
    ASSERT_EQ(pt.end, TraceEnd::kCompleted) << pt.console;
    Verdict pv = CheckTrace(p, pt, MakeProfile(f));
    EXPECT_EQ(pv.status, Verdict::Status::kPass) << text << (pv.divergence ? pv.divergence->line : pv.note);
  }
  EXPECT_EQ(t.results.size(), prog.ops.size());

  // The corpus programs that need swap (GuestCorpus checks the rest without
  // it): swap_*.mmp, and THP pageout, which swaps a whole folio out.
  KernelProfile profile = MakeProfile(f);
  int checked = 0;
  DIR* dir = opendir(MMDIFF_SOURCE_DIR "/corpus");
  ASSERT_TRUE(dir);
  while (dirent* e = readdir(dir)) {
    std::string name = e->d_name;
    if (name.size() < 4 || name.substr(name.size() - 4) != ".mmp") continue;
    Program cp;
    TextError perr;
    ASSERT_TRUE(ParseProgramFile(MMDIFF_SOURCE_DIR "/corpus/" + name, &cp, &perr)) << name;
    if (!(cp.Requires() & kFeatSwap) || (cp.Requires() & ~f.features)) continue;
    Trace ct;
    ASSERT_TRUE(target->Run(cp, &ct, &err)) << err;
    Verdict cv = CheckTrace(cp, ct, profile);
    EXPECT_EQ(cv.status, Verdict::Status::kPass) << name << ": " << (cv.divergence ? cv.divergence->line : cv.note);
    checked++;
  }
  closedir(dir);
  EXPECT_GE(checked, 3) << "corpus programs that require swap";
  std::printf("[ guest %s swap corpus ] %d programs\n", g.name, checked);
}

// --khugepaged: khugepaged scans without pause, so it collapses the split
// THP of these programs under them now and then. The checker must allow
// each collapse it sees (khugepaged-may-collapse: the model's collapse,
// placed between two ops, explains every answer after it: all 512 pages
// present, soft-dirty, exclusive, PAGE_IS_HUGE) and must never need one
// where a uffd-wp'd PTE refuses it (hpage_collapse_scan_pmd()). `p1`'s ops
// switch processes, which gives khugepaged (nice 19) the CPU.
TEST_P(DebianGuest, KhugepagedCollapsesOnlyWhereTheModelAllows) {
  const Guest& g = GetParam();
  TargetOptions o = Options();
  o.guest = g.name;
  o.khugepaged = true;
  std::string err;
  auto target = MakeQemuTarget(o, &err);
  ASSERT_TRUE(target) << err;
  KernelFeatures f;
  ASSERT_TRUE(target->Probe(&f, &err)) << err;
  EXPECT_EQ(f.khugepaged_max_ptes_none, 511) << "the kernel's own limit, not the tamed 0";
  KernelProfile profile = MakeProfile(f);
  const std::string head = "fork\nmmap 0 512 rw anon private\nmadvise 0 512 hugepage\nwrite 5\n";
  // clear_refs write-protects every PTE, and khugepaged wants one writable
  // (SCAN_PAGE_RO): the write to page 100 gives it one.
  std::string tail = "clear_refs 4\nwrite 100\n";
  for (int i = 0; i < 28; i++) tail += "pagemap 0 4\np1: pagemap 0 1\n";
  if (f.features & kFeatPagemapScan) tail += "scan 0 512\n";
  const std::string uffd = "uffd_open\nuffd_register 0 512 wp\nuffd_wp 0 1 on\n";
  struct Case {
    const char* name;
    std::string text;
    bool may_collapse;
  } cases[] = {
      {"split by dontneed", head + "madvise 0 3 dontneed\n" + tail, true},
      {"uffd-wp registered, full, none wp'd", head + uffd + "uffd_wp 0 1 off\n" + tail, true},
      {"a uffd-wp'd page", head + uffd + tail, false},
  };
  int collapsed = 0;
  for (const Case& c : cases) {
    Program prog = Parse(c.text);
    int taken = 0;
    for (int run = 0; run < 150; run++) {
      Trace t;
      ASSERT_TRUE(target->Run(prog, &t, &err)) << err;
      ASSERT_EQ(t.end, TraceEnd::kCompleted) << t.console;
      Verdict v = CheckTrace(prog, t, profile);
      // A collapse between the last scan and the executor's pagemap read
      // of the same pages makes the two disagree once (docs/CONTRACT.md
      // §14.2: the reads are not atomic; a campaign confirms by running
      // again and files it under flaky/). So does this test: once, and the
      // run again must pass.
      if (v.divergence && v.divergence->cls == DivergenceClass::kInconsistent) {
        std::printf("[ guest %s khugepaged ] %s, run %d, not reproduced: %s\n", g.name, c.name, run,
                    v.divergence->line.c_str());
        ASSERT_TRUE(target->Run(prog, &t, &err)) << err;
        v = CheckTrace(prog, t, profile);
      }
      ASSERT_EQ(v.status, Verdict::Status::kPass)
          << c.name << ", run " << run << ": " << (v.divergence ? v.divergence->line : v.note);
      taken += v.taken[static_cast<int>(Allowance::kKhugepagedMayCollapse)];
    }
    if (!c.may_collapse) {
      EXPECT_EQ(taken, 0) << c.name;
    }
    collapsed += taken;
    std::printf("[ guest %s khugepaged ] %s: collapsed in %d of 150 runs\n", g.name, c.name, taken);
  }
  EXPECT_GT(collapsed, 0) << "khugepaged never collapsed: the test shows nothing";
}

// A bad --append makes the guest panic mid-run: the panic is reported with
// its console excerpt, and the next program runs on a fresh guest.
TEST(QemuTarget, PanicIsReportedAndTheGuestRebooted) {
  TargetOptions o = Options();
  // 2: panic on the OOM of a memory cgroup too, i.e. the guest's program cap.
  o.append = "sysctl.vm.panic_on_oom=2";
  o.memory_mb = 512;
  // Faulting in 768 MiB takes seconds under TCG, more than the default
  // 5 s on a loaded machine (seen once on 6.12): the panic, not the
  // timeout, must end the program.
  o.program_timeout_ms = 30000;
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
  EXPECT_TRUE(qemutest::QemuChildren().empty()) << "the panicked guest is gone";

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
  std::vector<pid_t> children = qemutest::QemuChildren();
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
  EXPECT_TRUE(qemutest::QemuChildren().empty()) << "the hung guest is gone";

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
  EXPECT_TRUE(qemutest::QemuChildren().empty()) << "the stopped guest is gone";
}

}  // namespace
}  // namespace mmdiff
