// Running a static binary the client sent (a C reproducer, fuzz/repro.h) on
// the executor's kernel: in a guest, that is the only way to run it there.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mmdiff {

struct BinaryRun {
  int exit_code = -1;     // its exit status; -1 when a signal ended it
  int signal = 0;         // the signal that ended it
  bool timed_out = false; // still running at the deadline: killed with its process group
  std::string output;     // stdout and stderr, interleaved as written (first 1 MiB)
  std::string console;    // kernel log records that show a splat during the run
};

namespace exec {

// Writes `binary` as an executable file in `dir`, runs it with `args` in its
// own process group (stdin /dev/null, stdout and stderr into one pipe, the
// server's environment with TMPDIR=`dir`), kills the group at `timeout_ms`
// and reaps everything it left. False with `err` when it could not be started.
bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
               const std::string& dir, BinaryRun* out, std::string* err);

}  // namespace exec
}  // namespace mmdiff
