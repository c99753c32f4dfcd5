// Kernel modules a guest must load, resolved without depmod: a distribution
// kernel package ships .ko files but no modules.dep (depmod runs at install).
#pragma once

#include <string>
#include <vector>

namespace mmdiff::vm {

// Paths of `wanted` modules and everything they depend on (each .ko's
// `depends=` modinfo string), in load order, found under `modules_dir`
// (a /lib/modules/VERSION tree). False with `err` naming a missing module.
bool ModuleLoadOrder(const std::string& modules_dir, const std::vector<std::string>& wanted,
                     std::vector<std::string>* out, std::string* err);

}  // namespace mmdiff::vm
