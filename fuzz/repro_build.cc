#include "fuzz/repro_build.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace mmdiff {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

std::string FindCCompiler() {
  if (const char* cc = getenv("CC"); cc && *cc) return cc;
  const char* path = getenv("PATH");
  std::vector<std::string> dirs;
  std::stringstream ss(path && *path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(ss, d, ':');) dirs.push_back(d.empty() ? "." : d);
  for (const char* name : {"cc", "gcc", "clang"})
    for (const std::string& d : dirs)
      if (access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  return "";
}

bool CompileRepro(const std::string& source, const std::vector<std::string>& extra_flags,
                  std::vector<uint8_t>* binary, std::string* err) {
  std::string cc = FindCCompiler();
  if (cc.empty()) {
    *err = "no C compiler (set CC, or install gcc)";
    return false;
  }
  const char* base = getenv("TMPDIR");
  std::string dir = std::string(base && *base ? base : "/tmp") + "/mmdiff-cc.XXXXXX";
  if (!mkdtemp(dir.data())) {
    *err = "cannot create a temporary directory " + dir + ": " + strerror(errno);
    return false;
  }
  std::string c = dir + "/repro.c", bin = dir + "/repro", log = dir + "/cc.log";
  std::ofstream(c) << source;
  std::vector<std::string> args = {cc, "-O2", "-static", "-Wall"};
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  for (const char* a : {"-o", bin.c_str(), c.c_str()}) args.push_back(a);
  std::string command;
  for (const std::string& a : args) command += (command.empty() ? "" : " ") + a;
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status = 0;
  bool ran = pid > 0;
  while (ran && waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  bool ok = ran && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (ok) {
    std::string b = Slurp(bin);
    binary->assign(b.begin(), b.end());
    ok = !binary->empty();
  }
  if (!ok) *err = command + " failed:\n" + Slurp(log);
  for (const std::string& f : {c, bin, log}) unlink(f.c_str());
  rmdir(dir.c_str());
  return ok;
}

std::string ReproOutcome(const BinaryRun& run) {
  if (!run.console.empty()) return "kernel splat";
  if (run.timed_out) return "timed out";
  if (run.signal) return std::string("killed by signal ") + strsignal(run.signal);
  switch (run.exit_code) {
    case 0: return "PASS";
    case 1: return "FAIL";
    case 125: return "SKIP";
    default: return "exit " + std::to_string(run.exit_code);
  }
}

}  // namespace mmdiff
