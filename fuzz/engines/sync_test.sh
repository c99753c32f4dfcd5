#!/usr/bin/env bash
# Two AFL++ instances on one sync directory, then `mmdiff merge` of it (a
# ctest test, see CMakeLists.txt; fuzz/README.md "Many machines" is the same
# recipe spread over machines).
#
#   sync_test.sh BINARY MUTATOR_LIBRARY SEEDS WORKDIR SECONDS MMDIFF MUTANT
#
# A main (-M main) and a secondary (-S second) fuzz for SECONDS against the
# model mutant MUTANT (MMDIFF_MODEL_MUTANT: the broken rule gives crashes on
# a correct kernel). Passes when
#  - they exchanged inputs: a queue entry named sync:OTHER,... in either
#    instance's queue (AFL_SYNC_TIME=1: the main syncs every 30 s);
#  - both found crashes;
#  - `mmdiff merge -o OUT SYNC --model-mutant MUTANT` confirmed crash files of
#    both instances into one findings directory: one entry per signature
#    (no name twice), each a self-test finding of MUTANT with program.mmp,
#    min.mmp, repro.c, report.txt and meta.txt, whose hits add up to the
#    crash files merge filed there.
set -u
bin=$1 lib=$2 seeds=$3 work=$4 secs=$5 mmdiff=$6 mutant=$7

fail() { echo "sync_test: FAIL: $*"; exit 1; }
[ -x "$bin" ] && [ -f "$lib" ] || fail "no engine $bin or $lib (is afl++ installed? see fuzz/README.md)"
command -v afl-fuzz >/dev/null || fail "no afl-fuzz (Debian package afl++)"
[ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ] || fail "no seeds in $seeds"
rm -rf "$work"
mkdir -p "$work"
sync=$work/sync

export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
  AFL_SKIP_CRASHES=1 AFL_FAST_CAL=1 AFL_NO_CRASH_README=1 AFL_SYNC_TIME=1 \
  AFL_CUSTOM_MUTATOR_LIBRARY="$lib" AFL_CUSTOM_MUTATOR_ONLY=1 MMDIFF_MODEL_MUTANT="$mutant"
pids=()
for role in "-M main" "-S second"; do
  name=${role#* }
  echo "sync_test: MMDIFF_MODEL_MUTANT=$mutant afl-fuzz -i $seeds -o $sync $role -V $secs -t 10000 -- $bin"
  afl-fuzz -i "$seeds" -o "$sync" $role -V "$secs" -t 10000 -- "$bin" >"$work/$name.log" 2>&1 </dev/null &
  pids+=($!)
done
# Ends both when this script is stopped (ctest's timeout).
trap 'kill "${pids[@]}" 2>/dev/null' EXIT
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
for name in main second; do
  stats=$sync/$name/fuzzer_stats
  [ -f "$stats" ] || { tail -30 "$work/$name.log"; fail "$name exited without $stats"; }
  echo "sync_test: $name: $(grep -E '^(execs_done|saved_crashes|corpus_count)' "$stats" | tr -s ' ' | tr '\n' ' ')"
done
[ "$rc" -eq 0 ] || fail "afl-fuzz exited $rc"

synced=$(ls "$sync"/main/queue "$sync"/second/queue | grep -c '^id:.*sync:')
echo "sync_test: $synced queue entries imported from the other instance"
ls "$sync"/main/queue "$sync"/second/queue | grep 'sync:' | head -3 | sed 's/^/sync_test:   /'
[ "$synced" -gt 0 ] || fail "the instances exchanged no inputs (no sync: entry in either queue)"
for name in main second; do
  n=$(ls "$sync/$name/crashes" 2>/dev/null | grep -c '^id:')
  echo "sync_test: $name: $n crash files"
  [ "$n" -gt 0 ] || fail "$name found no crash against model mutant $mutant"
done

out=$work/merged
echo "sync_test: $mmdiff merge -o $out $sync --model-mutant $mutant"
"$mmdiff" merge -o "$out" "$sync" --model-mutant "$mutant" >"$work/merge.log" 2>"$work/merge.err"
mrc=$?
cat "$work/merge.log" | tail -12 | sed 's/^/sync_test:   /'
[ "$mrc" -eq 0 ] || { cat "$work/merge.err"; fail "mmdiff merge exited $mrc"; }
# Each filed crash file's line: FILE: new finding|hit|new flaky findings/NAME (R/N): LINE
filed() { grep -E "^$sync/$1/(crashes|hangs)/id:[^:]*.*: (new finding|hit|new flaky) (findings|flaky)/" "$work/merge.log"; }
for name in main second; do
  [ -n "$(filed $name)" ] || fail "no crash file of $name was confirmed and filed"
  echo "sync_test: $name's crashes went to: $(filed $name | grep -oE '(findings|flaky)/[^ ]+' | sort -u | tr '\n' ' ')"
done
entries=$(ls "$out/findings" | wc -l)
[ "$entries" -gt 0 ] || fail "no findings in $out/findings"
names=$(filed main; filed second)
# One entry per root cause: each name filed is an entry (findings/ or
# flaky/), or was folded into one once minimized (same root cause).
distinct=$(echo "$names" | grep -oE '(findings|flaky)/[^ ]+' | sed 's|.*/||' | sort -u)
all=$(ls "$out/findings" "$out/flaky" | grep -vc -e '^$' -e ':$')
folded=0
for n in $distinct; do
  [ -d "$out/findings/$n" ] || [ -d "$out/flaky/$n" ] && continue
  grep -q "$n to [0-9]* ops.*, folded into " "$work/merge.log" "$work/merge.err" || fail "$n was filed but is neither an entry nor folded"
  folded=$((folded + 1))
done
echo "sync_test: $(echo "$distinct" | wc -w) signatures filed, $folded folded by root cause, $all entries"
for d in "$out"/findings/*; do
  for f in program.mmp meta.txt min.mmp repro.c report.txt; do
    [ -s "$d/$f" ] || fail "$d has no $f"
  done
  grep -q "model mutant $mutant" "$d/min.mmp" || fail "$d/min.mmp is not labelled a self-test"
done
hits=0
for d in "$out"/findings/* "$out"/flaky/*; do
  [ -d "$d" ] || continue
  grep -q "^mutant: $mutant " "$d/meta.txt" || fail "$d/meta.txt does not say mutant: $mutant"
  hits=$((hits + $(awk '/^hits:/ {print $2}' "$d/meta.txt")))
done
nfiled=$(echo "$names" | wc -l)
echo "sync_test: $entries findings from both instances, $hits hits of $nfiled crash files filed"
[ "$hits" -eq "$nfiled" ] || fail "the entries' hits ($hits) are not the crash files filed ($nfiled)"
echo "sync_test: PASS"
