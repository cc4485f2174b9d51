#!/usr/bin/env bash
# Smoke-runs bench/runtime-start and bench/runtime-create-start in quick mode
# (3 runs each) and checks that each printed both ratios. No timing
# assertion: this only proves the benches work.
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
