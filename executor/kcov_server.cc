// The server's side of kcov.h: whether the kernel has KCOV, and the
// feature table turned into a trace's kernel_cov.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "executor/kcov.h"

namespace mmdiff::exec {

bool KcovAvailable(std::string* why) {
  // debugfs: a guest's server mounted it to pin fault_around_bytes before
  // it asks this (server.cc, probe.cc PinFaultAround); nothing is mounted
  // here, so asking on the user's machine changes nothing there.
  int fd = open(kKcovPath, O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    *why = std::string(kKcovPath) + ": " + strerror(errno) + " (a kernel without CONFIG_KCOV?)";
    return false;
  }
  close(fd);
  return true;
}

std::vector<uint32_t> KcovTakeFeatures(ExecShared* shared) {
  std::vector<uint32_t> out;
  if (!shared->kcov_count) return out;
  out.reserve(shared->kcov_count);
  for (uint32_t i = 0; i < kKcovSlots; i++)
    if (shared->kcov[i]) out.push_back(shared->kcov[i]);
  std::sort(out.begin(), out.end());
  memset(shared->kcov, 0, sizeof shared->kcov);
  shared->kcov_count = 0;
  return out;
}

}  // namespace mmdiff::exec
