// The client half of the executor protocol (executor/channel.h), shared by
// every target that talks to an executor server.
#pragma once

#include <string>

#include "executor/channel.h"
#include "executor/exec_binary.h"
#include "prog/features.h"
#include "prog/program.h"
#include "prog/result.h"

namespace mmdiff {

class ExecutorClient {
 public:
  explicit ExecutorClient(Channel* channel) : channel_(channel) {}

  // Each returns false with `err` set when the server did not answer in
  // `reply_timeout_ms` or answered wrongly; the caller restarts it.
  bool Probe(KernelFeatures* out, int reply_timeout_ms, std::string* err);
  bool Run(const Program& prog, int program_timeout_ms, int reply_timeout_ms, Trace* out,
           std::string* err);
  // Run's halves (Target::Send, Target::Receive): the request, then its
  // trace for a program of `nops` ops.
  bool SendRun(const Program& prog, int program_timeout_ms, std::string* err);
  bool ReceiveTrace(size_t nops, int reply_timeout_ms, Trace* out, std::string* err);
  bool BareLoop(int ms, long* programs, std::string* err);
  bool Timings(RunTimings* out, std::string* err);
  bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
                 int reply_timeout_ms, BinaryRun* out, std::string* err);
  void Quit();

 private:
  // Runs the behaviour probes of prog/behaviour.h and fills f->behaviours.
  bool MeasureBehaviours(KernelFeatures* f, std::string* err);
  bool Call(MsgType type, std::span<const uint8_t> payload, MsgType want, int timeout_ms,
            std::vector<uint8_t>* reply, std::string* err);
  bool Request(MsgType type, std::span<const uint8_t> payload, std::string* err);
  bool Reply(MsgType want, int timeout_ms, std::vector<uint8_t>* reply, std::string* err);
  Channel* channel_;
};

}  // namespace mmdiff
