// The shared-memory channel (executor/shm_channel.h) on the host alone: its
// framing between two processes over a /dev/shm file, as a guest and mmdiff
// use it, its fallbacks to the byte stream, what it refuses, and the
// region files' cleanup (target/shm_region.h). No guest, no timing.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "executor/shm_channel.h"
#include "target/shm_region.h"

namespace mmdiff {
namespace {

std::vector<uint8_t> Bytes(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; i++) v[i] = static_cast<uint8_t>(seed + i * 7);
  return v;
}

// A socketpair as the virtio-serial port: one end each.
struct Stream {
  int host = -1, guest = -1;
  Stream() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    host = fds[0];
    guest = fds[1];
  }
  ~Stream() {
    if (host >= 0) close(host);
    if (guest >= 0) close(guest);
  }
};

// A region in this process's memory, formatted and attached: both ends in
// one process, for what needs no second one.
struct LocalRegion {
  std::vector<uint8_t> mem;
  explicit LocalRegion(size_t size) : mem(size) {
    std::string err;
    EXPECT_TRUE(FormatShmRegion(mem.data(), size, &err)) << err;
    EXPECT_TRUE(AttachShmRegion(mem.data(), size, &err)) << err;
  }
};

// The guest's end in a child process: maps the /dev/shm file by its path
// (as QEMU does), attaches, and echoes each message back with its bytes
// reversed and its type + 100, until kQuit; then reports how many of its
// own messages went on the stream. Exits 0 when all went well.
[[noreturn]] void EchoGuest(const std::string& path, size_t size, int fd) {
  int file = open(path.c_str(), O_RDWR | O_CLOEXEC);
  void* base = file < 0 ? MAP_FAILED : mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
  std::string err;
  if (base == MAP_FAILED || !AttachShmRegion(base, size, &err)) _exit(10);
  ShmChannel channel(base, size, ShmSide::kGuest, fd, fd);
  for (;;) {
    MsgType type;
    std::vector<uint8_t> payload;
    if (!channel.Recv(&type, &payload, -1, &err)) _exit(11);
    if (type == MsgType::kQuit) break;
    std::vector<uint8_t> reply(payload.rbegin(), payload.rend());
    if (!channel.Send(static_cast<MsgType>(static_cast<uint32_t>(type) + 100), reply)) _exit(12);
  }
  uint64_t on_stream = channel.sent_on_stream();
  std::vector<uint8_t> count(reinterpret_cast<uint8_t*>(&on_stream), reinterpret_cast<uint8_t*>(&on_stream) + 8);
  _exit(channel.Send(MsgType::kBareCount, count) ? 0 : 13);
}

TEST(ShmChannel, TwoProcessesExchangeMessagesThroughADevShmFile) {
  // Small, so that the stream fallback is reached with payloads a
  // socketpair holds: the region holds requests up to 4 KiB, replies up to
  // 8 KiB (executor/shm_channel.cc LayoutFor).
  constexpr size_t kSize = 16 << 10;
  std::string err;
  auto region = ShmRegionFile::Create(kSize, &err);
  ASSERT_TRUE(region) << err;
  EXPECT_EQ(region->path().rfind(std::string(kShmDir) + "/" + kShmRegionPrefix, 0), 0u) << region->path();
  EXPECT_EQ(access(region->path().c_str(), F_OK), 0);
  EXPECT_FALSE(ShmRegionAttached(region->base()));
  Stream s;
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) EchoGuest(region->path(), kSize, s.guest);
  ShmChannel host(region->base(), region->size(), ShmSide::kHost, s.host, s.host);

  // Empty, small, exactly the request mailbox, one byte over it (on the
  // stream), then small again (the region again, in order); replies of the
  // same sizes, the largest past the reply mailbox.
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{4096}, size_t{4097}, size_t{10000}, size_t{3}}) {
    std::vector<uint8_t> sent = Bytes(n, static_cast<uint8_t>(n));
    ASSERT_TRUE(host.Send(MsgType::kRun, sent)) << n;
    MsgType type;
    std::vector<uint8_t> got;
    ASSERT_TRUE(host.Recv(&type, &got, 60000, &err)) << n << ": " << err;
    EXPECT_EQ(static_cast<uint32_t>(type), static_cast<uint32_t>(MsgType::kRun) + 100) << n;
    EXPECT_EQ(got, std::vector<uint8_t>(sent.rbegin(), sent.rend())) << n;
    EXPECT_TRUE(ShmRegionAttached(region->base()));
  }
  // 4097 and 10000 did not fit the request mailbox: two on the stream.
  EXPECT_EQ(host.sent_on_stream(), 2u);
  ASSERT_TRUE(host.Send(MsgType::kQuit, {}));
  MsgType type;
  std::vector<uint8_t> count;
  ASSERT_TRUE(host.Recv(&type, &count, 60000, &err)) << err;
  ASSERT_EQ(type, MsgType::kBareCount);
  ASSERT_EQ(count.size(), 8u);
  uint64_t guest_on_stream;
  memcpy(&guest_on_stream, count.data(), 8);
  // Replies: 10000 bytes did not fit the 8 KiB reply mailbox.
  EXPECT_EQ(guest_on_stream, 1u);
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

