#include "target/pipelined_target.h"

#include <utility>

namespace mmdiff {

void PipelinedTarget::Settle() {
  while (in_flight_ > 0) {
    Kept k;
    bool ok = k.ok = inner_->Receive(&k.trace, &k.err);
    in_flight_--;
    kept_.push_back(std::move(k));
    if (!ok) in_flight_ = 0;  // the rest are lost with the target; the caller hears it at this one
  }
}

bool PipelinedTarget::Send(const Program& prog, std::string* err) {
  if (in_flight() >= depth_) {
    *err = "a program was sent while " + std::to_string(depth_) + " were in flight";
    return false;
  }
  if (!inner_->Send(prog, err)) return false;
  in_flight_++;
  return true;
}

bool PipelinedTarget::Receive(Trace* out, std::string* err) {
  if (!kept_.empty()) {
    Kept k = std::move(kept_.front());
    kept_.pop_front();
    *out = std::move(k.trace);
    *err = std::move(k.err);
    return k.ok;
  }
  if (in_flight_ == 0) {
    *err = "no program was sent";
    return false;
  }
  in_flight_--;
  if (inner_->Receive(out, err)) return true;
  in_flight_ = 0;  // the target failed: the programs sent after this one are lost with it
  return false;
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
