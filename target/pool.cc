#include "target/pool.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

namespace mmdiff {

bool TargetPool::Start(const Factory& factory, int n, std::string* err) {
  for (int i = 0; i < n; i++) {
    auto t = factory(err);
    if (!t) return false;
    targets_.push_back(std::move(t));
  }
  return true;
}

void TargetPool::RunAll(size_t count, const Make& make, const Done& done) {
  struct Finished {
    Program prog;
    bool ok;
    Trace trace;
    std::string err;
  };
  std::mutex mu;
  std::condition_variable room;
  size_t next = 0;        // next program to hand out
  size_t reported = 0;    // programs passed to `done`
  std::map<size_t, Finished> pending;  // finished out of order, waiting for their turn
  // Bound the reorder buffer so a slow program does not pile up the rest.
  const size_t window = 64 * targets_.size();
  auto worker = [&](Target* target) {
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        room.wait(lock, [&] { return next >= count || next < reported + window; });
        if (next >= count) return;
        i = next++;
      }
      Finished f{make(i), true, {}, {}};
      if (!f.prog.ops.empty()) f.ok = target->Run(f.prog, &f.trace, &f.err);
      std::unique_lock<std::mutex> lock(mu);
      pending.emplace(i, std::move(f));
      // Whoever completes the next index in order reports it (and any that follow).
      while (!pending.empty() && pending.begin()->first == reported) {
        Finished g = std::move(pending.begin()->second);
        pending.erase(pending.begin());
        done(reported, g.prog, g.ok, g.trace, g.err);
        reported++;
      }
      room.notify_all();
    }
  };
  std::vector<std::thread> threads;
  for (auto& t : targets_) threads.emplace_back(worker, t.get());
  for (auto& th : threads) th.join();
}

}  // namespace mmdiff
