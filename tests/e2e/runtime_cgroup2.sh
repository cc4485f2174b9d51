#!/usr/bin/env bash
# berth-runtime on a pure cgroup v2 layout, for real on a hybrid host: in a
# private mount namespace /sys/fs/cgroup is replaced by a cgroup2 mount (the
# kernel's one unified hierarchy), so the runtime sees what a v2-only host
# shows. Controllers still bound to v1 hierarchies are not offered there, so
# this checks the v2 mechanics (join with CLONE_INTO_CGROUP, exec joining,
# freeze/thaw through cgroup.freeze, delete removing the dirs), a limit of a
# controller v2 does offer here (hugetlb, when present), and the clear error
# for one it does not (pids on a hybrid host).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
in_private_mount_ns "$@"

e2e_init
runtime_on_busybox

umount -l /sys/fs/cgroup 2>/dev/null || true
mount -t cgroup2 none /sys/fs/cgroup || skip "this kernel cannot mount cgroup2"
[[ $(stat -f -c %T /sys/fs/cgroup) == cgroup2fs ]] || fail "/sys/fs/cgroup is not cgroup2 after the mount"
CG=be2e-v2-$$
on_exit_late rm_cgroup_tree "/$CG"
STATE=$E2E_TMP/state
r() { timeout 30 "$RT" --root "$STATE" "$@"; }
# create_c OUT RC NAME BUNDLE : create, with the container's stdio on files
# (a pipe would be held open by the container and never reach EOF).
create_c() {
  local __rc=0
  r create --bundle "$4" "$3" </dev/null >"$E2E_TMP/$3.out" 2>"$E2E_TMP/$3.err" || __rc=$?
  printf -v "$1" '%s' "$(cat "$E2E_TMP/$3.err")"
  printf -v "$2" '%s' "$__rc"
}

bundle() { cgroup_bundle "$1" "/$CG" "$2"; }

log "create: the init is cloned into its v2 cgroup"
b=$(bundle c1 '.')
create_c out rc c1 "$b"
assert_eq "create exit code (output: $out)" 0 "$rc"
pid=$(r state c1 | jq -r .pid)
assert_eq "the init's v2 cgroup" "0::/$CG/c1" "$(grep '^0::' /proc/"$pid"/cgroup)"
run_capture out rc r start c1 </dev/null
assert_eq "start exit code (output: $out)" 0 "$rc"

log "exec joins the container's cgroup (its cgroup namespace root)"
run_capture out rc r exec c1 sh -c 'grep "^0::" /proc/self/cgroup'
assert_eq "exec exit code (output: $out)" 0 "$rc"
assert_eq "exec's cgroup inside the container's cgroup namespace" "0::/" "$out"

log "pause / resume through cgroup.freeze"
run_capture out rc r pause c1
assert_eq "pause exit code (output: $out)" 0 "$rc"
assert_eq "status after pause" paused "$(r state c1 | jq -r .status)"
assert_contains "cgroup.events after pause" "$(cat /sys/fs/cgroup/"$CG"/c1/cgroup.events)" "frozen 1"
run_capture out rc r resume c1
assert_eq "resume exit code (output: $out)" 0 "$rc"
assert_eq "status after resume" running "$(r state c1 | jq -r .status)"
assert_contains "cgroup.events after resume" "$(cat /sys/fs/cgroup/"$CG"/c1/cgroup.events)" "frozen 0"

log "kill + delete remove the cgroup"
run_capture out rc r kill c1 KILL
assert_eq "kill exit code (output: $out)" 0 "$rc"
wait_until 5 test ! -d "/proc/$pid" || fail "init $pid still alive after SIGKILL"
run_capture out rc r delete c1
assert_eq "delete exit code (output: $out)" 0 "$rc"
[[ ! -d /sys/fs/cgroup/$CG/c1 ]] || fail "cgroup /$CG/c1 left after delete"

if grep -qw hugetlb /sys/fs/cgroup/cgroup.controllers && [[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]]; then
  log "a limit of a controller v2 offers here: hugetlb 2MB"
  b=$(bundle h1 '.linux.resources = {"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}')
  create_c out rc h1 "$b"
  assert_eq "create with a hugetlb limit (output: $out)" 0 "$rc"
  assert_eq "hugetlb.2MB.max" 4194304 "$(cat /sys/fs/cgroup/"$CG"/h1/hugetlb.2MB.max)"
  run_capture out rc r delete --force h1
  assert_eq "delete --force exit code (output: $out)" 0 "$rc"
  [[ ! -d /sys/fs/cgroup/$CG/h1 ]] || fail "cgroup /$CG/h1 left after delete --force"
else
  log "hugetlb not offered by cgroup2 here: limit check skipped"
fi

if ! grep -qw pids /sys/fs/cgroup/cgroup.controllers; then
  log "a controller v2 does not offer here (pids): one clear line, nothing left"
  b=$(bundle p1 '.linux.resources = {"pids": {"limit": 10}}')
  create_c out rc p1 "$b"
  assert_eq "create with an unavailable controller: exit code (output: $out)" 6 "$rc"
  assert_contains "the error names the field" "$out" "linux.resources.pids.limit"
  assert_eq "one line on stderr" 1 "$(printf '%s\n' "$out" | wc -l)"
  [[ ! -d /sys/fs/cgroup/$CG/p1 ]] || fail "cgroup /$CG/p1 left after a refused create"
  assert_eq "no container state left" "" "$(r list -q)"
fi

log "ok"
