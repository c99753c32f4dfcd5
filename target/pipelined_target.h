// A target with one program in flight while its caller works: a campaign's
// worker sends the next program, then judges the one before on the model
// while the kernel runs it (fuzz/campaign.cc Worker). The kernel still runs
// one program at a time, each after the one before ended, as with Run.
#pragma once

#include <string>

#include "target/target.h"

namespace mmdiff {

class PipelinedTarget : public Target {
 public:
  explicit PipelinedTarget(Target* inner) : inner_(inner) {}

  // The next program: sent now, its trace taken by Receive.
  bool Send(const Program& prog, std::string* err) override;
  bool Receive(Trace* out, std::string* err) override;
  // Every other call first takes the trace of the program in flight, and
  // keeps it for Receive: a finding's re-run while the next program runs
  // waits for that program, then runs.
  bool Run(const Program& prog, Trace* out, std::string* err) override;
  bool Probe(KernelFeatures* out, std::string* err) override;
  bool BareLoop(int ms, long* programs, std::string* err) override;
  bool Timings(RunTimings* out, std::string* err) override;
  bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
                 BinaryRun* out, std::string* err) override;
  std::string ChannelInUse() const override { return inner_->ChannelInUse(); }

 private:
  void Settle();

  Target* inner_;
  bool in_flight_ = false;  // a program was sent, its trace not taken
  bool kept_ = false;       // Settle took it: kept_ok_, kept_trace_, kept_err_ are Receive's answer
  bool kept_ok_ = false;
  Trace kept_trace_;
  std::string kept_err_;
};

}  // namespace mmdiff
