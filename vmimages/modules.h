// Kernel modules a guest must load, resolved without depmod: a distribution
// kernel package ships .ko files but no modules.dep (depmod runs at install).
#pragma once

#include <string>
#include <vector>

namespace mmdiff::vm {

// Paths of `wanted` modules and everything they depend on (each module's
// `depends=` modinfo string), in load order, found under `modules_dir` (a
// /lib/modules/VERSION tree of .ko or .ko.xz files). A module the kernel has
// built in (listed in modules.builtin: Debian 6.12 builds virtio_pci and
// virtio_console in, 6.1 does not) needs no loading and is left out. False
// with `err` naming a missing module.
// `optional` modules are added (with what they need) when the tree has them,
// skipped when it does not.
bool ModuleLoadOrder(const std::string& modules_dir, const std::vector<std::string>& wanted,
                     std::vector<std::string>* out, std::string* err,
                     const std::vector<std::string>& optional = {});

// A module file's contents as finit_module takes them: a .ko.xz is
// decompressed here (with xz, from xz-utils), so the guest loads plain .ko
// files whatever its kernel's CONFIG_MODULE_COMPRESS, and does not spend
// TCG time decompressing. `name` is the file name the guest should see.
bool ReadModule(const std::string& path, std::string* data, std::string* name, std::string* err);

}  // namespace mmdiff::vm
