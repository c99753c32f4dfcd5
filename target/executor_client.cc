#include "target/executor_client.h"

#include "prog/behaviour.h"
#include "prog/binary.h"
#include "prog/text.h"

namespace mmdiff {

bool ExecutorClient::Call(MsgType type, std::span<const uint8_t> payload, MsgType want, int timeout_ms,
                          std::vector<uint8_t>* reply, std::string* err) {
  return Request(type, payload, err) && Reply(want, timeout_ms, reply, err);
}

bool ExecutorClient::Request(MsgType type, std::span<const uint8_t> payload, std::string* err) {
  if (channel_->Send(type, payload)) return true;
  *err = "executor stopped answering (write failed)";
  return false;
}

bool ExecutorClient::Reply(MsgType want, int timeout_ms, std::vector<uint8_t>* reply, std::string* err) {
  MsgType got;
  std::string why;
  if (!channel_->Recv(&got, reply, timeout_ms, &why)) {
    *err = "executor stopped answering (" + why + ")";
    return false;
  }
  if (got == MsgType::kError) {
    ByteReader r(*reply);
    std::string message;
    r.Str(&message);
    *err = "executor: " + message;
    return false;
  }
  if (got != want) {
    *err = "executor answered with message type " + std::to_string(static_cast<uint32_t>(got));
    return false;
  }
  return true;
}

bool ExecutorClient::Probe(KernelFeatures* out, int reply_timeout_ms, std::string* err) {
  std::vector<uint8_t> reply;
  if (!Call(MsgType::kProbe, {}, MsgType::kFeatures, reply_timeout_ms, &reply, err)) return false;
  ByteReader r(reply);
  if (!DecodeFeatures(&r, out)) {
    *err = "executor sent malformed features";
    return false;
  }
  return MeasureBehaviours(out, err);
}

// prog/behaviour.h: each probe program runs like any other program; the
// answer of its deciding op sets the bit. A probe whose `requires` the kernel
// lacks, or whose answer is neither, stays unmeasured.
bool ExecutorClient::MeasureBehaviours(KernelFeatures* f, std::string* err) {
  f->behaviours = f->behaviours_measured = 0;
  for (const BehaviourProbe& b : BehaviourProbes()) {
    Program prog;
    TextError perr;
    if (!ParseProgram(b.program, b.name, &prog, &perr)) {
      *err = std::string("behaviour probe ") + b.name + " does not parse: " + perr.message;
      return false;
    }
    if ((prog.Requires() & f->features) != prog.Requires()) continue;
    Trace trace;
    if (!Run(prog, 5000, 20000, &trace, err)) return false;
    std::string answer = PrintResult(prog.ops[b.op], trace.results[b.op]);
    if (answer.rfind(b.yes, 0) == 0) f->behaviours |= b.bit;
    else if (answer.rfind(b.no, 0) != 0) continue;
    f->behaviours_measured |= b.bit;
  }
  return true;
}

bool ExecutorClient::Run(const Program& prog, int program_timeout_ms, int reply_timeout_ms, Trace* out,
                         std::string* err) {
  return SendRun(prog, program_timeout_ms, err) && ReceiveTrace(prog.ops.size(), reply_timeout_ms, out, err);
}

bool ExecutorClient::SendRun(const Program& prog, int program_timeout_ms, std::string* err) {
  ByteWriter w;
  w.U64(static_cast<uint64_t>(program_timeout_ms));
  w.Bytes(EncodeProgram(prog));
  return Request(MsgType::kRun, w.buffer(), err);
}

bool ExecutorClient::ReceiveTrace(size_t nops, int reply_timeout_ms, Trace* out, std::string* err) {
  std::vector<uint8_t> reply;
  if (!Reply(MsgType::kTrace, reply_timeout_ms, &reply, err)) return false;
  ByteReader r(reply);
  if (!DecodeTrace(&r, out) || out->results.size() != nops) {
    *err = "executor sent a malformed trace";
    return false;
  }
  // Kernel coverage follows only from an executor that collected some.
  if (!r.done() && !DecodeKernelCoverage(&r, &out->kernel_cov)) {
    *err = "executor sent malformed kernel coverage after its trace";
    return false;
  }
  return true;
}

bool ExecutorClient::BareLoop(int ms, long* programs, std::string* err) {
  ByteWriter w;
  w.U64(static_cast<uint64_t>(ms));
  std::vector<uint8_t> reply;
  if (!Call(MsgType::kBareLoop, w.buffer(), MsgType::kBareCount, ms + 30000, &reply, err)) return false;
  ByteReader r(reply);
  uint64_t n;
  if (!r.U64(&n) || n == UINT64_MAX) {
    *err = "the bare loop failed in the executor";
    return false;
  }
  *programs = static_cast<long>(n);
  return true;
}

bool ExecutorClient::Timings(RunTimings* out, std::string* err) {
  std::vector<uint8_t> reply;
  if (!Call(MsgType::kTimings, {}, MsgType::kTimingsReply, 30000, &reply, err)) return false;
  ByteReader r(reply);
  if (!r.U64(&out->runs) || !r.U64(&out->setup_ns) || !r.U64(&out->program_ns) || !r.U64(&out->exit_ns) ||
      !r.U64(&out->after_ns) || !r.U64(&out->served_ns)) {
    *err = "executor sent malformed timings";
    return false;
  }
  return true;
}

bool ExecutorClient::RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args,
                               int timeout_ms, int reply_timeout_ms, BinaryRun* out, std::string* err) {
  ByteWriter w;
  w.U64(static_cast<uint64_t>(timeout_ms));
  w.U64(args.size());
  for (const std::string& a : args) w.Str(a);
  w.Bytes(binary);
  std::vector<uint8_t> reply;
  if (!Call(MsgType::kExecBinary, w.buffer(), MsgType::kBinaryRun, reply_timeout_ms, &reply, err)) return false;
  ByteReader r(reply);
  uint64_t code, sig;
  uint8_t timed_out;
  *out = BinaryRun{};
  if (!r.U64(&code) || !r.U64(&sig) || !r.U8(&timed_out) || !r.Str(&out->output) || !r.Str(&out->console) ||
      code > 256 || sig > 64) {
    *err = "executor sent a malformed binary-run result";
    return false;
  }
  out->exit_code = static_cast<int>(code) - 1;
  out->signal = static_cast<int>(sig);
  out->timed_out = timed_out != 0;
  return true;
}

void ExecutorClient::Quit() { channel_->Send(MsgType::kQuit, {}); }

}  // namespace mmdiff
