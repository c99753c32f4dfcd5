// One campaign per output directory: an exclusive flock on DIR/lock, held
// for the life of the campaign (or of a corpus minimization), released by
// the kernel when the process ends, however it ends.
#pragma once

#include <string>

namespace mmdiff {

class OutDirLock {
 public:
  OutDirLock() = default;
  ~OutDirLock();
  OutDirLock(const OutDirLock&) = delete;
  OutDirLock& operator=(const OutDirLock&) = delete;

  // Creates `dir` if needed and takes the lock without waiting. False with
  // `err` ("DIR is in use by another campaign (pid N)") when it is held.
  bool Acquire(const std::string& dir, std::string* err);

 private:
  int fd_ = -1;
};

}  // namespace mmdiff
