// mmdiff: differential fuzzing of Linux memory dirty tracking.
#include <cstdio>
#include <cstring>

#include "cli/commands.h"

namespace {

struct Subcommand {
  const char* name;
  int (*fn)(int, char**);
  const char* summary;
};

const Subcommand kSubcommands[] = {
    {"run", mmdiff::cli::RunCommand, "run one program on a target, print each op with its result"},
    {"fuzz", mmdiff::cli::FuzzCommand, "a fuzzing campaign on a target: findings, corpus, stats in --out DIR"},
    {"merge", mmdiff::cli::MergeCommand, "merge and dedup the findings of several campaign directories"},
    {"minimize", mmdiff::cli::MinimizeCommand, "reduce a failing program while it keeps failing the same way"},
    {"repro", mmdiff::cli::ReproCommand, "write a standalone C reproducer (libc only) of a program's failure"},
    {"report", mmdiff::cli::ReportCommand, "write the text of a linux-mm bug report for a failing program"},
    {"check", mmdiff::cli::CheckCommand, "check many programs against the model; one line each and a summary"},
    {"probe", mmdiff::cli::ProbeCommand, "print the kernel features a target measures"},
    {"vm", mmdiff::cli::VmCommand, "boot a guest and keep it; run programs typed on stdin"},
};

void Usage(FILE* out) {
  fputs("usage: mmdiff COMMAND [ARGS]   (mmdiff COMMAND --help for each)\n\ncommands:\n", out);
  for (const Subcommand& s : kSubcommands) fprintf(out, "  %-8s %s\n", s.name, s.summary);
  fputs("\nmmdiff --version (or mmdiff COMMAND --version) prints the version.\n"
        "Exit status: 0 pass, 1 a divergence or finding, 2 bad usage or input.\n", out);
}

// --version anywhere: here, so that every subcommand has it, the same.
bool WantsVersion(int argc, char** argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "--version")) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (WantsVersion(argc, argv)) {
    printf("mmdiff %s\n", MMDIFF_VERSION);
    return 0;
  }
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    Usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (const Subcommand& s : kSubcommands)
    if (!strcmp(argv[1], s.name)) return s.fn(argc - 2, argv + 2);
  fprintf(stderr, "mmdiff: unknown command '%s'\n", argv[1]);
  Usage(stderr);
  return 2;
}
