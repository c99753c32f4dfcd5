#!/bin/sh
# CMake compiler and linker launcher of the AFL++ flavour (CMakeLists.txt):
#   afl_launcher.sh AFL_CXX CONFIGURED_CXX ARGS...  runs  AFL_CXX ARGS...
# so that afl-clang-fast++ compiles (and links) in place of the configured
# clang++, for the targets that set it and no others.
afl=$1
shift 2
AFL_QUIET=1 exec "$afl" "$@"
