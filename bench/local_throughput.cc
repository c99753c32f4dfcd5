// Programs/s of mmdiff on the local target, as a ratio to a bare C loop doing
// the same syscalls, measured side by side in one run (issue: at least 0.5).
//
// Both sides fork one process per program, open /proc/self/pagemap and
// clear_refs in it, run the same 10 ops and exit; the parent waits. The two
// are interleaved in rounds so machine noise hits both alike.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "prog/text.h"
#include "target/target.h"

namespace {

const char kProgram[] =
    "mmap 0 16 rw anon private\n"
    "write 0\n"
    "write 1\n"
    "write 2\n"
    "clear_refs 4\n"
    "write 3\n"
    "write 4\n"
    "pagemap 0 16\n"
    "read 5\n"
    "munmap 0 16\n";

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The same program as straight-line C: the floor any harness is measured against.
void BareProgram() {
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  int clear_refs = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  char* base = reinterpret_cast<char*>(mmdiff::kArenaBase);
  char* p = static_cast<char*>(mmap(base, 16 * 4096, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
  if (p != base) _exit(1);
  for (int i = 0; i < 3; i++) p[i * 4096] = static_cast<char>(i + 1);
  if (write(clear_refs, "4", 1) != 1) _exit(1);
  p[3 * 4096] = 4;
  p[4 * 4096] = 5;
  uint64_t entries[16];
  if (pread(pagemap, entries, sizeof entries, reinterpret_cast<uintptr_t>(p) / 4096 * 8) != sizeof entries)
    _exit(1);
  volatile char sink = p[5 * 4096];
  (void)sink;
  munmap(p, 16 * 4096);
  _exit(0);
}

int BareRound(double seconds) {
  int n = 0;
  double end = Now() + seconds;
  while (Now() < end) {
    pid_t pid = fork();
    if (pid == 0) BareProgram();
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fprintf(stderr, "bare loop program failed\n");
      exit(1);
    }
    n++;
  }
  return n;
}

int MmdiffRound(mmdiff::Target* target, const mmdiff::Program& prog, double seconds) {
  int n = 0;
  double end = Now() + seconds;
  mmdiff::Trace trace;
  std::string err;
  while (Now() < end) {
    if (!target->Run(prog, &trace, &err) || trace.results.back().kind != mmdiff::ResultKind::kOk) {
      fprintf(stderr, "mmdiff run failed: %s\n", err.c_str());
      exit(1);
    }
    n++;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 6.0;  // total per side
  const int rounds = 6;
  mmdiff::Program prog;
  mmdiff::TextError text_err;
  if (!mmdiff::ParseProgram(kProgram, "bench", &prog, &text_err)) {
    fprintf(stderr, "%s\n", text_err.ToString().c_str());
    return 1;
  }
  std::string err;
  mmdiff::TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  auto target = mmdiff::MakeLocalTarget(options, &err);
  mmdiff::KernelFeatures features;
  if (!target || !target->Probe(&features, &err)) {
    fprintf(stderr, "local target: %s\n", err.c_str());
    return 1;
  }
  MmdiffRound(target.get(), prog, 0.2);  // warm up both
  BareRound(0.2);
  long bare = 0, harness = 0;
  for (int r = 0; r < rounds; r++) {
    bare += BareRound(seconds / rounds);
    harness += MmdiffRound(target.get(), prog, seconds / rounds);
  }
  double bare_rate = bare / seconds, harness_rate = harness / seconds;
  printf("fixed 10-op program, %d interleaved rounds, %.1f s per side, kernel %s\n", rounds, seconds,
         features.release.c_str());
  printf("bare C loop:   %8.0f programs/s\n", bare_rate);
  printf("mmdiff local:  %8.0f programs/s\n", harness_rate);
  printf("ratio:         %8.2f  (target >= 0.50) %s\n", harness_rate / bare_rate,
         harness_rate / bare_rate >= 0.5 ? "MET" : "NOT MET");
  return 0;
}
