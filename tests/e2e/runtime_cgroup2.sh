#!/usr/bin/env bash
# berth-runtime on a pure cgroup v2 layout, for real on a hybrid host: in a
# private mount namespace /sys/fs/cgroup is replaced by a cgroup2 mount (the
# kernel's one unified hierarchy), so the runtime sees what a v2-only host
# shows. Controllers still bound to v1 hierarchies are not offered there, so
# this checks the v2 mechanics (join with CLONE_INTO_CGROUP, exec joining,
# freeze/thaw through cgroup.freeze, delete removing the dirs), a limit of a
# controller v2 does offer here (hugetlb, when present), and the clear error
# for one it does not (pids on a hybrid host).
if [[ -z ${BERTH_E2E_IN_V2_NS:-} ]]; then
  [[ $(id -u) == 0 ]] || { echo "[runtime_cgroup2] SKIP: needs root" >&2; exit 77; }
  exec unshare -m --propagation private env BERTH_E2E_IN_V2_NS=1 bash "$0" "$@"
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
require_bin jq unshare
RT=$(e2e_runtime)
ROOTFS=$BERTH_BUILD_DIR/images/busybox-rootfs
[[ -d $ROOTFS ]] || fail "$ROOTFS missing (run scripts/make-base-image $BERTH_BUILD_DIR/images)"

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

# bundle NAME JQ-FILTER : a bundle on the shared read-only busybox rootfs.
bundle() {
  local dir=$E2E_TMP/$1
  mkdir -p "$dir"
  (cd "$dir" && "$RT" spec)
  jq --arg root "$ROOTFS" --arg cg "/$CG/$1" \
    '.root.path = $root | .process.terminal = false | .process.args = ["sleep", "100"]
     | .linux.cgroupsPath = $cg | '"$2" "$dir/config.json" > "$dir/c" && mv "$dir/c" "$dir/config.json"
  echo "$dir"
}

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
