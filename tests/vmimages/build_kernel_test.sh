#!/usr/bin/env bash
# vmimages/build-kernel without building a kernel (that takes minutes: it
# belongs in bench/kernel_mutants): argument errors, and --apply-only's
# patched copy on a fake source tree with mutants of this test's own
# (MMDIFF_MUTANTS_DIR): SRC_DIR untouched, unpatched files hard links, and a
# switch to another mutant in the same OUT leaving the previous mutant's
# files as fresh real copies (so make rebuilds them). With MMDIFF_LINUX_SRC
# set to a Linux 6.12 tree, every vmimages/mutants patch must apply to it.
# usage: build_kernel_test.sh [MMDIFF_BINARY]
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bk=$here/vmimages/build-kernel
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
# expect_exit CODE PATTERN CMD...: exit status and stderr's last line.
expect_exit() {
  local code=$1 pattern=$2; shift 2
  local out rc
  out=$("$@" 2>&1 >/dev/null); rc=$?
  [ "$rc" = "$code" ] || fail "$* exited $rc, not $code: $out"
  # The error is the last line (progress lines may come before it).
  [ -z "$pattern" ] || tail -n1 <<<"$out" | grep -q -- "$pattern" || fail "$*: no '$pattern' last in: $out"
}

# --help names every mutant of vmimages/mutants.
help=$("$bk" --help) || fail "--help failed"
for p in "$here"/vmimages/mutants/*.patch; do
  n=$(basename "$p" .patch)
  grep -q "$n" <<<"$help" || fail "--help does not list mutant $n"
  grep -Eq '^\+\+\+ b/' "$p" || fail "$p has no '+++ b/FILE' line"
  # Every mutant header names the upstream fix (or says it is unconfirmed).
  grep -Eiq '[0-9a-f]{12}|could not be confirmed' "$p" || fail "$p names no upstream commit"
  # Its witness program (bench/kernel_mutants runs it on the mutant and the
  # base) exists and, given mmdiff ($1), parses.
  w=${p%.patch}.mmp
  [ -r "$w" ] || fail "mutant $n has no witness program $w"
  if [ -n "${1:-}" ] && [ -r "$w" ]; then
    "$1" check "$w" --target model >/dev/null 2>&1
    [ $? != 2 ] || fail "$w: mmdiff check rejects it"
  fi
done

# A fake tree: what build-kernel checks before it copies.
src=$tmp/linux
mkdir -p "$src/scripts/kconfig" "$src/arch/x86" "$src/mm"
printf 'VERSION = 6\nPATCHLEVEL = 12\n' >"$src/Makefile"
: >"$src/Kconfig"; : >"$src/arch/x86/Kconfig"
printf '#!/bin/sh\n' >"$src/scripts/kconfig/merge_config.sh"; chmod +x "$src/scripts/kconfig/merge_config.sh"
printf 'one\ntwo\nthree\n' >"$src/mm/a.c"
printf 'four\nfive\nsix\n' >"$src/mm/b.c"
touch -d '2020-01-01' "$src/mm/a.c" "$src/mm/b.c"
muts=$tmp/mutants
mkdir -p "$muts"
mk_patch() {  # NAME FILE OLD NEW
  printf 'header: mutant %s\n\n--- a/%s\n+++ b/%s\n@@ -1,3 +1,3 @@\n %s\n-%s\n+%s\n %s\n' \
    "$1" "$2" "$2" "$3" "$4" "$5" "$6" >"$muts/$1.patch"
}
mk_patch m1 mm/a.c one two TWO three
mk_patch m2 mm/b.c four five FIVE six
mk_patch bad mm/a.c one nothere X three
printf 'no diff here\n' >"$muts/empty.patch"
printf '%s\n' '--- a/mm/none.c' '+++ b/mm/none.c' '@@ -1 +1 @@' '-x' '+y' >"$muts/nofile.patch"
export MMDIFF_MUTANTS_DIR=$muts
out=$tmp/out

expect_exit 2 "need SRC_DIR and OUT" "$bk"
expect_exit 2 "unknown option --bogus" "$bk" --bogus "$src" "$out"
expect_exit 2 "needs a NAME" "$bk" --mutant
expect_exit 2 "needs --mutant" "$bk" --apply-only "$src" "$out"
expect_exit 2 "not a directory" "$bk" --apply-only --mutant m1 "$tmp/nowhere" "$out"
expect_exit 2 "no mutant nosuch" "$bk" --apply-only --mutant nosuch "$src" "$out"
expect_exit 2 "not a patch" "$bk" --apply-only --mutant empty "$src" "$out"
expect_exit 2 "names mm/none.c" "$bk" --apply-only --mutant nofile "$src" "$out"
expect_exit 2 "does not apply" "$bk" --apply-only --mutant bad "$src" "$out"

# m1: a.c patched in the copy only; b.c a hard link to SRC_DIR's.
expect_exit 0 "" "$bk" --apply-only --mutant m1 "$src" "$out"
[ "$(sed -n 2p "$out/src/mm/a.c")" = TWO ] || fail "m1: OUT/src/mm/a.c not patched"
[ "$(sed -n 2p "$src/mm/a.c")" = two ] || fail "m1: SRC_DIR's mm/a.c changed"
[ "$out/src/mm/b.c" -ef "$src/mm/b.c" ] || fail "m1: OUT/src/mm/b.c is not a hard link to SRC_DIR's"
# m2 in the same OUT: a.c back to SRC_DIR's text, as a fresh real copy.
expect_exit 0 "" "$bk" --apply-only --mutant m2 "$src" "$out"
cmp -s "$out/src/mm/a.c" "$src/mm/a.c" || fail "m2: m1's a.c left patched"
[ "$out/src/mm/a.c" -ef "$src/mm/a.c" ] && fail "m2: m1's a.c is a hard link again (old mtime: make would not rebuild it)"
[ "$out/src/mm/a.c" -nt "$src/mm/a.c" ] || fail "m2: m1's a.c is not newer than SRC_DIR's"
[ "$(sed -n 2p "$out/src/mm/b.c")" = FIVE ] || fail "m2: OUT/src/mm/b.c not patched"
[ "$(sed -n 2p "$src/mm/b.c")" = five ] || fail "m2: SRC_DIR's mm/b.c changed"
# none: the base in the same OUT, every patched file back.
expect_exit 0 "" "$bk" --apply-only --mutant none "$src" "$out"
cmp -s "$out/src/mm/b.c" "$src/mm/b.c" || fail "none: m2's b.c left patched"
[ "$out/src/mm/b.c" -ef "$src/mm/b.c" ] && fail "none: m2's b.c is a hard link again"

# The real mutants against a real tree, when there is one.
if [ -n "${MMDIFF_LINUX_SRC:-}" ]; then
  for p in "$here"/vmimages/mutants/*.patch; do
    patch -d "$MMDIFF_LINUX_SRC" -p1 --dry-run --quiet <"$p" >/dev/null || fail "$p does not apply to $MMDIFF_LINUX_SRC"
  done
else
  echo "build_kernel_test: MMDIFF_LINUX_SRC not set: the real mutants were not applied" >&2
fi
[ "$fails" = 0 ] && echo "build_kernel_test: all passed"
exit $((fails > 0))
