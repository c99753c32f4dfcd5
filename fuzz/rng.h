// The fuzzer's random source: the same numbers on every machine.
//
// std::mt19937_64's output sequence is fixed by the C++ standard; the
// standard distributions (std::uniform_int_distribution & co.) are not, so
// every draw here is computed by hand from the raw 64-bit outputs. A program
// generated from (seed, index) on one machine is the same program on any
// other, which is what makes a reported seed a reproducer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <span>

namespace mmdiff {

// SplitMix64's finalizer: mixes seeds so that nearby inputs (seed, seed+1,
// index, index+1) give unrelated generator states.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}

  uint64_t Next() { return gen_(); }

  // Uniform in [0, n); n > 0. Lemire's multiply-shift with rejection: exact,
  // and defined only in terms of Next().
  uint64_t Below(uint64_t n) {
    unsigned __int128 m = static_cast<unsigned __int128>(Next()) * n;
    uint64_t low = static_cast<uint64_t>(m);
    if (low < n) {
      uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<unsigned __int128>(Next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }
  // Uniform in [lo, hi]; lo <= hi.
  uint64_t Between(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }
  bool OneIn(uint64_t n) { return Below(n) == 0; }
  // True with probability num/den.
  bool Chance(uint64_t num, uint64_t den) { return Below(den) < num; }
  // An index drawn with probability weights[i] / sum; the sum must be > 0.
  size_t Weighted(std::span<const uint32_t> weights) {
    uint64_t total = 0;
    for (uint32_t w : weights) total += w;
    uint64_t x = Below(total);
    for (size_t i = 0; i < weights.size(); i++) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;  // unreachable
  }

 private:
  std::mt19937_64 gen_;
};

}  // namespace mmdiff
