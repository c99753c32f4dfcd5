// The engines' entry point on a guest chosen by the environment
// (MMDIFF_GUEST, MMDIFF_APPEND, MMDIFF_MODEL_MUTANT, MMDIFF_TIMEOUT): what
// libFuzzer and AFL++ run, called directly in a child per case, each child
// booting its own Debian 6.12 guest (QEMU, TCG; a few seconds each).
#include <gtest/gtest.h>
#include <dirent.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "prog/binary.h"
#include "prog/text.h"
#include "tests/fuzz/engine_child.h"

namespace mmdiff {
namespace {

// QEMU processes whose command line holds `token`.
int QemusWith(const std::string& token) {
  int n = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (atoi(e->d_name) <= 0) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    n += cmdline.find("qemu-system") != std::string::npos && cmdline.find(token) != std::string::npos;
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

// Guest work directories that appeared since `before` and that no running
// QEMU uses: left behind by an engine that ended.
std::vector<std::string> LeftBehind(const std::vector<std::string>& before) {
  std::vector<std::string> out;
  for (const std::string& dir : VmDirs())
    if (std::find(before.begin(), before.end(), dir) == before.end() && QemusWith(dir + "/") == 0)
      out.push_back(dir);
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

}  // namespace
}  // namespace mmdiff
