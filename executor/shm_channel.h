// A channel whose payloads cross a region of memory both ends map: in a
// guest, the BAR of QEMU's ivshmem-plain device (executor/ivshmem_guest.h);
// on the host, the /dev/shm file behind that device (target/shm_region.h).
//
// Frames keep the meaning they have on an FdChannel (channel.h: the same
// MsgType and payload encodings); only where the bytes travel changes.
// Each direction has one mailbox in the region: the sender copies a
// message into its mailbox, publishes it with a sequence number, and writes
// one doorbell byte (kShmDoorbell) to the byte stream it shares with the
// other end (the virtio-serial port), so that neither side spins: the
// receiver sleeps in poll() on that stream as before. A message the mailbox
// cannot hold (larger than its capacity, or sent while the previous one is
// still unread) goes whole, as an FdChannel frame, on the same stream: the
// stream's order is the messages' order, so nothing needs reordering.
//
// The host lays the region out (FormatShmRegion) before QEMU starts; the
// guest checks it and marks it attached (AttachShmRegion) before its first
// message, so the host can tell from the region whether the guest serves on
// it or fell back to the stream alone (ShmRegionAttached).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "executor/channel.h"

namespace mmdiff {

// The doorbell byte: not a byte of a frame's magic "MMDF", so FdChannel's
// scan between frames tells it apart (channel.h RecvFrameOrSignal). BEL.
constexpr uint8_t kShmDoorbell = 0x07;

// The region the host gives a guest: a power of two, as a PCI BAR must be.
// An eighth carries requests (programs, a reproducer binary), the rest
// replies: a trace of a program that reads every pagemap word and scan
// region it may (executor/shared_state.h kDataBytes + kCrossBytes, 16 MiB)
// still fits; anything larger goes on the stream.
constexpr size_t kShmRegionBytes = size_t{32} << 20;
// The least a region can be: its header page and a page per mailbox.
constexpr size_t kShmMinRegionBytes = 16 << 10;

// Which mailbox is whose: the host sends in the to-guest one.
enum class ShmSide { kHost, kGuest };

// Host: writes the header of a zeroed region of `size` bytes.
bool FormatShmRegion(void* base, size_t size, std::string* err);
// Guest: checks the host's header against the region's `size` as mapped and
// marks it attached. False with `err` when it is not a region of this
// protocol's version.
bool AttachShmRegion(void* base, size_t size, std::string* err);
// Host: whether the guest attached (it then sends every message through
// the region or, failing that, on the stream; never on the stream alone).
bool ShmRegionAttached(const void* base);

class ShmChannel : public Channel {
 public:
  // `base` and `size`: a region formatted (and, for the guest's side,
  // attached) as above, mapped by the caller for the channel's lifetime.
  // `in_fd` and `out_fd`: the byte stream for doorbells and large frames.
  ShmChannel(void* base, size_t size, ShmSide side, int in_fd, int out_fd);
  bool Send(MsgType type, std::span<const uint8_t> payload) override;
  bool Recv(MsgType* type, std::vector<uint8_t>* payload, int timeout_ms, std::string* error) override;

  // Messages that went on the stream because the mailbox could not hold
  // them (tests, and the curious).
  uint64_t sent_on_stream() const { return sent_on_stream_; }

 private:
  struct Mailbox;
  Mailbox* out_;
  Mailbox* in_;
  uint8_t* out_data_;
  uint8_t* in_data_;
  // Capacities from the region's size, never from the region itself: the
  // other end (a guest's kernel under test) cannot make this side read or
  // write past its mailbox by scribbling on the header.
  size_t out_capacity_;
  size_t in_capacity_;
  int out_fd_;
  FdChannel stream_;
  uint32_t sent_ = 0;      // sequence number of the last message this side put in its mailbox
  uint32_t received_ = 0;  // ... and of the last it took from the other's
  uint64_t sent_on_stream_ = 0;
};

}  // namespace mmdiff
