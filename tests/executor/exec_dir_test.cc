// What the executor leaves on the machine (executor/exec_dir.h): its
// temporary directory and the knobs it pinned are undone at its end, from a
// SIGTERM (mmdiff died), and after a SIGKILL by the next executor to start.
// Knobs are temporary files here: the mechanism takes the knob's path, and
// the real one (debugfs) is not writable on every host.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "executor/exec_dir.h"
#include "tests/scoped_child.h"
#include "tests/temp_dir.h"

namespace mmdiff::exec {
namespace {

namespace fs = std::filesystem;

class ExecDir : public testing::Test {
 protected:
  void SetUp() override { std::ofstream(knob_) << "65536\n"; }
  std::string Knob() { return ReadKnob(knob_); }
  // The executor directories under base_.
  int ExecDirs() {
    int n = 0;
    for (const auto& e : fs::directory_iterator(base_)) n += e.path().filename().string().rfind("mmdiff-exec.", 0) == 0;
    return n;
  }
  // A child that makes its directory, pins the knob, creates a file slot,
  // tells us, and waits to be killed. Returns its pid.
  pid_t StartOwner(bool handlers) {
    int ready[2];
    EXPECT_EQ(pipe(ready), 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(ready[0]);
      std::string err;
      std::string dir = MakeExecDir(base_, &err);
      if (dir.empty() || !PinKnob(knob_, "4096", dir, &err)) _exit(3);
      if (handlers) CleanUpExecDirAtExit(dir);
      std::ofstream(dir + "/f0") << "slot";
      if (write(ready[1], "r", 1) != 1) _exit(4);
      for (;;) pause();
    }
    owners_.emplace_back(pid, SIGKILL);
    close(ready[1]);
    char c;
    EXPECT_EQ(read(ready[0], &c, 1), 1) << "the owner did not start";
    close(ready[0]);
    return pid;
  }
  testutil::TempDir dir_{"mmdiff-exec-dir-test"};
  std::string base_ = dir_.path(), knob_ = base_ + "/knob";
  // The owners a test did not kill and reap (it failed before): killed
  // before dir_ goes (members go in reverse order).
  std::vector<testutil::ScopedChild> owners_;
};

TEST_F(ExecDir, NameCarriesThePid) {
  std::string err;
  std::string dir = MakeExecDir(base_, &err);
  ASSERT_FALSE(dir.empty()) << err;
  EXPECT_EQ(fs::path(dir).filename().string().rfind("mmdiff-exec." + std::to_string(getpid()) + ".", 0), 0u) << dir;
  RemoveExecDir(dir.c_str());
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(ExecDir, PinnedKnobIsRestoredWhenTheDirectoryIsRemoved) {
  std::string err;
  std::string dir = MakeExecDir(base_, &err);
  ASSERT_FALSE(dir.empty()) << err;
  ASSERT_TRUE(PinKnob(knob_, "4096", dir, &err)) << err;
  EXPECT_EQ(Knob(), "4096");
  std::ofstream(dir + "/f3") << "file slot";
  RemoveExecDir(dir.c_str());
  EXPECT_EQ(Knob(), "65536");
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(ExecDir, KnobThatCannotBeWrittenIsLeftAsItWas) {
  std::string err;
  std::string dir = MakeExecDir(base_, &err);
  ASSERT_FALSE(dir.empty()) << err;
  EXPECT_FALSE(PinKnob(base_ + "/no-such-knob", "4096", dir, &err));
  EXPECT_NE(err.find("no-such-knob"), std::string::npos) << err;
  EXPECT_TRUE(fs::is_empty(dir)) << "a record of a knob that was not changed";
  RemoveExecDir(dir.c_str());
}

// mmdiff died: PR_SET_PDEATHSIG sends the executor SIGTERM.
TEST_F(ExecDir, SigtermOfTheOwnerRestoresAndRemoves) {
  pid_t owner = StartOwner(/*handlers=*/true);
  EXPECT_EQ(Knob(), "4096");
  EXPECT_EQ(ExecDirs(), 1);
  kill(owner, SIGTERM);
  int status;
  ASSERT_EQ(waitpid(owner, &status, 0), owner);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "ended by the signal, status " << status;
  EXPECT_EQ(Knob(), "65536");
  EXPECT_EQ(ExecDirs(), 0);
}

// SIGKILL leaves everything behind; the next executor to start undoes it.
TEST_F(ExecDir, SigkilledOwnerIsCleanedUpByTheNextStart) {
  pid_t owner = StartOwner(/*handlers=*/true);
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);
  EXPECT_EQ(Knob(), "4096");
  EXPECT_EQ(ExecDirs(), 1);
  std::string err;
  std::string mine = MakeExecDir(base_, &err);  // the next start
  ASSERT_FALSE(mine.empty()) << err;
  EXPECT_EQ(Knob(), "65536");
  EXPECT_EQ(ExecDirs(), 1) << "only the new executor's own directory";
  RemoveExecDir(mine.c_str());
}

TEST_F(ExecDir, LiveOwnersAndForeignDirectoriesAreKept) {
  pid_t owner = StartOwner(/*handlers=*/false);
  // A directory of an older version (no PID), and one whose PID is gone but
  // whose lock is held (an executor in another PID namespace).
  fs::create_directory(base_ + "/mmdiff-exec.AbC123");
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  std::string locked = base_ + "/mmdiff-exec." + std::to_string(dead) + ".xyzxyz";
  fs::create_directory(locked);
  int lock_fd = open(locked.c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_EQ(flock(lock_fd, LOCK_EX), 0);
  EXPECT_EQ(RemoveStaleExecDirs(base_), 0);
  EXPECT_EQ(ExecDirs(), 3);
  EXPECT_EQ(Knob(), "4096") << "a live executor's knob was restored under it";
  close(lock_fd);
  EXPECT_EQ(RemoveStaleExecDirs(base_), 1);  // the lock is free now
  EXPECT_FALSE(fs::exists(locked));
  kill(owner, SIGKILL);
  waitpid(owner, nullptr, 0);
  EXPECT_EQ(RemoveStaleExecDirs(base_), 1);
  EXPECT_EQ(Knob(), "65536");
  EXPECT_TRUE(fs::exists(base_ + "/mmdiff-exec.AbC123"));
}

// A guest's work directory (prefix mmdiff-vm., target/qemu_target.cc): the
// same ownership, its own prefix, and a lock its owner can let go of.
TEST_F(ExecDir, OwnedDirectoriesOfAnotherPrefix) {
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  waitpid(dead, nullptr, 0);
  std::string vm = base_ + "/mmdiff-vm." + std::to_string(dead) + ".aaaaaa";
  std::string exec = base_ + "/mmdiff-exec." + std::to_string(dead) + ".bbbbbb";
  fs::create_directory(vm);
  fs::create_directory(exec);
  std::ofstream(vm + "/scratch.img") << "disk";
  int lock_fd = -2;
  std::string err;
  std::string mine = MakeOwnedDir(base_, "mmdiff-vm.", &lock_fd, &err);
  ASSERT_FALSE(mine.empty()) << err;
  EXPECT_EQ(mine.rfind(base_ + "/mmdiff-vm." + std::to_string(getpid()) + ".", 0), 0u) << mine;
  EXPECT_FALSE(fs::exists(vm)) << "the dead owner's guest directory is removed";
  EXPECT_TRUE(fs::exists(exec)) << "another prefix is not this owner's business";
  ASSERT_GE(lock_fd, 0);
  int other = open(mine.c_str(), O_RDONLY | O_DIRECTORY);
  EXPECT_NE(flock(other, LOCK_EX | LOCK_NB), 0) << "held while the owner lives";
  close(lock_fd);
  EXPECT_EQ(flock(other, LOCK_EX | LOCK_NB), 0) << "let go of when the owner closes it";
  close(other);
  RemoveExecDir(mine.c_str());
}

}  // namespace
}  // namespace mmdiff::exec
