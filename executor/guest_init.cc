#include "executor/guest_init.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <span>
#include <sstream>
#include <string>
#include <utility>

#include "executor/channel.h"
#include "executor/ivshmem_guest.h"
#include "executor/probe.h"
#include "executor/server.h"
#include "executor/shm_channel.h"

namespace mmdiff::exec {
namespace {

void Log(const std::string& msg) {
  // The console is the host's watchdog input: one greppable prefix.
  fprintf(stderr, "mmdiff-init: %s\n", msg.c_str());
}

void Mount(const char* src, const char* dst, const char* type, const char* opts) {
  mkdir(dst, 0755);
  if (mount(src, dst, type, 0, opts) != 0 && errno != EBUSY)
    Log(std::string("mount ") + dst + ": " + strerror(errno));
}

std::string CmdlineParam(const std::string& cmdline, const std::string& name) {
  std::istringstream in(cmdline);
  std::string word;
  while (in >> word)
    if (word.rfind(name + "=", 0) == 0) return word.substr(name.size() + 1);
  return "";
}

// /modules/load lists .ko files in dependency order (vmimages/modules.cc
// resolves it from each module's modinfo; .ko.xz arrive decompressed).
void LoadModules() {
  std::ifstream list("/modules/load");
  std::string name;
  while (std::getline(list, name)) {
    if (name.empty()) continue;
    std::string path = "/modules/" + name;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST))
      Log("module " + name + ": " + strerror(errno));
    if (fd >= 0) close(fd);
  }
}

// The virtio-serial port the host named "mmdiff.0", if the kernel has
// virtio_console (built in, or loaded above).
std::string FindVirtioPort() {
  for (int attempt = 0; attempt < 50; attempt++) {
    for (int dev = 0; dev < 4; dev++) {
      for (int port = 0; port < 4; port++) {
        std::string node = "vport" + std::to_string(dev) + "p" + std::to_string(port);
        std::ifstream name("/sys/class/virtio-ports/" + node + "/name");
        std::string value;
        if (name >> value && value == "mmdiff.0") return "/dev/" + node;
      }
    }
    if (access("/sys/class/virtio-ports", F_OK) != 0) return "";
    usleep(20000);
  }
  return "";
}

void MakeRaw(int fd) {
  struct termios t;
  if (tcgetattr(fd, &t) != 0) return;  // not a tty (virtio port)
  cfmakeraw(&t);
  cfsetispeed(&t, B115200);
  cfsetospeed(&t, B115200);
  tcsetattr(fd, TCSANOW, &t);
}

// mmdiff.swap=MiB: a zram device of that size as the guest's swap (the
// host's --swap), so that MADV_PAGEOUT of anonymous memory makes swap
// entries. zram (drivers/block/zram) is a module of the Debian kernels,
// loaded above; the swap header is mkswap's (include/linux/swap.h union
// swap_header: version 1, last_page, "SWAPSPACE2" at the page's end).
bool SetUpZramSwap(uint64_t mib) {
  std::ofstream size("/sys/block/zram0/disksize");
  if (!(size << mib << "M" << std::flush)) {
    Log("swap: no /sys/block/zram0 (zram not in this kernel?): no swap");
    return false;
  }
  size.close();
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; i++) {  // devtmpfs makes the node a little later
    fd = open("/dev/zram0", O_RDWR | O_CLOEXEC);
    if (fd < 0) usleep(10000);
  }
  if (fd < 0) {
    Log(std::string("swap: /dev/zram0: ") + strerror(errno));
    return false;
  }
  constexpr size_t kPage = 4096;
  static char header[kPage];
  uint32_t info[3] = {1, static_cast<uint32_t>(mib * 1024 * 1024 / kPage - 1), 0};  // version, last_page, nr_badpages
  memcpy(header + 1024, info, sizeof info);
  memcpy(header + kPage - 10, "SWAPSPACE2", 10);
  bool ok = pwrite(fd, header, kPage, 0) == static_cast<ssize_t>(kPage) && fsync(fd) == 0;
  close(fd);
  if (!ok || swapon("/dev/zram0", 0) != 0) {
    Log(std::string("swap: swapon /dev/zram0: ") + strerror(errno));
    return false;
  }
  return true;
}

