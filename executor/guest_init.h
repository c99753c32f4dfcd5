// The executor as a guest's /init (PID 1): mounts /proc, /sys, /dev and a
// scratch /tmp, loads the kernel modules the initramfs carries for the
// channel, opens the channel device named by `mmdiff.chan=` on the kernel
// command line, serves until the host quits, then powers off.
#pragma once

namespace mmdiff::exec {

[[noreturn]] void GuestInitMain();

}  // namespace mmdiff::exec
