#include "executor/exec_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mmdiff::exec {
namespace {

constexpr char kPrefix[] = "mmdiff-exec.";

// The owner's cleanup, for the signal handlers: fixed storage, set once.
char g_dir[4096];
pid_t g_owner = 0;
volatile pid_t g_program_group = 0;

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

// Calls fn(name) for each entry of the open directory `dfd` but . and ..,
// from its start. Async-signal-safe.
template <typename Fn>
void ForEachEntry(int dfd, Fn fn) {
  alignas(8) char buf[4096];
  lseek(dfd, 0, SEEK_SET);
  for (;;) {
    long n = syscall(SYS_getdents64, dfd, buf, sizeof buf);
    if (n <= 0) return;
    for (long pos = 0; pos < n;) {
      auto* e = reinterpret_cast<linux_dirent64*>(buf + pos);
      pos += e->d_reclen;
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) fn(e->d_name);
    }
  }
}

// Writes back the value a state file `knob.N` recorded, then removes the
// state file. Async-signal-safe.
void RestoreKnob(int dfd, const char* name) {
  char state[8192];
  int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  ssize_t n = read(fd, state, sizeof state - 1);
  close(fd);
  if (n <= 0) return;
  state[n] = 0;
  char* path_end = strchr(state, '\n');
  if (!path_end) return;
  *path_end = 0;
  char* value = path_end + 1;
  char* value_end = strchr(value, '\n');
  if (!value_end) return;  // cut short while being written: the knob was not changed yet
  int knob = open(state, O_WRONLY | O_TRUNC | O_CLOEXEC);  // as `echo V > KNOB`
  if (knob < 0) return;
  ssize_t w = write(knob, value, static_cast<size_t>(value_end - value));
  close(knob);
  if (w == value_end - value) unlinkat(dfd, name, 0);
}

void OnExitSignal(int sig) {
  // Program processes inherit the handler until they set their own: only
  // the directory's owner cleans up.
  if (getpid() == g_owner) {
    if (pid_t pgid = g_program_group; pgid > 0) kill(-pgid, SIGKILL);
    RemoveExecDir(g_dir);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

// Whether `pid` names no running process (from this PID namespace).
bool Gone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace

void SetProgramGroupToKill(pid_t pgid) { g_program_group = pgid; }

void RemoveExecDir(const char* dir) {
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (dfd < 0) return;
  ForEachEntry(dfd, [dfd](const char* name) {
    if (strncmp(name, "knob.", 5) == 0) RestoreKnob(dfd, name);
  });
  // Unlinking while reading the directory: read it again until it is empty.
  for (int pass = 0; pass < 64; pass++) {
    bool any = false;
    ForEachEntry(dfd, [dfd, &any](const char* name) {
      // A knob that could not be restored keeps its record for a later try.
      if (strncmp(name, "knob.", 5) == 0) return;
      any |= unlinkat(dfd, name, 0) == 0;
    });
    if (!any) break;
  }
  close(dfd);
  rmdir(dir);
}

int RemoveStaleExecDirs(const std::string& base) { return RemoveStaleOwnedDirs(base, kPrefix); }

int RemoveStaleOwnedDirs(const std::string& base, const std::string& prefix) {
  DIR* d = opendir(base.c_str());
  if (!d) return 0;
  int removed = 0;
  while (dirent* e = readdir(d)) {
    if (strncmp(e->d_name, prefix.c_str(), prefix.size()) != 0) continue;
    // PREFIXPID.XXXXXX; directories of older versions have no PID.
    const char* p = e->d_name + prefix.size();
    char* end = nullptr;
    long pid = strtol(p, &end, 10);
    if (end == p || *end != '.' || pid <= 0) continue;
    std::string path = base + "/" + e->d_name;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid()) continue;
    if (!Gone(static_cast<pid_t>(pid))) continue;
    // The PID may be reused, or live in another namespace: the lock decides.
    int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) continue;
    // Without flock() (ENOSYS) the dead owner's pid has the last word.
    bool stale = flock(fd, LOCK_EX | LOCK_NB) == 0 || errno == ENOSYS;
    if (stale) {
      RemoveExecDir(path.c_str());
      removed += access(path.c_str(), F_OK) != 0;
    }
    close(fd);
  }
  closedir(d);
  return removed;
}

std::string MakeExecDir(const std::string& base, std::string* err) {
  int lock_fd;
  return MakeOwnedDir(base, kPrefix, &lock_fd, err);
}

std::string MakeOwnedDir(const std::string& base, const std::string& prefix, int* lock_fd, std::string* err) {
  *lock_fd = -1;
  RemoveStaleOwnedDirs(base, prefix);
  std::string dir = base + "/" + prefix + std::to_string(getpid()) + ".XXXXXX";
  if (!mkdtemp(dir.data())) {
    *err = "cannot create a temporary directory " + dir + ": " + strerror(errno);
    return "";
  }
  // Held until this process ends or closes it (an executor never does;
  // program processes close it, so their lifetimes do not extend the lock).
  // A kernel without CONFIG_FILE_LOCKING (a minimal guest) has no flock():
  // the directory then goes unlocked; only the owner's pid in its name
  // tells a later start whether it is stale.
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int locked = fd < 0 ? -1 : flock(fd, LOCK_EX | LOCK_NB);
  if (locked != 0 && fd >= 0 && errno == ENOSYS) {
    close(fd);
    return dir;
  }
  if (locked != 0) {
    *err = "cannot lock the temporary directory " + dir + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    rmdir(dir.c_str());
    return "";
  }
  *lock_fd = fd;
  return dir;
}

void CleanUpExecDirAtExit(const std::string& dir) {
  if (dir.size() >= sizeof g_dir) return;
  memcpy(g_dir, dir.c_str(), dir.size() + 1);
  g_owner = getpid();
  struct sigaction sa = {};
  sa.sa_handler = OnExitSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
}

std::string ReadKnob(const std::string& path) {
  // One read through a fresh open: debugfs attribute files refuse pread.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return "";
  std::string value(buf, static_cast<size_t>(n));
  return value.substr(0, value.find('\n'));
}

bool PinKnob(const std::string& knob, const std::string& value, const std::string& dir, std::string* err) {
  std::string original = ReadKnob(knob);
  if (original.empty()) {
    *err = "cannot read " + knob + ": " + strerror(errno);
    return false;
  }
  if (original == value) return true;  // nothing to change, nothing to restore
  std::string state;
  int fd = -1;
  for (int i = 0; fd < 0 && i < 100; i++) {
    state = dir + "/knob." + std::to_string(i);
    fd = open(state.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) break;
  }
  std::string record = knob + "\n" + original + "\n";
  bool recorded = fd >= 0 && write(fd, record.data(), record.size()) == static_cast<ssize_t>(record.size()) &&
                  fsync(fd) == 0;
  if (fd >= 0) close(fd);
  if (!recorded) {
    *err = "cannot record the value of " + knob + " in " + state + ": " + strerror(errno);
    unlink(state.c_str());
    return false;
  }
  int k = open(knob.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  bool written = k >= 0 && write(k, value.data(), value.size()) == static_cast<ssize_t>(value.size());
  int saved = errno;
  if (k >= 0) close(k);
  if (!written) {
    *err = "cannot write " + knob + ": " + strerror(saved);
    unlink(state.c_str());
    return false;
  }
  return true;
}

}  // namespace mmdiff::exec
