// C reproducers: generated, compiled with the system's C compiler
// (cc -O2 -static -Wall -Werror) and run on the running kernel.
//   - every corpus program that passes here, with its own "=> RESULT"s as
//     the checks, prints PASS (the C does what the executor does);
//   - a divergence the kernel does not have prints PASS; one that a
//     deliberately wrong model invents prints FAIL with its reason;
//   - a real divergence (a known quirk the profile does not allow) FAILs;
//   - the uapi values the C defines agree with this machine's headers.
#include "fuzz/repro.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "fuzz/report.h"
#include "fuzz/repro_fmt.h"
#include "model/checker.h"
#include "model/judge.h"
#include "model/profile.h"
#include "prog/text.h"
#include "target/target.h"
#include "tests/fuzz/mutant_findings.h"
#include "tests/fuzz/repro_test_util.h"
#include "tests/temp_dir.h"

namespace mmdiff {
namespace {

using namespace reprotest;

class ReproTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (FindCCompiler().empty()) GTEST_SKIP() << "no C compiler";
  }

  // Runs `bin` on the running kernel through a local executor.
  int Run(const std::vector<uint8_t>& bin, std::string* out, const std::vector<std::string>& args = {}) {
    if (!runner_) {
      KernelProfile unused;
      runner_ = LocalTarget(&unused);
    }
    return runner_ ? RunOn(runner_.get(), bin, out, args) : -2;
  }

  std::unique_ptr<Target> LocalTarget(KernelProfile* profile) {
    TargetOptions options;
    options.executor_path = MMDIFF_EXECUTOR_PATH;
    std::string err;
    auto target = MakeLocalTarget(options, &err);
    EXPECT_TRUE(target) << err;
    KernelFeatures features;
    if (target) {
      EXPECT_TRUE(target->Probe(&features, &err)) << err;
    }
    *profile = MakeProfile(features);
    return target;
  }

  // The reproducer of `text` with its own "=> RESULT"s as the checks,
  // built and run here: its exit status, its output in `out`, its C in
  // `source` when asked; -3 when it does not build.
  int RunExpectations(const std::string& text, const std::string& name, std::string* out,
                      std::string* source = nullptr) {
    Program prog = Parse(text);
    ReproSpec spec;
    spec.title = "hand-made";
    spec.checks = ChecksFromExpectations(prog);
    std::string c = WriteReproC(prog, spec);
    if (source) *source = c;
    auto bin = Compile(name, c);
    EXPECT_FALSE(bin.empty()) << c;
    return bin.empty() ? -3 : Run(bin, out);
  }

  std::unique_ptr<Target> runner_;
};

// A hand-made divergence at pagemap op `op` of `prog`: the model says
// `model`, the kernel `kernel` (only the model side decides what the C checks).
Divergence HandMade(const Program& prog, size_t op, std::vector<uint64_t> kernel, std::vector<uint64_t> model) {
  Divergence d;
  d.op_index = op;
  d.cls = DivergenceClass::kWrongPagemap;
  d.kernel.kind = ResultKind::kPagemap;
  d.kernel.pagemap = std::move(kernel);
  d.model.expected.kind = ResultKind::kPagemap;
  d.model.expected.pagemap = std::move(model);
  d.line = "DIVERGENCE wrong-pagemap op=" + std::to_string(op) + " \"" + PrintOp(prog.ops[op]) + "\" (hand-made)";
  return d;
}

constexpr uint64_t P = kPmPresent, X = kPmMmapExclusive;

TEST_F(ReproTest, DivergenceTheKernelDoesNotHavePasses) {
  Program prog = Parse("mmap 0 2 rw anon private\nwrite 1\npagemap 0 2\n");
  // The "kernel" lost page 1; the model (rightly) requires it present.
  Divergence d = HandMade(prog, 2, {0, 0}, {0, P | X});
  ReproCheck c = CheckFromDivergence(prog, d);
  ASSERT_TRUE(c.single_bit);
  EXPECT_EQ(c.page, 1u);
  EXPECT_EQ(c.bit, 'P');
  EXPECT_TRUE(c.value);
  EXPECT_EQ(c.after, "a write at step 1");
  EXPECT_EQ(c.because, "written at step 1");
  ReproSpec spec{d.line, {}, {c}};
  auto bin = Compile("pass", WriteReproC(prog, spec));
  ASSERT_FALSE(bin.empty());
  std::string out;
  EXPECT_EQ(Run(bin, &out), 0) << out;
  EXPECT_EQ(LastLine(out), "PASS") << out;
}

