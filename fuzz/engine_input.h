// What an engine's input (a libFuzzer or AFL++ test case) means as a
// program: the one decoding the harness runs (fuzz/engines/harness.cc) and
// `mmdiff merge` uses on the engines' crash files, so a crash file re-run by
// merge is exactly the program the engine ran.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "model/profile.h"
#include "prog/program.h"

namespace mmdiff {

// Programs the engines run and produce are cut to this many ops.
constexpr size_t kEngineMaxOps = 60;
// Inputs larger than this are rejected without decoding (60 ops encode in
// well under 1 KiB).
constexpr size_t kEngineMaxInputBytes = 16 << 10;

// The program input `data` stands for on a kernel of `profile`: inputs of 0
// or 1 byte (libFuzzer's first input without seeds is "\n") are generated
// program 0; anything else is decoded (prog/binary.h) and then kept to what
// the model models (KeepModelled: deterministic, so an input always means
// the same program). False when it is too large, does not decode, or
// nothing modelled is left.
bool DecodeEngineInput(std::span<const uint8_t> data, const KernelProfile& profile, Program* out);

}  // namespace mmdiff
