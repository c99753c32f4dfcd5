// The server's side of kcov.h: whether the kernel has KCOV, and the
// edge map turned into a trace's kernel_cov.
#include <fcntl.h>
#include <unistd.h>

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
  // The set bits, in order: sorted and distinct by construction.
  std::vector<uint32_t> out;
  for (uint32_t w = 0; w < kKcovBits / 64; w++)
    for (uint64_t bits = shared->kcov[w]; bits; bits &= bits - 1)
      out.push_back(w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits)));
  memset(shared->kcov, 0, sizeof shared->kcov);
  return out;
}

}  // namespace mmdiff::exec
