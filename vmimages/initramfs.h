// An initramfs (newc cpio, uncompressed: every kernel accepts it) whose
// /init is the static executor, plus the kernel modules it must load.
#pragma once

#include <string>
#include <vector>

namespace mmdiff::vm {

// A raw image of `mib` MiB formatted ext4 (mkfs.ext4 from e2fsprogs): the
// guest's `file` slots must be regular files on a disk filesystem (on
// tmpfs they would be shmem, another memory kind).
bool MakeScratchDisk(const std::string& path, int mib, std::string* err);

// `modules` are .ko or .ko.xz paths in load order; they go to /modules/ as
// plain .ko files (ReadModule) with a /modules/load list
// (executor/guest_init.cc reads it). Written atomically
// (temporary file + rename). False with `err` set.
bool WriteInitramfs(const std::string& out_path, const std::string& executor_path,
                    const std::vector<std::string>& modules, std::string* err);

}  // namespace mmdiff::vm
