// mmdiff fuzz: a campaign. Thin: fuzz/campaign.h does the work.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/programs.h"
#include "cli/targets.h"
#include "fuzz/campaign.h"
#include "fuzz/corpus_min.h"
#include "fuzz/mutator.h"
#include "model/mutant.h"
#include "prog/text.h"

namespace mmdiff::cli {
namespace {

const char kFuzzUsage[] =
    "usage: mmdiff fuzz [--target local|qemu] [--guest G | --kernel K] [--vms N]\n"
    "                   [--jobs N] [--minutes M | --execs N] [--out DIR] [--seed S]\n"
    "                   [--corpus DIR]\n"
    "       mmdiff fuzz --kernel A --kernel B | --guest 6.1 --guest 6.12 |\n"
    "                   --target local --kernel B [--vms N] [...]\n"
    "       mmdiff fuzz --minimize-corpus [--out DIR] [--target ...]\n"
    "\n"
    "A fuzzing campaign: programs generated and mutated, run on the target,\n"
    "every result checked against the model. Runs until Ctrl-C (or the limit),\n"
    "with a status line every few seconds. A divergence is re-run to confirm\n"
    "it, then recorded once per signature in DIR/findings/NAME/ (program.mmp,\n"
    "divergence.txt, meta.txt with the hit count; min.mmp, repro.c and the\n"
    "linux-mm report.txt once minimized); ones that do not reproduce every\n"
    "time go to DIR/flaky/. Programs reaching new model-state coverage are kept\n"
    "in DIR/corpus/ and a later run with the same --out resumes from them.\n"
    "DIR/stats.json follows the status line. Everything is written atomically.\n"
    "One campaign per DIR: a second one on the same DIR exits with status 2\n"
    "(DIR/lock). A campaign resumed on the same DIR continues the corpus, the\n"
    "counts and the elapsed time of stats.json: execs, restarts, judged (programs\n"
    "the model checked), unmodelled (skipped programs by the model's reason),\n"
    "allowances (NAME: granted, taken), started, updated and last_new_finding\n"
    "(ISO 8601 UTC, null before the first finding). The status line shows\n"
    "judged, unmodelled and each granted allowance as NAME taken/granted.\n"
    "Exit status: 0 when this run hit no confirmed finding, 1 when it did (a\n"
    "new one or one already recorded in DIR), 2 on bad usage or a DIR in use.\n"
    "A --model-mutant campaign's findings are labelled as self-tests (their\n"
    "signature, meta.txt, min.mmp, repro.c and the report's subject), so\n"
    "`mmdiff merge` never folds them into real ones.\n"
    "\n"
    "Kernel against kernel: given two kernels (--kernel twice, --guest twice,\n"
    "one of each, or --target local with one --guest or --kernel: the host\n"
    "against a guest), every program runs on both, each trace is checked\n"
    "against the model with its own kernel's profile (divergences of either\n"
    "kernel are findings), and the first op the two answer differently is a\n"
    "finding of its own, kernel-differs, naming both kernels with both traces\n"
    "in its report.txt, when the model allows the answer on neither kernel or\n"
    "on only one. Where it allows both (a latitude; features or behaviours the\n"
    "two probes measured differently) it is not a finding; where the model does\n"
    "not judge one of them it is skipped, unless both kernels have the same\n"
    "profile. stats.json counts kernel_compare_checks, kernel_compare_skipped\n"
    "and kernel_compare_explained. --vms N (or --jobs N) targets of each;\n"
    "--model-mutant applies to both models.\n"
    "\n"
    "  --out DIR      output directory (default mmdiff-out)\n"
    "  --minutes M    stop after M minutes (of this run)\n"
    "  --execs N      run exactly N programs in this run (triage and\n"
    "                 confirmation runs included), then stop\n"
    "  --seed S       the campaign's seed (default: from getrandom; printed)\n"
    "  --jobs N       N executors on the local kernel (--target local)\n"
    "  --vms N        N guests (--target qemu)\n"
    "  --corpus DIR   seed programs (.mmp); default: the project's corpus/ if found\n"
    "  --until-found  stop at the first confirmed finding, once it is minimized\n"
    "  --no-minimize  do not minimize new findings (by default a background\n"
    "                 minimizer on a target of its own writes min.mmp, repro.c\n"
    "                 and report.txt, the linux-mm report, into each finding)\n"
    "  --no-quirks    allow no known kernel quirk (corpus/QUIRKS.md): a known quirk\n"
    "                 is a divergence again, a finding\n"
    "  --no-kcov      no kernel coverage: by default a guest kernel with KCOV\n"
    "                 (vmimages/build-kernel's) reports each program's kernel edges\n"
    "                 (KCOV_TRACE_PC), and programs reaching new ones join the\n"
    "                 corpus beside new model-state coverage (stats.json\n"
    "                 kernel_coverage, the status line's kcov). Kernels without\n"
    "                 KCOV (Debian's, the host) collect nothing either way\n"
    "  --minimize-corpus  no campaign: run every program of DIR/corpus once and\n"
    "                 keep the smallest set with the same model-state coverage\n"
    "                 (greedy set cover); the others move to DIR/corpus.removed/.\n"
    "                 Prints the counts before and after\n"
    "\n"
    "Model mutants for --model-mutant (the self-test: a campaign on a correct\n"
    "kernel must find the broken rule):\n";

// Kernel against kernel: the two kernels `fuzz` compares, each as the Args
// of a one-kernel command: `--kernel A --kernel B`, `--guest 6.1 --guest
// 6.12`, a mix of the two, or `--target local` with one --guest or --kernel
// (the host against a guest). Empty `sides`: one kernel, no comparison.
// False with `err` for more than two kernels.
bool CompareSides(const Args& args, std::vector<Args>* sides, std::vector<std::string>* labels, std::string* err) {
  std::vector<std::pair<std::string, std::string>> specs;
  for (const auto& [name, value] : args.ordered)
    if (name == "guest" || name == "kernel") specs.push_back({name, value});
  bool local = args.Get("target") == "local";
  if (specs.size() + (local ? 1 : 0) < 2) return true;
  if (specs.size() + (local ? 1 : 0) > 2) {
    *err = "compare two kernels at most: '--" + specs.back().first + " " + specs.back().second + "' is a third";
    return false;
  }
  if (!args.Get("target", "qemu").empty() && args.Get("target", "qemu") != "qemu" && !local) {
    *err = "unknown target '" + args.Get("target") + "' (known: local, qemu)";
    return false;
  }
  if (local) {
    Args host = args;
    host.values.erase("guest"), host.values.erase("kernel");
    sides->push_back(host);
    labels->push_back("host");
  }
  for (const auto& [name, value] : specs) {
    Args side = args;
    side.values.erase("guest"), side.values.erase("kernel");
    side.values[name] = value;
    side.values["target"] = "qemu";
    sides->push_back(side);
    labels->push_back(name + " " + value);
  }
  return true;
}

std::atomic<bool> g_stop{false};

void OnSigint(int) {
  g_stop.store(true);
  signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends at once; findings are already on disk
}

}  // namespace

int FuzzCommand(int argc, char** argv) {
  Args args;
  std::string err;
  auto value_flags = TargetValueFlags();
  value_flags.insert({"vms", "jobs", "minutes", "execs", "out", "seed", "corpus"});
  auto switch_flags = TargetSwitchFlags();
  switch_flags.insert({"until-found", "no-minimize", "no-quirks", "minimize-corpus", "no-kcov"});
  if (!ParseArgs(argc, argv, value_flags, switch_flags, &args, &err)) {
    fprintf(stderr, "mmdiff fuzz: %s\n%s%s", err.c_str(), kFuzzUsage, kTargetFlagsHelp);
    return 2;
  }
  if (args.Has("help")) {
    printf("%s", kFuzzUsage);
    for (const MutantInfo& m : AllMutants())
      printf("  %-28s breaks: %s%s\n", m.name, m.rule, m.needs ? (" (needs " + FeatureList(m.needs) + ")").c_str() : "");
    printf("\n%s", kTargetFlagsHelp);
    return 0;
  }
  if (!args.positional.empty()) {
    fprintf(stderr, "mmdiff fuzz: unexpected argument '%s'\n", args.positional[0].c_str());
    return 2;
  }
  int minutes, execs, seed, jobs;
  if (!args.GetInt("minutes", 0, &minutes, &err) || !args.GetInt("execs", 0, &execs, &err) ||
      !args.GetInt("seed", 0, &seed, &err) || !args.GetInt("jobs", 1, &jobs, &err)) {
    fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
    return 2;
  }
  std::vector<Args> sides;
  std::vector<std::string> labels;
  if (!CompareSides(args, &sides, &labels, &err)) {
    fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
    return 2;
  }
  std::string target = TargetName(args);
  if (target == "model") {
    fprintf(stderr, "mmdiff fuzz: a campaign needs a kernel: --target local or qemu\n");
    return 2;
  }
  TargetPool pool, second_pool;
  KernelProfile profile, second_profile;
  // The campaign's targets collect kernel coverage unless --no-kcov (a
  // guest kernel without KCOV sends none); the minimizer's never does.
  TargetOptions base;
  base.kernel_coverage = !args.Has("no-kcov");
  if (!sides.empty()) {
    // Kernel against kernel: N targets of each (--vms or --jobs, default 1).
    int n;
    if (!args.GetInt(args.values.count("vms") ? "vms" : "jobs", 1, &n, &err)) {
      fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
      return 2;
    }
    TargetPool* pools[2] = {&pool, &second_pool};
    KernelProfile* profiles[2] = {&profile, &second_profile};
    for (int k = 0; k < 2; k++) {
      TargetOptions check;
      const Args& side = sides[k];
      if (!TargetOptionsFromArgs(side, &check, &err) ||
          !pools[k]->Start([&side, base](std::string* e) { return OpenTarget(side, e, base); }, n, &err) ||
          !ProfileFor(side, pools[k]->first(), profiles[k], &err)) {
        fprintf(stderr, "mmdiff fuzz: %s: %s\n", labels[k].c_str(), err.c_str());
        return 2;
      }
      labels[k] += " (" + profiles[k]->release + ")";
    }
    fprintf(stderr, "mmdiff fuzz: kernel against kernel: A = %s, B = %s\n", labels[0].c_str(), labels[1].c_str());
  } else {
    if (args.values.count("jobs") && target != "local") {
      fprintf(stderr, "mmdiff fuzz: --jobs is for --target local; guests: --vms\n");
      return 2;
    }
    if (args.values.count("vms") && target != "qemu") {
      fprintf(stderr, "mmdiff fuzz: --vms is for --target qemu; local executors: --jobs\n");
      return 2;
    }
    if (target == "local") {
      if (!pool.Start([&args, base](std::string* e) { return OpenTarget(args, e, base); }, jobs, &err)) {
        fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
        return 2;
      }
    } else if (!OpenPool(args, &pool, &err, base)) {
      fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
      return 2;
    }
    if (!ProfileFor(args, pool.first(), &profile, &err)) {
      fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
      return 2;
    }
  }
  if (args.Has("minimize-corpus")) {
    CorpusMinStats m;
    std::string out_dir = args.Get("out", "mmdiff-out");
    if (!MinimizeCorpusDir(out_dir, &pool, profile, &m, &err)) {
      fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
      return 2;
    }
    printf("corpus: %zu -> %zu programs, %zu model-state features kept (%zu kept unmeasured); removed ones in %s/corpus.removed\n",
           m.before, m.after, m.features, m.unmeasured, out_dir.c_str());
    return 0;
  }
  CampaignOptions options;
  options.out_dir = args.Get("out", "mmdiff-out");
  options.seed = static_cast<uint64_t>(seed);
  options.max_seconds = minutes * 60.0;
  options.max_execs = static_cast<uint64_t>(execs);
  options.target_word = !sides.empty() ? "pairs" : target == "qemu" ? "vms" : "executors";
  options.until_found = args.Has("until-found");
  options.kernel_coverage = !args.Has("no-kcov");
  const Args& first_args = sides.empty() ? args : sides[0];
  if (!args.Has("no-minimize"))
    options.minimize_target = [&first_args](std::string* e) { return OpenTarget(first_args, e); };
  if (!sides.empty()) {
    options.second = &second_pool;
    options.second_profile = &second_profile;
    options.first_name = labels[0];
    options.second_name = labels[1];
  }
  if (profile.mutant != Mutant::kNone)
    fprintf(stderr, "mmdiff fuzz: model mutant %s: the model breaks on purpose\n",
            std::string(MutantName(profile.mutant)).c_str());
  std::string corpus_dir = args.Get("corpus", std::string(MMDIFF_SOURCE_DIR) + "/corpus");
  if (!LoadPrograms(corpus_dir, &options.seeds, &err) && args.values.count("corpus")) {
    fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
    return 2;
  }
  // One mutation table for all workers, behind a lock (its stats are shared).
  Mutator mutator(profile);
  std::mutex mutator_mu;
  options.mutate = [&](Program* prog, Rng& rng, std::span<const Program> corpus, int* which) {
    std::lock_guard<std::mutex> lock(mutator_mu);
    size_t index;
    if (!mutator.Mutate(prog, rng, corpus, &index)) return false;
    *which = static_cast<int>(index);
    return true;
  };
  options.credit = [&](int which) {
    std::lock_guard<std::mutex> lock(mutator_mu);
    mutator.CreditLast(static_cast<size_t>(which));
  };
  options.mutator_stats_json = [&] {
    std::lock_guard<std::mutex> lock(mutator_mu);
    std::string json = "{";
    for (size_t i = 0; i < mutator.stats().size(); i++) {
      const MutatorStats& m = mutator.stats()[i];
      json += std::string(i ? ", " : "") + "\"" + Mutator::Names()[i] + "\": {\"tried\": " + std::to_string(m.tried) +
              ", \"applied\": " + std::to_string(m.applied) + ", \"new_coverage\": " +
              std::to_string(m.new_coverage) + "}";
    }
    return json + "}";
  };
  signal(SIGINT, OnSigint);
  signal(SIGTERM, OnSigint);
  CampaignStats stats;
  if (!RunCampaign(options, &pool, profile, g_stop, &stats, &err)) {
    fprintf(stderr, "mmdiff fuzz: %s\n", err.c_str());
    return 2;
  }
  printf("%s\n", StatusLine(stats, options.target_word).c_str());
  printf("findings: %s/findings (%llu unique, %llu flaky)\n", options.out_dir.c_str(),
         static_cast<unsigned long long>(stats.unique), static_cast<unsigned long long>(stats.flaky));
  // What the verdicts rest on: how much was judged, what the model skipped,
  // which latitudes of the contract the kernel used.
  printf("judged %llu programs, %llu unmodelled\n", static_cast<unsigned long long>(stats.tally.judged),
         static_cast<unsigned long long>(stats.tally.unmodelled_total()));
  for (const auto& [reason, count] : stats.tally.unmodelled)
    printf("unmodelled %s: %llu\n", reason.c_str(), static_cast<unsigned long long>(count));
  for (int a = 0; a < kNumAllowances; a++)
    if (stats.tally.granted[a])
      printf("%s\n", AllowanceLine(static_cast<Allowance>(a), stats.tally.granted[a], stats.tally.taken[a]).c_str());
  // As libFuzzer does for CI: 1 when this run hit a confirmed finding.
  return stats.confirmed_this_run > 0 ? 1 : 0;
}

}  // namespace mmdiff::cli