TEST_F(ReproTest, DeliberatelyWrongModelFails) {
  Program prog = Parse("mmap 0 2 rw anon private\nwrite 0\nclear_refs 4\nwrite 1\npagemap 0 2\n");
  // A wrong model: a written anonymous page "must not be present".
  Divergence d = HandMade(prog, 4, {P | X, P | X}, {P | X, 0});
  ReproSpec spec{d.line, {}, {CheckFromDivergence(prog, d)}};
  std::string source = WriteReproC(prog, spec);
  auto bin = Compile("fail", source);
  ASSERT_FALSE(bin.empty());
  std::string out;
  EXPECT_EQ(Run(bin, &out), 1) << out;
  EXPECT_EQ(FirstLine(out), "FAIL: page 1: present is 1 after a write at step 3 (expected 0: the model requires 0)")
      << out;
  // Only what the steps need: plain stores, no handler thread, no fault
  // recovery, no result printer; the pagemap step is the check itself.
  EXPECT_NE(source.find("step = 3, *(volatile char *)(ADDR(1)) = 0x04; /* write 1 */"), std::string::npos) << source;
  EXPECT_EQ(source.find("pthread"), std::string::npos) << source;
  EXPECT_EQ(source.find("sigsetjmp"), std::string::npos) << source;
  EXPECT_LE(std::count(source.begin(), source.end(), '\n'), 40) << source;
}

TEST_F(ReproTest, WrongExpectationInAForkedChildFails) {
  // The child sees the COW-shared page present and not exclusive: "------" is wrong.
  std::string out, source;
  EXPECT_EQ(RunExpectations("mmap 0 1 rw anon private\nwrite 0\nfork\np1: pagemap 0 1 => ------\np1: exit\nread 0\n",
                            "fork_fail", &out, &source),
            1)
      << out;
  EXPECT_NE(source.find("if (turn(1))"), std::string::npos) << source;
  EXPECT_EQ(FirstLine(out), "FAIL: page 0: present is 1 at step 3 (expected 0)") << out;
  // The right expectation passes, and every process runs its steps in order.
  EXPECT_EQ(RunExpectations("mmap 0 1 rw anon private\nwrite 0\nfork\np1: pagemap 0 1 => P-----\np1: exit\n"
                            "read 0 => = 0x02\n",
                            "fork_pass", &out),
            0)
      << out;
  EXPECT_EQ(out, "PASS\n");
  // A process's failure is the program's, whichever process it is.
  EXPECT_EQ(RunExpectations("mmap 0 1 rw anon private\nwrite 0\nfork\np1: read 0 => = 0x03\np1: exit\n"
                            "read 0 => = 0x02\n",
                            "fork_child_fails", &out),
            1)
      << out;
  EXPECT_EQ(out, "FAIL: step 3: p1: read 0 should give = 0x03, gave 2 \n") << out;
}

// Forks that each end their process (no turns to take): the child runs on,
// the parent waits and passes its status on; one line of PASS or FAIL.
TEST_F(ReproTest, ForksThatHandOverNeedNoTurns) {
  std::string out, source;
  EXPECT_EQ(RunExpectations("mmap 0 1 rw anon private\nwrite 0\nfork\np1: pagemap 0 1 => ------\n", "chain_fail",
                            &out, &source),
            1)
      << out;
  EXPECT_EQ(source.find("turn("), std::string::npos) << source;
  EXPECT_NE(source.find("return child_status();"), std::string::npos) << source;
  EXPECT_EQ(out, "FAIL: page 0: present is 1 at step 3 (expected 0)\n") << out;
  EXPECT_EQ(RunExpectations("mmap 0 1 rw anon private\nwrite 0\nfork\np1: pagemap 0 1 => P-----\n"
                            "p1: read 0 => = 0x02\n",
                            "chain_pass", &out),
            0)
      << out;
  EXPECT_EQ(out, "PASS\n");
}

