// The guest channels on real guests under TCG: the same programs over the
// shared-memory channel (executor/shm_channel.h) and over virtio-serial
// must give the same answers, on both Debian kernels and on a self-built
// kernel where one is cached; a guest that cannot map the region falls back
// to the port and says so; no /dev/shm file outlives its guest, and a
// killed run's is removed by the next boot. Each case
// boots guests: seconds each.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "prog/text.h"
#include "target/shm_region.h"
#include "target/target.h"
#include "tests/slurp.h"
#include "tests/temp_dir.h"

#include "tests/qemu_monitor.h"

namespace mmdiff {
namespace {

Program Parse(const std::string& text) {
  Program p;
  TextError e;
  EXPECT_TRUE(ParseProgram(text, "test", &p, &e)) << e.ToString();
  return p;
}

TargetOptions Options(GuestChannel channel) {
  TargetOptions o;
  o.executor_path = MMDIFF_EXECUTOR_PATH;
  o.channel = channel;
  return o;
}

// This process's region files in /dev/shm (target/shm_region.h names them
// after their owner's pid).
int OwnShmFiles() {
  std::string prefix = std::string(kShmRegionPrefix) + std::to_string(getpid()) + ".";
  int n = 0;
  DIR* d = opendir(kShmDir);
  while (dirent* e = d ? readdir(d) : nullptr) n += std::string(e->d_name).rfind(prefix, 0) == 0;
  if (d) closedir(d);
  return n;
}

// Whether `pid` has exited (a zombie until its parent reaps it, or gone).
bool Zombie(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  size_t close = line.rfind(')');
  return close == std::string::npos || line.compare(close + 2, 1, "Z") == 0;
}

// Programs whose answers do not depend on timing or on the guest's memory
// layout beyond what the text format shows: soft-dirty, a file slot on
// the scratch disk, fork and COW, uffd-wp, PAGEMAP_SCAN (ENOTTY on 6.1),
// and a trace of 2 MiB (64 pagemap reads of 4096 pages) that crosses the
// region's reply mailbox in one message.
std::vector<std::string> Programs() {
  std::string big = "mmap 0 262144 rw anon private noreserve\nmadvise 0 262144 nohugepage\nwrite 7\nwrite 70000\n";
  for (int i = 0; i < 64; i++) big += "pagemap " + std::to_string(i * 4096) + " 4096\n";
  return {
      "mmap 0 4 rw anon private\nmadvise 0 4 nohugepage\nwrite 0\nwrite 1\nclear_refs 4\nwrite 1\npagemap 0 3\n",
      "file 0 2\nmmap 0 2 rw file:0+0 shared\nwrite 0\nread 1\npagemap 0 2\n",
      "mmap 0 2 rw anon private\nmadvise 0 2 nohugepage\nwrite 0 =0x11\nfork\np1: write 0 =0x22\np1: read 0\n"
      "read 0\np1: pagemap 0 2\npagemap 0 2\np1: exit\n",
      "mmap 0 2 rw anon private\nmadvise 0 2 nohugepage\nwrite 0\nuffd_open\nuffd_register 0 2 wp\n"
      "uffd_wp 0 2 on\npagemap 0 2\n",
      "mmap 0 4 rw anon private\nmadvise 0 4 nohugepage\nclear_refs 4\nwrite 2\nwrite 3\n"
      "scan 0 4 req=soft_dirty ret=soft_dirty\n",
      big,
  };
}

// What a trace shows, op by op, as `mmdiff run` prints it (PFNs, which
// differ between two guests, are not shown).
std::string Shown(const Program& prog, const Trace& t) {
  std::string out = "end " + std::to_string(static_cast<int>(t.end)) + "\n";
  for (size_t i = 0; i < prog.ops.size() && i < t.results.size(); i++)
    out += std::to_string(i) + ": " + PrintResult(prog.ops[i], t.results[i]) + "\n";
  return out;
}

// Boots one guest per channel on the kernel `o` names, and checks that
// every program (and a 2.7 MB static binary sent to the guest, the
// executor itself asked for its usage) gets the same answers over both.
void ExpectSameAnswersOverBothChannels(TargetOptions o) {
  std::string err;
  o.channel = GuestChannel::kShm;
  auto shm = MakeQemuTarget(o, &err);
  o.channel = GuestChannel::kSerial;
  auto serial = MakeQemuTarget(o, &err);
  ASSERT_TRUE(shm && serial) << err;
  // The region file of a run killed before it could remove it (its owner
  // is gone): any guest's boot removes it, one over the port too.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_EQ(waitpid(dead, nullptr, 0), dead);
  std::string stale = std::string(kShmDir) + "/" + kShmRegionPrefix + std::to_string(dead) + ".killed";
  close(open(stale.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  KernelFeatures fs, fv;
  ASSERT_TRUE(serial->Probe(&fv, &err)) << err;
  EXPECT_NE(access(stale.c_str(), F_OK), 0) << stale;
  unlink(stale.c_str());
  ASSERT_TRUE(shm->Probe(&fs, &err)) << err;
  EXPECT_EQ(shm->ChannelInUse(), "shared memory");
  EXPECT_EQ(serial->ChannelInUse(), "virtio-serial");
  EXPECT_EQ(OwnShmFiles(), 1) << "one region file, the shm guest's";
  EXPECT_EQ(fs.release, fv.release);
  EXPECT_EQ(fs.features, fv.features) << PrintFeatures(fs) << "\n" << PrintFeatures(fv);
  EXPECT_EQ(fs.behaviours, fv.behaviours);
  for (const std::string& text : Programs()) {
    Program prog = Parse(text);
    Trace ts, tv;
    ASSERT_TRUE(shm->Run(prog, &ts, &err)) << err;
    ASSERT_TRUE(serial->Run(prog, &tv, &err)) << err;
    EXPECT_EQ(ts.end, TraceEnd::kCompleted) << ts.console;
    EXPECT_EQ(Shown(prog, ts), Shown(prog, tv)) << text;
  }
  std::ifstream in(MMDIFF_EXECUTOR_PATH, std::ios::binary);
  std::vector<uint8_t> binary((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(binary.size(), 1u << 20);
  BinaryRun bs, bv;
  ASSERT_TRUE(shm->RunBinary(binary, {"--help"}, 20000, &bs, &err)) << err;
  ASSERT_TRUE(serial->RunBinary(binary, {"--help"}, 20000, &bv, &err)) << err;
  EXPECT_EQ(bs.exit_code, 0);
  EXPECT_EQ(bs.output.rfind("usage: mmdiff-executor", 0), 0u) << bs.output;
  EXPECT_EQ(bs.output, bv.output);
  shm.reset();
  serial.reset();
  EXPECT_EQ(OwnShmFiles(), 0) << "the region file outlived its guest";
}

class DebianGuestChannels : public ::testing::TestWithParam<const char*> {};

TEST_P(DebianGuestChannels, SameAnswersOverSharedMemoryAndVirtioSerial) {
  TargetOptions o = Options(GuestChannel::kShm);
  o.guest = GetParam();
  ExpectSameAnswersOverBothChannels(o);
}

INSTANTIATE_TEST_SUITE_P(Guests, DebianGuestChannels, ::testing::Values("6.12", "6.1"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           std::string name = std::string("Debian_") + info.param;
                           for (char& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

// A kernel built from vmimages/kernel.config (PCI and sysfs built in, no
// modules): the unpatched one bench/kernel_mutants caches, where it was
// built on this machine.
TEST(QemuChannel, SameAnswersOnASelfBuiltKernel) {
  const char* home = getenv("HOME");
  std::string kernel = std::string(home ? home : "/root") + "/.cache/mmdiff/kernel-mutants/kernels/none/bzImage";
  if (access(kernel.c_str(), R_OK) != 0) GTEST_SKIP() << "no self-built kernel at " << kernel;
  TargetOptions o = Options(GuestChannel::kShm);
  o.kernel = kernel;
  ExpectSameAnswersOverBothChannels(o);
}

// A guest that cannot map the region (lockdown forbids mmap of PCI
// resources through sysfs: LOCKDOWN_PCI_ACCESS) says so on its console and
// serves on the port; the host follows, and programs run as before.
TEST(QemuChannel, GuestThatCannotMapTheRegionFallsBackToThePort) {
  testutil::TempDir dir("mmdiff-channel-test");
  std::string console = dir.path() + "/console.log";
  setenv("MMDIFF_CONSOLE", console.c_str(), 1);
  TargetOptions o = Options(GuestChannel::kShm);
  o.append = "lockdown=integrity";
  std::string err;
  auto target = MakeQemuTarget(o, &err);
  ASSERT_TRUE(target) << err;
  Program prog = Parse("mmap 0 2 rw anon private\nwrite 0\nclear_refs 4\nwrite 1\npagemap 0 2\n");
  Trace t;
  ASSERT_TRUE(target->Run(prog, &t, &err)) << err;
  unsetenv("MMDIFF_CONSOLE");
  EXPECT_EQ(t.end, TraceEnd::kCompleted) << t.console;
  EXPECT_EQ(PrintResult(prog.ops[4], t.results[4]), "P--X-- P--X-D");
  EXPECT_EQ(target->ChannelInUse(), "virtio-serial");
  std::string log = testing_util::Slurp(console);
  EXPECT_NE(log.find("mmdiff-init: shared-memory channel unavailable, falling back to"), std::string::npos) << log;
  EXPECT_NE(log.find("resource2"), std::string::npos) << log;
  target.reset();
  EXPECT_EQ(OwnShmFiles(), 0);
}

// A guest whose QEMU is killed from outside: the target fails and its
// region file goes with it; the next boot has a region of its own (one
// file at a time), gone too when the target is.
TEST(QemuChannel, EachBootHasItsOwnRegionFileAndNoneOutlivesItsGuest) {
  TargetOptions o = Options(GuestChannel::kShm);
  std::string err;
  auto target = MakeQemuTarget(o, &err);
  ASSERT_TRUE(target) << err;
  KernelFeatures f;
  ASSERT_TRUE(target->Probe(&f, &err)) << err;
  EXPECT_EQ(OwnShmFiles(), 1);
  std::vector<pid_t> qemu = qemutest::QemuChildren();
  ASSERT_EQ(qemu.size(), 1u);
  // The next request is written to the dead QEMU's socket (once QEMU is
  // gone): EPIPE, a failed target, not SIGPIPE ending this process.
  kill(qemu[0], SIGKILL);
  while (!Zombie(qemu[0])) usleep(10000);  // dead, its socket closed; reaped by the target
  Program prog = Parse("mmap 0 1 rw anon private\nwrite 0\npagemap 0 1\n");
  Trace t;
  EXPECT_FALSE(target->Run(prog, &t, &err));
  EXPECT_NE(err.find("killed by signal 9"), std::string::npos) << err;
  EXPECT_EQ(OwnShmFiles(), 0) << "the killed guest's region file is left";
  ASSERT_TRUE(target->Run(prog, &t, &err)) << err;
  EXPECT_EQ(t.end, TraceEnd::kCompleted) << t.console;
  EXPECT_EQ(target->ChannelInUse(), "shared memory");
  EXPECT_EQ(OwnShmFiles(), 1);
  target.reset();
  EXPECT_EQ(OwnShmFiles(), 0);
}

}  // namespace
}  // namespace mmdiff
