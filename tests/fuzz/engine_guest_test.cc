// The engines' entry point on a guest chosen by the environment
// (MMDIFF_GUEST, MMDIFF_APPEND, MMDIFF_MODEL_MUTANT, MMDIFF_TIMEOUT): what
// libFuzzer and AFL++ run, called directly in a child per case, each child
// booting its own Debian 6.12 guest (QEMU, TCG; a few seconds each).
#include <gtest/gtest.h>
#include <dirent.h>

#include <algorithm>
#include <csignal>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/engine_child.h"
#include "tests/qemu_monitor.h"
#include "tests/scoped_child.h"

namespace mmdiff {
namespace {

// QEMU processes whose command line holds `token`: how many, and the last.
int QemusWith(const std::string& token, pid_t* last = nullptr) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (atoi(e->d_name) <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find("qemu-system") == std::string::npos || cmdline.find(token) == std::string::npos) continue;
    n++;
    if (last) *last = atoi(e->d_name);
  }
  if (d) closedir(d);
  return n;
}

std::vector<std::string> VmDirs() {
  std::vector<std::string> out;
  DIR* d = opendir("/tmp");
  while (dirent* e = d ? readdir(d) : nullptr)
    if (std::string(e->d_name).rfind("mmdiff-vm.", 0) == 0) out.push_back(std::string("/tmp/") + e->d_name);
  if (d) closedir(d);
  return out;
}

// Guest work directories that appeared since `before` whose owner (the PID
// in the name: /tmp/mmdiff-vm.PID.XXXXXX) is gone and that no running QEMU
// uses: left behind by an engine that ended. Others' guests starting on
// this machine meanwhile have a live owner.
std::vector<std::string> LeftBehind(const std::vector<std::string>& before) {
  std::vector<std::string> out;
  for (const std::string& dir : VmDirs()) {
    pid_t owner = atoi(dir.c_str() + strlen("/tmp/mmdiff-vm."));
    bool gone = owner > 0 && kill(owner, 0) != 0 && errno == ESRCH;
    if (gone && std::find(before.begin(), before.end(), dir) == before.end() && QemusWith(dir + "/") == 0)
      out.push_back(dir);
  }
  return out;
}

// Soft-dirty exists in the guest, not on the 6.18 host: the engine there
// judges it, and the soft-dirty model mutant is found by it.
TEST(EngineGuest, SoftDirtyIsJudgedAndItsMutantIsACrash) {
  std::vector<uint8_t> in = Encoded(
      "mmap 0 4 rw anon private\n"
      "write 0\n"
      "clear_refs 4\n"
      "write 1\n"
      "pagemap 0 4\n");
  // An unknown kernel option marks this test's guests.
  std::string token = "mmdiff_engine_guest_test=" + std::to_string(getpid());
  std::vector<std::string> before = VmDirs();
  std::string err;
  int status = RunInChild(in, {{"MMDIFF_GUEST", "6.12"}, {"MMDIFF_APPEND", token}}, &err);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << err;
  EXPECT_NE(err.find("guest 6.12"), std::string::npos) << err;
  // The engine ended (exit): its guest and the guest's files with it.
  EXPECT_EQ(QemusWith(token), 0) << "the engine's guest outlived it";
  EXPECT_TRUE(LeftBehind(before).empty()) << LeftBehind(before)[0];
  err.clear();
  status = RunInChild(in,
                      {{"MMDIFF_GUEST", "6.12"},
                       {"MMDIFF_APPEND", token},
                       {"MMDIFF_MODEL_MUTANT", "clear-refs-keeps-soft-dirty"}},
                      &err);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "status " << status << "\n" << err;
  EXPECT_NE(err.find("\nDIVERGENCE "), std::string::npos) << err;
  EXPECT_NE(err.find("bit=D"), std::string::npos) << err;
  // abort(): the guest is shut down first (CloseEngineKernel).
  EXPECT_EQ(QemusWith(token), 0) << "the crashed engine's guest outlived it";
  EXPECT_TRUE(LeftBehind(before).empty()) << LeftBehind(before)[0];
}

// A panic in the guest is the engine's crash: the one-line KERNEL-SPLAT
// report first, the console excerpt with it, and no QEMU left behind.
TEST(EngineGuest, APanicIsACrashWithTheConsoleAndNoGuestLeft) {
  // panic_on_oom=2: the OOM of the guest's program cgroup (3/4 of its 1 GiB)
  // panics; two 768 MiB mappings, populated, do not fit. nohugepage: so that
  // the model keeps the ops (khugepaged could collapse them otherwise).
  std::vector<uint8_t> in = Encoded(
      "mmap 0 196608 rw anon private\n"
      "madvise 0 196608 nohugepage\n"
      "madvise 0 196608 populate_write\n"
      "mmap 196608 196608 rw anon private\n"
      "madvise 196608 196608 nohugepage\n"
      "madvise 196608 196608 populate_write\n");
  std::string token = "mmdiff_engine_guest_test=" + std::to_string(getpid());
  std::string err;
  int status = RunInChild(in,
                          {{"MMDIFF_GUEST", "6.12"},
                           {"MMDIFF_APPEND", "sysctl.vm.panic_on_oom=2 " + token},
                           {"MMDIFF_TIMEOUT", "30000"}},
                          &err);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "status " << status << "\n" << err;
  size_t line = err.find("\nKERNEL-SPLAT ");
  ASSERT_NE(line, std::string::npos) << err;
  EXPECT_NE(err.find("Kernel panic", line), std::string::npos) << err;
  EXPECT_EQ(QemusWith(token), 0) << "the crashed engine's guest is still running";
}