// A scan without ret= asks for every category the kernel it was found on
// accepts, as the executor did there: a fixed mask instead of a probe, and
// a kernel that lacks one of them skips.
TEST_F(ReproTest, ScanWithoutRetAsksTheCategoriesOfItsKernel) {
  KernelProfile profile;
  auto target = LocalTarget(&profile);
  ASSERT_TRUE(target);
  if (!(profile.features & kFeatPagemapScan)) GTEST_SKIP() << "no PAGEMAP_SCAN";
  Program prog = Parse("requires pagemap_scan\nmmap 0 2 rw anon private\nwrite 0\nscan 0 4\n");
  Trace trace;
  std::string err;
  ASSERT_TRUE(target->Run(prog, &trace, &err)) << err;
  std::string got = PrintResult(prog.ops[3], trace.results[3]);
  std::string out;
  for (bool right : {true, false}) {
    Program p = Parse("requires pagemap_scan\nmmap 0 2 rw anon private\nwrite 0\nscan 0 4 => " +
                      (right ? got : std::string("= 0 end=4")) + "\n");
    ReproSpec spec{"hand-made", {}, ChecksFromExpectations(p)};
    spec.scan_categories = profile.scan_categories;
    std::string c = WriteReproC(p, spec);
    EXPECT_EQ(c.find("cats"), std::string::npos) << c;
    EXPECT_NE(c.find(repro_detail::Fmt(".return_mask = %#x", profile.scan_categories)), std::string::npos) << c;
    auto bin = Compile(right ? "mask_pass" : "mask_fail", c);
    ASSERT_FALSE(bin.empty()) << c;
    EXPECT_EQ(Run(bin, &out), right ? 0 : 1) << got << "\n" << out << c;
  }
  // A category this kernel does not know (bit 15): SKIP, naming the mask.
  ReproSpec spec{"hand-made", {}, ChecksFromExpectations(Parse("requires pagemap_scan\nscan 0 4 => = 0 end=4\n"))};
  spec.scan_categories = profile.scan_categories | 1u << 15;
  auto bin = Compile("mask_skip", WriteReproC(Parse("requires pagemap_scan\nscan 0 4 => = 0 end=4\n"), spec));
  ASSERT_FALSE(bin.empty());
  EXPECT_EQ(Run(bin, &out), 125) << out;
  EXPECT_EQ(out, repro_detail::Fmt("SKIP: this kernel lacks pagemap_scan (with the categories %#x), which the program requires\n",
                     spec.scan_categories))
      << out;
}

// A fork whose process has steps of its own before its child's (a write
// after fork, then the child's read): the child waits for them on a pipe,
// one per fork, so that a chain of such forks hands over in order.
TEST_F(ReproTest, ForksWhoseParentGoesOnHandOver) {
  const std::string prog =
      "mmap 0 2 rw anon private populate\nfork\nwrite 0\np1: read 0 => %s\np1: fork\np1: write 1\n"
      "p1: read 1 => %s\np2: read 1 => %s\np2: read 0 => = 0x00\n";
  auto text = [&](const char* a, const char* b, const char* c) { return repro_detail::Fmt(prog.c_str(), a, b, c); };
  std::string out, source;
  EXPECT_EQ(RunExpectations(text("= 0x00", "= 0x06", "= 0x00"), "handover_pass", &out, &source), 0) << out << source;
  EXPECT_EQ(out, "PASS\n");
  EXPECT_EQ(source.find("turn("), std::string::npos) << source;
  EXPECT_LT(std::count(source.begin(), source.end(), '\n'), 50) << source;
  // A wrong expectation fails in whichever process it is, the others quiet.
  EXPECT_EQ(RunExpectations(text("= 0x03", "= 0x06", "= 0x00"), "handover_child", &out), 1) << out;
  EXPECT_EQ(out, "FAIL: step 3: p1: read 0 should give = 0x03, gave 0 \n") << out;
  EXPECT_EQ(RunExpectations(text("= 0x00", "= 0x00", "= 0x00"), "handover_parent", &out), 1) << out;
  EXPECT_EQ(out, "FAIL: step 6: p1: read 1 should give = 0x00, gave 6 \n") << out;
  EXPECT_EQ(RunExpectations(text("= 0x00", "= 0x06", "= 0x06"), "handover_grandchild", &out), 1) << out;
  EXPECT_EQ(out, "FAIL: step 7: p2: read 1 should give = 0x06, gave 0 \n") << out;
}

