#include "executor/memcap.h"
#include "executor/probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

namespace mmdiff::exec {
namespace {

// The number after "key " in a flat-keyed cgroup file (memory.events, oom_control).
uint64_t Field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string k;
  uint64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

uint64_t Number(const std::string& path) { return strtoull(ReadFile(path).c_str(), nullptr, 10); }

// Mount points of the cgroup filesystems, from /proc/self/mountinfo:
// (fstype, super options, mount point).
struct CgroupMount {
  std::string fstype, options, dir;
};

std::vector<CgroupMount> CgroupMounts() {
  std::vector<CgroupMount> out;
  std::istringstream in(ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream left(line.substr(0, dash)), right(line.substr(dash + 3));
    std::string id, parent, devno, root, dir, fstype, source, options;
    left >> id >> parent >> devno >> root >> dir;
    right >> fstype >> source >> options;
    if (fstype == "cgroup" || fstype == "cgroup2") out.push_back({fstype, options, dir});
  }
  return out;
}

// Removes groups left by executors that were killed (their pid is gone).
void RemoveStale(const std::string& parent) {
  if (DIR* d = opendir(parent.c_str())) {
    while (dirent* e = readdir(d)) {
      int pid;
      if (sscanf(e->d_name, "mmdiff-exec.%d", &pid) == 1 && pid > 0 && kill(pid, 0) != 0 && errno == ESRCH)
        rmdir((parent + "/" + e->d_name).c_str());
    }
    closedir(d);
  }
}

}  // namespace

MemoryCap::~MemoryCap() {
  if (procs_fd_ >= 0) close(procs_fd_);
  if (events_fd_ >= 0) close(events_fd_);
  if (oom_fd_ >= 0) close(oom_fd_);
  if (!group_.empty()) rmdir(group_.c_str());
}

void MemoryCap::Init(uint64_t bytes, bool may_swap) {
  bytes_ = bytes;
  may_swap_ = may_swap;
  if (!bytes) return;
  if (TryV2() || TryV1()) return;
  kind_ = Kind::kRlimitAs;
}

bool MemoryCap::TryV2() {
  for (const CgroupMount& m : CgroupMounts()) {
    if (m.fstype != "cgroup2") continue;
    // A child of the root: the only place that may hold processes while
    // its parent has the memory controller enabled for it.
    std::string control = ReadFile(m.dir + "/cgroup.subtree_control");
    if (control.find("memory") == std::string::npos) continue;
    RemoveStale(m.dir);
    std::string group = m.dir + "/mmdiff-exec." + std::to_string(getpid());
    if (mkdir(group.c_str(), 0755) != 0 && errno != EEXIST) continue;
    if (!WriteFile(group + "/memory.max", std::to_string(bytes_)) ||
        (access((group + "/memory.swap.max").c_str(), F_OK) == 0 &&
         !WriteFile(group + "/memory.swap.max", may_swap_ ? "max" : "0"))) {
      rmdir(group.c_str());
      continue;
    }
    if (!Adopt(group)) continue;
    kind_ = Kind::kCgroupV2;
    events_fd_ = open((group + "/memory.events").c_str(), O_RDONLY | O_CLOEXEC);
    return true;
  }
  return false;
}

bool MemoryCap::TryV1() {
  std::string own;  // this process's path in the memory hierarchy
  std::istringstream in(ReadFile("/proc/self/cgroup"));
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = "," + line.substr(a + 1, b - a - 1) + ",";
    if (controllers.find(",memory,") != std::string::npos) own = line.substr(b + 1);
  }
  if (own.empty()) return false;
  for (const CgroupMount& m : CgroupMounts()) {
    if (m.fstype != "cgroup" || ("," + m.options + ",").find(",memory,") == std::string::npos) continue;
    std::string parent = m.dir + (own == "/" ? "" : own);
    RemoveStale(parent);
    std::string group = parent + "/mmdiff-exec." + std::to_string(getpid());
    if (mkdir(group.c_str(), 0755) != 0 && errno != EEXIST) continue;
    // memsw (memory + swap) must not be below the memory limit: set it after.
    if (!WriteFile(group + "/memory.limit_in_bytes", std::to_string(bytes_))) {
      rmdir(group.c_str());
      continue;
    }
    WriteFile(group + "/memory.memsw.limit_in_bytes", std::to_string(bytes_));
    if (!Adopt(group)) continue;
    kind_ = Kind::kCgroupV1;
    events_fd_ = open((group + "/memory.failcnt").c_str(), O_RDONLY | O_CLOEXEC);
    oom_fd_ = open((group + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
    return true;
  }
  return false;
}

// A group p0 could not join would lose every program (EnterInChild exits):
// a child joins it once here first, or the group is not used.
bool MemoryCap::Adopt(const std::string& group) {
  int fd = open((group + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
  pid_t pid = fd < 0 ? -1 : fork();
  if (pid == 0) _exit(write(fd, "0", 1) == 1 ? 0 : 1);
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  if (pid <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    if (fd >= 0) close(fd);
    rmdir(group.c_str());
    return false;
  }
  group_ = group;
  procs_fd_ = fd;
  return true;
}

void MemoryCap::EnterInChild() const {
  if (procs_fd_ >= 0) {
    // "0": the writing process itself; its later forks are born in the group.
    if (write(procs_fd_, "0", 1) != 1) _exit(120);  // uncapped is not an option
  } else if (kind_ == Kind::kRlimitAs) {
    struct rlimit rl = {bytes_, bytes_};
    setrlimit(RLIMIT_AS, &rl);
  }
}

namespace {

// The file at `fd` from its start, or else at `path`. A read from offset 0
// makes a seq_file show the file afresh (fs/seq_file.c seq_read_iter).
std::string Reread(int fd, const std::string& path) {
  char buf[512];
  ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf, 0) : -1;
  return n > 0 ? std::string(buf, n) : ReadFile(path);
}

}  // namespace

uint64_t MemoryCap::LimitEvents() const {
  if (kind_ == Kind::kCgroupV2) {
    std::string events = Reread(events_fd_, group_ + "/memory.events");
    return Field(events, "max") + Field(events, "oom_kill");
  }
  if (kind_ == Kind::kCgroupV1)
    return strtoull(Reread(events_fd_, group_ + "/memory.failcnt").c_str(), nullptr, 10) +
           Field(Reread(oom_fd_, group_ + "/memory.oom_control"), "oom_kill");
  return 0;
}

uint64_t MemoryCap::Peak() const {
  if (kind_ == Kind::kCgroupV2) return Number(group_ + "/memory.peak");
  if (kind_ == Kind::kCgroupV1) return Number(group_ + "/memory.max_usage_in_bytes");
  return 0;
}

std::string MemoryCap::Describe() const {
  std::string mib = std::to_string(bytes_ >> 20) + " MiB";
  switch (kind_) {
    case Kind::kNone: return "no memory cap";
    case Kind::kCgroupV2: return "memory cgroup v2 " + group_ + ", " + mib;
    case Kind::kCgroupV1: return "memory cgroup v1 " + group_ + ", " + mib;
    case Kind::kRlimitAs: return "RLIMIT_AS " + mib;
  }
  return "";
}

}  // namespace mmdiff::exec
