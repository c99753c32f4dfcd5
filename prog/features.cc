#include "prog/features.h"

#include <cinttypes>
#include <cstdio>

#include "prog/behaviour.h"
#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff {

namespace {

// A signed value written as U64 (-1: unknown).
bool DecodeI32(ByteReader* r, int32_t* out) {
  uint64_t v;
  if (!r->U64(&v)) return false;
  *out = static_cast<int32_t>(static_cast<int64_t>(v));
  return true;
}

}  // namespace

void EncodeFeatures(const KernelFeatures& f, ByteWriter* w) {
  w->Str(f.release);
  w->U64(f.features);
  w->U64(f.uffd_api_features);
  w->U64(f.scan_categories);
  w->Str(f.thp_mode);
  w->U64(f.hugetlb_free);
  w->U64(f.swap_total_kb);
  w->U64(f.fault_around_bytes);
  w->Str(f.file_fs);
  w->U64(f.broken);
  w->Str(f.broken_why);
  w->U64(f.mem_total_kb);
  w->U64(static_cast<uint64_t>(static_cast<int64_t>(f.overcommit_memory)));
  w->U64(f.behaviours);
  w->U64(f.behaviours_measured);
  w->U64(static_cast<uint64_t>(static_cast<int64_t>(f.khugepaged_max_ptes_none)));
  w->U64(static_cast<uint64_t>(static_cast<int64_t>(f.khugepaged_max_ptes_swap)));
  w->U64(static_cast<uint64_t>(static_cast<int64_t>(f.khugepaged_max_ptes_shared)));
}

bool DecodeFeatures(ByteReader* r, KernelFeatures* out) {
  return r->Str(&out->release, 256) && r->U32(&out->features) && r->U64(&out->uffd_api_features) &&
         r->U32(&out->scan_categories) && r->Str(&out->thp_mode, 64) && r->U64(&out->hugetlb_free) &&
         r->U64(&out->swap_total_kb) && r->U64(&out->fault_around_bytes) &&
         r->Str(&out->file_fs, 64) && r->U32(&out->broken) && r->Str(&out->broken_why, 4096) &&
         r->U64(&out->mem_total_kb) && DecodeI32(r, &out->overcommit_memory) &&
         r->U32(&out->behaviours) && r->U32(&out->behaviours_measured) &&
         DecodeI32(r, &out->khugepaged_max_ptes_none) && DecodeI32(r, &out->khugepaged_max_ptes_swap) &&
         DecodeI32(r, &out->khugepaged_max_ptes_shared);
}

std::string PrintFeatures(const KernelFeatures& f) {
  std::string out = "kernel: " + f.release + "\n";
  for (size_t bit = 0; bit < FeatureNames().size(); bit++) {
    out += std::string(FeatureNames()[bit]) + ": " + ((f.features >> bit) & 1 ? "yes" : "no");
    if ((f.broken >> bit) & 1) out += " (PRESENT BUT BROKEN: its self-check failed; a kernel bug)";
    out += "\n";
  }
  if (!f.broken_why.empty()) out += f.broken_why;
  char buf[64];
  snprintf(buf, sizeof buf, "0x%" PRIx64, f.uffd_api_features);
  out += std::string("uffd_api_features: ") + buf + "\n";
  out += "scan_categories: " + (f.scan_categories ? CategoryList(f.scan_categories) : "none") + "\n";
  out += "thp_mode: " + f.thp_mode + "\n";
  out += "hugetlb_free_pages: " + std::to_string(f.hugetlb_free) + "\n";
  out += "swap_total_kb: " + std::to_string(f.swap_total_kb) + "\n";
  auto knob = [](int32_t v) { return v < 0 ? std::string("unknown") : std::to_string(v); };
  out += "khugepaged_max_ptes_none: " + knob(f.khugepaged_max_ptes_none) + "\n";
  out += "khugepaged_max_ptes_swap: " + knob(f.khugepaged_max_ptes_swap) + "\n";
  out += "khugepaged_max_ptes_shared: " + knob(f.khugepaged_max_ptes_shared) + "\n";
  out += "file_slots_fs: " + (f.file_fs.empty() ? std::string("unknown") : f.file_fs) + "\n";
  out += "fault_around_bytes: " +
         (f.fault_around_bytes ? std::to_string(f.fault_around_bytes) : std::string("unknown")) + "\n";
  out += "mem_total_kb: " + std::to_string(f.mem_total_kb) + "\n";
  out += "overcommit_memory: " +
         (f.overcommit_memory < 0 ? std::string("unknown") : std::to_string(f.overcommit_memory)) + "\n";
  for (const BehaviourProbe& b : BehaviourProbes())
    out += std::string("behaviour ") + b.name + ": " +
           (!(f.behaviours_measured & b.bit) ? "unmeasured" : (f.behaviours & b.bit) ? "yes" : "no") + "\n";
  return out;
}

}  // namespace mmdiff
