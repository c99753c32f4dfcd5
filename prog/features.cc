#include "prog/features.h"

#include <cinttypes>
#include <cstdio>

#include "prog/op_table.h"
#include "prog/text.h"

namespace mmdiff {

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
}

bool DecodeFeatures(ByteReader* r, KernelFeatures* out) {
  return r->Str(&out->release, 256) && r->U32(&out->features) && r->U64(&out->uffd_api_features) &&
         r->U32(&out->scan_categories) && r->Str(&out->thp_mode, 64) && r->U64(&out->hugetlb_free) &&
         r->U64(&out->swap_total_kb) && r->U64(&out->fault_around_bytes) &&
         r->Str(&out->file_fs, 64);
}

std::string PrintFeatures(const KernelFeatures& f) {
  std::string out = "kernel: " + f.release + "\n";
  for (size_t bit = 0; bit < FeatureNames().size(); bit++)
    out += std::string(FeatureNames()[bit]) + ": " + ((f.features >> bit) & 1 ? "yes" : "no") + "\n";
  char buf[64];
  snprintf(buf, sizeof buf, "0x%" PRIx64, f.uffd_api_features);
  out += std::string("uffd_api_features: ") + buf + "\n";
  out += "scan_categories: " + (f.scan_categories ? CategoryList(f.scan_categories) : "none") + "\n";
  out += "thp_mode: " + f.thp_mode + "\n";
  out += "hugetlb_free_pages: " + std::to_string(f.hugetlb_free) + "\n";
  out += "swap_total_kb: " + std::to_string(f.swap_total_kb) + "\n";
  out += "file_slots_fs: " + (f.file_fs.empty() ? std::string("unknown") : f.file_fs) + "\n";
  out += "fault_around_bytes: " +
         (f.fault_around_bytes ? std::to_string(f.fault_around_bytes) : std::string("unknown")) + "\n";
  return out;
}

}  // namespace mmdiff
