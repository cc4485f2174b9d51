#!/usr/bin/env bash
# berth-runtime on a pure cgroup v1 layout, for real on a hybrid host: in a
# private mount namespace the cgroup2 mount (/sys/fs/cgroup/unified) is
# unmounted, so the runtime sees what a v1-only host shows (crun's bench
# namespace is the same). On v1 the init is cloned before its cgroup exists
# and joins it by itself once the runtime has made it (docs/runtime.md):
# this checks that path end to end — every hierarchy joined, limits written
# and enforced, exec joining, freezer pause/resume, delete removing the
# dirs and leaving the shared /berth parent — and that a resource the
# runtime refuses after the clone leaves nothing behind.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
in_private_mount_ns "$@"

e2e_init
runtime_on_busybox
[[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/pids && -d /sys/fs/cgroup/freezer ]] ||
  skip "this host has no v1 memory, pids and freezer hierarchies"
if mountpoint -q /sys/fs/cgroup/unified; then umount -l /sys/fs/cgroup/unified; fi
grep -q ' - cgroup2 ' /proc/self/mountinfo && fail "a cgroup2 mount is still visible"

CG=be2e-v1-$$
on_exit_late rm_cgroup_tree "/$CG"
STATE=$E2E_TMP/state
r() { timeout 30 "$RT" --root "$STATE" "$@"; }

bundle() { cgroup_bundle "$1" "/$CG" "$2"; }

log "run -d with memory and pids limits: the init joins every v1 hierarchy"
b=$(bundle c1 '.linux.resources = {"memory": {"limit": 67108864}, "pids": {"limit": 16}}')
# The container's stdio on files: a pipe would be held open by it.
rc=0
r run -d --bundle "$b" c1 </dev/null >"$E2E_TMP/c1.out" 2>"$E2E_TMP/c1.err" || rc=$?
assert_eq "run -d exit code (output: $(cat "$E2E_TMP/c1.err"))" 0 "$rc"
pid=$(r state c1 | jq -r .pid)
for h in memory pids freezer cpu blkio devices; do
  line=$(grep -E "^[0-9]+:([a-z_,]*,)?$h(,[a-z_,]*)?:" /proc/"$pid"/cgroup)
  assert_eq "the init's $h cgroup" "/$CG/c1" "${line##*:}"
done
grep -q '^0::' /proc/"$pid"/cgroup && [[ $(grep '^0::' /proc/"$pid"/cgroup) != "0::/" ]] &&
  fail "the init joined a v2 cgroup on a v1 view: $(grep '^0::' /proc/"$pid"/cgroup)"
assert_eq "memory.limit_in_bytes" 67108864 "$(cat /sys/fs/cgroup/memory/"$CG"/c1/memory.limit_in_bytes)"
assert_eq "pids.max" 16 "$(cat /sys/fs/cgroup/pids/"$CG"/c1/pids.max)"

log "the pids limit is enforced inside the container"
run_capture out rc r exec c1 sh -c 'for i in $(seq 1 30); do sleep 1 >/dev/null & done 2>&1; wait'
assert_contains "fork refused at the limit" "$out" "Resource temporarily unavailable"

log "exec joins the container's cgroups (the root of its cgroup namespace)"
run_capture out rc r exec c1 sh -c 'grep -E ":memory:" /proc/self/cgroup'
assert_eq "exec exit code (output: $out)" 0 "$rc"
assert_eq "exec's memory cgroup, seen inside" "/" "${out##*:}"

log "pause / resume through the v1 freezer"
run_capture out rc r pause c1
assert_eq "pause exit code (output: $out)" 0 "$rc"
assert_eq "freezer.state after pause" FROZEN "$(cat /sys/fs/cgroup/freezer/"$CG"/c1/freezer.state)"
run_capture out rc r resume c1
assert_eq "resume exit code (output: $out)" 0 "$rc"
assert_eq "freezer.state after resume" THAWED "$(cat /sys/fs/cgroup/freezer/"$CG"/c1/freezer.state)"

log "delete --force removes every hierarchy's dir"
run_capture out rc r delete --force c1
assert_eq "delete --force exit code (output: $out)" 0 "$rc"
for h in memory pids freezer cpu blkio devices; do
  [[ ! -d /sys/fs/cgroup/$h/$CG/c1 ]] || fail "cgroup $h/$CG/c1 left after delete"
done
wait_until 5 test ! -d "/proc/$pid" || fail "init $pid still alive after delete --force"

log "default cgroupsPath: /berth/<id>, the /berth parent stays after delete"
b=$(bundle d1 'del(.linux.cgroupsPath) | .process.args = ["true"]')
id=be2e-v1-d-$$
on_exit_late rm_cgroup_tree "/berth/$id"
run_capture out rc r run --bundle "$b" "$id" </dev/null
assert_eq "run exit code (output: $out)" 0 "$rc"
[[ ! -d /sys/fs/cgroup/memory/berth/$id ]] || fail "cgroup memory/berth/$id left after run"
[[ -d /sys/fs/cgroup/memory/berth ]] || fail "the shared /berth parent was removed"

log "a resource refused after the clone: one clear line, nothing left"
b=$(bundle e1 '.linux.resources = {"cpu": {"cpus": "9999"}}')
run_capture out rc r run --bundle "$b" e1 </dev/null
[[ $rc != 0 ]] || fail "run with cpus 9999 succeeded"
assert_contains "the error names the field" "$out" "linux.resources.cpu.cpus"
assert_eq "one line on stderr" 1 "$(printf '%s\n' "$out" | wc -l)"
for h in memory pids cpuset; do
  [[ ! -d /sys/fs/cgroup/$h/$CG/e1 ]] || fail "cgroup $h/$CG/e1 left after a refused run"
done
assert_eq "no container state left" "" "$(r list -q)"

log "ok"
