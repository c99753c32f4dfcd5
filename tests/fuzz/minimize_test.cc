// The minimizer: with model-only predicates (a simulated kernel that loses
// soft-dirty bits, judged under the guest 6.1 profile), with predicates on
// the program's structure alone, and on the running kernel with a real
// divergence (a known quirk that the profile does not allow).
#include "fuzz/minimize.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>

#include "model/checker.h"
#include "model/judge.h"
#include "model/profile.h"
#include "prog/text.h"
#include "target/target.h"

namespace mmdiff {
namespace {

Program Parse(const std::string& text) {
  Program prog;
  TextError err;
  EXPECT_TRUE(ParseProgram(text, "test.mmp", &prog, &err)) << err.ToString();
  return prog;
}

// A kernel that loses every soft-dirty bit: the model's own answers with
// pagemap bit 55 cleared.
Trace SoftDirtyLosingKernel(const Program& prog, const KernelProfile& profile) {
  Trace t = PredictTrace(prog, profile);
  for (Result& r : t.results) {
    for (uint64_t& e : r.pagemap) e &= ~kPmSoftDirty;
    r.either.clear();
  }
  return t;
}

// "Still fails": valid, modelled, and the losing kernel diverges with `sig`.
std::function<bool(const Program&)> LosingKernelFails(const KernelProfile& profile, const std::string& sig) {
  return [profile, sig](const Program& c) {
    if (!ModelAccepts(c, profile, true)) return false;
    return MinimizeSignature(JudgeKernelRun(c, SoftDirtyLosingKernel(c, profile), profile)) == sig;
  };
}

// A soft-dirty miss (page 1 written after clear_refs) among ops that have
// nothing to do with it: another mapping and file, a child process, reads,
// an mprotect, a DONTNEED.
constexpr char kPadded[] = R"(requires soft_dirty
memfd 0 4
mmap 16 4 rw memfd:0+0 shared
mmap 0 8 rw anon private
write 3
read 5
fwrite 0 1
mprotect 6 2 r
write 17
fork
p1: read 16
p1: write 0
p1: read 1
clear_refs 4
write 1
read 2
madvise 4 1 dontneed
mprotect 6 2 rw
write 7
read 18
pagemap 0 8
)";

TEST(Minimize, PaddedSoftDirtyMissReducesToFewOps) {
  KernelProfile guest = GuestProfile61();
  Program prog = Parse(kPadded);
  ASSERT_FALSE(Validate(prog).has_value());
  Judgement j = JudgeKernelRun(prog, SoftDirtyLosingKernel(prog, guest), guest);
  ASSERT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
  ASSERT_TRUE(j.verdict.divergence.has_value()) << j.line;
  EXPECT_EQ(j.verdict.divergence->cls, DivergenceClass::kMissedDirty) << j.line;
  std::string sig = MinimizeSignature(j);

  MinimizeStats stats;
  std::vector<std::string> steps;
  stats.on_step = [&steps](const std::string& step, const Program&) { steps.push_back(step); };
  Program min = Minimize(prog, LosingKernelFails(guest, sig), &stats, nullptr);

  EXPECT_LE(min.ops.size(), 8u) << PrintProgram(min);
  EXPECT_TRUE(LosingKernelFails(guest, sig)(min)) << PrintProgram(min);
  EXPECT_EQ(min.NumProcs(), 1) << PrintProgram(min);
  EXPECT_EQ(stats.ops_before, prog.ops.size());
  EXPECT_EQ(stats.ops_after, min.ops.size());
  EXPECT_EQ(static_cast<size_t>(stats.accepted), steps.size());
  EXPECT_GT(stats.attempts, stats.accepted);
  EXPECT_FALSE(stats.interrupted);
  // What makes the miss: this kernel loses every soft-dirty bit, so the
  // smallest program with the same signature (a missed soft-dirty bit of a
  // private anonymous page) is a new mapping's page looked at: the
  // signature is what went wrong, not the state around it, so the
  // minimizer need not keep the padding's clear_refs and write.
  std::string text = PrintProgram(min);
  EXPECT_NE(text.find("mmap"), std::string::npos) << text;
  EXPECT_NE(text.find("pagemap"), std::string::npos) << text;
  // The observed range shrank and the pages start at 0.
  for (const Op& op : min.ops) {
    if (op.kind == OpKind::kPagemap) {
      EXPECT_EQ(op.npages, 1u) << text;
    }
    if (op.kind == OpKind::kMmap) {
      EXPECT_EQ(op.page, 0u) << text;
    }
  }
  std::printf("[ minimized %zu -> %zu ops in %d candidates ]\n%s", prog.ops.size(), min.ops.size(), stats.attempts,
              text.c_str());
}

// `prog` minimized while the losing kernel keeps failing it as it does now
// (it must fail: the test expects a divergence to keep).
Program MinimizeOnLosingKernel(const Program& prog, const KernelProfile& profile) {
  Judgement j = JudgeKernelRun(prog, SoftDirtyLosingKernel(prog, profile), profile);
  EXPECT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
  return Minimize(prog, LosingKernelFails(profile, MinimizeSignature(j)), nullptr, nullptr);
}

TEST(Minimize, RemovesAProcessAndRenumbersTheNext) {
  KernelProfile guest = GuestProfile61();
  // p1 is irrelevant; the miss happens in p2, which becomes p1.
  Program prog = Parse(R"(requires soft_dirty
mmap 0 4 rw anon private
fork
p1: write 0
p1: read 1
fork
p2: clear_refs 4
p2: write 1
p2: pagemap 0 4
)");
  Program min = MinimizeOnLosingKernel(prog, guest);
  std::string text = PrintProgram(min);
  EXPECT_EQ(text.find("p2:"), std::string::npos) << text;
  EXPECT_LE(min.NumProcs(), 2) << text;
  EXPECT_LE(min.ops.size(), 6u) << text;
  EXPECT_FALSE(Validate(min).has_value()) << text;
}

// A miss in a child that the fork does not cause: with nothing left for
// the parent to do after the fork, the child is hoisted into it (the fork
// goes, p1's ops become p0's), so the reproducer is one process. Where the
// fork is needed (here: a predicate that wants one) it stays.
TEST(Minimize, HoistsAChildWhoseParentHasNothingLeft) {
  Program prog = Parse("requires soft_dirty\nmmap 0 4 rw anon private\nfork\np1: clear_refs 4\np1: write 1\n"
                       "p1: pagemap 0 4\n");
  std::string min = PrintProgram(MinimizeOnLosingKernel(prog, GuestProfile61()));
  EXPECT_EQ(min.find("p1:"), std::string::npos) << min;
  EXPECT_EQ(min.find("fork"), std::string::npos) << min;

  auto needs_fork = [](const Program& c) {
    for (const Op& op : c.ops)
      if (op.kind == OpKind::kFork) return true;
    return false;
  };
  Program kept = Minimize(prog, needs_fork, nullptr, nullptr);
  EXPECT_EQ(kept.NumProcs(), 2) << PrintProgram(kept);
}

// Structure-only predicates: the minimizer knows nothing else.
TEST(Minimize, RenumbersPagesFromZero) {
  Program prog = Parse("mmap 1000 4 rw anon private\nwrite 1002\npagemap 1001 3\n");
  auto pred = [](const Program& c) {
    // Fails while it writes a page that a pagemap of the same program covers.
    for (const Op& w : c.ops)
      for (const Op& p : c.ops)
        if (w.kind == OpKind::kWrite && p.kind == OpKind::kPagemap && w.page >= p.page &&
            w.page < p.page + p.npages)
          return true;
    return false;
  };
  Program min = Minimize(prog, pred, nullptr, nullptr);
  ASSERT_EQ(min.ops.size(), 2u) << PrintProgram(min);
  EXPECT_EQ(PrintProgram(min), "write 0\npagemap 0 1\n");
}

TEST(Minimize, KeepsTwoMegabyteAlignment) {
  Program prog = Parse("mmap 1536 512 rw anon private\nmadvise 1536 512 hugepage\nwrite 1700\npagemap 1700 1\n");
  auto pred = [](const Program& c) {
    // Fails while a THP-sized mapping and the write stay.
    bool big = false, write = false;
    for (const Op& op : c.ops) {
      big |= op.kind == OpKind::kMmap && op.npages == 512;
      write |= op.kind == OpKind::kWrite;
    }
    return big && write;
  };
  Program min = Minimize(prog, pred, nullptr, nullptr);
  std::string text = PrintProgram(min);
  ASSERT_EQ(min.ops.size(), 2u) << text;
  EXPECT_EQ(min.ops[0].page, 0u) << text;  // 1536 is 3 * 512: renumbered to 0
  EXPECT_EQ(min.ops[1].page % kPagesPerPmd, 1700u % kPagesPerPmd) << text;
}

TEST(Minimize, SimplifiesOptions) {
  Program prog = Parse("mmap 0 4 rx memfd:0+0 shared populate noreserve\nscan 0 4 wp_matching req=written max=2\n");
  // Fails while there is an mmap and a scan: every option word can go.
  auto pred = [](const Program& c) { return c.ops.size() == 2; };
  Program min = Minimize(prog, pred, nullptr, nullptr);
  EXPECT_EQ(PrintProgram(min), "mmap 0 1 rw anon private\nscan 0 1\n");
}

TEST(Minimize, StopKeepsTheBestSoFar) {
  Program prog = Parse("mmap 0 4 rw anon private\nwrite 0\nwrite 1\npagemap 0 4\n");
  std::atomic<bool> stop{false};
  MinimizeStats stats;
  int calls = 0;
  auto pred = [&](const Program&) {
    if (++calls == 2) stop.store(true);  // Ctrl-C during the second candidate
    return true;
  };
  Program min = Minimize(prog, pred, &stats, &stop);
  EXPECT_TRUE(stats.interrupted);
  EXPECT_EQ(stats.attempts, 2);
  EXPECT_LT(min.ops.size(), prog.ops.size());  // the first accepted step is kept
  EXPECT_FALSE(Validate(min).has_value());
}

TEST(Minimize, WriteTokensStayPinnedWhenExpectationsNeedThem) {
  // The read expects the byte op 3 wrote; removing ops before it must not change it.
  Program prog = Parse("mmap 0 2 rw anon private\nwrite 1\nread 1\nwrite 0\nread 0 => = 0x04\npagemap 0 1\n");
  KernelProfile host = HostProfile618();
  ASSERT_EQ(JudgeModelOnly(prog, host).kind, Judgement::Kind::kPass);
  // Fails while the read still sees the expected byte and a pagemap is there.
  auto pred = [&](const Program& c) {
    bool pagemap = false;
    for (const Op& op : c.ops) pagemap |= op.kind == OpKind::kPagemap;
    return pagemap && ModelAccepts(c, host, true) && JudgeModelOnly(c, host).kind == Judgement::Kind::kPass;
  };
  Program min = Minimize(prog, pred, nullptr, nullptr);
  std::string text = PrintProgram(min);
  EXPECT_LE(min.ops.size(), 4u) << text;
  EXPECT_EQ(JudgeModelOnly(min, host).kind, Judgement::Kind::kPass) << text;
}

TEST(Minimize, ExpectationShrinksWithItsPagemap) {
  // The model contradicts "page 1 not present" (it was written).
  Program prog = Parse(
      "mmap 0 4 rw anon private => ok\nwrite 0\nread 2\nclear_refs 4\nwrite 1\nmprotect 3 1 r\n"
      "pagemap 0 4 => P--X-? ------ P----? ------\n");
  KernelProfile host = HostProfile618();
  Judgement j = JudgeModelOnly(prog, host);
  ASSERT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
  std::string sig = MinimizeSignature(j);
  Program min = Minimize(prog, [&](const Program& c) { return MinimizeSignature(JudgeModelOnly(c, host)) == sig; },
                         nullptr, nullptr);
  EXPECT_EQ(PrintProgram(min), "mmap 0 1 rw anon private => ok\nwrite 0\npagemap 0 1 => ------\n");
}

TEST(MinimizeSignature, ExpectationFailuresKeepOpAndField) {
  Judgement a{Judgement::Kind::kFail, "EXPECTATION op=3 \"pagemap 0 4\" kernel: page=2 bit=D observed=0 expected=1"};
  Judgement b{Judgement::Kind::kFail, "EXPECTATION op=1 \"pagemap 2 1\" kernel: page=2 bit=D observed=0 expected=1"};
  Judgement c{Judgement::Kind::kFail, "EXPECTATION op=1 \"pagemap 2 1\" kernel: page=2 bit=P observed=0 expected=1"};
  EXPECT_EQ(MinimizeSignature(a), MinimizeSignature(b));
  EXPECT_NE(MinimizeSignature(a), MinimizeSignature(c));
  EXPECT_EQ(MinimizeSignature(Judgement{}), "");
}

// The running kernel through a local executor, and its profile.
class MinimizeLocal : public ::testing::Test {
 protected:
  void SetUp() override {
    TargetOptions options;
    options.executor_path = MMDIFF_EXECUTOR_PATH;
    target_ = MakeLocalTarget(options, &err);
    ASSERT_TRUE(target_) << err;
    KernelFeatures features;
    ASSERT_TRUE(target_->Probe(&features, &err)) << err;
    profile_ = MakeProfile(features);
  }
  std::unique_ptr<Target> target_;
  KernelProfile profile_;
  std::string err;
};

// The running kernel, with a real divergence: the huge zero page reads as a
// file page (quirk huge_zero_page_pagemap_file), which a profile without
// quirks does not allow.
TEST_F(MinimizeLocal, LocalKernelQuirkDivergence) {
  Target* target = target_.get();
  KernelProfile profile = profile_;
  if (!(profile.features & kFeatThp)) GTEST_SKIP() << "no THP on this kernel";
  profile.quirks = {};
  // `requires` as the generator writes it: thp (which the bug needs) among
  // features it draws at random.
  Program prog = Parse(R"(requires thp uffd_wp guard
mmap 2048 8 rw anon private
write 2049
mmap 0 512 r anon private
mprotect 2050 2 r
madvise 0 512 hugepage
read 2049
clear_refs 1
read 0
pagemap 2048 4
pagemap 0 4
)");
  MinimizeStats stats;
  TargetMinimizeResult out;
  ASSERT_TRUE(MinimizeOnTarget(prog, target, profile, {}, &stats, nullptr, &out, &err)) << err;
  std::string text = PrintProgram(out.program);
  EXPECT_LE(out.program.ops.size(), 8u) << text;
  EXPECT_LE(out.program.ops.size(), 5u) << text;  // requires, mmap, madvise, read, pagemap
  EXPECT_EQ(out.runs, 5);
  EXPECT_EQ(out.reproduced, 5) << out.judgement.line;
  // PAGEMAP_SCAN of the page says not file: the kernel contradicts itself.
  EXPECT_NE(out.signature.find("inconsistent|file|pm1scan0"), std::string::npos) << out.signature;
  EXPECT_EQ(out.program.ops[1].page % kPagesPerPmd, 0u) << text;
  EXPECT_EQ(PrintOp(out.program.ops[0]), "requires thp") << text;
}

// A fault's count or a scan that diverges because of a wrong state a
// pagemap read shows too becomes that read: with fork-drops-uffd-wp, the
// child's write raises a wp fault the model says it cannot, and its pages
// read uffd-wp; a wrong answer only PAGEMAP_SCAN gives keeps its scan, and
// a wrong byte its read.
TEST_F(MinimizeLocal, ObservesThroughPagemapWhereItShowsTheSameState) {
  Target* target = target_.get();
  KernelProfile profile = profile_;
  if (!(profile.features & kFeatUffdWp) || !(profile.features & kFeatPagemapScan))
    GTEST_SKIP() << "no uffd-wp or no PAGEMAP_SCAN";
  profile.mutant = Mutant::kForkDropsUffdWp;
  for (const char* last : {"p1: write 0", "p1: scan 0 1"}) {
    Program prog = Parse(std::string("mmap 0 1 rw anon shared populate\nuffd_open event_fork\n"
                                     "uffd_register 0 1 wp\nuffd_wp 0 1 on\nfork\n") + last + "\n");
    TargetMinimizeResult out;
    ASSERT_TRUE(MinimizeOnTarget(prog, target, profile, {}, nullptr, nullptr, &out, &err)) << err;
    EXPECT_EQ(PrintOp(out.program.ops.back()), "p1: pagemap 0 1") << PrintProgram(out.program);
    EXPECT_EQ(out.reproduced, 5) << out.judgement.line;
    EXPECT_EQ(out.signature.rfind("wrong-wp|pagemap|W|", 0), 0u) << out.signature;
  }
  profile.mutant = Mutant::kScanIgnoresMaxPages;
  Program prog = Parse("mmap 1 8 rw anon private\nscan 0 9 max=7\n");
  TargetMinimizeResult out;
  ASSERT_TRUE(MinimizeOnTarget(prog, target, profile, {}, nullptr, nullptr, &out, &err)) << err;
  EXPECT_EQ(PrintOp(out.program.ops.back()).rfind("scan ", 0), 0u) << PrintProgram(out.program);
  // A byte read back wrong is the finding itself, though pagemap's
  // exclusive bit differs too.
  profile.mutant = Mutant::kCowWriteSharesPage;
  prog = Parse("mmap 0 1 rw anon private populate\nfork\nwrite 0\np1: read 0\n");
  ASSERT_TRUE(MinimizeOnTarget(prog, target, profile, {}, nullptr, nullptr, &out, &err)) << err;
  EXPECT_EQ(PrintOp(out.program.ops.back()), "p1: read 0") << PrintProgram(out.program);
}

// The features of `requires` that matter stay: one an op names, one whose
// absence changes the model's contract; the others go.
TEST(Minimize, DropsOnlyUnneededRequires) {
  KernelProfile guest = GuestProfile61();
  auto always = [](const Program&) { return true; };
  // soft_dirty: no op names it, but without it every page reads clean.
  Program prog = Parse("requires soft_dirty hugetlb\nmmap 0 1 rw anon private\nwrite 0\npagemap 0 1\n");
  EXPECT_EQ(PrintProgram(DropUnneededRequires(prog, guest, always)),
            "requires soft_dirty\nmmap 0 1 rw anon private\nwrite 0\npagemap 0 1\n");
  // uffd_wp: named by uffd_register wp; soft_dirty does not change this
  // program's trace (no pagemap): the line keeps uffd_wp only.
  prog = Parse("requires soft_dirty uffd_wp\nmmap 0 1 rw anon private\nuffd_open\nuffd_register 0 1 wp\n");
  EXPECT_EQ(PrintOp(DropUnneededRequires(prog, guest, always).ops[0]), "requires uffd_wp");
  // Nothing matters: the line goes.
  prog = Parse("requires hugetlb\nmmap 0 1 rw anon private\nwrite 0\nread 0\n");
  EXPECT_EQ(DropUnneededRequires(prog, guest, always).ops.size(), 3u);
  // A removal the predicate rejects is not taken.
  auto keeps_requires = [](const Program& c) { return c.ops[0].kind == OpKind::kRequires; };
  EXPECT_EQ(DropUnneededRequires(prog, guest, keeps_requires).ops.size(), 4u);
}

TEST_F(MinimizeLocal, RefusesAPassingProgram) {
  Target* target = target_.get();
  Program prog = Parse("mmap 0 1 rw anon private\nwrite 0\npagemap 0 1\n");
  TargetMinimizeResult out;
  EXPECT_FALSE(MinimizeOnTarget(prog, target, profile_, {}, nullptr, nullptr, &out, &err));
  EXPECT_NE(err.find("does not fail"), std::string::npos) << err;
}

}  // namespace
}  // namespace mmdiff
