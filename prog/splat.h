// Lines by which a kernel reports its own failure. Shared by the guest
// executor (it scans /dev/kmsg after each program) and the host's console
// watcher (which also sees panics and stalls the guest cannot report).
#pragma once

#include <string_view>

namespace mmdiff {

bool IsSplatLine(std::string_view line);

}  // namespace mmdiff
