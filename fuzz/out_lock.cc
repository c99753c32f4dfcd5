#include "fuzz/out_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mmdiff {

OutDirLock::~OutDirLock() {
  if (fd_ >= 0) close(fd_);
}

bool OutDirLock::Acquire(const std::string& dir, std::string* err) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    *err = "cannot create " + dir + ": " + strerror(errno);
    return false;
  }
  std::string path = dir + "/lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    *err = "cannot open " + path + ": " + strerror(errno);
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    // The holder wrote its pid into the file; say who it is.
    char buf[32] = {};
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    std::string holder = n > 0 ? std::string(buf, strcspn(buf, "\n")) : "";
    *err = dir + " is in use by another campaign" + (holder.empty() ? "" : " (pid " + holder + ")") +
           "; use another --out";
    close(fd);
    return false;
  }
  // The pid is only for a second campaign's message; the lock holds without it.
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) == 0 && pwrite(fd, pid.data(), pid.size(), 0) < 0) pid.clear();
  fd_ = fd;
  return true;
}

}  // namespace mmdiff