// Each model mutant's finding, as its campaign minimized it: its C FAILs on
// this (correct) kernel, the contract's PASSes (tests/fuzz/mutant_findings.h).
TEST_F(ReproTest, MutantFindingsFailAndTheirContractPasses) {
  KernelProfile profile;
  auto target = LocalTarget(&profile);
  ASSERT_TRUE(target);
  int checked = 0;
  for (const MutantFinding& f : kMutantFindings) {
    std::string r = CheckMutantFinding(target.get(), profile, f);
    if (r.rfind("skip: ", 0) == 0) {
      std::printf("[ mutant ] %s: %s\n", f.mutant, r.c_str());
      continue;
    }
    EXPECT_EQ(r, "") << f.mutant;
    checked++;
  }
  // All but the soft-dirty one where the kernel has uffd-wp, WP_ASYNC, PAGEMAP_SCAN and THP.
  constexpr uint32_t kAll = kFeatUffdWp | kFeatWpAsync | kFeatPagemapScan | kFeatThp;
  if ((profile.features & kAll) == kAll) {
    EXPECT_GE(checked, 7);
  }
}

// A kernel at odds with itself (pagemap against PAGEMAP_SCAN): the C redoes
// the step and the second look, and checks they agree, which a correct
// kernel does; checking the step's answer against itself could not fail.
TEST_F(ReproTest, AnInconsistentFindingRedoesItsSecondLook) {
  KernelProfile profile;
  auto target = LocalTarget(&profile);
  ASSERT_TRUE(target);
  if (!(profile.features & kFeatPagemapScan)) GTEST_SKIP() << "no PAGEMAP_SCAN";
  for (const char* text : {"mmap 0 2 rw anon private\nwrite 1\nscan 0 2\n", "mmap 0 2 rw anon private\nwrite 1\npagemap 0 2\n"}) {
    Program prog = Parse(text);
    Divergence d;
    d.op_index = 2;
    d.cls = DivergenceClass::kInconsistent;
    d.line = "DIVERGENCE inconsistent op=2 \"" + PrintOp(prog.ops[2]) + "\" page=1 field=present pagemap=0 scan=1";
    ReproCheck c = CheckFromDivergence(prog, d);
    ASSERT_EQ(c.consistency, "present");
    ReproSpec spec{d.line, {}, {c}};
    spec.scan_categories = profile.scan_categories;
    std::string source = WriteReproC(prog, spec), out;
    EXPECT_NE(source.find("pagemap(ADDR(1)) >> 63 & 1"), std::string::npos) << source;
    auto bin = Compile("consistent", source);
    ASSERT_FALSE(bin.empty());
    EXPECT_EQ(Run(bin, &out), 0) << out << source;
    EXPECT_EQ(out, "PASS\n");
  }
}

TEST_F(ReproTest, MissingRequirementSkips) {
  KernelProfile profile;
  LocalTarget(&profile);
  if (profile.soft_dirty) GTEST_SKIP() << "this kernel has soft-dirty";
  Program prog = Parse("requires soft_dirty\nmmap 0 1 rw anon private\npagemap 0 1 => -----D\n");
  ReproSpec spec;
  spec.checks = ChecksFromExpectations(prog);
  auto bin = Compile("skip", WriteReproC(prog, spec));
  ASSERT_FALSE(bin.empty());
  std::string out;
  EXPECT_EQ(Run(bin, &out), 125) << out;
  EXPECT_EQ(FirstLine(out), "SKIP: this kernel lacks soft_dirty, which the program requires") << out;
}

