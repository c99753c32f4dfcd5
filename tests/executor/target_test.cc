// The executor as a target: every op kind runs, hangs are reported and the
// target recovers, file slots leave nothing behind, the probe matches the host.
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "prog/op_table.h"
#include "tests/executor/exec_test_util.h"
#include "tests/temp_dir.h"

namespace mmdiff::exectest {
namespace {

namespace fs = std::filesystem;

// One program with every op of the op table; on this kernel none fails.
const std::vector<Step> kAllOps = {
    {"requires uffd_wp wp_async pagemap_scan", Ok()},
    {"mmap 0 4 rw anon private", Ok()},
    {"mremap 0 4 6", Ok()},              // grows in place
    {"mremap 4 2 2 move 16", Ok()},      // moves the new tail away
    {"munmap 16 2", Ok()},
    {"write 0", Ok()},
    {"read 1", Val(0)},
    {"mprotect 1 1 r", Ok()},
    {"madvise 0 1 dontneed", Ok()},
    {"clear_refs 1", Ok()},
    {"memfd 0 4", Ok()},
    {"file 1 4", Ok()},
    {"ftruncate 1 2", Ok()},
    {"fwrite 1 0 =0x5a", Ok()},
    {"fpunch 0 0 1", Ok()},
    {"mmap 32 2 r file:1+0 shared", Ok()},
    {"read 32", Val(0x5a)},
    {"uffd_open wp_async", Ok()},
    {"uffd_register 0 1 wp", Ok()},
    {"uffd_wp 0 1 on", Ok()},
    {"uffd_unregister 0 1", Ok()},
    {"pagemap 0 6", Pm({0, P, 0, 0, 0, 0})},
    {"scan 0 2 ret=present,pfnzero", Scan({{0, 1, 0}, {1, 2, kCatPresent | kCatPfnZero}}, 2)},
    {"fork", Val(1)},
    {"p1: write 0", Ok()},
    {"p1: exit", Ok()},
    {"read 0", Val(0)},
};

TEST(ExecutorOps, EveryOpKindRuns) {
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse(ProgramText(kAllOps), &prog));
  std::set<OpKind> used;
  for (const Op& op : prog.ops) used.insert(op.kind);
  EXPECT_EQ(AllOps().size(), static_cast<size_t>(kNumOpKinds));
  for (const OpInfo& info : AllOps())
    EXPECT_TRUE(used.count(info.kind)) << "the program does not use op '" << info.name << "'";
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  Trace trace;
  RunSteps(target.get(), kAllOps, &trace);
}

// The executor's own clock splits each run into setup, program, exit and
// after (bench/throughput prints it); the parts add up to the time served.
TEST(ExecutorTimings, PhasesAddUpPerRun) {
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  std::string err;
  RunTimings before, after;
  ASSERT_TRUE(target->Timings(&before, &err)) << err;
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse("mmap 0 4 rw anon private\nwrite 0\npagemap 0 4\n", &prog));
  Trace trace;
  for (int i = 0; i < 3; i++) ASSERT_TRUE(target->Run(prog, &trace, &err)) << err;
  ASSERT_TRUE(target->Timings(&after, &err)) << err;
  EXPECT_EQ(after.runs - before.runs, 3u);
  uint64_t parts = (after.setup_ns - before.setup_ns) + (after.program_ns - before.program_ns) +
                   (after.exit_ns - before.exit_ns) + (after.after_ns - before.after_ns);
  EXPECT_EQ(parts, after.served_ns - before.served_ns);
  EXPECT_GT(after.program_ns - before.program_ns, 0u);
  EXPECT_GT(after.setup_ns - before.setup_ns, 0u);
}

// The hang: populating 1 GiB takes seconds; the program gets 20 ms.
TEST(ExecutorTimeout, HangIsReportedAndTargetRecovers) {
  auto target = MakeTestTarget(20);
  ASSERT_TRUE(target);
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse("mmap 0 262144 rw anon private\n"
                                "madvise 0 262144 populate_write\n"
                                "write 0\n"
                                "pagemap 0 1\n",
                                &prog));
  Trace trace;
  std::chrono::milliseconds ms{};
  // On a loaded machine 20 ms can pass before the mmap is done; then that
  // op is the hang, legitimately. Retry a few times for a run that got to
  // the madvise.
  for (int attempt = 0; attempt < 5; attempt++) {
    auto start = std::chrono::steady_clock::now();
    ASSERT_NO_FATAL_FAILURE(RunProgram(target.get(), prog, &trace));
    ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (trace.results[0].kind != ResultKind::kHang) break;
  }
  EXPECT_EQ(trace.results[0].kind, ResultKind::kOk);
  EXPECT_EQ(trace.results[1].kind, ResultKind::kHang);
  EXPECT_EQ(trace.results[2].kind, ResultKind::kNone);
  EXPECT_EQ(trace.results[3].kind, ResultKind::kNone);
  EXPECT_LT(ms.count(), 2000) << "the hung program was not killed promptly";

  // The same target runs the next program normally (fresh process, free arena).
  Trace next;
  RunSteps(target.get(),
           {{"mmap 0 262144 rw anon private", Ok()},
            {"write 7 =0x07", Ok()},
            {"read 7", Val(7)},
            {"pagemap 6 2", Pm({0, P | X})}},
           &next);
}

