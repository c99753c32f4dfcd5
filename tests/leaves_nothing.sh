#!/usr/bin/env bash
# The test suite leaves nothing in the temporary directory: runs ctest with
# TMPDIR set to a new, empty directory, where the tests and everything they
# start make their temporary files (tests/temp_dir.h; mmdiff's executor,
# its C compiler runs and reproducers, libFuzzer), then names what is left
# there, pass or fail, and removes it. ./mmdiff test runs the suite so.
#
# usage: tests/leaves_nothing.sh BUILD_DIR [CTEST_ARGS...]
#   e.g. tests/leaves_nothing.sh build -j2 -R '^Cli\.'
# Exit status: ctest's; 1 when it passed but something was left.
#
# Not seen from here: a guest's work directory, /tmp/mmdiff-vm.PID.XXXXXX
# whatever TMPDIR says (target/qemu_target.cc). mmdiff removes it when the
# guest shuts down, the next guest to start when its owner was killed, and
# the tests that kill an owner remove it themselves (tests/qemu_monitor.h
# GuestDirsOf).
set -uo pipefail

build=${1:?usage: leaves_nothing.sh BUILD_DIR [CTEST_ARGS...]}
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmdiff-test-tmp.XXXXXX") || exit 2
# Removed however the run ends (Ctrl-C included: ctest stops its tests).
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

TMPDIR=$tmp ctest --test-dir "$build" "$@"
status=$?

left=$(ls -A "$tmp")
if [ -n "$left" ]; then
  echo "leaves_nothing: the tests left these in TMPDIR (removed now; the name says which test):" >&2
  sed 's/^/  /' <<<"$left" >&2
  [ "$status" -ne 0 ] || status=1
else
  echo "leaves_nothing: the tests left nothing in TMPDIR"
fi
exit "$status"