// A real divergence of this kernel: the huge zero page reads as a file page
// (quirk huge_zero_page_pagemap_file), not allowed by a profile without
// quirks; PAGEMAP_SCAN says otherwise, so it is `inconsistent`, and its
// reproducer checks the bit against the contract the model predicts.
TEST_F(ReproTest, RealQuirkDivergenceFails) {
  KernelProfile profile;
  auto target = LocalTarget(&profile);
  ASSERT_TRUE(target);
  if (!(profile.features & kFeatThp)) GTEST_SKIP() << "no THP";
  profile.quirks = {};
  Program prog = Parse("requires thp\nmmap 0 512 r anon private\nmadvise 0 512 hugepage\nread 0\npagemap 0 1\n");
  Trace trace;
  std::string err;
  ASSERT_TRUE(target->Run(prog, &trace, &err)) << err;
  Judgement j = JudgeKernelRun(prog, trace, profile);
  ASSERT_TRUE(j.verdict.divergence) << j.line;
  ReproSpec spec = SpecForJudgement(prog, j);
  ASSERT_EQ(spec.checks.size(), 1u);
  auto bin = Compile("quirk", WriteReproC(prog, spec));
  ASSERT_FALSE(bin.empty());
  std::string out;
  EXPECT_EQ(Run(bin, &out), 1) << out;
  EXPECT_EQ(FirstLine(out), "FAIL: page 0: file/shared-anon is 1 after a read at step 3 (expected 0: the page belongs to the private "
            "anonymous mapping of step 1)")
      << out;

  // Its report: subject, documentation, pictures, the C inline.
  ReportInput in;
  in.prog = prog;
  in.trace = trace;
  in.judgement = j;
  ASSERT_TRUE(target->Probe(&in.features, &err));
  in.profile = profile;
  std::string report = WriteReport(in);
  EXPECT_EQ(j.verdict.divergence->cls, DivergenceClass::kInconsistent) << j.line;
  EXPECT_EQ(FirstLine(report), "Subject: [BUG] fs/proc/task_mmu: pagemap and PAGEMAP_SCAN disagree after a read")
      << report;
  EXPECT_NE(report.find("Bit  61    page is file-page or shared-anon (since 3.5)"), std::string::npos) << report;
  EXPECT_NE(report.find("before and after step 3:"), std::string::npos) << report;
  EXPECT_NE(report.find("Cause: step 3 (read 0) is the last step that changed page 0 before step 4,\nafter step 1"),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("  2: madvise 0 512 hugepage  => ok"), std::string::npos) << report;
  EXPECT_NE(report.find("int main(void)"), std::string::npos) << report;
}

// Every corpus program that passes here passes as C (see CorpusPassesAsC).
TEST_F(ReproTest, CorpusProgramsPassAsC) {
  KernelProfile profile;
  auto target = LocalTarget(&profile);
  ASSERT_TRUE(target);
  CorpusAsC n = CorpusPassesAsC(target.get(), profile, std::string(MMDIFF_SOURCE_DIR) + "/corpus");
  EXPECT_GE(n.ran, 20);
  EXPECT_GE(n.forks, 3);
  EXPECT_GE(n.uffds, 3);
  std::printf("[ corpus ] %d programs passed as C (%d with fork, %d uffd_open, %d scans)\n", n.ran, n.forks, n.uffds,
              n.scans);
}

// The corpus's quirk programs as C on this kernel: FAIL where it has the
// quirk, PASS where it is fixed (see QuirkProgramsAsC).
TEST_F(ReproTest, CorpusQuirksAsC) {
  KernelProfile profile;
  auto target = LocalTarget(&profile);
  ASSERT_TRUE(target);
  QuirksAsC q = QuirkProgramsAsC(target.get(), profile, std::string(MMDIFF_SOURCE_DIR) + "/corpus/quirks");
  std::string failed, passed;
  for (const std::string& n : q.failed) failed += " " + n;
  for (const std::string& n : q.passed) passed += " " + n;
  // The host's quirks that need no soft-dirty: five (corpus/QUIRKS.md).
  EXPECT_GE(q.failed.size(), 5u) << failed;
  std::printf("[ quirks ] FAIL as C:%s; PASS as C:%s\n", failed.c_str(), passed.c_str());
}

