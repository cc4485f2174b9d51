#!/usr/bin/env bash
# Smoke-runs bench/net in quick mode (1 s per measure, one round) and checks
# that it printed its three ratios. No timing assertion: this only proves
# the bench works (it makes its own network namespace).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
require_bin iperf3 python3 nft jq unshare nsenter
[[ -f $BERTH_BUILD_DIR/images/busybox-docker-archive.tar ]] || fail "base image missing (scripts/make-base-image)"

run_capture out rc env BENCH_QUICK=1 BENCH_ROUNDS=1 timeout 300 "$BERTH_SOURCE_DIR/bench/net/run" "$BERTH_BUILD_DIR"
printf '%s\n' "$out" | tail -n 14 >&2
assert_eq "bench/net exit code" 0 "$rc"
grep -Eq '^ratio bridge/veth throughput: +[0-9]+\.[0-9]+' <<< "$out" || fail "no bridge/veth ratio"
grep -Eq '^ratio berth/hand DNAT connections/s: +[0-9]+\.[0-9]+' <<< "$out" || fail "no berth/hand DNAT ratio"
if [[ -x /usr/sbin/docker-proxy ]]; then
  grep -Eq '^ratio berth/docker-proxy connections/s: [0-9]+\.[0-9]+' <<< "$out" || fail "no berth/docker-proxy ratio"
fi
