#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstdint>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "target/executor_client.h"
#include "target/target.h"

namespace mmdiff {
namespace {

// Local executors of this process per CPU (ExecutorCpu), under its mutex.
std::mutex g_cpus_mu;
int g_ours_on[CPU_SETSIZE];

// The executors of other mmdiff processes (campaigns side by side, say) on
// each CPU: mmdiff-executor processes not ours whose affinity is one CPU.
void CountOthers(int* on) {
  DIR* proc = opendir("/proc");
  if (!proc) return;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream status(std::string("/proc/") + e->d_name + "/status");
    std::string line;
    bool executor = false, ours = false;
    while (std::getline(status, line)) {
      if (line.rfind("Name:", 0) == 0) executor = line.find("mmdiff-executor") != std::string::npos;
      if (line.rfind("PPid:", 0) == 0) ours = atoi(line.c_str() + 5) == getpid();
      if (line.rfind("Cpus_allowed_list:", 0) == 0 && executor && !ours) {
        std::string list = line.substr(18);
        list.erase(0, list.find_first_not_of(" \t"));
        if (!list.empty() && list.find_first_of(",-") == std::string::npos) {
          int cpu = atoi(list.c_str());
          if (cpu >= 0 && cpu < CPU_SETSIZE) on[cpu]++;
        }
      }
    }
  }
  closedir(proc);
}

// The CPU for a new local executor: of those this process may run on, the
// one with the fewest executors (this process's and others'), the lowest
// first. -1: none to choose from. Released with ReleaseCpu.
int ExecutorCpu() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0 || CPU_COUNT(&allowed) == 0) return -1;
  int others[CPU_SETSIZE] = {};
  CountOthers(others);
  std::lock_guard<std::mutex> lock(g_cpus_mu);
  int best = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
    if (CPU_ISSET(cpu, &allowed) &&
        (best < 0 || others[cpu] + g_ours_on[cpu] < others[best] + g_ours_on[best]))
      best = cpu;
  if (best >= 0) g_ours_on[best]++;
  return best;
}

void ReleaseCpu(int cpu) {
  if (cpu < 0) return;
  std::lock_guard<std::mutex> lock(g_cpus_mu);
  g_ours_on[cpu]--;
}

// The executor server as a child process, on pipes.
class LocalTarget : public Target {
 public:
  explicit LocalTarget(TargetOptions options) : options_(std::move(options)) {}
  ~LocalTarget() override {
    Stop();
    ReleaseCpu(cpu_);
  }

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
    // Made before the fork: the child of a threaded process only execs.
    ReleaseCpu(cpu_);
    cpu_ = options_.executor_on_one_cpu ? ExecutorCpu() : -1;
    int cpu = cpu_;
    std::string bytes = std::to_string(uint64_t(options_.program_memory_mb) << 20), cpu_arg = std::to_string(cpu);
    std::vector<const char*> args = {path.c_str(), "serve", "--memory-max", bytes.c_str()};
    if (cpu >= 0) args.insert(args.end(), {"--cpu", cpu_arg.c_str()});
    if (options_.pin_fault_around) args.push_back("--pin-fault-around");
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) {
      *err = std::string("fork: ") + strerror(errno);
      return false;
    }
    if (pid_ == 0) {
      dup2(to_child[0], STDIN_FILENO);
      dup2(from_child[1], STDOUT_FILENO);
      execv(path.c_str(), const_cast<char* const*>(args.data()));
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
    if (!Ready(err) || !Check(client_->SendRun(prog, options_.program_timeout_ms, err), err)) return false;
    sent_ops_.push_back(prog.ops.size());
    return true;
  }

  bool Receive(Trace* out, std::string* err) override {
    // The executor enforces the program timeout; allow it time to kill and reap.
    if (!client_) {
      *err = "no program was sent to the executor";
      return false;
    }
    size_t nops = sent_ops_.empty() ? 0 : sent_ops_.front();
    if (!sent_ops_.empty()) sent_ops_.pop_front();
    return Check(client_->ReceiveTrace(nops, options_.program_timeout_ms * kSlowBoundFactor + 10000, out, err), err);
  }

  bool BareLoop(int ms, long* programs, std::string* err) override {
    return Ready(err) && Check(client_->BareLoop(ms, programs, err), err);
  }

  bool Timings(RunTimings* out, std::string* err) override {
    return Ready(err) && Check(client_->Timings(out, err), err);
  }

  std::string ChannelInUse() const override { return "pipes"; }

  // One program running, one request waiting in the pipe: the executor
  // starts the next program without waiting for this process to ask
  // (bench/throughput, --in-flight 1 against 2). Requests are small (a few
  // KiB; the pipe holds 64), so a Send never blocks on the executor.
  int MaxInFlight() const override { return 2; }

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
    sent_ops_.clear();  // their traces will not come
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
  int cpu_ = -1;  // the CPU its executor runs on (ExecutorCpu), -1: any
  std::deque<size_t> sent_ops_;  // the ops of the programs sent and not received
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
