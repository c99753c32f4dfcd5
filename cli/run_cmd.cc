// mmdiff run / mmdiff probe.
#include <cstdio>

#include "cli/args.h"
#include "cli/command_setup.h"
#include "cli/commands.h"
#include "cli/targets.h"
#include "model/judge.h"
#include "prog/text.h"

namespace mmdiff::cli {
namespace {

const char kRunUsage[] =
    "usage: mmdiff run FILE.mmp [--target T] [--raw] [--no-quirks] [target flags]\n"
    "\n"
    "Runs the program on the target and prints each op followed by ' => RESULT',\n"
    "then '# verdict: PASS' or the first divergence from the model. With\n"
    "--target model, prints what the model allows ('?': either). A result that\n"
    "differs from the program's own '=> EXPECTED' gets a '# expected: ...'\n"
    "comment. A pass that needed a known kernel quirk (corpus/QUIRKS.md) reads\n"
    "'# verdict: PASS (known quirk NAME)': the expectations after it may fail.\n"
    "Exit status 0 on a pass, 1 on a divergence, a failed expectation or an\n"
    "incomplete run, 2 on bad usage or input. A program whose 'requires' names\n"
    "a feature the kernel lacks is skipped (exit 0) with the missing feature named.\n"
    "\n"
    "  --raw          also print the raw 64-bit pagemap words\n"
    "  --no-quirks    allow no known kernel quirk (corpus/QUIRKS.md): a known quirk\n"
    "                 is a divergence again (exit 1)\n";

const char kProbeUsage[] =
    "usage: mmdiff probe [--target local|qemu] [--guest 6.12|6.1 | --kernel K]\n"
    "                    [--append A]\n"
    "\n"
    "Prints what the target kernel supports, measured by the executor:\n"
    "soft-dirty, uffd-wp and its async/unpopulated modes, PAGEMAP_SCAN and\n"
    "the categories it accepts, guard regions, THP mode, free huge pages, swap.\n";

}  // namespace

int RunCommand(int argc, char** argv) {
  CommandSetup s;
  if (auto exit_code = SetUpCommand({.name = "run", .usage = kRunUsage, .switch_flags = {"raw", "no-quirks"}}, argc,
                                    argv, &s))
    return *exit_code;
  const Args& args = s.args;
  const std::string& path = s.path;
  const Program& prog = s.prog;
  const KernelProfile& profile = s.profile;
  std::string err;
  if (uint32_t missing = prog.Requires() & ~profile.features) {
    printf("SKIP %s: needs %s, which kernel %s lacks\n", path.c_str(), FeatureList(missing).c_str(),
           profile.release.c_str());
    return 0;
  }
  bool model_only = TargetName(args) == "model";
  Trace trace;
  if (model_only) {
    trace = PredictTrace(prog, profile);
  } else if (!s.target->Run(prog, &trace, &err)) {
    fprintf(stderr, "mmdiff run: %s: %s\n", path.c_str(), err.c_str());
    return 2;
  }
  int mismatches = 0;
  bool incomplete = false;
  for (size_t i = 0; i < prog.ops.size(); i++) {
    const Result& got = trace.results[i];
    std::string line = PrintOp(prog.ops[i]);
    if (got.kind != ResultKind::kNone) line += " => " + PrintResult(prog.ops[i], got, args.Has("raw"));
    const Result& want = prog.expect[i];
    if (want.kind != ResultKind::kNone && !ResultMatches(want, got)) {
      line += "  # expected: " + PrintResult(prog.ops[i], want);
      mismatches++;
    }
    incomplete |= got.kind == ResultKind::kHang || got.kind == ResultKind::kLost;
    printf("%s\n", line.c_str());
  }
  Judgement verdict = model_only ? JudgeModelOnly(prog, profile) : JudgeKernelRun(prog, trace, profile);
  bool diverged = verdict.kind == Judgement::Kind::kFail;
  if (verdict.kind == Judgement::Kind::kPass)
    printf("# verdict: PASS%s\n", verdict.line.empty() ? "" : (" (" + verdict.line + ")").c_str());
  else printf("# verdict: %s%s\n", verdict.kind == Judgement::Kind::kSkip ? "SKIP " : "", verdict.line.c_str());
  size_t pos = 0;
  while (diverged && pos < verdict.detail.size()) {
    size_t nl = verdict.detail.find('\n', pos);
    printf("#   %s\n", verdict.detail.substr(pos, nl - pos).c_str());
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (incomplete) fprintf(stderr, "mmdiff run: %s did not complete (see hang/lost above)\n", path.c_str());
  // On a kernel the judgement already weighed the expectations: those after a
  // known quirk (the contract the kernel does not keep there) do not fail it.
  bool excused = !model_only && verdict.kind == Judgement::Kind::kPass && !verdict.line.empty();
  if (mismatches)
    fprintf(stderr, "mmdiff run: %s: %d result(s) differ from the program's expectations%s\n", path.c_str(),
            mismatches, excused ? (" after " + verdict.line + " (--no-quirks: a divergence)").c_str() : "");
  return incomplete || (mismatches && !excused) || diverged ? 1 : 0;
}

int ProbeCommand(int argc, char** argv) {
  Args args;
  std::string err;
  if (!ParseArgs(argc, argv, TargetValueFlags(), TargetSwitchFlags(), &args, &err)) {
    fprintf(stderr, "mmdiff probe: %s\n%s", err.c_str(), kProbeUsage);
    return 2;
  }
  if (args.Has("help")) {
    fputs(kProbeUsage, stdout);
    return 0;
  }
  if (!args.positional.empty()) {
    fprintf(stderr, "mmdiff probe: unexpected argument '%s'\n%s", args.positional[0].c_str(), kProbeUsage);
    return 2;
  }
  auto target = OpenTarget(args, &err);
  KernelFeatures features;
  if (!target || !target->Probe(&features, &err)) {
    fprintf(stderr, "mmdiff probe: %s\n", err.c_str());
    return 2;
  }
  fputs(PrintFeatures(features).c_str(), stdout);
  return 0;
}

}  // namespace mmdiff::cli
