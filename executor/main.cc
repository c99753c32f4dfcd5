// mmdiff-executor: runs .mmp programs on the kernel it runs on. Started by
// mmdiff (local target) with pipes on stdin/stdout, or as a guest's /init.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "executor/channel.h"
#include "executor/guest_init.h"
#include "executor/probe.h"
#include "executor/server.h"
#include "prog/features.h"

namespace {

const char kUsage[] =
    "usage: mmdiff-executor [serve [--memory-max BYTES] | probe]\n"
    "\n"
    "The executor half of mmdiff; you normally do not run it yourself.\n"
    "  serve   answer framed requests on stdin, replies on stdout (default);\n"
    "          --memory-max caps each program's memory (a memory cgroup of\n"
    "          its own where the kernel has one, else RLIMIT_AS)\n"
    "  probe   print the kernel features this executor measures\n";

}  // namespace

int main(int argc, char** argv) {
  if (getpid() == 1) mmdiff::exec::GuestInitMain();  // a guest's /init
  const char* cmd = argc > 1 ? argv[1] : "serve";
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    fputs(kUsage, stdout);
    return 0;
  }
  if (!strcmp(cmd, "probe")) {
    fputs(mmdiff::PrintFeatures(mmdiff::exec::ProbeKernel()).c_str(), stdout);
    return 0;
  }
  if (!strcmp(cmd, "serve")) {
    uint64_t memory_max = 0;
    if (argc == 4 && !strcmp(argv[2], "--memory-max")) {
      char* end;
      memory_max = strtoull(argv[3], &end, 10);
      if (*end || !*argv[3]) {
        fprintf(stderr, "mmdiff-executor: --memory-max wants a number of bytes: '%s'\n", argv[3]);
        return 2;
      }
    } else if (argc > 2) {
      fprintf(stderr, "mmdiff-executor: unexpected argument '%s'\n%s", argv[2], kUsage);
      return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // mmdiff went away: so do we
    mmdiff::FdChannel channel(STDIN_FILENO, STDOUT_FILENO);
    return mmdiff::exec::Serve(&channel, false, memory_max);
  }
  fprintf(stderr, "mmdiff-executor: unknown command '%s'\n%s", cmd, kUsage);
  return 2;
}
