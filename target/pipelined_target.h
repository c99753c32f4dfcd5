// A target with programs in flight while its caller works: a campaign's
// worker keeps the kernel's next programs sent (up to the target's
// MaxInFlight()) and judges the one before on the model meanwhile
// (fuzz/campaign.cc Worker). The kernel still runs
// one program at a time, each after the one before ended, as with Run; the
// executor finds the next request waiting instead of waiting for it.
#pragma once

#include <deque>
#include <string>

#include "target/target.h"

namespace mmdiff {

class PipelinedTarget : public Target {
 public:
  // `depth`: at most this many in flight (0: as many as `inner` takes).
  explicit PipelinedTarget(Target* inner, int depth = 0)
      : inner_(inner), depth_(depth > 0 && depth < inner->MaxInFlight() ? depth : inner->MaxInFlight()) {}

  // One more program: sent now, its trace taken by Receive, in the order
  // sent. False (an error, no program sent) when MaxInFlight() are in flight.
  bool Send(const Program& prog, std::string* err) override;
  // The oldest program's trace. False when the target failed: then every
  // program still in flight is lost with it (in_flight() says none is).
  bool Receive(Trace* out, std::string* err) override;
  // Programs sent and not yet received.
  int in_flight() const { return in_flight_ + static_cast<int>(kept_.size()); }
  // Every other call first takes the traces of the programs in flight, and
  // keeps them for Receive: a finding's re-run while the next programs run
  // waits for them, then runs.
  bool Run(const Program& prog, Trace* out, std::string* err) override;
  bool Probe(KernelFeatures* out, std::string* err) override;
  bool BareLoop(int ms, long* programs, std::string* err) override;
  bool Timings(RunTimings* out, std::string* err) override;
  bool RunBinary(const std::vector<uint8_t>& binary, const std::vector<std::string>& args, int timeout_ms,
                 BinaryRun* out, std::string* err) override;
  std::string ChannelInUse() const override { return inner_->ChannelInUse(); }
  int MaxInFlight() const override { return depth_; }

 private:
  struct Kept {
    bool ok;
    Trace trace;
    std::string err;
  };
  void Settle();

  Target* inner_;
  int depth_;
  int in_flight_ = 0;      // sent to inner_, not received from it
  std::deque<Kept> kept_;  // received by Settle, not yet by the caller (older than those in flight)
};

}  // namespace mmdiff