// A guest that stops answering mid-run (its vCPUs stopped through QEMU's
// monitor) is the engine's HANG crash, with the console, and no QEMU left.
TEST(EngineGuest, AHungGuestIsACrashAndNoGuestLeft) {
  std::vector<uint8_t> in = Encoded("mmap 0 4 rw anon private\nwrite 0\npagemap 0 4\n");
  std::string token = "mmdiff_engine_guest_test=hang" + std::to_string(getpid());
  int ready[2], go[2], errs[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(errs), 0);
  // Its guest directory (an engine killed has no shutdown), removed once
  // the guard below has ended the engine, pass or fail.
  qemutest::GuestDirsOf guest_dirs;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(errs[1], STDERR_FILENO);
    setenv("MMDIFF_GUEST", "6.12", 1);
    setenv("MMDIFF_APPEND", token.c_str(), 1);
    setenv("MMDIFF_TIMEOUT", "1000", 1);  // given up on after 4 x 1 s + the guest margin (15 s)
    // The first input boots the guest; the second runs once it is stopped.
    if (LLVMFuzzerTestOneInput(in.data(), in.size()) != 0) std::exit(3);
    char c = 'r';
    if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1) std::exit(4);
    std::exit(LLVMFuzzerTestOneInput(in.data(), in.size()) == 0 ? 0 : 3);
  }
  guest_dirs.owner = pid;
  // A failed ASSERT must not leave it waiting on `go`, its guest running.
  testutil::ScopedChild guard(pid);
  close(errs[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  pid_t qemu = 0;
  ASSERT_EQ(QemusWith(token, &qemu), 1);
  ASSERT_TRUE(qemutest::SendMonitor(qemu, "stop\n"));
  ASSERT_EQ(write(go[1], &c, 1), 1);
  std::string err;
  char buf[4096];
  ssize_t n;
  while ((n = read(errs[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(n));
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << "status " << status << "\n" << err;
  size_t line = err.find("\nHANG the guest stopped answering");
  ASSERT_NE(line, std::string::npos) << err;
  EXPECT_NE(err.find("timed out", line), std::string::npos) << err;  // the console excerpt
  EXPECT_EQ(QemusWith(token), 0) << "the crashed engine's guest outlived it";
}

// AFL++ kills a timed-out child with SIGKILL: its guest dies with it
// (PR_SET_PDEATHSIG), and the work directory it leaves is removed by the
// next guest to start (executor/exec_dir.h MakeOwnedDir).
TEST(EngineGuest, ASigkilledEnginesGuestIsGoneAndItsFilesWithTheNextStart) {
  std::vector<uint8_t> in = Encoded("mmap 0 4 rw anon private\nwrite 0\npagemap 0 4\n");
  std::string token = "mmdiff_engine_guest_test=kill" + std::to_string(getpid());
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  std::vector<std::string> before = VmDirs();
  // What the next start should have removed, removed if it did not (the
  // test failed), once the guard below has ended the engine.
  qemutest::GuestDirsOf guest_dirs;
  pid_t pid = fork();
  if (pid == 0) {
    setenv("MMDIFF_GUEST", "6.12", 1);
    setenv("MMDIFF_APPEND", token.c_str(), 1);
    if (LLVMFuzzerTestOneInput(in.data(), in.size()) != 0) std::exit(3);
    if (write(ready[1], "r", 1) != 1) std::exit(4);
    for (;;) pause();
  }
  guest_dirs.owner = pid;
  testutil::ScopedChild guard(pid);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1) << "the engine did not run its input";
  ASSERT_EQ(QemusWith(token), 1);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  for (int i = 0; i < 50 && QemusWith(token) > 0; i++) usleep(100 * 1000);
  EXPECT_EQ(QemusWith(token), 0) << "the killed engine's guest outlived it";
  std::vector<std::string> left = LeftBehind(before);
  ASSERT_EQ(left.size(), 1u) << "SIGKILL: no Shutdown, the work directory stays for now";
  EXPECT_EQ(left[0].rfind("/tmp/mmdiff-vm." + std::to_string(pid) + ".", 0), 0u) << left[0];
  std::string err;
  int status = RunInChild(in, {{"MMDIFF_GUEST", "6.12"}, {"MMDIFF_APPEND", token}}, &err);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status << "\n" << err;
  EXPECT_FALSE(std::filesystem::exists(left[0])) << left[0] << " is still there after the next guest started";
}

}  // namespace
}  // namespace mmdiff
