#include "executor/server.h"

#include <cstdio>

#include "executor/probe.h"
#include "executor/runner.h"
#include "prog/binary.h"
#include "prog/features.h"

namespace mmdiff::exec {
namespace {

void SendError(Channel* channel, const std::string& message) {
  ByteWriter w;
  w.Str(message);
  channel->Send(MsgType::kError, w.buffer());
}

}  // namespace

int Serve(Channel* channel) {
  ProgramRunner runner;
  std::string err;
  if (!runner.Init(&err)) {
    SendError(channel, "executor cannot start: " + err);
    fprintf(stderr, "mmdiff-executor: %s\n", err.c_str());
    return 1;
  }
  KernelFeatures features = ProbeKernel();
  runner.set_scan_default_ret(features.scan_categories);
  for (;;) {
    MsgType type;
    std::vector<uint8_t> payload;
    if (!channel->Recv(&type, &payload, -1, &err)) return 0;
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
        ByteWriter w;
        EncodeTrace(trace, &w);
        channel->Send(MsgType::kTrace, w.buffer());
        break;
      }
      case MsgType::kQuit:
        return 0;
      case MsgType::kFeatures:
      case MsgType::kTrace:
      case MsgType::kError:
        SendError(channel, "unexpected message type " + std::to_string(static_cast<uint32_t>(type)));
        break;
    }
  }
}

}  // namespace mmdiff::exec
