// mmdiff check: many programs on a target, each checked against the model
// and its own expectations; one line per program and a summary.
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <mutex>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/programs.h"
#include "cli/targets.h"
#include "fuzz/generator.h"
#include "model/judge.h"
#include "prog/text.h"

namespace mmdiff::cli {
namespace {

const char kCheckUsage[] =
    "usage: mmdiff check [FILE.mmp | DIR]... [--generate N [--seed S]] [--target T] [--vms N]\n"
    "                    [--save DIR] [--verbose] [--no-quirks]\n"
    "\n"
    "Runs each program on the target and checks every result against the model\n"
    "and against the program's own '=> EXPECTED' results (both the kernel's and\n"
    "the model's). Prints one line per program, PASS, SKIP (with the reason) or\n"
    "FAIL (with the first divergence and the address-space picture), then\n"
    "'N passed, N failed, N skipped'. A DIR means every .mmp file in it.\n"
    "Exit status 0 when every program passed or was skipped, 1 when one failed,\n"
    "2 on bad usage or when a program could not be read or parsed (the others\n"
    "are still checked and printed; the bad one's line reads ERROR).\n"
    "\n"
    "  --generate N   also check N generated programs, named gen:SEED:INDEX\n"
    "  --seed S       the generator's seed (default 1): the same seed gives the\n"
    "                 same programs on every machine\n"
    "  --vms N        spread the programs over N guests (--target qemu)\n"
    "  --save DIR     write each failing program to DIR/NAME.mmp with its verdict\n"
    "  --verbose      print the picture of every failure in full\n"
    "  --no-quirks    allow no known kernel quirk (corpus/QUIRKS.md): a known quirk\n"
    "                 is a divergence again (exit 1)\n";

struct Entry {
  std::string name;
  Program prog;
  std::string parse_error;
};

// Atomically: a crash never leaves half a program behind.
void SaveFailure(const std::string& dir, const std::string& name, const Program& prog, const Judgement& j) {
  mkdir(dir.c_str(), 0755);
  std::string base = name.substr(name.rfind('/') + 1);
  std::replace(base.begin(), base.end(), ':', '-');
  if (!EndsWith(base, ".mmp")) base += ".mmp";
  std::string path = dir + "/" + base, tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << "# " << j.line << "\n" << PrintProgram(prog);
  }
  rename(tmp.c_str(), path.c_str());
}

// The program of index `i` when the pool did not run it (a skip, a model-only
// check): entries are kept; generated programs are made again (deterministic).
Program make_unrun(size_t i, const std::vector<Entry>& entries, Generator& generator, std::mutex& mu) {
  if (i < entries.size()) return entries[i].prog;
  std::lock_guard<std::mutex> lock(mu);
  return generator.Generate(i - entries.size());
}

void PrintIndented(const std::string& text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    printf("    %s\n", text.substr(pos, nl - pos).c_str());
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
}

}  // namespace

