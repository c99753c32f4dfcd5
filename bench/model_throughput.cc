// Model + checker throughput: ops/s checking a real kernel trace, one core,
// with 16-page pagemap observations (issue target: at least 200,000 ops/s).
//
// The trace comes from the local kernel once; then CheckTrace walks program
// and trace again and again, as a campaign does for every run.
#include <time.h>

#include <cstdio>
#include <string>

#include "model/checker.h"
#include "model/profile.h"
#include "prog/text.h"
#include "target/target.h"

namespace {

// A mix of what campaigns run: mappings of each kind, writes, reads,
// clear_refs, mprotect splits, fork with COW, uffd-wp async tracking,
// PAGEMAP_SCAN, and a 16-page pagemap after most steps.
const char kProgram[] =
    "mmap 0 16 rw anon private\n"
    "madvise 0 16 nohugepage\n"
    "write 0\nwrite 3\nread 5\n"
    "pagemap 0 16\n"
    "clear_refs 4\n"
    "write 1\n"
    "pagemap 0 16\n"
    "mprotect 4 4 r\n"
    "pagemap 0 16\n"
    "memfd 0 16\n"
    "mmap 32 16 rw memfd:0+0 shared\n"
    "write 33\nfwrite 0 4\nread 36\n"
    "pagemap 32 16\n"
    "fork\n"
    "p1: write 0\n"
    "p1: pagemap 0 16\n"
    "pagemap 0 16\n"
    "p1: exit\n"
    "mmap 64 16 rw anon private\n"
    "madvise 64 16 nohugepage\n"
    "uffd_open wp_async wp_unpopulated\n"
    "uffd_register 64 16 wp\n"
    "uffd_wp 64 16 on\n"
    "write 65\nwrite 70\n"
    "pagemap 64 16\n"
    "scan 64 16 req=written\n"
    "scan 64 16 wp_matching check_wpasync req=written ret=written\n"
    "pagemap 64 16\n"
    "madvise 0 4 dontneed\n"
    "pagemap 0 16\n"
    "munmap 0 16\n"
    "pagemap 0 16\n";

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

int main() {
  mmdiff::Program prog;
  mmdiff::TextError text_err;
  if (!mmdiff::ParseProgram(kProgram, "bench", &prog, &text_err)) {
    fprintf(stderr, "%s\n", text_err.ToString().c_str());
    return 1;
  }
  mmdiff::TargetOptions options;
  options.executor_path = MMDIFF_EXECUTOR_PATH;
  std::string err;
  auto target = mmdiff::MakeLocalTarget(options, &err);
  mmdiff::KernelFeatures features;
  mmdiff::Trace trace;
  if (!target || !target->Probe(&features, &err) || !target->Run(prog, &trace, &err)) {
    fprintf(stderr, "local target: %s\n", err.c_str());
    return 1;
  }
  mmdiff::KernelProfile profile = mmdiff::MakeProfile(features);
  mmdiff::Verdict v = mmdiff::CheckTrace(prog, trace, profile);
  if (v.status != mmdiff::Verdict::Status::kPass) {
    fprintf(stderr, "the benchmark program does not pass on this kernel: %s\n",
            v.divergence ? v.divergence->line.c_str() : v.note.c_str());
    return 1;
  }
  long ops = 0;
  double start = Now(), end = start + 3.0;
  while (Now() < end) {
    for (int i = 0; i < 100; i++) ops += mmdiff::CheckTrace(prog, trace, profile).ops_checked;
  }
  double rate = ops / (Now() - start);
  int pagemaps = 0;
  for (const mmdiff::Op& op : prog.ops) pagemaps += op.kind == mmdiff::OpKind::kPagemap;
  printf("model+checker on kernel %s's trace: %zu ops per program, %d of them 16-page pagemaps\n",
         features.release.c_str(), prog.ops.size(), pagemaps);
  printf("throughput: %.0f ops/s on one core  (target >= 200000) %s\n", rate,
         rate >= 200000 ? "MET" : "NOT MET");
  return 0;
}
