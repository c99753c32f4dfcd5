#include "executor/exec_binary.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

extern char** environ;

namespace mmdiff::exec {
namespace {

constexpr size_t kMaxOutput = 1 << 20;

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool WriteExecutable(const std::string& path, const std::vector<uint8_t>& binary, std::string* err) {
  unlink(path.c_str());
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
  if (fd < 0) {
    *err = "cannot create " + path + ": " + strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < binary.size()) {
    ssize_t n = write(fd, binary.data() + done, binary.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *err = "cannot write " + path + ": " + strerror(errno);
      close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  // Closed before the fork: an open writer makes execve fail with ETXTBSY.
  close(fd);
  return true;
}

}  // namespace

bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
               const std::string& dir, BinaryRun* out, std::string* err) {
  *out = BinaryRun{};
  std::string path = dir + "/binary";
  if (!WriteExecutable(path, binary, err)) return false;
  std::vector<char*> argv;
  argv.push_back(path.data());
  std::vector<std::string> args_copy = args;
  for (std::string& a : args_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  // TMPDIR is where the executor keeps its file slots (a guest's ext4
  // scratch disk), so the binary's files live on the same filesystem.
  std::vector<std::string> env_copy = {"TMPDIR=" + dir};
  for (char** e = environ; *e; e++)
    if (strncmp(*e, "TMPDIR=", 7) != 0) env_copy.push_back(*e);
  std::vector<char*> envp;
  for (std::string& e : env_copy) envp.push_back(e.data());
  envp.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) {
    *err = std::string("pipe: ") + strerror(errno);
    return false;
  }
  int exec_errno[2];  // the child's execve errno, if it fails
  if (pipe2(exec_errno, O_CLOEXEC) < 0) {
    *err = std::string("pipe: ") + strerror(errno);
    close(pipefd[0]), close(pipefd[1]);
    return false;
  }
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    sigset_t none;  // the server blocks SIGCHLD for its signalfd
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(path.c_str(), argv.data(), envp.data());
    int e = errno;
    (void)!write(exec_errno[1], &e, sizeof e);
    _exit(127);
  }
  close(pipefd[1]);
  close(exec_errno[1]);
  if (pid < 0) {
    *err = std::string("fork: ") + strerror(errno);
    close(pipefd[0]), close(exec_errno[0]);
    return false;
  }
  setpgid(pid, pid);
  int e = 0;
  bool exec_failed = read(exec_errno[0], &e, sizeof e) == sizeof e;
  close(exec_errno[0]);
  int64_t deadline = NowMs() + timeout_ms;
  char buf[16384];
  int64_t kill_grace = 0;  // after the kill: a writer outside the group must not hold us forever
  for (;;) {
    int64_t now = NowMs();
    if (!out->timed_out && now >= deadline) {
      out->timed_out = true;
      kill(-pid, SIGKILL);
      kill_grace = now + 5000;
    }
    if (out->timed_out && now >= kill_grace) break;
    struct pollfd pfd = {pipefd[0], POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>((out->timed_out ? kill_grace : deadline) - now));
    if (n <= 0) continue;
    ssize_t got = read(pipefd[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;  // every writer is gone
    size_t room = kMaxOutput - std::min(kMaxOutput, out->output.size());
    out->output.append(buf, std::min(static_cast<size_t>(got), room));
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // Whatever it forked and left behind (we are their subreaper).
  kill(-pid, SIGKILL);
  while (waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  unlink(path.c_str());
  if (exec_failed) {
    *err = "cannot execute the binary: " + std::string(strerror(e));
    return false;
  }
  if (WIFEXITED(status)) out->exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out->signal = WTERMSIG(status);
  return true;
}

}  // namespace mmdiff::exec
