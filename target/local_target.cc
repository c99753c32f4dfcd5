#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <string>

#include "target/executor_client.h"
#include "target/target.h"

namespace mmdiff {
namespace {

// The executor server as a child process, on pipes.
class LocalTarget : public Target {
 public:
  explicit LocalTarget(TargetOptions options) : options_(std::move(options)) {}
  ~LocalTarget() override { Stop(); }

  bool Start(std::string* err) {
    std::string path = FindExecutor(options_);
    if (access(path.c_str(), X_OK) != 0) {
      *err = "cannot run the executor " + path + ": " + strerror(errno);
      return false;
    }
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) < 0) {
      *err = std::string("pipe: ") + strerror(errno);
      return false;
    }
    if (pipe2(from_child, O_CLOEXEC) < 0) {
      *err = std::string("pipe: ") + strerror(errno);
      close(to_child[0]), close(to_child[1]);
      return false;
    }
    pid_ = fork();
    if (pid_ < 0) {
      *err = std::string("fork: ") + strerror(errno);
      return false;
    }
    if (pid_ == 0) {
      dup2(to_child[0], STDIN_FILENO);
      dup2(from_child[1], STDOUT_FILENO);
      std::string bytes = std::to_string(uint64_t(options_.program_memory_mb) << 20);
      execl(path.c_str(), path.c_str(), "serve", "--memory-max", bytes.c_str(),
            options_.pin_fault_around ? "--pin-fault-around" : nullptr, static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    to_fd_ = to_child[1];
    from_fd_ = from_child[0];
    channel_ = std::make_unique<FdChannel>(from_fd_, to_fd_);
    client_ = std::make_unique<ExecutorClient>(channel_.get());
    signal(SIGPIPE, SIG_IGN);  // a dead executor is reported, not fatal
    return true;
  }

  bool Probe(KernelFeatures* out, std::string* err) override {
    return Ready(err) && Check(client_->Probe(out, 30000, err), err);
  }

  bool Send(const Program& prog, std::string* err) override {
    sent_ops_ = prog.ops.size();
    return Ready(err) && Check(client_->SendRun(prog, options_.program_timeout_ms, err), err);
  }

  bool Receive(Trace* out, std::string* err) override {
    // The executor enforces the program timeout; allow it time to kill and reap.
    if (!client_) {
      *err = "no program was sent to the executor";
      return false;
    }
    return Check(client_->ReceiveTrace(sent_ops_, options_.program_timeout_ms * kSlowBoundFactor + 10000,
                                                     out, err),
                               err);
  }

  bool BareLoop(int ms, long* programs, std::string* err) override {
    return Ready(err) && Check(client_->BareLoop(ms, programs, err), err);
  }

  bool Timings(RunTimings* out, std::string* err) override {
    return Ready(err) && Check(client_->Timings(out, err), err);
  }

  std::string ChannelInUse() const override { return "pipes"; }

  bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
                 BinaryRun* out, std::string* err) override {
    return Ready(err) && Check(client_->RunBinary(binary, args, timeout_ms, timeout_ms + 10000, out, err), err);
  }

 private:
  bool Ready(std::string* err) { return client_ || Start(err); }

  // After a failed call the server is in an unknown state: stop it, and say how it ended.
  bool Check(bool ok, std::string* err) {
    if (!ok) *err += Stop();
    return ok;
  }

  std::string Stop() {
    if (!client_) return "";
    client_->Quit();
    close(to_fd_);
    close(from_fd_);
    client_.reset();
    channel_.reset();
    int status = 0;
    for (int i = 0; i < 200; i++) {  // up to 2 s for a clean exit
      if (waitpid(pid_, &status, WNOHANG) == pid_) return Describe(status);
      usleep(10000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    return Describe(status);
  }

  static std::string Describe(int status) {
    if (WIFSIGNALED(status)) return std::string("; executor killed by signal ") + strsignal(WTERMSIG(status));
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
      return "; executor exited with status " + std::to_string(WEXITSTATUS(status));
    return "";
  }

  TargetOptions options_;
  size_t sent_ops_ = 0;  // the ops of the program Send sent
  pid_t pid_ = -1;
  int to_fd_ = -1;
  int from_fd_ = -1;
  std::unique_ptr<FdChannel> channel_;
  std::unique_ptr<ExecutorClient> client_;
};

}  // namespace

std::string FindExecutor(const TargetOptions& options) {
  if (!options.executor_path.empty()) return options.executor_path;
  if (const char* env = getenv("MMDIFF_EXECUTOR"); env && *env) return env;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "mmdiff-executor";
  std::string dir(self, n);
  return dir.substr(0, dir.rfind('/')) + "/mmdiff-executor";
}

std::unique_ptr<Target> MakeLocalTarget(const TargetOptions& options, std::string* err) {
  auto target = std::make_unique<LocalTarget>(options);
  if (!target->Start(err)) return nullptr;
  return target;
}

}  // namespace mmdiff
