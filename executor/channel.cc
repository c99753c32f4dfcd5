#include "executor/channel.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace mmdiff {
namespace {

constexpr uint8_t kMagic[4] = {'M', 'M', 'D', 'F'};
constexpr uint32_t kMaxPayload = 64u << 20;
// 'M' is a byte of the magic: no caller can ask for it as a signal.
constexpr uint8_t kNoSignal = 'M';

int64_t NowMs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

void PutU32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t GetU32(const uint8_t* p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

bool FdChannel::Send(MsgType type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> frame(12 + payload.size());
  memcpy(frame.data(), kMagic, 4);
  PutU32(frame.data() + 4, static_cast<uint32_t>(type));
  PutU32(frame.data() + 8, static_cast<uint32_t>(payload.size()));
  memcpy(frame.data() + 12, payload.data(), payload.size());
  size_t off = 0;
  while (off < frame.size()) {
    ssize_t n = write(out_fd_, frame.data() + off, frame.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += n;
  }
  return true;
}

bool FdChannel::ReadExact(uint8_t* out, size_t n, int64_t deadline_ms, std::string* error) {
  size_t off = 0;
  while (off < n) {
    if (buf_pos_ < buf_len_) {
      size_t take = std::min(n - off, buf_len_ - buf_pos_);
      memcpy(out + off, buf_.data() + buf_pos_, take);
      buf_pos_ += take;
      off += take;
      continue;
    }
    if (deadline_ms >= 0) {
      int64_t left = deadline_ms - NowMs();
      struct pollfd pfd = {in_fd_, POLLIN, 0};
      int r = left > 0 ? poll(&pfd, 1, static_cast<int>(left)) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) {
        *error = "timed out";
        return false;
      }
    }
    ssize_t got = read(in_fd_, buf_.data(), buf_.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      *error = got == 0 ? "end of stream" : std::string("read: ") + strerror(errno);
      return false;
    }
    buf_pos_ = 0;
    buf_len_ = static_cast<size_t>(got);
  }
  return true;
}

bool FdChannel::Recv(MsgType* type, std::vector<uint8_t>* payload, int timeout_ms,
                     std::string* error) {
  bool signalled = false;
  return RecvFrameOrSignal(kNoSignal, &signalled, type, payload, timeout_ms, error);
}

bool FdChannel::RecvFrameOrSignal(uint8_t signal, bool* signalled, MsgType* type, std::vector<uint8_t>* payload,
                                  int timeout_ms, std::string* error) {
  *signalled = false;
  int64_t deadline = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
  // Skip bytes until the magic: a console may interleave text with frames.
  uint8_t window[4] = {0, 0, 0, 0};
  for (;;) {
    memmove(window, window + 1, 3);
    if (!ReadExact(window + 3, 1, deadline, error)) return false;
    if (memcmp(window, kMagic, 4) == 0) break;
    if (signal != kNoSignal && window[3] == signal) {
      *signalled = true;
      return true;
    }
  }
  uint8_t header[8];
  if (!ReadExact(header, 8, deadline, error)) return false;
  *type = static_cast<MsgType>(GetU32(header));
  uint32_t len = GetU32(header + 4);
  if (len > kMaxPayload) {
    *error = "frame of " + std::to_string(len) + " bytes";
    return false;
  }
  payload->resize(len);
  return ReadExact(payload->data(), len, deadline, error);
}

}  // namespace mmdiff
