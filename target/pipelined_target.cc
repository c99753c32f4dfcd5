#include "target/pipelined_target.h"

#include <utility>

namespace mmdiff {

void PipelinedTarget::Settle() {
  if (!in_flight_) return;
  in_flight_ = false;
  kept_trace_ = Trace{};
  kept_err_.clear();
  kept_ok_ = inner_->Receive(&kept_trace_, &kept_err_);
  kept_ = true;
}

bool PipelinedTarget::Send(const Program& prog, std::string* err) {
  Settle();
  if (kept_) {
    // Two Sends without a Receive: the caller lost a trace.
    *err = "a program was sent while the trace of the one before was not taken";
    return false;
  }
  in_flight_ = inner_->Send(prog, err);
  return in_flight_;
}

bool PipelinedTarget::Receive(Trace* out, std::string* err) {
  if (kept_) {
    kept_ = false;
    *out = std::move(kept_trace_);
    *err = std::move(kept_err_);
    return kept_ok_;
  }
  if (!in_flight_) {
    *err = "no program was sent";
    return false;
  }
  in_flight_ = false;
  return inner_->Receive(out, err);
}

bool PipelinedTarget::Run(const Program& prog, Trace* out, std::string* err) {
  Settle();
  return inner_->Run(prog, out, err);
}

bool PipelinedTarget::Probe(KernelFeatures* out, std::string* err) {
  Settle();
  return inner_->Probe(out, err);
}

bool PipelinedTarget::BareLoop(int ms, long* programs, std::string* err) {
  Settle();
  return inner_->BareLoop(ms, programs, err);
}

bool PipelinedTarget::Timings(RunTimings* out, std::string* err) {
  Settle();
  return inner_->Timings(out, err);
}

bool PipelinedTarget::RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args,
                                int timeout_ms, BinaryRun* out, std::string* err) {
  Settle();
  return inner_->RunBinary(binary, args, timeout_ms, out, err);
}

}  // namespace mmdiff
