// Resource limits on the programs under test, on the running kernel: the
// memory cap ends a program that would take the host's memory as a memory
// limit (not a hang), a slow program that makes progress ends as a time
// limit, and only a program that makes no progress is a hang. And the p0
// forked ahead of its program: a dead one is replaced.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "model/judge.h"
#include "model/profile.h"
#include "tests/executor/exec_test_util.h"

namespace mmdiff::exectest {
namespace {

// 768 MiB populated: well over a second of page faults, under a 2 GiB cap.
const char kSlowPopulate[] =
    "mmap 0 196608 rw anon private\n"
    "madvise 0 196608 populate_write\n"
    "write 0\n";

// What kSlowPopulate maps.
const std::vector<std::string> kStuckArena = {"100000000000-100030000000"};

// A program's p0 leads its own process group (runner.cc).
bool LeadsItsGroup(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t paren = stat.rfind(')');
  int ppid = 0, pgrp = 0;
  return paren != std::string::npos && sscanf(stat.c_str() + paren + 2, "%*c %d %d", &ppid, &pgrp) == 2 &&
         pgrp == pid;
}

// The arena mappings of a process (/proc/PID/maps lines from kArenaBase
// on), and whether it has any mapping at all: a process that is exiting has
// none.
std::vector<std::string> ArenaMaps(pid_t pid, bool* any = nullptr) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::vector<std::string> out;
  std::string line;
  if (any) *any = false;
  while (std::getline(in, line)) {
    if (any) *any = true;
    uint64_t start = strtoull(line.c_str(), nullptr, 16);
    if (start >= kArenaBase && start < kArenaBase + uint64_t{kArenaPages} * kPageSize)
      out.push_back(line.substr(0, line.find(' ')));
  }
  return out;
}

std::vector<pid_t> Children(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> out;
  pid_t child;
  while (in >> child) out.push_back(child);
  return out;
}

// The user's report: 4 GiB mapped and populated took 3.1 GB of the host and
// ended as "DIVERGENCE hang". Under the default 1 GiB cap it ends at once as
// a memory limit, and the group never held more than the cap.
TEST(ExecutorLimits, MemoryCapEndsAGiantPopulate) {
  auto target = MakeTestTarget(5000, 1024);
  ASSERT_TRUE(target);
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse("mmap 0 1048576 rw anon private noreserve\n"
                                "madvise 0 1048576 populate_write\n"
                                "pagemap 0 1\n",
                                &prog));
  Trace trace;
  auto start = std::chrono::steady_clock::now();
  ASSERT_NO_FATAL_FAILURE(RunProgram(target.get(), prog, &trace));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(trace.end, TraceEnd::kMemoryLimit) << trace.console;
  EXPECT_EQ(trace.results[0].kind, ResultKind::kOk);
  // The OOM killer took p0, or the populate failed with ENOMEM (RLIMIT_AS
  // fails the mmap instead).
  const Result& r = trace.results[1];
  EXPECT_TRUE(r.kind == ResultKind::kLost || (r.kind == ResultKind::kErr && r.err == ENOMEM) ||
              (trace.results[0].kind == ResultKind::kErr && trace.results[0].err == ENOMEM))
      << KindName(r.kind);
  EXPECT_LT(ms, 5000) << "ended by the timeout, not by the cap";
  size_t at = trace.console.find("peak ");
  if (at != std::string::npos) {
    EXPECT_LE(std::stoull(trace.console.substr(at + 5)), 1024u) << trace.console;
  }
  // The verdict is a limit, never a divergence.
  Judgement j = JudgeKernelRun(prog, trace, HostProfile618());
  EXPECT_EQ(j.kind, Judgement::Kind::kLimit) << j.line;
  EXPECT_EQ(j.line.rfind("LIMIT memory", 0), 0u) << j.line;

  // The cgroup is the executor's own and goes with it.
  size_t g = trace.console.find("cgroup v");
  if (g != std::string::npos) {
    std::string group = trace.console.substr(trace.console.find(' ', g + 8) + 1);
    group = group.substr(0, group.find(','));
    EXPECT_EQ(access(group.c_str(), F_OK), 0) << group;
    target.reset();
    EXPECT_NE(access(group.c_str(), F_OK), 0) << group << " was left behind";
  }
}

