// The host's end of a guest's shared-memory channel (executor/shm_channel.h):
// a file in /dev/shm that QEMU backs its ivshmem-plain device with
// (memory-backend-file,share=on) and that this process maps too, with
// Boost.Interprocess (the file is a POSIX shared memory object, so it is
// opened by name).
//
// The file is /dev/shm/mmdiff-ivshmem.PID.XXXXXX, PID its owner's, who holds
// an flock on it while it lives: as for a guest's work directory
// (executor/exec_dir.h), one whose owner is gone (killed with SIGKILL: no
// destructor ran) is removed by the next Create, from any process.
#pragma once

#include <boost/interprocess/interprocess_fwd.hpp>
#include <cstddef>
#include <memory>
#include <string>

namespace mmdiff {

class ShmRegionFile {
 public:
  // Removes the stale files (see above), then creates, sizes, maps and
  // formats (executor/shm_channel.h FormatShmRegion) a region of `size`
  // bytes. Null with `err` set on failure.
  static std::unique_ptr<ShmRegionFile> Create(size_t size, std::string* err);
  // Unmaps the region and removes the file (QEMU, if still running, keeps
  // its own mapping until it exits).
  ~ShmRegionFile();

  const std::string& path() const { return path_; }  // QEMU's mem-path
  void* base() const;
  size_t size() const;

 private:
  ShmRegionFile() = default;
  std::string name_;  // the shared memory object's name
  std::string path_;  // /dev/shm/NAME
  int lock_fd_ = -1;
  std::unique_ptr<boost::interprocess::mapped_region> region_;
};

// Removes the files of owners that are gone; how many. For Create, and for
// tests.
int RemoveStaleShmRegionFiles();

// Where the files live, and how their names start.
constexpr const char* kShmDir = "/dev/shm";
constexpr const char* kShmRegionPrefix = "mmdiff-ivshmem.";

}  // namespace mmdiff
