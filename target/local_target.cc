#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "executor/channel.h"
#include "prog/binary.h"
#include "target/target.h"

namespace mmdiff {
namespace {

// Speaks the executor protocol (executor/channel.h) to a server process.
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
    if (pipe2(to_child, O_CLOEXEC) < 0 || pipe2(from_child, O_CLOEXEC) < 0) {
      *err = std::string("pipe: ") + strerror(errno);
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
      execl(path.c_str(), path.c_str(), "serve", static_cast<char*>(nullptr));
      _exit(127);
    }
    close(to_child[0]);
    close(from_child[1]);
    to_fd_ = to_child[1];
    from_fd_ = from_child[0];
    channel_ = std::make_unique<FdChannel>(from_fd_, to_fd_);
    signal(SIGPIPE, SIG_IGN);  // a dead executor is reported, not fatal
    return true;
  }

  bool Probe(KernelFeatures* out, std::string* err) override {
    std::vector<uint8_t> reply;
    if (!Call(MsgType::kProbe, {}, MsgType::kFeatures, 30000, &reply, err)) return false;
    ByteReader r(reply);
    if (!DecodeFeatures(&r, out)) {
      *err = "executor sent malformed features";
      return false;
    }
    return true;
  }

  bool Run(const Program& prog, Trace* out, std::string* err) override {
    ByteWriter w;
    w.U64(static_cast<uint64_t>(options_.program_timeout_ms));
    w.Bytes(EncodeProgram(prog));
    std::vector<uint8_t> reply;
    // The executor enforces the program timeout; allow it time to kill and reap.
    if (!Call(MsgType::kRun, w.buffer(), MsgType::kTrace, options_.program_timeout_ms + 10000, &reply,
              err))
      return false;
    ByteReader r(reply);
    if (!DecodeTrace(&r, out) || out->results.size() != prog.ops.size()) {
      *err = "executor sent a malformed trace";
      return false;
    }
    return true;
  }

 private:
  bool Call(MsgType type, std::span<const uint8_t> payload, MsgType want, int timeout_ms,
            std::vector<uint8_t>* reply, std::string* err) {
    if (!channel_ && !Start(err)) return false;
    MsgType got;
    std::string why;
    if (!channel_->Send(type, payload) || !channel_->Recv(&got, reply, timeout_ms, &why)) {
      *err = "executor stopped answering (" + (why.empty() ? "write failed" : why) + ")" + Stop();
      return false;
    }
    if (got == MsgType::kError) {
      ByteReader r(*reply);
      std::string message;
      r.Str(&message);
      *err = "executor: " + message;
      return false;
    }
    if (got != want) {
      *err = "executor answered with message type " + std::to_string(static_cast<uint32_t>(got));
      Stop();
      return false;
    }
    return true;
  }

  // Ends the server; returns how it ended, for error messages.
  std::string Stop() {
    if (!channel_) return "";
    channel_->Send(MsgType::kQuit, {});
    close(to_fd_);
    close(from_fd_);
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
  pid_t pid_ = -1;
  int to_fd_ = -1;
  int from_fd_ = -1;
  std::unique_ptr<FdChannel> channel_;
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
