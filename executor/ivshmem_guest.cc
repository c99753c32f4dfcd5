#include "executor/ivshmem_guest.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace mmdiff::exec {
namespace {

// include/linux/pci_ids.h PCI_VENDOR_ID_REDHAT_QUMRANET; QEMU's
// hw/misc/ivshmem.c PCI_DEVICE_ID_IVSHMEM.
constexpr const char* kVendor = "0x1af4";
constexpr const char* kDevice = "0x1110";
constexpr const char* kPciDevices = "/sys/bus/pci/devices";

std::string FirstWord(const std::string& path) {
  std::ifstream in(path);
  std::string word;
  in >> word;
  return word;
}

}  // namespace

IvshmemStatus MapIvshmem(void** base, size_t* size, std::string* why) {
  DIR* d = opendir(kPciDevices);
  if (!d) {
    *why = std::string(kPciDevices) + ": " + strerror(errno) + " (a kernel without CONFIG_PCI?)";
    return IvshmemStatus::kUnusable;
  }
  std::string dev;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string dir = std::string(kPciDevices) + "/" + e->d_name;
    if (FirstWord(dir + "/vendor") == kVendor && FirstWord(dir + "/device") == kDevice) {
      dev = dir;
      break;
    }
  }
  closedir(d);
  if (dev.empty()) {
    *why = "no ivshmem device (PCI 1af4:1110)";
    return IvshmemStatus::kAbsent;
  }
  // No driver enabled the device: without memory decoding on (the command
  // register's PCI_COMMAND_MEMORY), QEMU does not map the BAR and the
  // mapping below would read all ones. sysfs `enable` is pci_enable_device().
  // Firmware that enabled it already makes this a no-op.
  if (std::ofstream enable(dev + "/enable"); !(enable << "1" << std::flush))
    *why = "cannot enable " + dev + "; ";
  // resource2, not resource2_wc: sysfs maps it uncached (O_SYNC says so
  // too, as for /dev/mem), so each store reaches the host in program order
  // without fences. Under TCG the BAR is host RAM to QEMU's softmmu all the
  // same, at no cost; under KVM uncached copies of large payloads would be
  // slow, a trade to revisit where KVM works.
  std::string resource = dev + "/resource2";
  int fd = open(resource.c_str(), O_RDWR | O_SYNC | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
    *why += resource + ": " + strerror(errno) + " (a kernel that cannot mmap PCI resources through sysfs?)";
    if (fd >= 0) close(fd);
    return IvshmemStatus::kUnusable;
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int saved = errno;
  close(fd);  // the mapping keeps the resource
  if (p == MAP_FAILED) {
    *why += "mmap " + resource + ": " + strerror(saved);
    return IvshmemStatus::kUnusable;
  }
  // Not into the programs' processes: sysfs maps a BAR with all its PTEs
  // at once (io_remap_pfn_range, VM_PFNMAP), and fork copies every one of
  // them, since such a mapping cannot fault back in. 32 MiB is 8192 PTEs
  // per fork and as many to zap at exit: on the 6.12 guest under TCG that
  // cost ~2.5 ms a program (91 against 127 programs/s) until this line.
  // The programs would also find the mapping in their address space.
  if (madvise(p, static_cast<size_t>(st.st_size), MADV_DONTFORK) != 0) {
    saved = errno;
    munmap(p, static_cast<size_t>(st.st_size));
    *why += "madvise(MADV_DONTFORK) " + resource + ": " + strerror(saved);
    return IvshmemStatus::kUnusable;
  }
  *base = p;
  *size = static_cast<size_t>(st.st_size);
  why->clear();
  return IvshmemStatus::kMapped;
}

}  // namespace mmdiff::exec