// The host attaches an ext4 disk (vmimages MakeScratchDisk) for `file`
// slots: regular files on tmpfs would be shmem. Without it, tmpfs it is.
// It is an NVMe namespace or a virtio-blk disk (vmimages/qemu.h
// scratch_nvme); either driver probes after its initcall or module load
// returns, so the node may come a little later.
std::string MountScratchDisk() {
  for (int i = 0; i < 100; i++) {
    const char* dev = access("/dev/nvme0n1", F_OK) == 0 ? "/dev/nvme0n1"
                      : access("/dev/vda", F_OK) == 0   ? "/dev/vda"
                                                        : nullptr;
    if (!dev) {
      usleep(10000);
      continue;
    }
    mkdir("/scratch", 0755);
    if (mount(dev, "/scratch", "ext4", 0, nullptr) == 0) return "/scratch";
    Log(std::string("mount ") + dev + ": " + strerror(errno));
    break;
  }
  Log("no ext4 scratch disk (/dev/nvme0n1, /dev/vda): file slots on tmpfs, where they are shmem");
  return "/tmp";
}

// khugepaged collapses 4K pages of a THP-eligible range into a THP on its
// own schedule, which no program can follow. A guest is ours alone: collapse
// only ranges with no empty, swapped or shared PTE (max_ptes_*=0, which
// programs seldom build; the probe reports the limits, within which the
// checker allows a collapse: khugepaged-may-collapse), and scan as seldom as
// the knobs allow (mm/khugepaged.c khugepaged_wait_work():
// scan_sleep_millisecs).
// `khugepaged` (mmdiff.khugepaged=1, --khugepaged): the opposite, for
// campaigns that test collapses: the kernel's own limits, and a scan
// without pause (scan_sleep_millisecs 0: khugepaged() loops at nice 19), so
// that programs meet it; the checker allows its collapses
// (khugepaged-may-collapse), and the probe reports the limits.
void SetUpThp(bool khugepaged) {
  const std::string dir = "/sys/kernel/mm/transparent_hugepage/";
  // The model assumes a THP fault gets its THP: let every THP fault reclaim
  // and compact for it (defrag "always": GFP_TRANSHUGE, mm/huge_memory.c
  // vma_thp_gfp_mask()) rather than fall back to 4K pages once the guest's
  // memory is fragmented.
  const std::pair<const char*, const char*> tamed[] = {
      {"khugepaged/max_ptes_none", "0"},
      {"khugepaged/max_ptes_swap", "0"},
      {"khugepaged/max_ptes_shared", "0"},
      {"khugepaged/scan_sleep_millisecs", "4000000000"},
      {"khugepaged/alloc_sleep_millisecs", "4000000000"},
      {"defrag", "always"},
  };
  const std::pair<const char*, const char*> eager[] = {
      {"khugepaged/scan_sleep_millisecs", "0"},
      {"khugepaged/alloc_sleep_millisecs", "0"},
      {"defrag", "always"},
  };
  for (auto& [knob, value] : khugepaged ? std::span<const std::pair<const char*, const char*>>(eager)
                                         : std::span<const std::pair<const char*, const char*>>(tamed))
    if (!WriteFile(dir + knob, value)) Log(dir + knob + ": " + strerror(errno));
}

// The guest's own memory would end a program that outgrows it by the OOM
// killer, a process lost, which reads as a divergence. The guest is ours:
// enable the memory controller at the root of cgroup v2, and cap programs
// at 3/4 of the guest's RAM (the rest for the kernel and the executor), so
// such a program ends as LIMIT memory (memcap.h). 0 when it cannot be had.
uint64_t GuestMemoryCap() {
  // favordynmods (6.0+, kernel/cgroup/cgroup.c): each program's p0 moves
  // into the capped group (memcap.cc EnterInChild), and without it every
  // move waits for an RCU grace period in cgroup_attach_lock()
  // (percpu_down_write of cgroup_threadgroup_rwsem): milliseconds under TCG.
  // A kernel without the option mounts without it.
  mkdir("/sys/fs/cgroup", 0755);
  if (mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, "favordynmods") != 0)
    Mount("cgroup2", "/sys/fs/cgroup", "cgroup2", nullptr);
  int fd = open("/sys/fs/cgroup/cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
  bool ok = fd >= 0 && write(fd, "+memory", 7) == 7;
  if (fd >= 0) close(fd);
  if (!ok) {
    Log(std::string("no memory controller: programs are not capped: ") + strerror(errno));
    return 0;
  }
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  while (meminfo >> key >> kib && key != "MemTotal:") meminfo.ignore(256, '\n');
  return key == "MemTotal:" ? kib * 1024 / 4 * 3 : 0;
}

