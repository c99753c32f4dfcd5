// The behaviour probes (prog/behaviour.h) against the model: each probe's
// deciding op must come out as the probe's `yes` answer under a profile with
// the behaviour and as its `no` answer without it, or the probe measures
// nothing the model distinguishes. And the profile takes behaviours from the
// probe, never from the release number.
#include <gtest/gtest.h>

#include "model/checker.h"
#include "model/profile.h"
#include "prog/behaviour.h"
#include "prog/text.h"
#include "tests/model/model_test_util.h"

namespace mmdiff {
namespace {

std::string Answer(const BehaviourProbe& b, const KernelProfile& profile) {
  Program prog = MustParse(b.program);
  Trace trace = PredictTrace(prog, profile);
  return PrintResult(prog.ops[b.op], trace.results[b.op]);
}

// Whether the model's printed answer allows a kernel answer that starts
// with `kernel`: its '?' (a bit the model leaves open) allows either.
bool Allows(const std::string& model, const std::string& kernel) {
  if (model.size() < kernel.size()) return false;
  for (size_t i = 0; i < kernel.size(); i++)
    if (model[i] != kernel[i] && model[i] != '?') return false;
  return true;
}

// A behaviour that makes something possible (a folio that may be large)
// has the model leave the deciding bit open where it has it: "allows yes".
TEST(BehaviourProbe, ModelAnswersYesWithAndNoWithout) {
  for (const BehaviourProbe& b : BehaviourProbes()) {
    KernelProfile with = HostProfile618();
    with.behaviours |= b.bit;
    with.soft_dirty = true;  // for the probes that read soft-dirty
    KernelProfile without = with;
    without.behaviours &= ~b.bit;
    std::string yes = Answer(b, with), no = Answer(b, without);
    EXPECT_TRUE(Allows(yes, b.yes)) << b.name << " with: " << yes;
    EXPECT_EQ(no.rfind(b.no, 0), 0u) << b.name << " without: " << no;
    EXPECT_FALSE(Allows(no, b.yes)) << b.name << " without: " << no;
    EXPECT_NE(yes, no) << b.name;
  }
}

TEST(BehaviourProbe, NamesAreUniqueAndFound) {
  uint32_t bits = 0;
  for (const BehaviourProbe& b : BehaviourProbes()) {
    EXPECT_EQ(BehaviourByName(b.name), &b);
    EXPECT_EQ(bits & b.bit, 0u) << b.name;
    bits |= b.bit;
  }
}

TEST(BehaviourProfile, MeasuredNotKeyedOnRelease) {
  KernelFeatures f = HostFeatures618();
  f.behaviours = kBehWpRangeMultiVma;
  f.behaviours_measured = kBehWpRangeMultiVma | kBehMremapMovesManyVmas;
  KernelProfile a = MakeProfile(f);
  f.release = "6.1.0-99-cloud-amd64";
  KernelProfile b = MakeProfile(f);
  EXPECT_EQ(a.behaviours, b.behaviours);
  EXPECT_TRUE(a.Has(kBehWpRangeMultiVma));
  EXPECT_FALSE(a.Has(kBehMremapMovesManyVmas));  // measured: no
  EXPECT_TRUE(a.Has(kBehMremapGrowMergesNext));  // unmeasured: the current rule
}

TEST(BehaviourProfile, OvercommitGuessRefusesMoreThanRamPlusSwap) {
  KernelFeatures f = HostFeatures618();
  f.mem_total_kb = 1024 * 1024;  // 1 GiB: 262144 pages
  f.overcommit_memory = 0;
  KernelProfile p = MakeProfile(f);
  RunExpecting(p,
               "mmap 0 262144 rw anon private => ok\n"
               "mmap 262144 262145 rw anon private => err ENOMEM\n"
               "mmap 262144 262145 rw anon private noreserve => ok\n"
               "mmap 600000 262145 r anon private => ok\n"
               "mprotect 600000 262145 rw => err ENOMEM\n");
  f.overcommit_memory = 1;  // "always": no heuristic
  RunExpecting(MakeProfile(f), "mmap 0 262145 rw anon private => ok\n");
}

}  // namespace
}  // namespace mmdiff
