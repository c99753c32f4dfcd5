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
#include <string>
#include <thread>

#include "tests/cli/run_mmdiff.h"

namespace {

namespace fs = std::filesystem;
using mmdiff::clitest::Output;

class HostSafety : public testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/mmdiff-host-safety.XXXXXX";
    ASSERT_TRUE(mkdtemp(templ));
    tmp_ = templ;
    // A long program: the kill lands while the executor is busy with it.
    prog_ = tmp_ + "/long.mmp";
    std::ofstream out(prog_);
    out << "mmap 0 16384 rw anon private\nmemfd 0 4\nmmap 16384 4 rw memfd:0 shared\nwrite 16384\n";
    for (int i = 0; i < 400; i++) out << "madvise 0 16384 populate_write\nmadvise 0 16384 dontneed\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(tmp_, ec);
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
  // Starts `mmdiff run prog_` with TMPDIR=tmp_, kills it with `sig` once its
  // executor's directory exists, and reaps it.
  void KillRunWith(int sig) {
    pid_t pid = fork();
    if (pid == 0) {
      setenv("TMPDIR", tmp_.c_str(), 1);
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(MMDIFF_BIN, MMDIFF_BIN, "run", "--timeout", "60000", prog_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    ASSERT_TRUE(WaitFor([&] { return ExecDirs() == 1; }, 30)) << "no executor directory appeared";
    kill(pid, sig);
    int status;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
  }
  std::string tmp_, prog_;
};

TEST_F(HostSafety, SigkillOfMmdiffLeavesNoExecutorDirectory) {
  KillRunWith(SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return ExecDirs() == 0; }, 10)) << "left behind in " << tmp_;
}

TEST_F(HostSafety, SigtermOfMmdiffLeavesNoExecutorDirectory) {
  KillRunWith(SIGTERM);
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
  setenv("TMPDIR", tmp_.c_str(), 1);
  Output o = mmdiff::clitest::RunMmdiff({"run", tmp_ + "/short.mmp"}, tmp_);
  unsetenv("TMPDIR");
  EXPECT_EQ(o.status, 0) << o.out << o.err;
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_EQ(ExecDirs(), 0);
}

}  // namespace
