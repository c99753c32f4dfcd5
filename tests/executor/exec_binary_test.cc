// The executor runs a binary its client sends (how a C reproducer reaches a
// guest's kernel): its exit status, output, signal, a timeout that kills its
// whole process group, and the server still serving programs afterwards.
// The binary here is this machine's /bin/sh, sent byte for byte.
#include <fstream>
#include <iterator>

#include "tests/executor/exec_test_util.h"

namespace mmdiff::exectest {
namespace {

std::vector<uint8_t> Shell() {
  std::ifstream in("/bin/sh", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_GT(bytes.size(), 1000u);
  return bytes;
}

TEST(ExecBinary, ExitStatusOutputAndEnvironment) {
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  BinaryRun run;
  std::string err;
  ASSERT_TRUE(target->RunBinary(Shell(), {"-c", "echo out; echo err >&2; case \"$TMPDIR\" in */mmdiff-exec.*) exit 3;; esac"}, 10000,
                                &run, &err))
      << err;
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.signal, 0);
  EXPECT_FALSE(run.timed_out);
  EXPECT_EQ(run.output, "out\nerr\n");
}

TEST(ExecBinary, SignalIsReported) {
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  BinaryRun run;
  std::string err;
  ASSERT_TRUE(target->RunBinary(Shell(), {"-c", "kill -SEGV $$"}, 10000, &run, &err)) << err;
  EXPECT_EQ(run.exit_code, -1);
  EXPECT_EQ(run.signal, SIGSEGV);
}

TEST(ExecBinary, TimeoutKillsTheProcessGroupAndTheServerGoesOn) {
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  BinaryRun run;
  std::string err;
  // A background child holds the output pipe: only killing the group ends it.
  ASSERT_TRUE(target->RunBinary(Shell(), {"-c", "echo started; sleep 100 & sleep 100"}, 300, &run, &err)) << err;
  EXPECT_TRUE(run.timed_out);
  EXPECT_EQ(run.signal, SIGKILL);
  EXPECT_EQ(run.output, "started\n");
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse("mmap 0 1 rw anon private\nwrite 0\nread 0\n", &prog));
  Trace trace;
  ASSERT_TRUE(target->Run(prog, &trace, &err)) << err;
  ASSERT_EQ(trace.results.size(), 3u);
  EXPECT_EQ(trace.results[2].kind, ResultKind::kValue);
}

TEST(ExecBinary, NotAnExecutableIsAClearError) {
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  BinaryRun run;
  std::string err;
  std::vector<uint8_t> junk = {'n', 'o', 't', ' ', 'E', 'L', 'F'};
  EXPECT_FALSE(target->RunBinary(junk, {}, 10000, &run, &err));
  EXPECT_NE(err.find("cannot execute the binary: Exec format error"), std::string::npos) << err;
}

}  // namespace
}  // namespace mmdiff::exectest
