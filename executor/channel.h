// The channel between mmdiff and an executor server: framed messages.
//
// A frame is "MMDF", a u32 type, a u32 payload length (little endian) and the
// payload. The magic lets a reader resynchronise on a byte stream that also
// carries other output (a guest's serial console). The interface is what the
// QEMU target implements over serial, virtio-serial or shared memory.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace mmdiff {

// A run's timeout_ms bounds a program that makes no progress; one still
// progressing may run kSlowBoundFactor times as long (executor/runner.h),
// so a client waits that long, plus its margin, before it gives up.
constexpr int kSlowBoundFactor = 4;

enum class MsgType : uint32_t {
  kProbe = 1,     // -> kFeatures
  kRun = 2,       // u64 timeout_ms, encoded program -> kTrace (kSlowBoundFactor below)
  kQuit = 3,      // the server exits
  kBareLoop = 4,  // u64 milliseconds -> kBareCount: the bare C loop's floor (benchmarks)
  kExecBinary = 5, // u64 timeout_ms, u64 argc, argc strings, the binary -> kBinaryRun
  kTimings = 6,   // -> kTimingsReply: where the executor's time per program went (benchmarks)
  kFeatures = 10, // encoded KernelFeatures
  kTrace = 11,    // encoded Trace
  kError = 12,    // a string: the request was malformed
  kReady = 13,    // a guest's server announces itself (bytes sent to a serial
                  // port before the guest opens it are lost): u64 its uptime, ns
  kBareCount = 14, // u64 programs the bare loop ran (or UINT64_MAX on failure)
  kBinaryRun = 15, // u64 exit code + 1 (0: signalled), u64 signal, u8 timed out,
                   // string output, string console
  kTimingsReply = 16, // RunTimings: six u64
};

// Where a guest's or local executor's time went, summed over the kRun
// requests since it started (nanoseconds, CLOCK_MONOTONIC inside the
// executor). Per run: `setup` from the request's arrival to the first op
// (decoding, resetting the shared block, forking p0, its memory cap,
// /proc files and signal handlers); `program` the ops themselves; `exit`
// from the last op to the last program process gone (mm teardown);
// `after` collecting the trace, the memory-cap and /dev/kmsg checks and
// encoding the reply. What the host waits beyond their sum is the channel.
struct RunTimings {
  uint64_t runs = 0;
  uint64_t setup_ns = 0, program_ns = 0, exit_ns = 0, after_ns = 0;
  uint64_t served_ns = 0;  // request arrival to reply sent (all of the above)
};


class Channel {
 public:
  virtual ~Channel() = default;
  virtual bool Send(MsgType type, std::span<const uint8_t> payload) = 0;
  // Waits up to timeout_ms (-1: forever). False on timeout, EOF or a bad frame;
  // `error` says which.
  virtual bool Recv(MsgType* type, std::vector<uint8_t>* payload, int timeout_ms,
                    std::string* error) = 0;
};

// A channel over a pair of file descriptors (pipes, a serial device).
class FdChannel : public Channel {
 public:
  FdChannel(int in_fd, int out_fd) : in_fd_(in_fd), out_fd_(out_fd) {}
  bool Send(MsgType type, std::span<const uint8_t> payload) override;
  bool Recv(MsgType* type, std::vector<uint8_t>* payload, int timeout_ms,
            std::string* error) override;
  // Recv that also ends, with *signalled set and no frame, at a lone byte
  // `signal` met between frames: ShmChannel's doorbell
  // (executor/shm_channel.h), which shares the stream with the frames too
  // large for its region. `signal` must not be a byte of "MMDF", so the
  // scan for a frame's magic tells the two apart.
  bool RecvFrameOrSignal(uint8_t signal, bool* signalled, MsgType* type, std::vector<uint8_t>* payload,
                         int timeout_ms, std::string* error);

 private:
  bool ReadExact(uint8_t* buf, size_t n, int64_t deadline_ms, std::string* error);
  int in_fd_;
  int out_fd_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(64 * 1024);  // read-ahead
  size_t buf_pos_ = 0;
  size_t buf_len_ = 0;
};

}  // namespace mmdiff
