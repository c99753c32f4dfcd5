// A guest never outlives mmdiff: QEMU is forked from a thread that lives as
// long as the process and asks for SIGKILL when it goes (target/spawn.h), so
// an mmdiff that is killed or crashes takes its guests with it, even one
// that is stopped (SIGSTOP, a debugger) and could not notice its closed
// sockets. Before, such a guest was left running for as long as anyone let it.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "tests/qemu_monitor.h"
#include "tests/scoped_child.h"

namespace {

// The pid of a qemu-system process whose parent is `parent`, or 0.
pid_t QemuChildOf(pid_t parent) {
  pid_t found = 0;
  DIR* d = opendir("/proc");
  while (dirent* e = d && !found ? readdir(d) : nullptr) {
    std::ifstream stat(std::string("/proc/") + e->d_name + "/stat");
    std::string line;
    if (atoi(e->d_name) <= 0 || !std::getline(stat, line)) continue;
    size_t close = line.rfind(')');
    if (close == std::string::npos || line.find("(qemu-system") == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) found = atoi(e->d_name);
  }
  if (d) closedir(d);
  return found;
}

bool Gone(pid_t pid) {
  struct stat st;
  return stat(("/proc/" + std::to_string(pid)).c_str(), &st) != 0;
}

TEST(GuestSafety, SigkillOfMmdiffKillsItsStoppedGuest) {
  // The killed mmdiff's guest directory (no shutdown: SIGKILL), removed
  // last: after the guard below has ended mmdiff, pass or fail.
  qemutest::GuestDirsOf guest_dirs;
  pid_t mmdiff = fork();
  if (mmdiff == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    if (chdir(MMDIFF_SOURCE_DIR) != 0) _exit(127);
    execl(MMDIFF_BIN, MMDIFF_BIN, "check", "corpus/", "--guest", "6.12", static_cast<char*>(nullptr));
    _exit(127);
  }
  guest_dirs.owner = mmdiff;
  // mmdiff check of the whole corpus on a guest takes minutes: not left
  // running by a failed ASSERT.
  mmdiff::testutil::ScopedChild guard(mmdiff);
  pid_t qemu = 0;
  for (int i = 0; i < 600 && !qemu; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    qemu = QemuChildOf(mmdiff);
  }
  ASSERT_NE(qemu, 0) << "mmdiff started no guest within 60 s";
  ASSERT_EQ(kill(qemu, SIGSTOP), 0);
  ASSERT_EQ(kill(mmdiff, SIGKILL), 0);
  int status;
  ASSERT_EQ(waitpid(mmdiff, &status, 0), mmdiff);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = Gone(qemu);
  }
  if (!gone) kill(qemu, SIGKILL);  // do not leave it behind either way
  EXPECT_TRUE(gone) << "QEMU " << qemu << " outlived the mmdiff that started it";
}

}  // namespace
