#include "executor/shm_channel.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace mmdiff {

// Each field of the region that the other end writes is read and written
// through std::atomic_ref: the two ends are separate processes (a guest's
// vCPU in QEMU, and mmdiff), so each side's compiler must neither cache
// such a field nor move the payload's copy across the sequence number
// that publishes it (release on the sender's store, acquire on the
// receiver's load).
struct ShmChannel::Mailbox {
  uint32_t posted;  // sequence number of the last message the sender put here
  uint32_t taken;   // ... and of the last one the receiver copied out
  uint32_t type;    // MsgType of the message `posted` names
  uint32_t length;  // its payload's bytes, at the mailbox's data
};

namespace {

constexpr uint32_t kMagic = 0x48534d4d;  // "MMSH"
// A region of another layout is refused by the guest, which then serves
// on the stream alone: an older executor meets a newer host safely.
constexpr uint32_t kVersion = 1;
constexpr size_t kHeaderBytes = 4096;

struct Header {
  uint32_t magic;
  uint32_t version;
  uint64_t size;
  uint32_t guest_attached;  // 1 once the guest serves on the region
};

// The mailboxes sit in the header page, each on its own cache line so the
// two ends' stores to their own do not share one.
constexpr size_t kToGuestMailbox = 64;
constexpr size_t kToHostMailbox = 128;
static_assert(sizeof(Header) <= kToGuestMailbox);

// Where each direction's data lies in a region of `size` bytes: requests
// after the header page up to an eighth of the region (at least a page),
// replies from there to the end (channel.h: kRun requests are a program,
// kTrace replies may be megabytes).
struct Layout {
  size_t to_guest_offset, to_guest_capacity, to_host_offset, to_host_capacity;
};

Layout LayoutFor(size_t size) {
  size_t split = size / 8 > 2 * kHeaderBytes ? size / 8 : 2 * kHeaderBytes;
  return {kHeaderBytes, split - kHeaderBytes, split, size - split};
}

template <typename T>
std::atomic_ref<T> Shared(T& field) {
  return std::atomic_ref<T>(field);
}

}  // namespace

bool FormatShmRegion(void* base, size_t size, std::string* err) {
  if (size < kShmMinRegionBytes) {
    *err = "shared region of " + std::to_string(size) + " bytes: at least " + std::to_string(kShmMinRegionBytes);
    return false;
  }
  memset(base, 0, kHeaderBytes);
  auto* h = static_cast<Header*>(base);
  h->version = kVersion;
  h->size = size;
  // Last, so that a header with the magic is a whole one.
  Shared(h->magic).store(kMagic, std::memory_order_release);
  return true;
}

bool AttachShmRegion(void* base, size_t size, std::string* err) {
  auto* h = static_cast<Header*>(base);
  if (size < kShmMinRegionBytes) {
    *err = "shared region of " + std::to_string(size) + " bytes is too small";
    return false;
  }
  if (Shared(h->magic).load(std::memory_order_acquire) != kMagic) {
    *err = "shared region has no header (the host did not format it)";
    return false;
  }
  if (h->version != kVersion) {
    *err = "shared region is of version " + std::to_string(h->version) + ", this executor speaks " +
           std::to_string(kVersion);
    return false;
  }
  // The BAR is the file's size rounded up to a power of two; the layout is
  // the host's, from the size it formatted.
  if (h->size > size || h->size < kShmMinRegionBytes) {
    *err = "shared region header says " + std::to_string(h->size) + " bytes, mapped " + std::to_string(size);
    return false;
  }
  Shared(h->guest_attached).store(1, std::memory_order_release);
  return true;
}

bool ShmRegionAttached(const void* base) {
  auto* h = static_cast<Header*>(const_cast<void*>(base));
  return Shared(h->guest_attached).load(std::memory_order_acquire) == 1;
}

ShmChannel::ShmChannel(void* base, size_t size, ShmSide side, int in_fd, int out_fd)
    : out_fd_(out_fd), stream_(in_fd, out_fd) {
  auto* bytes = static_cast<uint8_t*>(base);
  // The guest lays its side out from the header's size (AttachShmRegion
  // checked it fits what is mapped), so both ends agree on one layout.
  if (side == ShmSide::kGuest) size = static_cast<Header*>(base)->size;
  Layout l = LayoutFor(size);
  auto* to_guest = reinterpret_cast<Mailbox*>(bytes + kToGuestMailbox);
  auto* to_host = reinterpret_cast<Mailbox*>(bytes + kToHostMailbox);
  bool host = side == ShmSide::kHost;
  out_ = host ? to_guest : to_host;
  in_ = host ? to_host : to_guest;
  out_data_ = bytes + (host ? l.to_guest_offset : l.to_host_offset);
  in_data_ = bytes + (host ? l.to_host_offset : l.to_guest_offset);
  out_capacity_ = host ? l.to_guest_capacity : l.to_host_capacity;
  in_capacity_ = host ? l.to_host_capacity : l.to_guest_capacity;
  // Sequence numbers start at 0 with the region (each boot formats a new
  // one), not at what the region holds: the guest may have posted its
  // first message before the host's channel exists.
}

bool ShmChannel::Send(MsgType type, std::span<const uint8_t> payload) {
  // The receiver has not copied out the last message yet (the protocol's
  // request-reply turns never get here, but a sender must not overwrite
  // it), or this one is too large: the whole frame on the stream, behind
  // the doorbells of the messages before it.
  bool mailbox_free = Shared(out_->taken).load(std::memory_order_acquire) == sent_;
  if (!mailbox_free || payload.size() > out_capacity_) {
    sent_on_stream_++;
    return stream_.Send(type, payload);
  }
  if (!payload.empty()) memcpy(out_data_, payload.data(), payload.size());
  Shared(out_->type).store(static_cast<uint32_t>(type), std::memory_order_relaxed);
  Shared(out_->length).store(static_cast<uint32_t>(payload.size()), std::memory_order_relaxed);
  Shared(out_->posted).store(sent_ + 1, std::memory_order_release);
  sent_++;
  const uint8_t bell = kShmDoorbell;
  for (;;) {
    ssize_t n = write(out_fd_, &bell, 1);
    if (n == 1) return true;
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

bool ShmChannel::Recv(MsgType* type, std::vector<uint8_t>* payload, int timeout_ms, std::string* error) {
  bool rung = false;
  if (!stream_.RecvFrameOrSignal(kShmDoorbell, &rung, type, payload, timeout_ms, error)) return false;
  if (!rung) return true;  // a message the sender's mailbox could not hold
  uint32_t seq = Shared(in_->posted).load(std::memory_order_acquire);
  if (seq != received_ + 1) {
    *error = "doorbell rung for message " + std::to_string(received_ + 1) + ", shared region holds " +
             std::to_string(seq);
    return false;
  }
  // Read once: the region is writable by the other end at any moment.
  uint32_t length = Shared(in_->length).load(std::memory_order_relaxed);
  if (length > in_capacity_) {
    *error = "shared region message of " + std::to_string(length) + " bytes in a mailbox of " +
             std::to_string(in_capacity_);
    return false;
  }
  *type = static_cast<MsgType>(Shared(in_->type).load(std::memory_order_relaxed));
  payload->assign(in_data_, in_data_ + length);
  received_ = seq;
  Shared(in_->taken).store(seq, std::memory_order_release);
  return true;
}

}  // namespace mmdiff
