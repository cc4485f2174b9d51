#!/usr/bin/env bash
# Smoke-runs bench/runtime-start, bench/runtime-create-start and
# bench/engine-run in quick mode (3 runs each) and checks that each printed
# its ratios (engine-run: or why a peer was skipped). No timing assertion:
# this only proves the benches work.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
require_bin hyperfine jq runc crun nsenter unshare

run_capture out rc env BENCH_QUICK=1 timeout 300 "$BERTH_SOURCE_DIR/bench/runtime-start/run" "$BERTH_BUILD_DIR"
printf '%s\n' "$out" | tail -n 12 >&2
assert_eq "bench/runtime-start exit code" 0 "$rc"
grep -Eq '^ratio berth/crun: [0-9]+\.[0-9]+' <<< "$out" || fail "no 'ratio berth/crun: <number>' line in the bench output"
grep -Eq '^ratio berth/runc: [0-9]+\.[0-9]+' <<< "$out" || fail "no 'ratio berth/runc: <number>' line in the bench output"

run_capture out rc env BENCH_QUICK=1 timeout 300 "$BERTH_SOURCE_DIR/bench/runtime-create-start/run" "$BERTH_BUILD_DIR"
printf '%s\n' "$out" | tail -n 9 >&2
assert_eq "bench/runtime-create-start exit code" 0 "$rc"
grep -Eq '^ratio berth/crun: [0-9]+\.[0-9]+ \(without the script: [0-9]+\.[0-9]+\)' <<< "$out" ||
  fail "no 'ratio berth/crun' line in the create-start bench output"
grep -Eq '^ratio berth/runc: [0-9]+\.[0-9]+' <<< "$out" || fail "no 'ratio berth/runc' line in the create-start bench output"

run_capture out rc env BENCH_QUICK=1 timeout 300 "$BERTH_SOURCE_DIR/bench/engine-run/run" "$BERTH_BUILD_DIR"
printf '%s\n' "$out" | tail -n 24 >&2
assert_eq "bench/engine-run exit code" 0 "$rc"
grep -Eq '^run --rm true +[0-9]+\.[0-9] ms' <<< "$out" || fail "no berth 'run --rm true' row in the engine-run table"
grep -Eq '^berth-monitor VmRSS [0-9]' <<< "$out" || fail "no berth-monitor RSS line in the engine-run output"
for peer in docker podman; do
  grep -Eq "^ratio berth/$peer run-rm: [0-9]+\.[0-9]+" <<< "$out" || grep -q "^$peer: skipped: " <<< "$out" ||
    fail "engine-run printed neither a berth/$peer ratio nor why $peer was skipped"
done