std::vector<std::string> DirEntries(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  EXPECT_FALSE(ec) << dir << ": " << ec.message();
  return names;
}

std::string Join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + " ";
  return s;
}

TEST(ExecutorTmpdir, FileSlotsLeaveNoFiles) {
  // Declared before the target: removed after its executor quit.
  testutil::TempDir tmp{"mmdiff-tmpdir-test"};
  const char* base = tmp.path().c_str();
  const char* old = getenv("TMPDIR");
  std::string saved = old ? old : "";
  setenv("TMPDIR", base, 1);
  auto target = MakeTestTarget(300);  // the executor child inherits TMPDIR here
  if (old) setenv("TMPDIR", saved.c_str(), 1);
  else unsetenv("TMPDIR");
  ASSERT_TRUE(target);

  Trace trace;
  RunSteps(target.get(),
           {{"file 0 2", Ok()},
            {"file 7 1", Ok()},
            {"mmap 0 2 rw file:0+0 shared", Ok()},
            {"write 0 =0x61", Ok()},
            {"fwrite 7 0 =0x62", Ok()},
            {"mmap 4 1 r file:7+0 private", Ok()},
            {"read 4", Val(0x62)},
            {"fork", Val(1)},
            {"p1: file 3 1", Ok()},
            {"p1: exit", Ok()}},
           &trace);
  std::vector<std::string> dirs = DirEntries(base);
  ASSERT_EQ(dirs.size(), 1u) << Join(dirs);
  EXPECT_EQ(dirs[0].rfind("mmdiff-exec.", 0), 0u) << dirs[0];
  std::string exec_dir = std::string(base) + "/" + dirs[0];
  EXPECT_TRUE(DirEntries(exec_dir).empty()) << Join(DirEntries(exec_dir));

  // A program killed as a hang leaves nothing behind either.
  Program hang;
  ASSERT_NO_FATAL_FAILURE(Parse("file 0 1\nfile 5 1\nmmap 0 262144 rw anon private\n"
                                "madvise 0 262144 populate_write\n",
                                &hang));
  ASSERT_NO_FATAL_FAILURE(RunProgram(target.get(), hang, &trace));
  EXPECT_EQ(trace.results[1].kind, ResultKind::kOk);
  // Killed at the time bound (kHang) or by the 1 GiB memory cap (kLost).
  EXPECT_TRUE(trace.results[3].kind == ResultKind::kHang || trace.results[3].kind == ResultKind::kLost);
  EXPECT_TRUE(DirEntries(exec_dir).empty()) << Join(DirEntries(exec_dir));

  // The executor removes its directory when it quits.
  target.reset();
  EXPECT_TRUE(DirEntries(base).empty()) << Join(DirEntries(base));
}

TEST(ExecutorProbe, HostFeatures) {
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  KernelFeatures f;
  std::string err;
  ASSERT_TRUE(target->Probe(&f, &err)) << err;
  struct utsname u;
  ASSERT_EQ(uname(&u), 0);
  EXPECT_EQ(f.release, u.release);
  EXPECT_TRUE(f.features & kFeatUffdWp);
  EXPECT_TRUE(f.features & kFeatWpAsync);
  EXPECT_TRUE(f.features & kFeatWpUnpopulated);
  EXPECT_TRUE(f.features & kFeatPagemapScan);
  EXPECT_TRUE(f.features & kFeatGuard);
  // The host kernel lacks CONFIG_MEM_SOFT_DIRTY.
  EXPECT_FALSE(f.features & kFeatSoftDirty);
  EXPECT_FALSE(f.features & kFeatScanSoftDirty);
  // PAGEMAP_SCAN accepts every category up to guard in return_mask.
  uint32_t all = (1u << kNumScanCategories) - 1;
  EXPECT_EQ(f.scan_categories & all, all);
  // Measured once: a second probe answers the same.
  KernelFeatures again;
  ASSERT_TRUE(target->Probe(&again, &err)) << err;
  EXPECT_EQ(f, again);
}

}  // namespace
}  // namespace mmdiff::exectest