// 768 MiB populated with 20 ms of timeout: the populate faults all along,
// so it is slow, not stuck, and ends as a time limit at 4 x 20 ms.
TEST(ExecutorLimits, SlowButProgressingIsATimeLimit) {
  auto target = MakeTestTarget(20, 2048);
  ASSERT_TRUE(target);
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse(kSlowPopulate, &prog));
  Trace trace;
  ASSERT_NO_FATAL_FAILURE(RunProgram(target.get(), prog, &trace));
  EXPECT_EQ(trace.end, TraceEnd::kTimeLimit) << trace.console;
  EXPECT_EQ(trace.results[1].kind, ResultKind::kHang);
  Judgement j = JudgeKernelRun(prog, trace, HostProfile618());
  EXPECT_EQ(j.kind, Judgement::Kind::kLimit) << j.line;
}

// The same program, stopped (SIGSTOP) while it runs: no op completes and no
// page fault happens any more: that is a hang, however long the bound.
TEST(ExecutorLimits, StuckProgramIsAHang) {
  auto target = MakeTestTarget(300, 2048);
  ASSERT_TRUE(target);
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse(kSlowPopulate, &prog));
  KernelFeatures features;
  std::string err;
  ASSERT_TRUE(target->Probe(&features, &err)) << err;  // the executor is up
  // Under load the stopper may find p0 only after the program has made
  // progress for longer than the slow bound (a time limit, not what this
  // test is about): such a run does not count, and up to three are tried.
  std::atomic<bool> stopped{false};
  Trace trace;
  for (int attempt = 0; attempt < 3; attempt++) {
    stopped = false;
    std::thread stopper([&] {
      // The executor is our child; the program's p0 is its child, and the
      // one that maps what this program maps (not the p0 of the program
      // before, which may still be exiting, nor the next one's, waiting).
      for (int i = 0; i < 2000 && !stopped.load(); i++) {
        for (pid_t executor : Children(getpid()))
          for (pid_t p0 : Children(executor))
            if (LeadsItsGroup(p0) && ArenaMaps(p0) == kStuckArena && kill(p0, SIGSTOP) == 0) stopped.store(true);
        usleep(1000);
      }
    });
    RunProgram(target.get(), prog, &trace);
    stopper.join();
    if (!stopped.load() || trace.end != TraceEnd::kTimeLimit) break;
  }
  ASSERT_TRUE(stopped.load()) << "the program's process was not found";
  EXPECT_EQ(trace.end, TraceEnd::kCompleted) << trace.console;
  EXPECT_TRUE(trace.results[0].kind == ResultKind::kHang || trace.results[1].kind == ResultKind::kHang);
  Judgement j = JudgeKernelRun(prog, trace, HostProfile618());
  EXPECT_EQ(j.kind, Judgement::Kind::kFail) << j.line;
}

// The next program's p0 is forked ahead and waits (runner.cc Spawn). Killed
// while it waits (the OOM killer, a user), it is replaced: the next program
// runs as ever.
TEST(ExecutorSpare, ADeadSpareIsReplaced) {
  auto target = MakeTestTarget();
  ASSERT_TRUE(target);
  Program prog;
  ASSERT_NO_FATAL_FAILURE(Parse("mmap 0 4 rw anon private\nwrite 1\npagemap 0 4\nfork\np1: write 2\n", &prog));
  Trace trace;
  ASSERT_NO_FATAL_FAILURE(RunProgram(target.get(), prog, &trace));
  int killed = 0;
  for (int i = 0; i < 1000 && killed == 0; i++) {
    for (pid_t executor : Children(getpid()))
      for (pid_t child : Children(executor))
        if (bool any; LeadsItsGroup(child) && ArenaMaps(child, &any).empty() && any && kill(child, SIGKILL) == 0)
          killed++;
    if (killed == 0) usleep(1000);
  }
  EXPECT_EQ(killed, 1) << "no waiting p0 found";
  for (int run = 0; run < 3; run++) {
    ASSERT_NO_FATAL_FAILURE(RunProgram(target.get(), prog, &trace));
    ASSERT_EQ(trace.end, TraceEnd::kCompleted) << trace.console;
    for (size_t i = 0; i < trace.results.size(); i++)
      EXPECT_NE(trace.results[i].kind, ResultKind::kLost) << "op " << i;
    EXPECT_EQ(trace.results[2].kind, ResultKind::kPagemap);
    EXPECT_EQ(trace.results[3].value, 1);
    Judgement j = JudgeKernelRun(prog, trace, HostProfile618());
    EXPECT_EQ(j.kind, Judgement::Kind::kPass) << j.line;
  }
  // A program's processes may still exit after its trace is answered; the
  // next run reaps them: twenty runs leave at most the last program's two
  // processes and one waiting p0.
  for (int run = 0; run < 20; run++) ASSERT_NO_FATAL_FAILURE(RunProgram(target.get(), prog, &trace));
  for (pid_t executor : Children(getpid())) EXPECT_LE(Children(executor).size(), 3u);
}

}  // namespace
}  // namespace mmdiff::exectest