// Two messages sent before the receiver takes the first: the second must
// not overwrite the first in the mailbox; it goes on the stream, and the
// receiver gets both in the order sent.
TEST(ShmChannel, MessageSentWhileTheMailboxIsFullGoesOnTheStreamInOrder) {
  LocalRegion r(64 << 10);
  Stream s;
  ShmChannel host(r.mem.data(), r.mem.size(), ShmSide::kHost, s.host, s.host);
  ShmChannel guest(r.mem.data(), r.mem.size(), ShmSide::kGuest, s.guest, s.guest);
  ASSERT_TRUE(guest.Send(MsgType::kReady, Bytes(8, 1)));
  ASSERT_TRUE(guest.Send(MsgType::kFeatures, Bytes(20, 2)));
  ASSERT_TRUE(guest.Send(MsgType::kTrace, Bytes(30, 3)));
  EXPECT_EQ(guest.sent_on_stream(), 2u);
  std::string err;
  for (auto [want, n, seed] : {std::tuple{MsgType::kReady, 8, 1}, {MsgType::kFeatures, 20, 2}, {MsgType::kTrace, 30, 3}}) {
    MsgType type;
    std::vector<uint8_t> got;
    ASSERT_TRUE(host.Recv(&type, &got, 1000, &err)) << err;
    EXPECT_EQ(type, want);
    EXPECT_EQ(got, Bytes(n, static_cast<uint8_t>(seed)));
  }
  // Taken: the mailbox is free again.
  ASSERT_TRUE(guest.Send(MsgType::kTrace, Bytes(5, 4)));
  EXPECT_EQ(guest.sent_on_stream(), 2u);
}

// The region is writable by the guest's kernel under test: a length past
// the mailbox, or a doorbell with no message behind it, is an error, never
// a read past the mailbox.
TEST(ShmChannel, CorruptMailboxIsAnErrorNotAnOverread) {
  LocalRegion r(64 << 10);
  Stream s;
  ShmChannel host(r.mem.data(), r.mem.size(), ShmSide::kHost, s.host, s.host);
  ShmChannel guest(r.mem.data(), r.mem.size(), ShmSide::kGuest, s.guest, s.guest);
  ASSERT_TRUE(guest.Send(MsgType::kTrace, Bytes(16, 1)));
  // The to-host mailbox's length field (executor/shm_channel.cc: the second
  // mailbox at byte 128, length its fourth u32).
  uint32_t huge = 1u << 30;
  memcpy(r.mem.data() + 128 + 12, &huge, 4);
  MsgType type;
  std::vector<uint8_t> got;
  std::string err;
  EXPECT_FALSE(host.Recv(&type, &got, 1000, &err));
  EXPECT_NE(err.find("mailbox"), std::string::npos) << err;

  // A doorbell byte alone, nothing posted behind it.
  LocalRegion r2(64 << 10);
  Stream s2;
  ShmChannel host2(r2.mem.data(), r2.mem.size(), ShmSide::kHost, s2.host, s2.host);
  const uint8_t bell = kShmDoorbell;
  ASSERT_EQ(write(s2.guest, &bell, 1), 1);
  err.clear();
  EXPECT_FALSE(host2.Recv(&type, &got, 1000, &err));
  EXPECT_NE(err.find("doorbell"), std::string::npos) << err;
}

