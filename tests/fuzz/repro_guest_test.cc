// C reproducers in the guest (Debian's 6.1 cloud kernel under TCG, which has
// soft-dirty): built here, sent to the guest's executor, run on its kernel.
//   - the corpus programs that pass in the guest pass as C there, the
//     soft-dirty ones included;
//   - the corpus's quirk programs FAIL as C where 6.1 has the quirk;
//   - the guest-only model mutant (clear-refs-keeps-soft-dirty): its
//     divergence's C FAILs on the correct kernel, the unmutated contract's
//     C for the same program PASSes.
// One guest serves every case (a boot costs seconds).
#include <gtest/gtest.h>

#include "model/mutant.h"
#include "tests/fuzz/repro_test_util.h"

namespace mmdiff {
namespace {

using namespace reprotest;

class ReproGuestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    TargetOptions options;
    options.executor_path = MMDIFF_EXECUTOR_PATH;
    std::string err;
    target_ = MakeQemuTarget(options, &err).release();
    KernelFeatures features;
    if (!target_ || !target_->Probe(&features, &err)) {
      boot_error_ = "the guest did not boot: " + err;
      return;
    }
    profile_ = new KernelProfile(MakeProfile(features));
  }
  static void TearDownTestSuite() {
    delete target_;
    delete profile_;
    target_ = nullptr;
    profile_ = nullptr;
  }
  void SetUp() override {
    if (FindCCompiler().empty()) GTEST_SKIP() << "no C compiler";
    ASSERT_TRUE(profile_) << boot_error_;
    ASSERT_TRUE(profile_->soft_dirty) << "the Debian guest kernel has CONFIG_MEM_SOFT_DIRTY";
  }

  static Target* target_;
  static KernelProfile* profile_;
  static std::string boot_error_;
};

Target* ReproGuestTest::target_ = nullptr;
KernelProfile* ReproGuestTest::profile_ = nullptr;
std::string ReproGuestTest::boot_error_;

TEST_F(ReproGuestTest, CorpusProgramsPassAsC) {
  CorpusAsC n = CorpusPassesAsC(target_, *profile_, std::string(MMDIFF_SOURCE_DIR) + "/corpus");
  EXPECT_GE(n.ran, 30);
  EXPECT_GE(n.soft_dirty, 15);
  EXPECT_GE(n.forks, 3);
  std::printf("[ guest corpus ] %d programs passed as C (%d need soft-dirty, %d with fork, %d uffd_open)\n", n.ran,
              n.soft_dirty, n.forks, n.uffds);
}

TEST_F(ReproGuestTest, CorpusQuirksAsC) {
  QuirksAsC q = QuirkProgramsAsC(target_, *profile_, std::string(MMDIFF_SOURCE_DIR) + "/corpus/quirks");
  std::string failed;
  for (const std::string& n : q.failed) failed += " " + n;
  // corpus/QUIRKS.md: 6.1 shows all but the host-only ones.
  for (const char* quirk : {"softdirty_lost_on_merge", "softdirty_lost_on_merge_mremap", "softdirty_lost_on_merge_madvise",
                            "softdirty_lost_on_merge_uffd_unregister",
                            "softdirty_lost_on_uffd_wp_resolve", "uffd_unregister_other_ctx"})
    EXPECT_NE(failed.find(std::string(" ") + quirk), std::string::npos) << quirk << " did not FAIL:" << failed;
  std::printf("[ guest quirks ] FAIL as C:%s\n", failed.c_str());
}

TEST_F(ReproGuestTest, SoftDirtyMutantFailsAndTheContractPasses) {
  Program prog = Parse("requires soft_dirty\nmmap 0 2 rw anon private\nwrite 0\nwrite 1\nclear_refs 4\nwrite 1\npagemap 0 2\n");
  Trace trace;
  std::string err;
  ASSERT_TRUE(target_->Run(prog, &trace, &err)) << err;
  KernelProfile mutated = *profile_;
  mutated.mutant = MutantByName("clear-refs-keeps-soft-dirty")->mutant;
  Judgement j = JudgeKernelRun(prog, trace, mutated);
  ASSERT_TRUE(j.verdict.divergence) << j.line;
  auto bin = Compile("mutant", WriteReproC(prog, SpecForJudgement(prog, j)));
  ASSERT_FALSE(bin.empty());
  std::string out;
  EXPECT_EQ(RunOn(target_, bin, &out), 1) << out;
  EXPECT_EQ(FirstLine(out), "FAIL: page 0: soft-dirty is 0 after clear_refs 4 at step 4 (expected 1: the model requires 1)")
      << out;

  // The real contract for the same op: both pages as the kernel has them.
  Judgement ok = JudgeKernelRun(prog, trace, *profile_);
  ASSERT_EQ(ok.kind, Judgement::Kind::kPass) << ok.line;
  Model model(*profile_);
  Prediction pred;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    pred = model.Predict(prog.ops[i], i);
    model.Apply(prog.ops[i], i, trace.results[i]);
  }
  ReproSpec spec;
  spec.checks.push_back(CheckFromPrediction(prog, prog.ops.size() - 1, pred));
  bin = Compile("contract", WriteReproC(prog, spec));
  ASSERT_FALSE(bin.empty());
  EXPECT_EQ(RunOn(target_, bin, &out), 0) << out;
  EXPECT_EQ(out, "PASS\n");
}

}  // namespace
}  // namespace mmdiff
