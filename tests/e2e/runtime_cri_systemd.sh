#!/usr/bin/env bash
# The systemd cgroup driver against a real systemd, and Kubernetes' path
# with it. This machine's pid 1 is not systemd, so the test boots one: a
# minimal Debian 12 tree (mmdebstrap from Debian's archive, cached in the
# build dir) booted by systemd-nspawn -b, with berth-runtime bound in and
# containerd (the tree's Debian 1.6) running as a service inside it.
#
#   1. berth-runtime --systemd-cgroup alone: the container's cgroup is a
#      transient scope (systemctl status), its limits unit properties and
#      files, `update` changes both, `delete` removes the scope.
#   2. containerd's CRI with SystemdCgroup = true: the pod scenario of
#      runtime_cri.sh (tests/e2e/cri/cri_scenario.py --systemd) with the
#      pod's slice as cgroup parent.
#   And on this host, where systemd does not run: --systemd-cgroup fails
#   with one line naming the flag, and leaves nothing.
#
# On a hybrid host nspawn mounts the v1 controller hierarchies read-only
# in the container (it delegates only name=systemd and the cgroup2 tree);
# a host booted with systemd has them writable. The test remounts them
# read-write in the container's mount namespace to stand for such a host
# (the container's cgroup namespace still confines it to its own subtree).
# mmdebstrap downloads the tree from Debian's archive the first time.
E2E_HOST_NETWORK=1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cri/lib_cri.sh"

e2e_init
runtime_on_busybox
require_bin systemd-nspawn mmdebstrap nsenter ctr cc
/usr/bin/python3 -c 'import grpc' 2>/dev/null || skip "python3-grpcio not installed"

# Inside the container: the build's berth-runtime, bound in (or, to validate
# this harness, E2E_RUNTIME=/usr/sbin/runc: the tree's own runc).
CRT=/opt/berth/bin/berth-runtime
[[ $(basename "$RT") == runc ]] && CRT=/usr/sbin/runc

# -- where systemd does not run: a clear error naming the flag ----------------
if [[ ! -d /run/systemd/system && $CRT != /usr/sbin/runc ]]; then
  B=$(cgroup_bundle nosd "" '.linux.cgroupsPath = "system.slice:berth:nosd"')
  run_capture out rc "$RT" --root "$E2E_TMP/rt-host" --systemd-cgroup run -d --bundle "$B" nosd
  [[ $rc != 0 ]] || fail "--systemd-cgroup succeeded on a host without systemd"
  assert_contains "error names the flag" "$out" "--systemd-cgroup"
  assert_contains "error says why" "$out" "systemd is not running"
  assert_eq "one line" 1 "$(wc -l <<< "$out")"
  left=$(find "$E2E_TMP/rt-host" -mindepth 1 ! -name '.*' 2>/dev/null || true)
  assert_eq "state left by the refused create" "" "$left"
  log "no systemd here: --systemd-cgroup refused with: $out"
fi

# -- a systemd to test against ---------------------------------------------------
TREE=$BERTH_BUILD_DIR/systemd-tree
(
  flock 9
  if [[ ! -x $TREE/lib/systemd/systemd ]]; then
    log "making a minimal Debian tree with systemd and containerd (once; cached in $TREE)"
    rm -rf "$TREE.tmp"
    mmdebstrap --variant=minbase --include=systemd,systemd-sysv,dbus,containerd --skip=cleanup/apt \
      bookworm "$TREE.tmp" > "$E2E_TMP/mmdebstrap.log" 2>&1 \
      || { tail -20 "$E2E_TMP/mmdebstrap.log" >&2; fail "mmdebstrap failed (Debian's archive unreachable?)"; }
    mv "$TREE.tmp" "$TREE"
  fi
) 9> "$BERTH_BUILD_DIR/.systemd-tree.lock"

