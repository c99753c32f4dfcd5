// Consistency of the model state, checked by the tests after every step.
#pragma once

#include <optional>
#include <string>

#include "model/model.h"

namespace mmdiff {

// nullopt when consistent; else the first violated invariant, one line.
// Checks: VMAs sorted, non-empty, non-overlapping, inside the arena, with
// valid backing objects and uffd contexts; PTEs only inside VMAs and inside a
// present page-table slot; zero page only in private anonymous VMAs; anon
// pages never in shared VMAs; page-cache PTEs map the page the file caches at
// that offset; uffd-wp markers only in uffd-wp VMAs that use markers; guard
// markers only on kernels with guard regions; mapcounts and references equal
// what the PTEs and page caches hold; exited processes hold nothing.
std::optional<std::string> CheckInvariants(const Model& model);

}  // namespace mmdiff
