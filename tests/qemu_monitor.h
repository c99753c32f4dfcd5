// QEMU's human monitor (HMP) of a guest, for tests that inject faults:
// every guest's QEMU listens on a unix socket named in its command line.
// And the work directory a guest's owner leaves when such a test kills it,
// and the QEMU processes a test started.
#pragma once

#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace qemutest {

// The monitor socket of QEMU process `qemu`, or "".
inline std::string MonitorSocket(pid_t qemu) {
  std::ifstream in("/proc/" + std::to_string(qemu) + "/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = cmdline.find("unix:");
  if (at == std::string::npos) return "";
  at += 5;
  return cmdline.substr(at, cmdline.find(',', at) - at);
}

// Reads from the monitor until its "(qemu) " prompt; false on EOF.
inline bool ReadToPrompt(int fd) {
  std::string seen;
  char buf[4096];
  while (seen.find("(qemu) ") == std::string::npos) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    seen.append(buf, n);
  }
  return true;
}

// Runs one command line ("stop\n", "sendkey alt-sysrq-c\n"): returns once
// the monitor prompts again, i.e. the command ran. False when the monitor
// cannot be reached.
inline bool SendMonitor(pid_t qemu, const std::string& command) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", MonitorSocket(qemu).c_str());
  bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ok = ok && ReadToPrompt(fd);  // the banner
  ok = ok && write(fd, command.data(), command.size()) == static_cast<ssize_t>(command.size());
  ok = ok && ReadToPrompt(fd);
  if (fd >= 0) close(fd);
  return ok;
}

// Removes, when it goes, the guests' work directories of process `owner`
// (target/qemu_target.cc: /tmp/mmdiff-vm.OWNER.XXXXXX, in /tmp whatever
// TMPDIR says). An owner killed with SIGKILL (or a signal it does not
// handle) leaves them, 64 MiB of scratch disk each, until the next guest
// started on this machine removes them (executor/exec_dir.h MakeOwnedDir):
// a test that kills an owner removes them itself. Declare it before the
// owner's ScopedChild, so that it runs once the owner is gone.
struct GuestDirsOf {
  pid_t owner = 0;
  ~GuestDirsOf() {
    if (owner <= 0) return;
    std::string prefix = "mmdiff-vm." + std::to_string(owner) + ".";
    DIR* d = opendir("/tmp");
    while (dirent* e = d ? readdir(d) : nullptr) {
      std::error_code ec;
      if (std::string(e->d_name).rfind(prefix, 0) == 0) std::filesystem::remove_all(std::string("/tmp/") + e->d_name, ec);
    }
    if (d) closedir(d);
  }
};

// The QEMU processes this test process started.
inline std::vector<pid_t> QemuChildren() {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  while (dirent* e = d ? readdir(d) : nullptr) {
    pid_t pid = atoi(e->d_name);
    if (pid <= 0) continue;
    std::ifstream stat("/proc/" + std::string(e->d_name) + "/stat");
    std::string line;
    std::getline(stat, line);
    size_t close = line.rfind(')');
    if (close == std::string::npos || line.find("(qemu-system") == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    rest >> state >> ppid;
    if (ppid == getpid()) out.push_back(pid);
  }
  if (d) closedir(d);
  return out;
}

}  // namespace qemutest
