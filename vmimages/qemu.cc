#include "vmimages/qemu.h"

namespace mmdiff::vm {

std::vector<std::string> QemuCommand(const VmConfig& c) {
  // panic=-1: reboot at once on a panic, and -no-reboot turns that into QEMU
  // exiting, which the host sees. loglevel=5 keeps KERN_WARNING (WARNING:
  // splats) on the console but not the boot chatter a serial port pays for.
  // hugepages=8: a small hugetlb pool (16 MiB) so hugetlb programs run.
  std::string append =
      "console=ttyS0 loglevel=5 panic=-1 mitigations=off hugepages=8 mmdiff.chan=/dev/ttyS1";
  if (!c.append.empty()) append += " " + c.append;
  std::vector<std::string> command = {
      "qemu-system-x86_64",
      "-machine", c.kvm ? "q35,accel=kvm" : "q35,accel=tcg",
      "-cpu", c.kvm ? "host" : "max",
      "-m", std::to_string(c.memory_mb),
      "-smp", "1",
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-kernel", c.kernel,
      "-initrd", c.initramfs,
      "-append", append,
      "-chardev", "stdio,id=con,signal=off",
      "-serial", "chardev:con",
      "-chardev", "socket,id=chan,path=" + c.serial_socket,
      "-serial", "chardev:chan",
      "-device", "virtio-serial-pci,id=vser",
      "-chardev", "socket,id=vchan,path=" + c.virtio_socket,
      "-device", "virtserialport,bus=vser.0,chardev=vchan,name=mmdiff.0",
      // cache=unsafe: the disk lives as long as the guest; nothing to flush.
      "-drive", "file=" + c.scratch_disk + ",if=virtio,format=raw,cache=unsafe",
  };
  if (!c.monitor_socket.empty())
    command.insert(command.end(), {"-monitor", "unix:" + c.monitor_socket + ",server=on,wait=off"});
  return command;
}

}  // namespace mmdiff::vm
