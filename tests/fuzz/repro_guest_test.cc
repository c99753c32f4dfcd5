// C reproducers in the Debian guests (under TCG; both have soft-dirty):
// built here, sent to the guest's executor, run on its kernel.
//   - the corpus programs that pass in the default 6.12 guest pass as C
//     there, the soft-dirty ones included;
//   - the corpus's quirk programs FAIL as C on each guest where its kernel
//     has the quirk (corpus/QUIRKS.md), and PASS where it has the fix;
//   - the guest-only model mutant (clear-refs-keeps-soft-dirty): its
//     divergence's C FAILs on the correct kernel, the unmutated contract's
//     C for the same program PASSes; and so every mutant's minimized
//     finding on each guest that has what it uses (mutant_findings.h).
// One boot per guest serves every case (a boot costs seconds).
#include <gtest/gtest.h>

#include <map>
#include <memory>

#include "model/mutant.h"
#include "tests/fuzz/mutant_findings.h"
#include "tests/fuzz/repro_test_util.h"

namespace mmdiff {
namespace {

using namespace reprotest;

const char kDefaultGuest[] = "6.12";

struct BootedGuest {
  std::unique_ptr<Target> target;
  std::unique_ptr<KernelProfile> profile;  // null when the boot failed
  std::string error;
};

// The guests booted so far, shut down when the tests end.
std::map<std::string, BootedGuest>& Guests() {
  static auto* guests = new std::map<std::string, BootedGuest>;
  return *guests;
}

class ShutDownGuests : public ::testing::Environment {
 public:
  void TearDown() override { Guests().clear(); }
};
const auto* const kShutDown = ::testing::AddGlobalTestEnvironment(new ShutDownGuests);

const BootedGuest& Boot(const std::string& name) {
  BootedGuest& g = Guests()[name];
  if (g.target || !g.error.empty()) return g;
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  options.guest = name;
  g.target = MakeQemuTarget(options, &g.error);
  KernelFeatures features;
  if (!g.target || !g.target->Probe(&features, &g.error))
    g.error = "the " + name + " guest did not boot: " + g.error;
  else
    g.profile = std::make_unique<KernelProfile>(MakeProfile(features));
  return g;
}

class ReproGuestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (FindCCompiler().empty()) GTEST_SKIP() << "no C compiler";
    const BootedGuest& g = Boot(kDefaultGuest);
    ASSERT_TRUE(g.profile) << g.error;
    ASSERT_TRUE(g.profile->soft_dirty) << "the Debian guest kernel has CONFIG_MEM_SOFT_DIRTY";
    target_ = g.target.get();
    profile_ = g.profile.get();
  }

  Target* target_ = nullptr;
  const KernelProfile* profile_ = nullptr;
};

TEST_F(ReproGuestTest, CorpusProgramsPassAsC) {
  CorpusAsC n = CorpusPassesAsC(target_, *profile_, std::string(MMDIFF_SOURCE_DIR) + "/corpus");
  EXPECT_GE(n.ran, 30);
  EXPECT_GE(n.soft_dirty, 15);
  EXPECT_GE(n.forks, 3);
  std::printf("[ guest corpus ] %d programs passed as C (%d need soft-dirty, %d with fork, %d uffd_open)\n", n.ran,
              n.soft_dirty, n.forks, n.uffds);
}

// Which quirk programs FAIL as C on a guest, and which PASS there because
// its kernel has the fix (corpus/QUIRKS.md).
struct QuirkGuest {
  const char* guest;
  std::vector<const char*> fail, pass;
};

// gtest and ctest name the instance by this rather than by its bytes.
void PrintTo(const QuirkGuest& g, std::ostream* os) { *os << g.guest; }

class ReproGuestQuirks : public ::testing::TestWithParam<QuirkGuest> {};

