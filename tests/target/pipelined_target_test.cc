// PipelinedTarget on the running kernel: each trace is its own program's,
// in the order sent, also when a re-run (Run) comes while programs are in
// flight.
#include "target/pipelined_target.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "prog/text.h"

namespace mmdiff {
namespace {

Program Parse(const std::string& text) {
  Program prog;
  TextError err;
  EXPECT_TRUE(ParseProgram(text, "test", &prog, &err)) << err.ToString();
  return prog;
}

std::unique_ptr<Target> Local() {
  TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  std::string err;
  std::unique_ptr<Target> target = MakeLocalTarget(options, &err);
  EXPECT_TRUE(target) << err;
  return target;
}

// The pagemap words of the trace's last op (a pagemap read).
std::string Present(const Trace& t) {
  std::string out;
  for (uint64_t word : t.results.back().pagemap) out += (word >> 63) ? 'P' : '-';
  return out;
}

class Pipelined : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(inner_ = Local()); }
  std::unique_ptr<Target> inner_;
  // Three programs whose traces tell them apart: the pages they map and write.
  Program a_ = Parse("mmap 0 3 rw anon private\nwrite 0\nwrite 2\npagemap 0 3\n");
  Program b_ = Parse("mmap 0 2 rw anon private\nwrite 1\npagemap 0 2\n");
  Program c_ = Parse("mmap 0 1 rw anon private\npagemap 0 1\n");
};

TEST_F(Pipelined, EachTraceIsItsProgramsAlsoWithARunBetween) {
  PipelinedTarget pipe(inner_.get());
  ASSERT_EQ(pipe.MaxInFlight(), 2);  // a local executor: one running, one waiting
  Trace t;
  std::string err;
  ASSERT_TRUE(pipe.Send(a_, &err)) << err;
  ASSERT_TRUE(pipe.Send(b_, &err)) << err;
  ASSERT_TRUE(pipe.Receive(&t, &err)) << err;
  EXPECT_EQ(Present(t), "P-P");
  // b runs while the caller works; a re-run of c in between waits for b
  // (and a, sent after it), then runs, and their traces are still
  // Receive's, in order.
  ASSERT_TRUE(pipe.Send(a_, &err)) << err;
  Trace tc;
  ASSERT_TRUE(pipe.Run(c_, &tc, &err)) << err;
  EXPECT_EQ(Present(tc), "-");
  EXPECT_EQ(pipe.in_flight(), 2);
  ASSERT_TRUE(pipe.Receive(&t, &err)) << err;
  EXPECT_EQ(Present(t), "-P");
  ASSERT_TRUE(pipe.Send(c_, &err)) << err;
  ASSERT_TRUE(pipe.Receive(&t, &err)) << err;
  EXPECT_EQ(Present(t), "P-P");
  ASSERT_TRUE(pipe.Receive(&t, &err)) << err;
  EXPECT_EQ(Present(t), "-");
  EXPECT_EQ(pipe.in_flight(), 0);
}

TEST_F(Pipelined, OneInFlightWhenAsked) {
  PipelinedTarget pipe(inner_.get(), 1);
  Trace t;
  std::string err;
  ASSERT_TRUE(pipe.Send(b_, &err)) << err;
  ASSERT_TRUE(pipe.Receive(&t, &err)) << err;
  EXPECT_EQ(Present(t), "-P");
}

TEST_F(Pipelined, ATraceNotTakenIsAnErrorNotAMixUp) {
  PipelinedTarget pipe(inner_.get());
  Trace t;
  std::string err;
  EXPECT_FALSE(pipe.Receive(&t, &err));
  EXPECT_NE(err.find("no program was sent"), std::string::npos) << err;
  ASSERT_TRUE(pipe.Send(a_, &err)) << err;
  ASSERT_TRUE(pipe.Send(b_, &err)) << err;
  err.clear();
  EXPECT_FALSE(pipe.Send(c_, &err));
  EXPECT_NE(err.find("in flight"), std::string::npos) << err;
  // a's and b's traces are still there to take, in order.
  ASSERT_TRUE(pipe.Receive(&t, &err)) << err;
  EXPECT_EQ(Present(t), "P-P");
  ASSERT_TRUE(pipe.Receive(&t, &err)) << err;
  EXPECT_EQ(Present(t), "-P");
}

}  // namespace
}  // namespace mmdiff
