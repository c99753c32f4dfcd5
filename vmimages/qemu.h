// The QEMU command line, in one place.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace mmdiff::vm {

struct VmConfig {
  std::string kernel;          // bzImage
  std::string initramfs;
  std::string append;          // extra kernel command-line options
  std::string serial_socket;   // unix socket for the channel on ttyS1
  std::string virtio_socket;   // unix socket for the channel on virtio port "mmdiff.0"
  // A file in /dev/shm (target/shm_region.h) offered to the guest as an
  // ivshmem-plain PCI device, the shared region of the channel
  // (executor/shm_channel.h); empty: no device, the channel is the port.
  std::string shm_region;
  size_t shm_region_bytes = 0;  // the file's size: a power of two (a PCI BAR)
  std::string scratch_disk;    // raw ext4 image: the guest's directory for `file` slots
  // The scratch disk on an NVMe controller (/dev/nvme0n1) instead of
  // virtio-blk (/dev/vda): for a kernel with NVMe built in and virtio_blk a
  // module (both Debian kernels), loading that module costs its boot ~60 ms
  // under TCG (the host decompresses it, the guest relocates it and checks
  // its signature); NVMe probes asynchronously, alongside the rest of the boot.
  bool scratch_nvme = false;
  // Unix socket of QEMU's human monitor (HMP), for debugging and fault
  // injection (`sendkey alt-sysrq-c`, `stop`); empty: no monitor.
  std::string monitor_socket;
  int memory_mb = 1024;
  // TCG by default: /dev/kvm may exist yet fail to run a guest (it does on
  // the machines this was built on), so KVM is asked for, not detected.
  bool kvm = false;
};

// The guest console is QEMU's stdout (ttyS0). The channel is offered twice,
// on unix sockets the host listens on: a virtio-serial port (fast: one
// notification per buffer) and the second serial port ttyS1 (every kernel
// has it; under TCG each 16-byte FIFO load costs an interrupt). The guest
// takes the virtio port when its kernel has virtio_console.
std::vector<std::string> QemuCommand(const VmConfig& config);

}  // namespace mmdiff::vm
