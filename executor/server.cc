#include "executor/server.h"

#include <fcntl.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "executor/bare_loop.h"
#include "executor/exec_binary.h"
#include "executor/exec_dir.h"
#include "executor/kcov.h"
#include "executor/probe.h"
#include "executor/proc.h"
#include "executor/runner.h"
#include "prog/binary.h"
#include "prog/features.h"
#include "prog/splat.h"

namespace mmdiff::exec {
namespace {

void SendError(Channel* channel, const std::string& message) {
  ByteWriter w;
  w.Str(message);
  channel->Send(MsgType::kError, w.buffer());
}

// New kernel log records since the last call ("PRIO,SEQ,TS,FLAGS;TEXT").
std::string ReadNewKmsg(int fd, bool* splat) {
  std::string text;
  char rec[8192];
  for (;;) {
    ssize_t n = read(fd, rec, sizeof rec - 1);
    if (n < 0 && errno == EPIPE) continue;  // overwritten records: skip ahead
    if (n <= 0) break;
    rec[n] = 0;
    const char* body = strchr(rec, ';');
    std::string line = body ? body + 1 : rec;
    *splat |= IsSplatLine(line);
    text += line;
  }
  return text;
}

// After a run: the kernel's new records when one of them shows a splat
// (the console excerpt of the result), else "". No /dev/kmsg (-1): "".
std::string NewSplat(int kmsg) {
  if (kmsg < 0) return "";
  bool splat = false;
  std::string log = ReadNewKmsg(kmsg, &splat);
  return splat ? log.substr(0, 16384) : "";
}

}  // namespace

int Serve(Channel* channel, const ServeOptions& options) {
  bool watch_kmsg = options.guest;
  if (options.cpu >= 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(options.cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0)
      fprintf(stderr, "mmdiff-executor: cannot run on CPU %d only: %s\n", options.cpu, strerror(errno));
  }
  ProgramRunner runner;
  std::string err;
  if (!runner.Init(&err, options.memory_max, options.may_swap)) {
    SendError(channel, "executor cannot start: " + err);
    fprintf(stderr, "mmdiff-executor: %s\n", err.c_str());
    return 1;
  }
  int kmsg = watch_kmsg ? open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
  runner.set_answer_before_exit(kmsg < 0);
  if (kmsg >= 0) lseek(kmsg, 0, SEEK_END);
  if (!options.guest) CleanUpExecDirAtExit(runner.tmpdir());
  uint64_t fault_around = ReadFaultAround();
  if (options.pin_fault_around) {
    fault_around = PinFaultAround(runner.tmpdir(), /*may_mount=*/options.guest, &err);
    if (!err.empty()) fprintf(stderr, "mmdiff-executor: fault_around_bytes not pinned: %s\n", err.c_str());
  }
  if (options.kcov) {
    std::string why;
    if (KcovAvailable(&why)) runner.set_kcov(true);
    else fprintf(stderr, "mmdiff-executor: no kernel coverage: %s\n", why.c_str());
  }
  KernelFeatures features = ProbeKernel();
  features.fault_around_bytes = fault_around;
  runner.set_scan_default_ret(features.scan_categories);
  if (watch_kmsg) {
    // The guest's uptime (CLOCK_BOOTTIME) as it becomes ready: the host
    // splits its boot time at it (target/qemu_target.cc).
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    ByteWriter w;
    w.U64(static_cast<uint64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec);
    channel->Send(MsgType::kReady, w.buffer());
  }
  RunTimings timings;
  for (;;) {
    MsgType type;
    std::vector<uint8_t> payload;
    if (!channel->Recv(&type, &payload, -1, &err)) return 0;
    uint64_t arrived = MonotonicNs();
    switch (type) {
      case MsgType::kProbe: {
        ByteWriter w;
        EncodeFeatures(features, &w);
        channel->Send(MsgType::kFeatures, w.buffer());
        break;
      }
      case MsgType::kRun: {
        ByteReader r(payload);
        uint64_t timeout_ms;
        Program prog;
        if (!r.U64(&timeout_ms) || timeout_ms == 0 || timeout_ms > 3600 * 1000 ||
            !DecodeProgram(r.rest(), &prog)) {
          SendError(channel, "malformed run request");
          break;
        }
        Trace trace = runner.Run(prog, static_cast<int>(timeout_ms));
        if (std::string splat = NewSplat(kmsg); !splat.empty()) {
          trace.end = TraceEnd::kKernelSplat;
          trace.console = splat;
        }
        ByteWriter w;
        EncodeTrace(trace, &w);
        // After the trace, and only when there is any: a client that does
        // not read it (an older mmdiff) never sees it.
        if (!trace.kernel_cov.empty()) EncodeKernelCoverage(trace.kernel_cov, &w);
        channel->Send(MsgType::kTrace, w.buffer());
        // A run that never reached an op (or its end) counts the missing
        // stretch in the phase before.
        uint64_t waited = runner.waited_ns(), sent = MonotonicNs();
        uint64_t first = runner.first_op_ns() ? runner.first_op_ns() : waited;
        uint64_t last = runner.last_op_ns() ? runner.last_op_ns() : waited;
        timings.runs++;
        timings.setup_ns += first - arrived;
        timings.program_ns += last - first;
        timings.exit_ns += waited - last;
        timings.after_ns += sent - waited;
        timings.served_ns += sent - arrived;
        runner.AfterAnswer();
        break;
      }
      case MsgType::kTimings: {
        ByteWriter w;
        for (uint64_t v : {timings.runs, timings.setup_ns, timings.program_ns, timings.exit_ns, timings.after_ns,
                           timings.served_ns})
          w.U64(v);
        channel->Send(MsgType::kTimingsReply, w.buffer());
        break;
      }
      case MsgType::kBareLoop: {
        ByteReader r(payload);
        uint64_t ms;
        if (!r.U64(&ms) || ms > 600000) {
          SendError(channel, "malformed bare-loop request");
          break;
        }
        runner.Quiesce();
        long n = RunBareLoop(ms / 1000.0);
        ByteWriter w;
        w.U64(n < 0 ? UINT64_MAX : static_cast<uint64_t>(n));
        channel->Send(MsgType::kBareCount, w.buffer());
        break;
      }
      case MsgType::kExecBinary: {
        ByteReader r(payload);
        uint64_t timeout_ms, argc;
        std::vector<std::string> args;
        bool ok = r.U64(&timeout_ms) && timeout_ms > 0 && timeout_ms <= 3600 * 1000 && r.U64(&argc) && argc <= 64;
        for (uint64_t i = 0; ok && i < argc; i++) ok = r.Str(&args.emplace_back(), 4096);
        if (!ok) {
          SendError(channel, "malformed exec request");
          break;
        }
        std::span<const uint8_t> rest = r.rest();
        BinaryRun run;
        runner.Quiesce();
        if (!RunBinary({rest.begin(), rest.end()}, args, static_cast<int>(timeout_ms), runner.tmpdir(), &run,
                       &err)) {
          SendError(channel, err);
          break;
        }
        run.console = NewSplat(kmsg);
        ByteWriter w;
        w.U64(run.exit_code < 0 ? 0 : static_cast<uint64_t>(run.exit_code) + 1);
        w.U64(static_cast<uint64_t>(run.signal));
        w.U8(run.timed_out);
        w.Str(run.output);
        w.Str(run.console);
        channel->Send(MsgType::kBinaryRun, w.buffer());
        break;
      }
      case MsgType::kQuit:
        return 0;
      case MsgType::kFeatures:
      case MsgType::kTrace:
      case MsgType::kError:
      case MsgType::kReady:
      case MsgType::kBareCount:
      case MsgType::kBinaryRun:
      case MsgType::kTimingsReply:
        SendError(channel, "unexpected message type " + std::to_string(static_cast<uint32_t>(type)));
        break;
    }
  }
}

}  // namespace mmdiff::exec