SHARED=$E2E_TMP/shared        # the same path inside the container
mkdir -p "$SHARED"
cp -a "$ROOTFS" "$SHARED/rootfs"
MACHINE=berth-${E2E_TMP##*.}
# --volatile=overlay: the tree stays as cached (writes go to a tmpfs), so
# runs in parallel share it. nspawn's own seccomp filter refuses the
# keyring calls a runtime makes for each container (a session keyring):
# allowed here, as a host has them.
systemd-nspawn -D "$TREE" --volatile=overlay -b --register=no --keep-unit -M "$MACHINE" \
  --system-call-filter='add_key keyctl request_key' \
  --bind-ro="$BERTH_BUILD_DIR/bin:/opt/berth/bin" --bind="$SHARED:$SHARED" \
  --console=read-only > "$E2E_TMP/nspawn.log" 2>&1 &
NSPAWN_PID=$!
on_exit kill_pid_bounded "$NSPAWN_PID" 30
e2e_on_failure() {
  echo "---- nspawn console (tail) ----" >&2; tail -n 30 "$E2E_TMP/nspawn.log" >&2
  [[ -n ${PID1:-} ]] && in_ct journalctl --no-pager -n 40 >&2
}
# The container's pid 1: nspawn's child, or its grandchild (nspawn may keep
# an intermediate process of its own).
pid1() {
  local c
  for c in $(pgrep -P "$NSPAWN_PID"); do
    [[ $(cat "/proc/$c/comm" 2>/dev/null) == systemd ]] && { PID1=$c; return 0; }
    PID1=$(pgrep -P "$c" -x systemd | head -1)
    [[ -n $PID1 ]] && return 0
  done
  return 1
}
wait_until 30 pid1 || fail "systemd-nspawn did not start systemd (see $E2E_TMP/nspawn.log)"
in_ct() { nsenter -t "$PID1" -a "$@"; }
booted() { [[ $(in_ct systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; }
wait_until 60 booted || fail "systemd in the container did not finish booting: $(in_ct systemctl is-system-running 2>&1)"
in_ct sh -c 'for m in /sys/fs/cgroup/*; do
  case $(stat -f -c %T "$m") in cgroupfs) mount -o remount,bind,rw "$m" ;; esac
done'
# systemd decided at boot that it could not use them: let it look again.
in_ct systemctl daemon-reexec
wait_until 30 booted || fail "systemd did not come back from daemon-reexec"
# The tree's own containerd service is not the one under test.
in_ct systemctl stop containerd.service || true
log "systemd booted as pid 1 of $MACHINE (host pid $PID1)"

# -- 1. berth-runtime --systemd-cgroup alone -------------------------------------
B=$SHARED/b1
mkdir -p "$B"
(cd "$B" && "$RT" spec)
jq --arg root "$SHARED/rootfs" '.root.path = $root | .process.terminal = false
   | .process.args = ["sleep", "1000"] | .linux.cgroupsPath = "berthtest.slice:berth:one"
   | .linux.resources.memory.limit = 33554432 | .linux.resources.pids.limit = 50
   | .linux.resources.cpu = {"quota": 20000, "period": 100000}' "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"
# (a detached container keeps the stdio it was given: a file, not our pipe)
ct_run_detached() {
  in_ct sh -c "$CRT --root /run/brt --systemd-cgroup run -d --bundle $B $1 </dev/null >$SHARED/run-$1.out 2>&1"
}
run_capture out rc ct_run_detached one
assert_eq "run with --systemd-cgroup (output: $(cat "$SHARED/run-one.out"))" 0 "$rc"
run_capture out rc in_ct systemctl status --no-pager berth-one.scope
assert_contains "systemctl status of the scope" "$out" "active (running)"
assert_contains "the scope is in the slice" "$out" "berthtest.slice"
props=$(in_ct systemctl show -p MemoryLimit -p MemoryMax -p TasksMax -p CPUQuotaPerSecUSec -p Delegate berth-one.scope)
assert_contains "MemoryLimit/Max property" "$props" "=33554432"
assert_contains "TasksMax property" "$props" "TasksMax=50"
assert_contains "CPU quota property" "$props" "CPUQuotaPerSecUSec=200ms"
assert_contains "delegated" "$props" "Delegate=yes"
cpid=$(in_ct "$CRT" --root /run/brt state one | jq .pid)
mem=$(in_ct sh -c "cat /sys/fs/cgroup/memory\$(awk -F: '\$2 == \"memory\" {print \$3}' /proc/$cpid/cgroup)/memory.limit_in_bytes")
assert_eq "memory limit file of the scope" 33554432 "$mem"
run_capture out rc in_ct "$CRT" --root /run/brt --systemd-cgroup update --memory 50331648 --pids-limit 60 one
assert_eq "update through systemd (output: $out)" 0 "$rc"
props=$(in_ct systemctl show -p MemoryLimit -p MemoryMax -p TasksMax berth-one.scope)
assert_contains "MemoryLimit/Max after update" "$props" "=50331648"
assert_contains "TasksMax after update" "$props" "TasksMax=60"
run_capture out rc in_ct "$CRT" --root /run/brt --systemd-cgroup delete --force one
assert_eq "delete --force (output: $out)" 0 "$rc"
gone() { ! in_ct systemctl is-active --quiet berth-one.scope && [[ -z $(in_ct systemctl list-units --all --no-legend berth-one.scope) ]]; }
wait_until 10 gone || fail "scope berth-one.scope left: $(in_ct systemctl list-units --all --no-legend berth-one.scope)"
left=$(in_ct sh -c 'ls -d /sys/fs/cgroup/*/berthtest.slice/berth-one.scope 2>/dev/null' || true)
assert_eq "cgroup dirs of the scope left" "" "$left"

# The config's org.systemd.property.* annotations are unit properties.
jq '.annotations["org.systemd.property.Delegate"] = "no" | .annotations["org.systemd.property.TimeoutStopUSec"] = "7000000"' \
  "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"
run_capture out rc ct_run_detached three
assert_eq "run with annotations (output: $(cat "$SHARED/run-three.out"))" 0 "$rc"
props=$(in_ct systemctl show -p Delegate -p TimeoutStopUSec berth-one.scope)  # (the path names the unit)
assert_contains "Delegate from the annotation" "$props" "Delegate=no"
assert_contains "TimeoutStopUSec from the annotation" "$props" "TimeoutStopUSec=7s"
run_capture out rc in_ct "$CRT" --root /run/brt --systemd-cgroup delete --force three
assert_eq "delete --force three (output: $out)" 0 "$rc"

# A limit refused once the scope exists (unified memory.high, with memory on
# v1 here): one line naming the field, and the scope is gone again.
jq 'del(.annotations) | .linux.resources.unified = {"memory.high": "10000000"}' "$B/config.json" > "$B/c" \
  && mv "$B/c" "$B/config.json"
run_capture out rc ct_run_detached four
out=$(cat "$SHARED/run-four.out")
[[ $rc != 0 ]] || fail "unified memory.high on a hybrid host was accepted"
assert_contains "error names the field" "$out" "memory.high"
wait_until 10 gone || fail "scope of the failed create left: $(in_ct systemctl list-units --all --no-legend berth-one.scope)"
assert_eq "no state left by the failed create" "" "$(in_ct ls /run/brt 2>/dev/null | grep -v '^\.' || true)"

# A bad slice name: one line naming the field, nothing left.
jq '.linux.cgroupsPath = "not-a-slice:berth:two"' "$B/config.json" > "$B/c" && mv "$B/c" "$B/config.json"
run_capture out rc ct_run_detached two
out=$(cat "$SHARED/run-two.out")
[[ $rc != 0 ]] || fail "a bad slice name was accepted"
[[ $CRT == /usr/sbin/runc ]] || assert_contains "error names the field" "$out" "linux.cgroupsPath"
assert_eq "no state left" "" "$(in_ct ls /run/brt 2>/dev/null | grep -v '^\.' || true)"
log "berth-runtime --systemd-cgroup: scope, properties, update, delete: ok"

# -- 2. containerd's CRI with SystemdCgroup = true ------------------------------
# (host-network sandboxes get copies of the node's /etc/hosts and
# /etc/resolv.conf, which a minbase tree lacks)
in_ct sh -c 'test -e /etc/hosts || echo "127.0.0.1 localhost" > /etc/hosts; test -e /etc/resolv.conf || : > /etc/resolv.conf'
D=$SHARED/ctrd
cri_containerd_config "$D" "$CRT" /run/berth-cri true
run_capture out rc in_ct systemd-run --unit=containerd-cri-test --property=Delegate=yes \
  containerd --config "$D/config.toml"
assert_eq "start containerd in the container (output: $out)" 0 "$rc"
wait_for_socket "$D/c.sock" 30
cri_import_images "$D/c.sock"
log "CRI scenario (systemd driver)"
/usr/bin/python3 "$BERTH_SOURCE_DIR/tests/e2e/cri/cri_scenario.py" --socket "$D/c.sock" --systemd \
  --image docker.io/library/busybox:latest --cgroup-parent kubepods-besteffort-podberth.slice \
  --log-dir "$SHARED" --mark "$E2E_MARK" --prefix "[\"nsenter\", \"-t\", \"$PID1\", \"-a\"]" \
  || { in_ct journalctl --no-pager -u containerd-cri-test -n 40 >&2; fail "CRI scenario (systemd) failed"; }
left=$(in_ct systemctl list-units --all --no-legend 'cri-containerd-*' || true)
assert_eq "cri-containerd scopes left" "" "$left"
left=$(in_ct sh -c 'find /run/berth-cri -mindepth 2 -maxdepth 2 ! -name ".*"' 2>/dev/null || true)
assert_eq "runtime state left" "" "$left"
in_ct systemctl stop containerd-cri-test
log "passed"
