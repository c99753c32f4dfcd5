// The floor a harness is measured against: the benchmark's fixed 10-op
// program as straight-line C, one fork per program, on this kernel.
#pragma once

namespace mmdiff::exec {

// The program the bare loop hard-codes, in .mmp text; benchmarks run it
// through mmdiff for the other side of the ratio.
extern const char kBareLoopProgram[];

// Runs the bare program in a loop for `seconds`; returns programs run, or -1
// if one failed.
long RunBareLoop(double seconds);

}  // namespace mmdiff::exec