// fault_around_bytes is system-wide: a reproducer that pins it (one with a
// file mapping) writes the original value back when it ends. The knob is a
// temporary file here (debugfs is not writable on every host): it must have
// been written (pinned) and hold its original value again afterwards.
TEST_F(ReproTest, FaultAroundIsRestoredWhenTheReproducerEnds) {
  testutil::TempDir tmp{"mmdiff-fault-around"};
  std::string knob = tmp.path("fault_around_bytes");
  const char* path = knob.c_str();
  std::ofstream(knob) << "65536\n";
  struct timeval old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimes(path, old), 0);
  Program prog = Parse("mmap 0 2 r memfd:0 shared\nread 1\npagemap 0 2\n");
  Divergence d = HandMade(prog, 2, {0, 0}, {0, P | kPmFile});
  ReproSpec spec{d.line, {}, {CheckFromDivergence(prog, d)}};
  std::string source = WriteReproC(prog, spec);
  ASSERT_NE(source.find("pin_fault_around();"), std::string::npos) << source;
  std::vector<uint8_t> bin;
  std::string err;
  ASSERT_TRUE(CompileRepro(source, {"-Werror", std::string("-DFAULT_AROUND=\"") + path + "\""}, &bin, &err)) << err;
  std::string out;
  EXPECT_GE(Run(bin, &out), 0) << out;
  struct stat st;
  ASSERT_EQ(stat(path, &st), 0);
  EXPECT_GT(st.st_mtime, 1000) << "the reproducer did not pin the knob";
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  EXPECT_EQ(value, "65536") << "the knob was not restored";
}

// The uapi values a reproducer defines for system headers older than 6.7
// equal the executor's ABI header (executor/uapi.h): the categories come from
// prog's table, so this also holds the two tables together.
TEST_F(ReproTest, UapiValuesMatchTheAbiHeader) {
  Program prog = Parse(R"(requires uffd_wp wp_async pagemap_scan guard hugetlb
memfd 0 4
file 1 4
mmap 0 4 rw memfd:0+0 shared populate noreserve
mmap 8 4 rw anon private fixed
mremap 8 4 4 move 16 dontunmap
fpunch 0 0 1
madvise 0 1 dontneed
madvise 0 1 free
madvise 0 1 remove
madvise 0 1 willneed
madvise 0 1 pageout
madvise 0 1 cold
madvise 0 1 populate_read
madvise 0 1 populate_write
madvise 0 1 hugepage
madvise 0 1 nohugepage
madvise 0 1 dontfork
madvise 0 1 dofork
madvise 0 1 wipeonfork
madvise 0 1 keeponfork
madvise 0 1 guard_install
madvise 0 1 guard_remove
uffd_open wp_unpopulated wp_hugetlbfs_shmem event_fork event_remap event_remove event_unmap
uffd_register 0 4 wp missing minor
uffd_wp 0 4 on dontwake
uffd_unregister 0 4
fork
p1: write 0
scan 0 4 wp_matching check_wpasync req=wpallowed,written,file,present inv=swapped,pfnzero any=huge,soft_dirty ret=guard
)");
  std::string c = WriteReproC(prog, {});
  // Every constant the reproducer defines for headers older than its
  // kernel has the value of the executor's ABI header.
  std::regex def("#define ([A-Z_0-9]+) (.+?)( /\\* [^*]* \\*/)?\n");
  std::string checks;
  int n = 0;
  for (std::sregex_iterator it(c.begin(), c.end(), def), end; it != end; ++it) {
    std::string name = (*it)[1], value = (*it)[2];
    if (name == "PAGE" || name == "VEC") continue;  // the reproducer's own
    checks += "_Static_assert((" + name + ") == (" + value + "), \"" + name + "\");\n";
    n++;
  }
  // The scan categories are one enum.
  std::regex item("(PAGE_IS_[A-Z_]+) = ([^,}]+)");
  for (std::sregex_iterator it(c.begin(), c.end(), item), end; it != end; ++it) {
    std::string name = (*it)[1], value = (*it)[2];
    checks += "_Static_assert((" + name + ") == (" + value + "), \"" + name + "\");\n";
    n++;
  }
  EXPECT_GE(n, 16) << c;  // PAGEMAP_SCAN, 2 flags, 9 categories, 4 newer constants
  std::string source = "#define _GNU_SOURCE\n#include \"" MMDIFF_SOURCE_DIR "/executor/uapi.h\"\n" + checks +
                       "int main(void) { return 0; }\n";
  EXPECT_FALSE(Compile("uapi", source).empty());
  // And the generated program itself compiles warning-free.
  EXPECT_FALSE(Compile("everything", c).empty());
}

