// The QEMU command line, in one place.
#pragma once

#include <string>
#include <vector>

namespace mmdiff::vm {

struct VmConfig {
  std::string kernel;          // bzImage
  std::string initramfs;
  std::string append;          // extra kernel command-line options
  std::string channel_socket;  // unix socket QEMU connects the channel port to
  int memory_mb = 1024;
  // TCG by default: /dev/kvm may exist yet fail to run a guest (it does on
  // the machines this was built on), so KVM is asked for, not detected.
  bool kvm = false;
};

// The guest console is QEMU's stdout (ttyS0); the channel is the second
// serial port (ttyS1) on a unix socket the host listens on.
std::vector<std::string> QemuCommand(const VmConfig& config);

}  // namespace mmdiff::vm
