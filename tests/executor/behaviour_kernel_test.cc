// The behaviour probes on the running kernel: the target measures every
// probe it can run (a probe answered with neither of its two answers means
// the probe or the model is wrong), and the model with the measured profile
// agrees with the kernel on each probe program, op by op.
#include <gtest/gtest.h>

#include "model/checker.h"
#include "model/profile.h"
#include "prog/behaviour.h"
#include "prog/text.h"
#include "target/target.h"
#include "tests/executor/exec_test_util.h"

namespace mmdiff {
namespace {

TEST(BehaviourKernel, ProbesAreMeasuredAndTheModelAgrees) {
  KernelFeatures features;
  std::unique_ptr<Target> target = exectest::LocalTarget(&features);
  ASSERT_TRUE(target);
  KernelProfile profile = MakeProfile(features);
  std::string err;
  for (const BehaviourProbe& b : BehaviourProbes()) {
    Program prog;
    TextError perr;
    ASSERT_TRUE(ParseProgram(b.program, b.name, &prog, &perr)) << perr.ToString();
    bool runnable = (prog.Requires() & features.features) == prog.Requires();
    EXPECT_EQ(runnable, (features.behaviours_measured & b.bit) != 0) << b.name;
    if (!runnable) continue;
    Trace trace;
    ASSERT_TRUE(target->Run(prog, &trace, &err)) << err;
    Verdict v = CheckTrace(prog, trace, profile);
    EXPECT_EQ(v.status, Verdict::Status::kPass)
        << b.name << ": " << (v.divergence ? v.divergence->line : v.note);
  }
}

}  // namespace
}  // namespace mmdiff