TEST(Explain, SoftDirtyReasons) {
  Program prog = Parse(
      "mmap 0 4 rw anon private\nwrite 0\nclear_refs 4\nwrite 2\nmprotect 0 4 r\npagemap 0 4\n"
      "mmap 8 1 rw anon private\npagemap 8 1\nmremap 8 1 1 move 12\npagemap 12 1\n");
  Explanation e = ExplainBit(prog, 5, 2, 'D', true);
  EXPECT_EQ(e.after, "mprotect at step 4");
  EXPECT_EQ(e.because, "written at step 3 since clear_refs at step 2");
  EXPECT_EQ(e.cause_op, 3u);
  e = ExplainBit(prog, 5, 0, 'D', false);
  EXPECT_EQ(e.because, "not written since clear_refs at step 2");
  e = ExplainBit(prog, 7, 8, 'D', true);
  EXPECT_EQ(e.because, "mapped anew at step 6 since clear_refs at step 2; new mappings are soft-dirty");
  e = ExplainBit(prog, 9, 12, 'D', true);
  EXPECT_EQ(e.after, "mremap at step 8");
  EXPECT_EQ(e.because, "moved by mremap at step 8 since clear_refs at step 2; moved pages are soft-dirty");
  // The issue's example line.
  prog = Parse("mmap 0 4 rw anon private\nwrite 2\nread 1\nclear_refs 4\nread 2\nwrite 2\npagemap 0 4\n");
  e = ExplainBit(prog, 6, 2, 'D', true);
  EXPECT_EQ("FAIL: page 2: soft-dirty is 0 after " + e.after + " (expected 1: " + e.because + ")",
            "FAIL: page 2: soft-dirty is 0 after a write at step 5 (expected 1: written since clear_refs at step 3)");
}

TEST(Explain, UffdWpReasons) {
  Program prog = Parse(
      "mmap 0 2 rw anon private\nuffd_open wp_async\nuffd_register 0 2 wp\nwrite 0\nuffd_wp 0 2 on\n"
      "pagemap 0 2\nwrite 1\npagemap 0 2\n");
  EXPECT_EQ(ExplainBit(prog, 5, 0, 'W', true).because, "write-protected by uffd_wp on at step 4 and not written since");
  EXPECT_EQ(ExplainBit(prog, 7, 1, 'W', false).because, "a write at step 6 after uffd_wp on at step 4");
}

TEST(SyscallText, NamesTheCalls) {
  Program prog = Parse("mmap 2 4 rw memfd:1+3 shared populate\nwrite 2 +5\nscan 0 4 wp_matching req=written ret=written\n");
  EXPECT_EQ(SyscallText(prog.ops[0], 0),
            "mmap(0x100000002000, 16384, PROT_READ|PROT_WRITE, MAP_SHARED|MAP_FIXED_NOREPLACE|MAP_POPULATE, fd1, "
            "12288)");
  EXPECT_EQ(SyscallText(prog.ops[1], 1), "store 0x02 at 0x100000002005");
  EXPECT_EQ(SyscallText(prog.ops[2], 2),
            "ioctl(pagemap, PAGEMAP_SCAN, {.start = 0x100000000000, .end = 0x100000004000, .flags = "
            "PM_SCAN_WP_MATCHING, .category_mask = PAGE_IS_WRITTEN, .return_mask = PAGE_IS_WRITTEN, .vec_len = 4})");
}

}  // namespace
}  // namespace mmdiff
