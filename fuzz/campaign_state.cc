#include "fuzz/campaign_state.h"

#include <time.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mmdiff {
namespace {

// The value after `"key": ` in `json` (from `from`), or npos.
size_t ValueAt(const std::string& json, const std::string& key, size_t from = 0) {
  size_t at = json.find("\"" + key + "\": ", from);
  return at == std::string::npos ? at : at + key.size() + 4;
}

bool Number(const std::string& json, const std::string& key, double* out, size_t from = 0) {
  size_t at = ValueAt(json, key, from);
  if (at == std::string::npos) return false;
  char* end;
  *out = strtod(json.c_str() + at, &end);
  return end != json.c_str() + at;
}

// A JSON string at `at` (the opening quote); the writer escapes only '"' and '\'.
bool String(const std::string& json, size_t at, std::string* out, size_t* after) {
  if (at >= json.size() || json[at] != '"') return false;
  out->clear();
  for (size_t i = at + 1; i < json.size(); i++) {
    if (json[i] == '\\' && i + 1 < json.size()) {
      *out += json[++i];
    } else if (json[i] == '"') {
      *after = i + 1;
      return true;
    } else {
      *out += json[i];
    }
  }
  return false;
}

uint64_t U64(double d) { return d > 0 ? static_cast<uint64_t>(d) : 0; }

}  // namespace

void CampaignTally::Add(const Judgement& j) {
  if (j.kind == Judgement::Kind::kLimit) {
    limits++;
    return;
  }
  consistency_checks += j.verdict.consistency.checks;
  consistency_skipped += j.verdict.consistency.skipped;
  consistency_excused += j.verdict.consistency.excused;
  consistency_split += j.verdict.consistency.split;
  consistency_huge += j.verdict.consistency.huge;
  consistency_mask += j.verdict.consistency.mask;
  if (j.kind == Judgement::Kind::kSkip) {
    unmodelled[UnmodelledReason(j)]++;
    return;
  }
  judged++;
  for (int a = 0; a < kNumAllowances; a++) granted[a] += j.verdict.granted[a], taken[a] += j.verdict.taken[a];
}

uint64_t CampaignTally::unmodelled_total() const {
  uint64_t n = 0;
  for (const auto& [reason, count] : unmodelled) n += count;
  return n;
}

std::string CampaignTally::Json() const {
  std::string json = "  \"judged\": " + std::to_string(judged) + ",\n  \"limits\": " + std::to_string(limits) +
                     ",\n  \"consistency_checks\": " + std::to_string(consistency_checks) +
                     ",\n  \"consistency_skipped\": " + std::to_string(consistency_skipped) +
                     ",\n  \"consistency_excused\": " + std::to_string(consistency_excused) +
                     ",\n  \"consistency_split_checks\": " + std::to_string(consistency_split) +
                     ",\n  \"consistency_huge_checks\": " + std::to_string(consistency_huge) +
                     ",\n  \"consistency_mask_checks\": " + std::to_string(consistency_mask) +
                     ",\n  \"kernel_compare_checks\": " + std::to_string(kernel_compare_checks) +
                     ",\n  \"kernel_compare_skipped\": " + std::to_string(kernel_compare_skipped) +
                     ",\n  \"kernel_compare_explained\": " + std::to_string(kernel_compare_explained) +
                     ",\n  \"unmodelled\": {";
  const char* sep = "";
  for (const auto& [reason, count] : unmodelled) {
    std::string quoted;
    for (char c : reason) quoted += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    json += sep + ("\"" + quoted + "\": ") + std::to_string(count);
    sep = ", ";
  }
  json += "},\n  \"allowances\": {";
  for (int a = 0; a < kNumAllowances; a++)
    json += std::string(a ? ", " : "") + "\"" + std::string(AllowanceName(static_cast<Allowance>(a))) +
            "\": {\"granted\": " + std::to_string(granted[a]) + ", \"taken\": " + std::to_string(taken[a]) + "}";
  return json + "}";
}

std::string UnmodelledReason(const Judgement& j) {
  // The checker's note is `op N "OP": REASON`; printed ops hold no quotes.
  size_t at = j.line.find("\": ");
  if (j.line.rfind("unmodelled: ", 0) == 0 && at != std::string::npos) return j.line.substr(at + 3);
  return j.line;
}

std::string IsoTimeUtc(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int64_t ParseIsoTimeUtc(const std::string& s) {
  struct tm tm = {};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool ReadCampaignHistory(const std::string& path, CampaignHistory* out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string json = ss.str();
  double d;
  *out = CampaignHistory{};
  if (!Number(json, "execs", &d)) return false;
  out->execs = U64(d);
  if (Number(json, "elapsed_s", &d) && d > 0) out->elapsed_s = d;
  if (Number(json, "restarts", &d)) out->restarts = U64(d);
  if (Number(json, "judged", &d)) out->tally.judged = U64(d);
  if (Number(json, "limits", &d)) out->tally.limits = U64(d);
  if (Number(json, "consistency_checks", &d)) out->tally.consistency_checks = U64(d);
  if (Number(json, "consistency_skipped", &d)) out->tally.consistency_skipped = U64(d);
  if (Number(json, "consistency_excused", &d)) out->tally.consistency_excused = U64(d);
  if (Number(json, "consistency_split_checks", &d)) out->tally.consistency_split = U64(d);
  if (Number(json, "consistency_huge_checks", &d)) out->tally.consistency_huge = U64(d);
  if (Number(json, "consistency_mask_checks", &d)) out->tally.consistency_mask = U64(d);
  if (Number(json, "kernel_compare_checks", &d)) out->tally.kernel_compare_checks = U64(d);
  if (Number(json, "kernel_compare_skipped", &d)) out->tally.kernel_compare_skipped = U64(d);
  if (Number(json, "kernel_compare_explained", &d)) out->tally.kernel_compare_explained = U64(d);
  std::string text;
  size_t after;
  if (size_t at = ValueAt(json, "started"); at != std::string::npos && String(json, at, &text, &after))
    out->started = ParseIsoTimeUtc(text);
  if (size_t at = ValueAt(json, "last_new_finding"); at != std::string::npos && String(json, at, &text, &after))
    out->last_new_finding = ParseIsoTimeUtc(text);
  // "unmodelled": {"reason": N, ...}
  if (size_t at = ValueAt(json, "unmodelled"); at != std::string::npos && json[at] == '{') {
    size_t i = at + 1;
    for (;;) {
      while (i < json.size() && (json[i] == ' ' || json[i] == '\n' || json[i] == ',')) i++;
      std::string reason;
      if (!String(json, i, &reason, &after) || json.compare(after, 2, ": ") != 0) break;
      char* end;
      out->tally.unmodelled[reason] = strtoull(json.c_str() + after + 2, &end, 10);
      i = end - json.c_str();
    }
  }
  // "allowances": {"NAME": {"granted": G, "taken": T}, ...}
  if (size_t at = ValueAt(json, "allowances"); at != std::string::npos) {
    for (int a = 0; a < kNumAllowances; a++) {
      size_t entry = ValueAt(json, std::string(AllowanceName(static_cast<Allowance>(a))), at);
      if (entry == std::string::npos) continue;
      if (Number(json, "granted", &d, entry)) out->tally.granted[a] = U64(d);
      if (Number(json, "taken", &d, entry)) out->tally.taken[a] = U64(d);
    }
  }
  return true;
}

}  // namespace mmdiff
