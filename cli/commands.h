// The subcommands of mmdiff. Each takes the arguments after its name and
// returns the process exit code: 0 success, 1 a finding or failed
// expectation, 2 a usage or input error.
#pragma once

namespace mmdiff::cli {

int RunCommand(int argc, char** argv);
int ProbeCommand(int argc, char** argv);
int CheckCommand(int argc, char** argv);
int VmCommand(int argc, char** argv);
int FuzzCommand(int argc, char** argv);
int MergeCommand(int argc, char** argv);
int MinimizeCommand(int argc, char** argv);
int ReproCommand(int argc, char** argv);
int ReportCommand(int argc, char** argv);

}  // namespace mmdiff::cli
