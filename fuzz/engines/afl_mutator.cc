// AFL++ custom mutator library (AFL_CUSTOM_MUTATOR_LIBRARY): AFL++'s havoc
// on bytes replaced by the Mutator's table on programs (fuzz/mutator.h).
// Run with AFL_CUSTOM_MUTATOR_ONLY=1: byte-level havoc would only produce
// inputs that do not decode.
//
// The interface (AFL++ docs/custom_mutators.md):
//   afl_custom_init(afl, seed)       -> our state; probes the kernel once
//                                       (a short-lived executor) for the profile
//   afl_custom_fuzz(data, buf, size, &out, add_buf, add_size, max_size)
//                                    -> size of *out: one mutation of buf;
//                                       add_buf (another queue entry) is the
//                                       splice partner
//   afl_custom_fuzz_count(data, buf, size)
//                                    -> how many afl_custom_fuzz per queue entry
//   afl_custom_describe(data, max)   -> the applied mutator's name, which AFL++
//                                       puts in the queue file's name
//   afl_custom_deinit(data)
// Built without AFL instrumentation: it runs inside afl-fuzz itself.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include "fuzz/engines/engine.h"
#include "fuzz/rng.h"

using namespace mmdiff;

namespace {

struct State {
  explicit State(KernelProfile profile) : mutator(std::move(profile), MutatorOptions{engine::kMaxOps, 16}) {}
  Mutator mutator;
  engine::Recent recent;
  Rng rng{0};
  std::vector<uint8_t> out;
  int last = -1;
  char description[64] = {};
};

}  // namespace

extern "C" void* afl_custom_init(void* /*afl*/, unsigned int seed) {
  State* s = new State(engine::ProbeProfile());
  s->rng = Rng(SplitMix64(seed));
  s->out.resize(engine::kMaxInputBytes);
  return s;
}

extern "C" size_t afl_custom_fuzz(void* data, uint8_t* buf, size_t buf_size, uint8_t** out_buf, uint8_t* add_buf,
                                  size_t add_buf_size, size_t max_size) {
  State* s = static_cast<State*>(data);
  size_t cap = std::min(max_size, s->out.size());
  std::span<const uint8_t> other;
  if (add_buf) other = {add_buf, add_buf_size};
  size_t n = 0;
  try {
    n = engine::MutateEncoded(&s->mutator, &s->recent, {buf, buf_size}, other, s->out.data(), cap, s->rng.Next(),
                              &s->last);
  } catch (const std::exception& e) {
    // A bug of the mutator or the model: say so, but keep the campaign (and
    // the other instances syncing with it) alive.
    std::fprintf(stderr, "mmdiff-afl-mutator: BUG: exception %s; input left unchanged\n", e.what());
    s->last = -1;
  }
  if (n == 0) {  // nothing fit: the input unchanged
    n = std::min(buf_size, cap);
    std::memcpy(s->out.data(), buf, n);
  }
  *out_buf = s->out.data();
  return n;
}

// Mutations per queue entry and round (AFL++ otherwise derives a havoc-sized
// count from the entry's score: thousands, at a few hundred programs a
// second a long stay on one entry).
extern "C" unsigned int afl_custom_fuzz_count(void* /*data*/, const uint8_t* /*buf*/, size_t /*buf_size*/) {
  return 128;
}

extern "C" const char* afl_custom_describe(void* data, size_t max_description_len) {
  State* s = static_cast<State*>(data);
  const char* name = s->last >= 0 ? Mutator::Names()[s->last] : "generate";
  std::snprintf(s->description, std::min(sizeof(s->description), max_description_len), "mmdiff-%s", name);
  return s->description;
}

extern "C" void afl_custom_deinit(void* data) {
  State* s = static_cast<State*>(data);
  // Per-mutator counts for whoever reads afl-fuzz's log.
  for (size_t i = 0; i < s->mutator.stats().size(); i++)
    std::fprintf(stderr, "mmdiff-afl-mutator: %-15s tried %llu applied %llu\n", Mutator::Names()[i],
                 static_cast<unsigned long long>(s->mutator.stats()[i].tried),
                 static_cast<unsigned long long>(s->mutator.stats()[i].applied));
  delete s;
}
