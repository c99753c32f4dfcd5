// mmdiff-executor: runs .mmp programs on the kernel it runs on. Started by
// mmdiff (local target) with pipes on stdin/stdout, or as a guest's /init.
#include <sched.h>
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
    "usage: mmdiff-executor [serve [--pin-fault-around] [--memory-max BYTES] [--cpu N] | probe]\n"
    "\n"
    "The executor half of mmdiff; you normally do not run it yourself.\n"
    "  serve   answer framed requests on stdin, replies on stdout (default);\n"
    "          --pin-fault-around: set fault_around_bytes to 4096 while serving\n"
    "          (restored at the end, or by the next executor after a crash);\n"
    "          --memory-max caps each program's memory (a memory cgroup of\n"
    "          its own where the kernel has one, else RLIMIT_AS);\n"
    "          --cpu N runs the server and its programs on CPU N only\n"
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
    mmdiff::exec::ServeOptions options;
    for (int i = 2; i < argc; i++) {
      if (strcmp(argv[i], "--pin-fault-around") == 0) {
        options.pin_fault_around = true;
      } else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
        char* end;
        long cpu = strtol(argv[++i], &end, 10);
        if (*end || !*argv[i] || cpu < 0 || cpu >= CPU_SETSIZE) {
          fprintf(stderr, "mmdiff-executor: --cpu wants a CPU number: '%s'\n", argv[i]);
          return 2;
        }
        options.cpu = static_cast<int>(cpu);
      } else if (strcmp(argv[i], "--memory-max") == 0 && i + 1 < argc) {
        char* end;
        options.memory_max = strtoull(argv[++i], &end, 10);
        if (*end || !*argv[i]) {
          fprintf(stderr, "mmdiff-executor: --memory-max wants a number of bytes: '%s'\n", argv[i]);
          return 2;
        }
      } else {
        fprintf(stderr, "mmdiff-executor: unknown option '%s'\n%s", argv[i], kUsage);
        return 2;
      }
    }
    // mmdiff went away: so do we, through the SIGTERM handler that removes
    // our directory and restores what we pinned (server.h). If it went away
    // before the prctl, we were already reparented: nobody would signal us.
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) return 0;
    mmdiff::FdChannel channel(STDIN_FILENO, STDOUT_FILENO);
    return mmdiff::exec::Serve(&channel, options);
  }
  fprintf(stderr, "mmdiff-executor: unknown command '%s'\n%s", cmd, kUsage);
  return 2;
}
