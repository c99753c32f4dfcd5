// The guest's end of the shared-memory channel (shm_channel.h): QEMU's
// ivshmem-plain device, whose BAR2 is the host's /dev/shm file. No driver:
// the BAR is mapped through sysfs (/sys/bus/pci/devices/*/resource2), which
// every kernel with CONFIG_PCI and sysfs has (both Debian kernels, and
// vmimages/kernel.config). A kernel without them, or a host that offers no
// device (--channel serial), leaves the channel on the virtio-serial port.
#pragma once

#include <cstddef>
#include <string>

namespace mmdiff::exec {

enum class IvshmemStatus {
  kMapped,
  kAbsent,    // PCI is there but no such device: the host's choice
  kUnusable,  // no PCI in sysfs, or the device's BAR cannot be mapped: worth a word on the console
};

// Maps the BAR2 of the first ivshmem device (PCI 1af4:1110) read-write and
// shared, for the life of the process. Otherwise says `why`.
IvshmemStatus MapIvshmem(void** base, size_t* size, std::string* why);

}  // namespace mmdiff::exec
