#include "target/console.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <vector>

#include "prog/splat.h"

namespace mmdiff {
namespace {

constexpr size_t kKeep = 1 << 20;

}  // namespace

ConsoleWatcher::ConsoleWatcher(int fd, const std::string& log_path) : fd_(fd) {
  if (!log_path.empty()) log_fd_ = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (pipe(stop_pipe_) != 0) stop_pipe_[0] = stop_pipe_[1] = -1;
  thread_ = std::thread([this] { Loop(); });
}

ConsoleWatcher::~ConsoleWatcher() {
  if (stop_pipe_[1] >= 0 && write(stop_pipe_[1], "x", 1) < 0) {
  }
  thread_.join();
  close(fd_);
  if (log_fd_ >= 0) close(log_fd_);
  if (stop_pipe_[0] >= 0) close(stop_pipe_[0]), close(stop_pipe_[1]);
}

void ConsoleWatcher::Loop() {
  std::vector<char> chunk(65536);
  for (;;) {
    struct pollfd pfds[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (poll(pfds, 2, -1) < 0) continue;
    if (pfds[1].revents) return;
    ssize_t n = read(fd_, chunk.data(), chunk.size());
    if (n > 0 && log_fd_ >= 0 && write(log_fd_, chunk.data(), n) < 0) {
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (n <= 0) {
      eof_ = true;
      return;
    }
    buf_.append(chunk.data(), n);
    if (buf_.size() > kKeep) {
      size_t drop = buf_.size() - kKeep;
      buf_.erase(0, drop);
      start_ += drop;
    }
  }
}

uint64_t ConsoleWatcher::Position() {
  std::lock_guard<std::mutex> lock(mu_);
  return start_ + buf_.size();
}

bool ConsoleWatcher::eof() {
  std::lock_guard<std::mutex> lock(mu_);
  return eof_;
}

std::string ConsoleWatcher::Since(uint64_t pos) {
  std::lock_guard<std::mutex> lock(mu_);
  return pos <= start_ ? buf_ : buf_.substr(pos - start_);
}

std::string ConsoleWatcher::FindSplat(uint64_t pos) {
  std::string text = Since(pos);
  size_t line_start = 0;
  std::vector<size_t> starts;
  while (line_start < text.size()) {
    size_t nl = text.find('\n', line_start);
    std::string line = text.substr(line_start, nl == std::string::npos ? std::string::npos : nl - line_start);
    starts.push_back(line_start);
    if (IsSplatLine(line)) {
      size_t from = starts.size() > 4 ? starts[starts.size() - 4] : 0;
      return text.substr(from, 16384);
    }
    if (nl == std::string::npos) break;
    line_start = nl + 1;
  }
  return "";
}

}  // namespace mmdiff
