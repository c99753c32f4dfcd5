#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <thread>

#include "executor/channel.h"
#include "executor/exec_dir.h"
#include "executor/shm_channel.h"
#include "prog/binary.h"
#include "target/console.h"
#include "target/executor_client.h"
#include "target/shm_region.h"
#include "target/spawn.h"
#include "target/target.h"
#include "vmimages/initramfs.h"
#include "vmimages/modules.h"
#include "vmimages/qemu.h"

namespace mmdiff {
namespace {

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

// A Debian cloud kernel: vmimages/fetch-kernel GUEST prints its cache
// directory (and validates GUEST: the target layer keeps no list of guests).
bool DefaultKernel(const std::string& guest, std::string* kernel, std::string* modules_dir, std::string* err) {
  if (guest.find_first_not_of("0123456789.") != std::string::npos) {
    *err = "unknown guest '" + guest + "'";
    return false;
  }
  std::string cmd = std::string(MMDIFF_SOURCE_DIR) + "/vmimages/fetch-kernel " + guest;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096] = {0};
  bool ok = p && fgets(buf, sizeof buf, p);
  int status = p ? pclose(p) : -1;
  if (!ok || status != 0) {
    *err = "cannot fetch the guest kernel (" + cmd + " failed); pass --kernel bzImage";
    return false;
  }
  std::string dir(buf);
  while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
  // The uncompressed vmlinux where fetch-kernel made one: it starts
  // seconds sooner under TCG than a zstd bzImage decompressing itself.
  *kernel = dir + (access((dir + "/vmlinux").c_str(), R_OK) == 0 ? "/vmlinux" : "/vmlinuz");
  *modules_dir = dir + "/modules";
  return true;
}

// The guest's uptime in the console line after `marker`
// (executor/guest_init.cc logs "init at uptime X s" and "serving on ... at
// uptime Y s"); -1 if absent.
double UptimeAfter(const std::string& console, const std::string& marker) {
  size_t pos = console.find(marker);
  if (pos == std::string::npos) return -1;
  pos = console.find("at uptime ", pos);
  return pos == std::string::npos ? -1 : atof(console.c_str() + pos + 10);
}

// The host's TSC against CLOCK_MONOTONIC_RAW, to tell its rate (TscKhzSince).
struct TscMark {
  uint64_t tsc = 0;
  int64_t ns = 0;
};

TscMark TscNow() {
  TscMark m;
#if defined(__x86_64__)
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  m.tsc = __rdtsc();
  m.ns = int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
#endif
  return m;
}

// The host's TSC rate in kHz since `since`, over at least 10 ms (less is
// too short to tell well): it sleeps out the rest, a few ms at most when the
// host's files took less (a user's kernel or a reboot: no fetch, no module
// walk), against the ~0.1 s a boot without the rate costs. 0 when the host
// is not x86.
long TscKhzSince(const TscMark& since) {
  if (!since.ns) return 0;
  if (int64_t left = since.ns + 10000000 - TscNow().ns; left > 0) usleep(static_cast<useconds_t>(left / 1000 + 1));
  TscMark now = TscNow();
  return static_cast<long>(static_cast<double>(now.tsc - since.tsc) / (now.ns - since.ns) * 1e6);
}

// Whether a kernel's .config (fetch-kernel keeps it beside the modules) has
// the line `setting`, e.g. "CONFIG_BLK_DEV_NVME=y".
bool ConfigHas(const std::string& config_path, const std::string& setting) {
  std::ifstream in(config_path);
  for (std::string line; std::getline(in, line);)
    if (line == setting) return true;
  return false;
}

int Listen(const std::string& path, std::string* err) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 1) != 0) {
    *err = "channel socket " + path + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

int Accept(int listener, int timeout_ms) {
  struct pollfd pfd = {listener, POLLIN, 0};
  int fd = poll(&pfd, 1, timeout_ms) == 1 ? accept4(listener, nullptr, nullptr, SOCK_CLOEXEC) : -1;
  close(listener);
  return fd;
}

class QemuTarget : public Target {
 public:
  explicit QemuTarget(TargetOptions options) : options_(std::move(options)) {}
  ~QemuTarget() override { Shutdown(/*clean=*/true); }

  bool Probe(KernelFeatures* out, std::string* err) override {
    if (!qemu_pid_ && !Boot(err)) return false;
    *out = features_;
    return true;
  }

  bool Send(const Program& prog, std::string* err) override {
    sent_ = Sent{.nops = prog.ops.size()};
    if (!qemu_pid_ && !Boot(err)) {
      // A kernel that panics on the way up is a finding about the kernel,
      // not a failure of the harness: Receive gives it as the trace.
      if (boot_splat_.empty()) return false;
      sent_.boot_splat = true;
      return true;
    }
    sent_.console_pos = console_->Position();
    // A request the guest did not take is its answer's failure (Receive).
    sent_.failed = !client_->SendRun(prog, options_.program_timeout_ms, &sent_.why);
    return true;
  }

  bool Receive(Trace* out, std::string* err) override {
    if (sent_.boot_splat) {
      *out = Trace{};
      out->results.resize(sent_.nops);
      out->end = TraceEnd::kKernelSplat;
      out->console = boot_splat_;
      return true;
    }
    if (!qemu_pid_) {
      *err = "no program was sent to the guest";
      return false;
    }
    uint64_t console_pos = sent_.console_pos;
    std::string why = sent_.why;
    if (sent_.failed ||
        !client_->ReceiveTrace(sent_.nops, options_.program_timeout_ms * kSlowBoundFactor + options_.guest_margin_ms,
                               out, &why)) {
      // A panic reboots the guest (QEMU exits); a deadlock leaves it silent.
      usleep(200 * 1000);  // let the console catch up with a dying kernel (and QEMU exit)
      // QEMU killed or stopped from outside (the host's OOM killer, a user,
      // a test) says nothing about the kernel under test: the target failed
      // and restarts, no finding.
      if (std::string outside = QemuStoppedOrKilled(); !outside.empty()) {
        *err = why + "; " + outside;
        Shutdown(/*clean=*/false);
        return false;
      }
      *out = Trace{};
      out->results.resize(sent_.nops);
      std::string splat = console_->FindSplat(console_pos);
      out->end = splat.empty() ? TraceEnd::kGuestHang : TraceEnd::kKernelSplat;
      out->console = splat.empty() ? why + "\n" + Tail(console_->Since(console_pos)) : splat;
      Shutdown(/*clean=*/false);
      return true;
    }
    if (out->end == TraceEnd::kCompleted) {
      std::string splat = console_->FindSplat(console_pos);
      if (!splat.empty()) out->end = TraceEnd::kKernelSplat, out->console = splat;
    }
    // A kernel that splatted is no longer a trustworthy kernel under test
    // (a program that only hit a limit leaves the guest as it was).
    if (out->end == TraceEnd::kKernelSplat || out->end == TraceEnd::kGuestHang) Shutdown(false);
    return true;
  }

  bool BareLoop(int ms, long* programs, std::string* err) override {
    if (!qemu_pid_ && !Boot(err)) return false;
    if (client_->BareLoop(ms, programs, err)) return true;
    Shutdown(false);
    return false;
  }

  bool Timings(RunTimings* out, std::string* err) override {
    if (!qemu_pid_ && !Boot(err)) return false;
    if (client_->Timings(out, err)) return true;
    Shutdown(false);
    return false;
  }

  bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
                 BinaryRun* out, std::string* err) override {
    if (!qemu_pid_ && !Boot(err)) return false;
    uint64_t console_pos = console_->Position();
    std::string why;
    bool ok = client_->RunBinary(binary, args, timeout_ms, timeout_ms + options_.guest_margin_ms, out, &why);
    if (!ok) usleep(200 * 1000);  // let the console catch up with a dying kernel
    std::string splat = console_->FindSplat(console_pos);
    if (!ok && splat.empty()) {
      *err = why + "; console:\n" + Tail(console_->Since(console_pos));
      Shutdown(false);
      return false;
    }
    if (!ok) *out = BinaryRun{};
    if (out->console.empty()) out->console = splat;
    // A kernel that splatted is no longer a trustworthy kernel under test.
    if (!out->console.empty()) Shutdown(false);
    return true;
  }

  std::string ChannelInUse() const override { return channel_in_use_; }

  // One: a program that panics or hangs the guest reboots it, and a request
  // already sent would be lost with it. The host still judges one program
  // while the guest runs the next.
  int MaxInFlight() const override { return 1; }

  int64_t boot_ms() const { return boot_ms_; }

 private:
  static std::string Tail(const std::string& s) { return s.size() > 8192 ? s.substr(s.size() - 8192) : s; }

  // "QEMU was killed by signal 9" / "QEMU is stopped", else "". Peeks
  // without reaping (Shutdown reaps).
  std::string QemuStoppedOrKilled() const {
    siginfo_t info = {};
    if (waitid(P_PID, qemu_pid_, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == qemu_pid_ &&
        (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED))
      return "QEMU was killed by signal " + std::to_string(info.si_status);
    char path[64], buf[512] = {};
    snprintf(path, sizeof path, "/proc/%d/stat", qemu_pid_);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "";
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    const char* state = n > 0 ? strrchr(buf, ')') : nullptr;
    if (state && (state[2] == 'T' || state[2] == 't')) return "QEMU is stopped (SIGSTOP)";
    return "";
  }

  bool Boot(std::string* err) {
    int64_t start = NowMs();
    TscMark tsc_mark = TscNow();
    boot_splat_.clear();
    if (options_.kernel.empty() && !DefaultKernel(options_.guest, &options_.kernel, &modules_dir_, err))
      return false;
    if (access(options_.kernel.c_str(), R_OK) != 0) {
      *err = "cannot read kernel " + options_.kernel + ": " + strerror(errno);
      return false;
    }
    // A distribution kernel may have the channel's virtio_console and the
    // scratch disk's virtio_blk as modules (6.1 both, 6.12 virtio_blk); a
    // user's kernel has what it has built in (or the channel falls back to
    // ttyS1, and file slots to tmpfs). Where NVMe is built in (both Debian
    // kernels), the scratch disk goes there and virtio_blk stays unloaded.
    bool nvme = !modules_dir_.empty() && ConfigHas(modules_dir_ + "/../config", "CONFIG_BLK_DEV_NVME=y");
    std::vector<std::string> wanted = {"virtio_pci", "virtio_console"};
    if (!nvme) wanted.push_back("virtio_blk");
    std::vector<std::string> modules;
    if (!modules_dir_.empty() &&
        !vm::ModuleLoadOrder(modules_dir_, wanted, &modules, err,
                             // zram's compressor: 6.1's zram asks the crypto API for
                             // lzo-rle, which no modprobe can load in the guest.
                             options_.swap_mb > 0 ? std::vector<std::string>{"lzo_rle", "zram"}
                                                  : std::vector<std::string>{}))
      return false;
    // Locked while this process lives: the work directory of a guest whose
    // owner was killed (SIGKILL: no Shutdown) is removed by the next start.
    workdir_ = exec::MakeOwnedDir("/tmp", "mmdiff-vm.", &workdir_lock_, err);
    if (workdir_.empty()) return false;
    vm::VmConfig config;
    config.kernel = options_.kernel;
    config.append = options_.append;
    if (options_.swap_mb > 0) config.append += " mmdiff.swap=" + std::to_string(options_.swap_mb);
    if (options_.kernel_coverage) config.append += " mmdiff.kcov=1";
    if (options_.khugepaged) config.append += " mmdiff.khugepaged=1";
    config.kvm = options_.kvm;
    config.memory_mb = options_.memory_mb;
    config.initramfs = workdir_ + "/initramfs.cpio";
    config.serial_socket = workdir_ + "/serial.sock";
    config.virtio_socket = workdir_ + "/virtio.sock";
    config.scratch_disk = workdir_ + "/scratch.img";
    config.scratch_nvme = nvme;
    config.monitor_socket = workdir_ + "/monitor.sock";
    if (options_.channel == GuestChannel::kShm) {
      shm_ = ShmRegionFile::Create(kShmRegionBytes, err);  // removes the stale ones first
      if (!shm_) return Fail();
      config.shm_region = shm_->path();
      config.shm_region_bytes = shm_->size();
    } else {
      // A killed --channel shm run's files hold memory until someone looks:
      // every boot does, as MakeOwnedDir does for the work directories.
      RemoveStaleShmRegionFiles();
    }
    // mkfs.ext4 (a child process, ~15 ms) runs beside the initramfs's
    // writing (~15 ms on a busy host): both before QEMU starts.
    std::string disk_err;
    bool disk_ok = false;
    std::thread disk([&] { disk_ok = vm::MakeScratchDisk(config.scratch_disk, 64, &disk_err); });
    bool initramfs_ok = vm::WriteInitramfs(config.initramfs, FindExecutor(options_), modules, err);
    disk.join();
    if (initramfs_ok && !disk_ok) *err = disk_err;
    if (!initramfs_ok || !disk_ok) return Fail();
    // Under TCG the guest's RDTSC reads the host's TSC (QEMU
    // cpu_get_host_ticks), so its rate is the host's, measured over the
    // files above. Told it, the kernel skips calibrating its TSC against the
    // PIT and HPET before its clock starts (arch/x86/kernel/tsc.c): loops
    // that fail and retry when the host preempts the vCPU mid-measurement.
    // On a loaded 2-core host, QEMU's start to the kernel's clock took
    // 0.15-0.39 s with it, 0.16-0.53 s without (median 0.16 vs 0.28 s, four
    // boots each, alternating). The refinement a second later still runs.
    if (!config.kvm)
      if (long khz = TscKhzSince(tsc_mark); khz > 0) config.append += " tsc_early_khz=" + std::to_string(khz);
    // A QEMU that died between two requests (killed from outside, or a
    // panic's exit not yet seen) closed its end of the channel: the next
    // write must fail with EPIPE and restart the guest, not end this
    // process by SIGPIPE (the local target does the same for its pipes).
    signal(SIGPIPE, SIG_IGN);
    int serial_listener = Listen(config.serial_socket, err);
    int virtio_listener = serial_listener < 0 ? -1 : Listen(config.virtio_socket, err);
    if (virtio_listener < 0) {
      if (serial_listener >= 0) close(serial_listener);
      return Fail();
    }
    int console[2];
    if (pipe2(console, O_CLOEXEC) != 0) {
      close(serial_listener);
      close(virtio_listener);
      *err = std::string("pipe: ") + strerror(errno);
      return Fail();
    }
    std::vector<std::string> args = vm::QemuCommand(config);
    int64_t prepared = NowMs();
    // QEMU dies with mmdiff, killed or crashed (target/spawn.h).
    pid_t pid = ForkDyingWithProcess([&] {
      int devnull = open("/dev/null", O_RDONLY);
      dup2(devnull, STDIN_FILENO);
      dup2(console[1], STDOUT_FILENO);
      dup2(console[1], STDERR_FILENO);
      std::vector<char*> argv;
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      fprintf(stderr, "mmdiff: cannot run %s: %s\n", argv[0], strerror(errno));
      _exit(127);
    });
    close(console[1]);
    qemu_pid_ = pid;
    const char* console_log = getenv("MMDIFF_CONSOLE");  // every guest's console, appended
    console_ = std::make_unique<ConsoleWatcher>(console[0], console_log ? console_log : "");
    // QEMU connects both sockets as it starts; the guest announces itself on
    // the one it uses.
    serial_fd_ = Accept(serial_listener, 30000);
    virtio_fd_ = Accept(virtio_listener, 30000);
    if (serial_fd_ < 0 || virtio_fd_ < 0) {
      *err = "QEMU did not connect the channel: " + Tail(console_->Since(0));
      return Fail();
    }
    struct pollfd pfds[2] = {{virtio_fd_, POLLIN, 0}, {serial_fd_, POLLIN, 0}};
    if (poll(pfds, 2, options_.boot_timeout_ms) <= 0) {
      *err = "guest did not boot to the executor; console:\n" + Tail(console_->Since(0));
      return Fail();
    }
    int chan = pfds[0].revents ? virtio_fd_ : serial_fd_;
    // The guest marks the region attached before its first message
    // (executor/shm_channel.h), so whether it did is known by now; one that
    // could not map it says why on its console and uses the port alone.
    channel_in_use_ = chan == virtio_fd_ ? "virtio-serial" : "serial";
    if (shm_ && ShmRegionAttached(shm_->base())) {
      channel_ = std::make_unique<ShmChannel>(shm_->base(), shm_->size(), ShmSide::kHost, chan, chan);
      channel_in_use_ = "shared memory";
    } else {
      channel_ = std::make_unique<FdChannel>(chan, chan);
    }
    // The executor announces itself once the kernel has booted to /init.
    MsgType type;
    std::vector<uint8_t> reply;
    std::string why;
    if (!channel_->Recv(&type, &reply, options_.boot_timeout_ms, &why) || type != MsgType::kReady) {
      *err = "guest did not boot to the executor (" + why + "); console:\n" + Tail(console_->Since(0));
      return Fail();
    }
    int64_t ready = NowMs();
    uint64_t ready_uptime_ns = 0;
    ByteReader(reply).U64(&ready_uptime_ns);
    client_ = std::make_unique<ExecutorClient>(channel_.get());
    if (!client_->Probe(&features_, 30000, err)) return Fail();
    boot_ms_ = NowMs() - start;
    // Where boot time went: the host's files (initramfs, scratch disk);
    // QEMU and its firmware up to the kernel's clock starting; the kernel up
    // to /init; /init's mounts, modules and devices; the executor's start
    // (memory cgroup, its probe of the kernel) up to kReady; the host's
    // probe request.
    std::string text = console_->Since(0);
    double init = UptimeAfter(text, "mmdiff-init: init at"), serving = UptimeAfter(text, "mmdiff-init: serving on");
    double ready_uptime = ready_uptime_ns / 1e9;
    fprintf(stderr,
            "mmdiff: guest %s booted in %.2f s: host files %.2f + QEMU and firmware %.2f + kernel %.2f + init %.2f + "
            "executor start %.2f + probe %.2f; channel: %s\n",
            features_.release.c_str(), boot_ms_ / 1000.0, (prepared - start) / 1000.0,
            (ready - prepared) / 1000.0 - ready_uptime, init, serving - init, ready_uptime - serving,
            (NowMs() - ready) / 1000.0, channel_in_use_.c_str());
    return true;
  }

  bool Fail() {
    // Give a dying kernel's last lines a moment to reach the console.
    usleep(200 * 1000);
    boot_splat_ = console_ ? console_->FindSplat(0) : "";
    Shutdown(false);
    return false;
  }

  void Shutdown(bool clean) {
    int64_t t0 = NowMs();
    if (client_ && clean) client_->Quit();
    client_.reset();
    channel_.reset();
    if (serial_fd_ >= 0) close(serial_fd_), serial_fd_ = -1;
    if (virtio_fd_ >= 0) close(virtio_fd_), virtio_fd_ = -1;
    if (qemu_pid_ > 0) {
      int status;
      bool exited = false;
      for (int i = 0; clean && i < 20 && !exited; i++) {  // a moment to power off; nothing to save
        exited = waitpid(qemu_pid_, &status, WNOHANG) == qemu_pid_;
        if (!exited) usleep(10000);
      }
      if (!exited) {
        kill(qemu_pid_, SIGKILL);
        waitpid(qemu_pid_, &status, 0);
      }
    }
    if (qemu_pid_ > 0 && getenv("MMDIFF_DEBUG")) fprintf(stderr, "mmdiff: guest shutdown took %lld ms\n", (long long)(NowMs() - t0));
    qemu_pid_ = 0;
    console_.reset();
    // After QEMU is gone and the channel with it (it points into the region).
    shm_.reset();
    channel_in_use_.clear();
    if (!workdir_.empty()) {
      unlink((workdir_ + "/initramfs.cpio").c_str());
      unlink((workdir_ + "/scratch.img").c_str());
      unlink((workdir_ + "/serial.sock").c_str());
      unlink((workdir_ + "/virtio.sock").c_str());
      unlink((workdir_ + "/monitor.sock").c_str());
      rmdir(workdir_.c_str());
      workdir_.clear();
    }
    if (workdir_lock_ >= 0) close(workdir_lock_), workdir_lock_ = -1;
  }

  TargetOptions options_;
  pid_t qemu_pid_ = 0;
  int serial_fd_ = -1;
  int virtio_fd_ = -1;
  std::string modules_dir_;  // the default kernel's modules
  std::string boot_splat_;   // the console excerpt when the last boot ended in a splat
  std::string workdir_;
  int workdir_lock_ = -1;  // flock on workdir_ (executor/exec_dir.h)
  std::unique_ptr<ConsoleWatcher> console_;
  std::unique_ptr<ShmRegionFile> shm_;  // the channel's shared region (--channel shm)
  std::unique_ptr<Channel> channel_;
  std::string channel_in_use_;          // Target::ChannelInUse
  std::unique_ptr<ExecutorClient> client_;
  KernelFeatures features_;
  int64_t boot_ms_ = 0;
  // The program Send sent, for Receive.
  struct Sent {
    size_t nops = 0;
    bool boot_splat = false;   // the guest panicked on the way up: that is the trace
    uint64_t console_pos = 0;  // the console before the program
    bool failed = false;       // the request did not go out (why)
    std::string why;
  } sent_;
};

}  // namespace

std::unique_ptr<Target> MakeQemuTarget(const TargetOptions& options, std::string* err) {
  (void)err;
  return std::make_unique<QemuTarget>(options);
}

}  // namespace mmdiff