[[noreturn]] void PowerOff() {
  sync();
  reboot(RB_POWER_OFF);
  reboot(RB_AUTOBOOT);  // without ACPI: QEMU -no-reboot exits on this
  for (;;) pause();
}

// The channel on the port `fd`: payloads through the shared region when
// the host offers an ivshmem device (--channel shm) and this kernel can map
// it, else the port alone. Sets `what` to say which, for the console line
// the host reads.
std::unique_ptr<Channel> OpenChannel(int fd, const std::string& port, std::string* what) {
  void* base = nullptr;
  size_t size = 0;
  std::string why;
  IvshmemStatus status = MapIvshmem(&base, &size, &why);
  if (status == IvshmemStatus::kMapped && AttachShmRegion(base, size, &why)) {
    *what = "shared memory (" + std::to_string(size >> 20) + " MiB, doorbell " + port + ")";
    return std::make_unique<ShmChannel>(base, size, ShmSide::kGuest, fd, fd);
  }
  // No device: the host asked for the port alone. Anything else: say why;
  // the host sees the region unattached and talks on the port alone too.
  if (status != IvshmemStatus::kAbsent) Log("shared-memory channel unavailable, falling back to " + port + ": " + why);
  *what = port;
  return std::make_unique<FdChannel>(fd, fd);
}

std::string Uptime() {
  std::ifstream up("/proc/uptime");
  std::string uptime;
  up >> uptime;
  return uptime;
}

}  // namespace

void GuestInitMain() {
  Mount("proc", "/proc", "proc", nullptr);
  // The host splits its boot time at these two console lines
  // (target/qemu_target.cc BootBreakdown): the kernel's part, then ours.
  Log("init at uptime " + Uptime() + " s");
  Mount("sysfs", "/sys", "sysfs", nullptr);
  Mount("devtmpfs", "/dev", "devtmpfs", nullptr);
  Mount("tmpfs", "/tmp", "tmpfs", "mode=1777");
  LoadModules();
  std::ifstream in("/proc/cmdline");
  std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (access("/sys/kernel/mm/transparent_hugepage/khugepaged", F_OK) == 0)
    SetUpThp(CmdlineParam(cmdline, "mmdiff.khugepaged") == "1");
  setenv("TMPDIR", MountScratchDisk().c_str(), 1);
  bool swap = false;
  if (std::string mib = CmdlineParam(cmdline, "mmdiff.swap"); !mib.empty())
    swap = SetUpZramSwap(strtoull(mib.c_str(), nullptr, 10));
  std::string chan = FindVirtioPort();
  if (chan.empty()) chan = CmdlineParam(cmdline, "mmdiff.chan");
  if (chan.empty()) chan = "/dev/ttyS1";
  int fd = -1;
  for (int i = 0; i < 200 && fd < 0; i++) {  // a module's device node may appear late
    fd = open(chan.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) usleep(10000);
  }
  if (fd < 0) {
    Log("cannot open channel " + chan + ": " + strerror(errno));
    PowerOff();
  }
  MakeRaw(fd);
  std::string what;
  std::unique_ptr<Channel> channel = OpenChannel(fd, chan, &what);
  Log("serving on " + what + " at uptime " + Uptime() + " s");
  // mmdiff.kcov=1: the host wants kernel coverage (a campaign's feedback,
  // target/qemu_target.cc); collected only where the kernel has KCOV.
  bool kcov = CmdlineParam(cmdline, "mmdiff.kcov") == "1";
  Serve(channel.get(), {.guest = true,
                         .pin_fault_around = true,
                         .memory_max = GuestMemoryCap(),
                         .may_swap = swap,
                         .kcov = kcov});
  Log("host quit; powering off");
  PowerOff();
}

}  // namespace mmdiff::exec
