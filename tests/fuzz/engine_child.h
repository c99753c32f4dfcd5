// What engine_test and engine_guest_test share: inputs from program text,
// and the engines' entry point run in a child process with its own
// environment (the engine's target comes from MMDIFF_* variables and is
// opened once per process: engine.h EngineKernel).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "prog/binary.h"
#include "prog/text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace mmdiff {

// The engines' input (prog/binary.h) for a program text.
inline std::vector<uint8_t> Encoded(const char* text) {
  Program p;
  TextError err;
  EXPECT_TRUE(ParseProgram(text, "t.mmp", &p, &err)) << err.ToString();
  return EncodeProgram(p);
}

// Runs `input` through LLVMFuzzerTestOneInput in a child whose environment
// has `env` set. Returns the wait status (exit 0: the input ran and passed;
// SIGABRT: a crash, as the engines see it); `*err`: the child's stderr.
inline int RunInChild(const std::vector<uint8_t>& input, const std::map<std::string, std::string>& env,
                      std::string* err) {
  int pipefd[2];
  if (pipe(pipefd) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], STDERR_FILENO);
    close(pipefd[0]);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    // exit(), not _exit(): as an engine ends, with its atexit handlers.
    std::exit(LLVMFuzzerTestOneInput(input.data(), input.size()) == 0 ? 0 : 3);
  }
  close(pipefd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof buf)) > 0) err->append(buf, static_cast<size_t>(n));
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

}  // namespace mmdiff
