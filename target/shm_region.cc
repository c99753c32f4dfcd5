#include "target/shm_region.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/interprocess/mapped_region.hpp>
#include <boost/interprocess/shared_memory_object.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

#include "executor/shm_channel.h"

namespace mmdiff {
namespace bip = boost::interprocess;
namespace {

// Whether `pid` names no running process (from this PID namespace).
bool Gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

std::string RandomSuffix() {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::string s(6, 'x');
  for (char& c : s) c = kChars[rd() % (sizeof kChars - 1)];
  return s;
}

}  // namespace

int RemoveStaleShmRegionFiles() {
  DIR* d = opendir(kShmDir);
  if (!d) return 0;
  const size_t prefix_len = strlen(kShmRegionPrefix);
  int removed = 0;
  while (dirent* e = readdir(d)) {
    if (strncmp(e->d_name, kShmRegionPrefix, prefix_len) != 0) continue;
    const char* p = e->d_name + prefix_len;
    char* end = nullptr;
    long pid = strtol(p, &end, 10);
    if (end == p || *end != '.' || pid <= 0 || !Gone(static_cast<pid_t>(pid))) continue;
    std::string path = std::string(kShmDir) + "/" + e->d_name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) continue;
    // The PID may be reused, or live in another PID namespace: the lock
    // decides, as for executor/exec_dir.cc's directories.
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0 && bip::shared_memory_object::remove(e->d_name)) removed++;
    close(fd);
  }
  closedir(d);
  return removed;
}

std::unique_ptr<ShmRegionFile> ShmRegionFile::Create(size_t size, std::string* err) {
  RemoveStaleShmRegionFiles();
  std::unique_ptr<ShmRegionFile> f(new ShmRegionFile);
  // Boost.Interprocess reports failures by exceptions; this project does
  // by return values: they stop here.
  try {
    bip::shared_memory_object shm;
    for (int attempt = 0;; attempt++) {
      std::string name = kShmRegionPrefix + std::to_string(getpid()) + "." + RandomSuffix();
      try {
        shm = bip::shared_memory_object(bip::create_only, name.c_str(), bip::read_write, bip::permissions(0600));
        f->name_ = name;
        break;
      } catch (const bip::interprocess_exception& e) {
        if (e.get_error_code() != bip::already_exists_error || attempt >= 16) throw;
      }
    }
    f->path_ = std::string(kShmDir) + "/" + f->name_;
    // Locked from here until the destructor; CLOEXEC, so that QEMU (which
    // opens the file by path) does not hold it past this process.
    f->lock_fd_ = open(f->path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (f->lock_fd_ < 0 || flock(f->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      *err = "cannot lock " + f->path_ + ": " + strerror(errno);
      return nullptr;  // the destructor removes the file
    }
    shm.truncate(static_cast<bip::offset_t>(size));
    // The shared memory object's descriptor closes at the end of this
    // scope; the mapping stays.
    f->region_ = std::make_unique<bip::mapped_region>(shm, bip::read_write, 0, size);
  } catch (const bip::interprocess_exception& e) {
    *err = "shared memory " + (f->path_.empty() ? std::string(kShmDir) : f->path_) + ": " + e.what();
    return nullptr;
  }
  // A new tmpfs file reads as zeros: the header is all there is to write.
  if (!FormatShmRegion(f->base(), f->size(), err)) return nullptr;
  return f;
}

ShmRegionFile::~ShmRegionFile() {
  region_.reset();
  if (!name_.empty()) bip::shared_memory_object::remove(name_.c_str());
  if (lock_fd_ >= 0) close(lock_fd_);
}

void* ShmRegionFile::base() const { return region_ ? region_->get_address() : nullptr; }

size_t ShmRegionFile::size() const { return region_ ? region_->get_size() : 0; }

}  // namespace mmdiff