int CheckCommand(int argc, char** argv) {
  Args args;
  std::string err;
  auto value_flags = TargetValueFlags();
  value_flags.insert({"vms", "save", "generate", "seed"});
  auto switch_flags = TargetSwitchFlags();
  switch_flags.insert({"verbose", "no-quirks"});
  if (!ParseArgs(argc, argv, value_flags, switch_flags, &args, &err)) {
    fprintf(stderr, "mmdiff check: %s\n%s%s", err.c_str(), kCheckUsage, kTargetFlagsHelp);
    return 2;
  }
  if (args.Has("help")) {
    printf("%s%s", kCheckUsage, kTargetFlagsHelp);
    return 0;
  }
  std::vector<std::string> paths = ExpandPaths(args.positional, &err);
  int generate, seed;
  if (!err.empty() || !args.GetInt("generate", 0, &generate, &err) || !args.GetInt("seed", 1, &seed, &err)) {
    fprintf(stderr, "mmdiff check: %s\n", err.c_str());
    return 2;
  }
  if (paths.empty() && generate == 0) {
    fprintf(stderr, "mmdiff check: no programs to check\n%s", kCheckUsage);
    return 2;
  }
  std::vector<Entry> entries;
  for (const std::string& p : paths) {
    Entry e{p, {}, ""};
    TextError text_err;
    if (!ParseProgramFile(p, &e.prog, &text_err)) e.parse_error = text_err.ToString();
    entries.push_back(std::move(e));
  }

  bool model_only = TargetName(args) == "model";
  TargetPool pool;
  KernelProfile profile;
  if (!OpenPool(args, &pool, &err) || !ProfileFor(args, pool.first(), &profile, &err)) {
    fprintf(stderr, "mmdiff check: %s\n", err.c_str());
    return 2;
  }
  Generator generator(GeneratorOptions{static_cast<uint64_t>(seed), 10, 60, profile});
  std::mutex generator_mu;
  size_t total = entries.size() + static_cast<size_t>(generate);
  auto name_of = [&](size_t i) {
    return i < entries.size() ? entries[i].name
                              : "gen:" + std::to_string(seed) + ":" + std::to_string(i - entries.size());
  };
  // A program the target cannot run (unparsable, or needing a missing
  // feature) is judged without running it.
  auto runnable = [&](const Program& prog) { return !model_only && !(prog.Requires() & ~profile.features); };
  auto make = [&](size_t i) {
    Program prog;
    if (i < entries.size()) {
      if (!entries[i].parse_error.empty()) return Program{};
      prog = entries[i].prog;
    } else {
      std::lock_guard<std::mutex> lock(generator_mu);
      prog = generator.Generate(i - entries.size());
    }
    return runnable(prog) ? prog : Program{};
  };

  int passed = 0, failed = 0, skipped = 0, unreadable = 0;
  AllowanceCounts granted{}, taken{};
  time_t last_progress = time(nullptr), start = last_progress;
  auto done = [&](size_t i, const Program& ran, bool ok, const Trace& trace, const std::string& run_err) {
    const std::string name = name_of(i);
    Program prog = ran.ops.empty() ? make_unrun(i, entries, generator, generator_mu) : ran;
    if (i < entries.size() && !entries[i].parse_error.empty()) {
      // Bad input, not a finding: exit 2 at the end (the line is the parser's one-line error).
      unreadable++;
      printf("ERROR %s\n", entries[i].parse_error.c_str());
      fflush(stdout);
      return;
    }
    Judgement j;
    if (model_only || ran.ops.empty())
      j = JudgeModelOnly(prog, profile);
    else if (!ok)
      j = Judgement{Judgement::Kind::kFail, "ERROR target: " + run_err, "", {}};
    else
      j = JudgeKernelRun(prog, trace, profile);
    switch (j.kind) {
      case Judgement::Kind::kPass:
        passed++;
        printf("PASS %s%s\n", name.c_str(), j.line.empty() ? "" : (" (" + j.line + ")").c_str());
        break;
      case Judgement::Kind::kSkip: skipped++; printf("SKIP %s: %s\n", name.c_str(), j.line.c_str()); break;
      case Judgement::Kind::kLimit: skipped++; printf("SKIP %s: %s\n", name.c_str(), j.line.c_str()); break;
      case Judgement::Kind::kFail:
        failed++;
        printf("FAIL %s: %s\n", name.c_str(), j.line.c_str());
        if (!j.detail.empty()) PrintIndented(args.Has("verbose") ? j.detail : j.detail.substr(0, 4000));
        if (args.values.count("save")) SaveFailure(args.Get("save"), name, prog, j);
        break;
    }
    for (int a = 0; a < kNumAllowances; a++) granted[a] += j.verdict.granted[a], taken[a] += j.verdict.taken[a];
    fflush(stdout);
    time_t now = time(nullptr);
    if (total > 100 && now - last_progress >= 5) {
      last_progress = now;
      fprintf(stderr, "mmdiff check: %zu/%zu checked, %d failed, %.0f programs/s\n", i + 1, total, failed,
              (i + 1) / static_cast<double>(now - start));
    }
  };
  pool.RunAll(total, make, done);
  for (int a = 0; a < kNumAllowances; a++)
    if (granted[a])
      printf("%s\n", AllowanceLine(static_cast<Allowance>(a), granted[a], taken[a]).c_str());
  printf("%d passed, %d failed, %d skipped%s\n", passed, failed, skipped,
         unreadable ? (", " + std::to_string(unreadable) + " not readable as programs").c_str() : "");
  return unreadable ? 2 : failed ? 1 : 0;
}

}  // namespace mmdiff::cli
