// N targets of one kind (N guests, or N local executors), each driven by its
// own thread: a program goes to whichever target is free.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "target/target.h"

namespace mmdiff {

class TargetPool {
 public:
  using Factory = std::function<std::unique_ptr<Target>(std::string* err)>;
  // Creates `n` targets with `factory`; false with `err` if one cannot start.
  bool Start(const Factory& factory, int n, std::string* err);
  Target* first() { return targets_.front().get(); }
  Target* at(int i) { return targets_[i].get(); }
  int size() const { return static_cast<int>(targets_.size()); }

  // Runs programs 0..count-1, `make(i)` building each (called on a worker
  // thread, so it must be thread-safe; an empty program is not run). `done` is called in index order, on
  // one thread at a time, with the trace or the target's error.
  using Make = std::function<Program(size_t)>;
  using Done = std::function<void(size_t, const Program&, bool ok, const Trace&, const std::string& err)>;
  void RunAll(size_t count, const Make& make, const Done& done);

 private:
  std::vector<std::unique_ptr<Target>> targets_;
};

}  // namespace mmdiff
