#include "fuzz/engine_input.h"

#include "fuzz/generator.h"
#include "fuzz/mutator.h"
#include "prog/binary.h"

namespace mmdiff {

bool DecodeEngineInput(std::span<const uint8_t> data, const KernelProfile& profile, Program* out) {
  if (data.size() > kEngineMaxInputBytes) return false;
  if (data.size() <= 1) {
    // So that a campaign without seeds has coverage to start from.
    GeneratorOptions g;
    g.profile = profile;
    *out = Generator(g).Generate(0);
  } else if (!DecodeProgram(data, out) || out->ops.empty()) {
    return false;
  }
  return KeepModelled(out, profile, kEngineMaxOps, nullptr) && !out->ops.empty();
}

}  // namespace mmdiff
