// A guest's console: drained continuously (a full pipe would stall the
// guest) into a bounded buffer, and searched for kernel splats.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace mmdiff {

class ConsoleWatcher {
 public:
  // Takes ownership of fd; starts the reader thread. A non-empty `log_path`
  // also appends everything read there (MMDIFF_CONSOLE).
  explicit ConsoleWatcher(int fd, const std::string& log_path = "");
  ~ConsoleWatcher();

  // Bytes read so far (a position that Since() and FindSplat() take).
  uint64_t Position();
  // The console text from `pos` on (what is still buffered of it).
  std::string Since(uint64_t pos);
  // The first splat after `pos` (BUG:, WARNING:, Oops, KASAN, Kernel panic,
  // RCU stall, hung task, general protection fault), as an excerpt from a few
  // lines before it to the end of the buffer; empty if none.
  std::string FindSplat(uint64_t pos);
  bool eof();  // the writer (QEMU) closed the console

 private:
  void Loop();
  int fd_;
  int log_fd_ = -1;
  int stop_pipe_[2];
  std::mutex mu_;
  std::string buf_;      // the last kKeep bytes
  uint64_t start_ = 0;   // position of buf_[0]
  bool eof_ = false;
  std::thread thread_;
};

}  // namespace mmdiff