TEST_P(ReproGuestQuirks, CorpusQuirksAsC) {
  if (FindCCompiler().empty()) GTEST_SKIP() << "no C compiler";
  const BootedGuest& g = Boot(GetParam().guest);
  ASSERT_TRUE(g.profile) << g.error;
  QuirksAsC q = QuirkProgramsAsC(g.target.get(), *g.profile, std::string(MMDIFF_SOURCE_DIR) + "/corpus/quirks");
  std::string failed, passed;
  for (const std::string& n : q.failed) failed += " " + n;
  for (const std::string& n : q.passed) passed += " " + n;
  for (const char* quirk : GetParam().fail)
    EXPECT_NE((failed + " ").find(std::string(" ") + quirk + " "), std::string::npos)
        << quirk << " did not FAIL:" << failed;
  for (const char* quirk : GetParam().pass)
    EXPECT_NE((passed + " ").find(std::string(" ") + quirk + " "), std::string::npos)
        << quirk << " did not PASS:" << passed;
  std::printf("[ guest %s quirks ] FAIL as C:%s\n", GetParam().guest, failed.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Guests, ReproGuestQuirks,
    ::testing::Values(
        // 6.1 shows all but the host-only ones.
        QuirkGuest{"6.1",
                   {"softdirty_lost_on_merge", "softdirty_lost_on_merge_mremap", "softdirty_lost_on_merge_madvise",
                    "softdirty_lost_on_merge_uffd_unregister", "softdirty_lost_on_uffd_wp_resolve",
                    "softdirty_lost_on_mremap_pmd_move",
                    "uffd_unregister_other_ctx", "uffd_unregister_other_ctx_refused_clears_wp",
                    "shmem_drop_page_keeps_uffd_wp_marker", "huge_zero_page_pagemap_file"},
                   {"softdirty_lost_on_merge_uffd_register"}},
        // 6.12 has PAGEMAP_SCAN, so its stale walk_end shows; the uffd-wp
        // resolve quirk was fixed in v6.3 (931298e103c2); its userfaultfd
        // path keeps the surviving VMA's flags (corpus/QUIRKS.md).
        QuirkGuest{"6.12",
                   {"softdirty_lost_on_merge", "softdirty_lost_on_merge_mremap", "softdirty_lost_on_merge_madvise",
                    "softdirty_lost_on_merge_uffd_register", "softdirty_lost_on_mremap_pmd_move",
                    "uffd_unregister_other_ctx", "uffd_unregister_other_ctx_refused_clears_wp",
                    "shmem_drop_page_keeps_uffd_wp_marker", "huge_zero_page_pagemap_file", "scan_stale_walk_end"},
                   {"softdirty_lost_on_uffd_wp_resolve", "softdirty_lost_on_merge_uffd_unregister"}}),
    [](const ::testing::TestParamInfo<QuirkGuest>& info) {
      std::string name = std::string("Debian_") + info.param.guest;
      for (char& c : name)
        if (c == '.') c = '_';
      return name;
    });

class ReproGuestMutants : public ::testing::TestWithParam<const char*> {};

TEST_P(ReproGuestMutants, FindingsFailAndTheirContractPasses) {
  if (FindCCompiler().empty()) GTEST_SKIP() << "no C compiler";
  const BootedGuest& g = Boot(GetParam());
  ASSERT_TRUE(g.profile) << g.error;
  int checked = 0;
  for (const MutantFinding& f : kMutantFindings) {
    std::string r = CheckMutantFinding(g.target.get(), *g.profile, f);
    if (r.rfind("skip: ", 0) == 0) {
      std::printf("[ guest %s mutant ] %s: %s\n", GetParam(), f.mutant, r.c_str());
      continue;
    }
    EXPECT_EQ(r, "") << f.mutant;
    checked++;
  }
  // 6.12 has every mechanism; 6.1 those of fork-drops-uffd-wp,
  // dontneed-keeps-anon, cow-write-shares-page and clear-refs-keeps-soft-dirty.
  EXPECT_EQ(checked, std::string(GetParam()) == "6.12" ? 9 : 4);
}

INSTANTIATE_TEST_SUITE_P(Guests, ReproGuestMutants, ::testing::Values("6.1", "6.12"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "6.1" ? "Debian_6_1" : "Debian_6_12";
                         });

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
