// What `mmdiff run` leaves on the user's machine: its executor's temporary
// directory is gone after mmdiff is killed (SIGKILL, SIGTERM: the executor
// dies with it and cleans up), and a directory an executor could not clean
// (killed itself) is removed by the next start.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "tests/cli/run_mmdiff.h"
#include "tests/scoped_child.h"
#include "tests/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using mmdiff::clitest::Output;

class HostSafety : public testing::Test {
 protected:
  void SetUp() override {
    // A long program: the kill lands while the executor is busy with it.
    prog_ = tmp_ + "/long.mmp";
    std::ofstream out(prog_);
    out << "mmap 0 16384 rw anon private\nmemfd 0 4\nmmap 16384 4 rw memfd:0 shared\nwrite 16384\n";
    for (int i = 0; i < 400; i++) out << "madvise 0 16384 populate_write\nmadvise 0 16384 dontneed\n";
  }
  // The executor directories in the TMPDIR given to mmdiff.
  int ExecDirs() {
    int n = 0;
    for (const auto& e : fs::directory_iterator(tmp_)) n += e.path().filename().string().rfind("mmdiff-exec.", 0) == 0;
    return n;
  }
  // Waits up to `seconds` for `done`; whether it came.
  template <typename Fn>
  bool WaitFor(Fn done, double seconds) {
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }
  // Processes that carry this test's mark in their environment: mmdiff, its
  // executor and the program's processes (forked from the executor).
  int MarkedProcesses() {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      std::ifstream env(e.path() / "environ");
      std::string all((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
      n += all.find("MMDIFF_TEST_MARK=" + tmp_) != std::string::npos;
    }
    return n;
  }
  // Starts `mmdiff run program` with TMPDIR=tmp_, kills it with `sig` once
  // its executor's directory exists (and `delay_ms` later), and reaps it.
  void KillRunWith(int sig, const std::string& program = "", int delay_ms = 0) {
    std::string path = program.empty() ? prog_ : program;
    pid_t pid = fork();
    if (pid == 0) {
      setenv("TMPDIR", tmp_.c_str(), 1);
      setenv("MMDIFF_TEST_MARK", tmp_.c_str(), 1);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(MMDIFF_BIN, MMDIFF_BIN, "run", "--timeout", "60000", path.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Not left running (with its executor, in tmp_) by a failed ASSERT.
    mmdiff::testutil::ScopedChild guard(pid);
    ASSERT_TRUE(WaitFor([&] { return ExecDirs() == 1; }, 30)) << "no executor directory appeared";
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    kill(pid, sig);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
  }
  mmdiff::testutil::TempDir dir_{"mmdiff-host-safety"};
  std::string tmp_ = dir_.path(), prog_;
};

TEST_F(HostSafety, SigkillOfMmdiffLeavesNoExecutorDirectory) {
  KillRunWith(SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return ExecDirs() == 0; }, 10)) << "left behind in " << tmp_;
}

TEST_F(HostSafety, SigtermOfMmdiffLeavesNoExecutorDirectory) {
  KillRunWith(SIGTERM);
  EXPECT_TRUE(WaitFor([&] { return ExecDirs() == 0; }, 10)) << "left behind in " << tmp_;
}

// A process the program forked has no PR_SET_PDEATHSIG of its own: the
// executor kills the program's process group on its way out.
TEST_F(HostSafety, ProgramProcessesDieWithMmdiff) {
  std::string path = tmp_ + "/fork.mmp";
  {
    std::ofstream out(path);
    out << "mmap 0 16384 rw anon private\nfork\n";
    for (int i = 0; i < 400; i++) out << "p1: madvise 0 16384 populate_write\np1: madvise 0 16384 dontneed\n";
    out << "write 0\np1: write 1\n";
  }
  KillRunWith(SIGKILL, path, 200);
  EXPECT_TRUE(WaitFor([&] { return MarkedProcesses() == 0; }, 10)) << MarkedProcesses() << " processes left";
  EXPECT_TRUE(WaitFor([&] { return ExecDirs() == 0; }, 10)) << "left behind in " << tmp_;
}

// An executor killed with SIGKILL cannot clean up: the next one does.
TEST_F(HostSafety, StaleDirectoryOfADeadExecutorIsRemovedAtTheNextStart) {
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  std::string stale = tmp_ + "/mmdiff-exec." + std::to_string(dead) + ".Qw3rTy";
  fs::create_directory(stale);
  std::ofstream(stale + "/f0") << "a file slot";
  std::ofstream(tmp_ + "/short.mmp") << "mmap 0 1 rw anon private\nwrite 0\n";
  // TMPDIR as it was after: the test may run with one of its own.
  const char* was = getenv("TMPDIR");
  std::string saved = was ? was : "";
  setenv("TMPDIR", tmp_.c_str(), 1);
  Output o = mmdiff::clitest::RunMmdiff({"run", tmp_ + "/short.mmp"}, tmp_);
  if (was) setenv("TMPDIR", saved.c_str(), 1);
  else unsetenv("TMPDIR");
  EXPECT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(ExecDirs(), 0);
}

}  // namespace