// What the guest refuses (and then serves on the stream alone): a region
// the host did not format, one of another version, one smaller than its
// header says.
TEST(ShmChannel, GuestRefusesARegionItDoesNotKnow) {
  std::vector<uint8_t> mem(64 << 10);
  std::string err;
  EXPECT_FALSE(AttachShmRegion(mem.data(), mem.size(), &err));
  EXPECT_FALSE(ShmRegionAttached(mem.data()));
  ASSERT_TRUE(FormatShmRegion(mem.data(), mem.size(), &err)) << err;
  EXPECT_FALSE(AttachShmRegion(mem.data(), mem.size() / 2, &err));
  uint32_t version = 99;
  memcpy(mem.data() + 4, &version, 4);
  EXPECT_FALSE(AttachShmRegion(mem.data(), mem.size(), &err));
  EXPECT_NE(err.find("version"), std::string::npos) << err;
  EXPECT_FALSE(ShmRegionAttached(mem.data()));
  EXPECT_FALSE(FormatShmRegion(mem.data(), kShmMinRegionBytes - 1, &err));
}

// The channel's stream carries frames as FdChannel does: a frame sent by a
// plain FdChannel (a guest that could not attach) reads the same.
TEST(ShmChannel, PlainFramesOnTheStreamAreMessagesToo) {
  LocalRegion r(64 << 10);
  Stream s;
  ShmChannel host(r.mem.data(), r.mem.size(), ShmSide::kHost, s.host, s.host);
  FdChannel plain(s.guest, s.guest);
  ASSERT_TRUE(plain.Send(MsgType::kError, Bytes(40, 9)));
  MsgType type;
  std::vector<uint8_t> got;
  std::string err;
  ASSERT_TRUE(host.Recv(&type, &got, 1000, &err)) << err;
  EXPECT_EQ(type, MsgType::kError);
  EXPECT_EQ(got, Bytes(40, 9));
}

// A region file lives as long as its owner: removed by the destructor, and
// after an owner killed with SIGKILL, by the next Create (or
// RemoveStaleShmRegionFiles) in any process; a live owner's is left alone.
TEST(ShmRegionFile, RemovedByItsOwnerAndAfterItsOwnerWasKilled) {
  std::string err;
  std::string path;
  {
    auto region = ShmRegionFile::Create(kShmMinRegionBytes, &err);
    ASSERT_TRUE(region) << err;
    path = region->path();
    EXPECT_EQ(access(path.c_str(), F_OK), 0);
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0) << path;

  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto region = ShmRegionFile::Create(kShmMinRegionBytes, &err);
    std::string p = region ? region->path() : "";
    if (write(pipefd[1], p.c_str(), p.size()) != static_cast<ssize_t>(p.size())) _exit(1);
    raise(SIGKILL);
  }
  close(pipefd[1]);
  char buf[256] = {};
  ASSERT_GT(read(pipefd[0], buf, sizeof buf - 1), 0);
  close(pipefd[0]);
  std::string orphan = buf;
  int status;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(access(orphan.c_str(), F_OK), 0) << "a killed owner leaves its file: " << orphan;

  auto mine = ShmRegionFile::Create(kShmMinRegionBytes, &err);  // removes the orphan on the way
  ASSERT_TRUE(mine) << err;
  EXPECT_NE(access(orphan.c_str(), F_OK), 0) << orphan;
  RemoveStaleShmRegionFiles();  // this process is alive: its file stays
  EXPECT_EQ(access(mine->path().c_str(), F_OK), 0);
}

}  // namespace
}  // namespace mmdiff
