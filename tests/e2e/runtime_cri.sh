#!/usr/bin/env bash
# Kubernetes' path, cgroupfs driver: containerd's CRI plugin (Debian's 1.6,
# private config) runs a pod through berth-runtime as a Kubernetes node's
# containerd runs it through runc (runtime_type io.containerd.runc.v2,
# BinaryName, SystemdCgroup = false). A host-network pod with the pod
# cgroup parent, a container sharing the sandbox's ipc/pid/uts namespaces
# by path, ExecSync, Exec, ContainerStats, UpdateContainerResources, stop
# and remove, driven over gRPC by tests/e2e/cri/cri_scenario.py (no crictl
# in Debian 12); then nothing may be left.
#
# Validate the harness itself against runc: E2E_RUNTIME=/usr/sbin/runc.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cri/lib_cri.sh"

e2e_init
require_bin containerd ctr containerd-shim-runc-v2 cc
/usr/bin/python3 -c 'import grpc' 2>/dev/null || skip "python3-grpcio not installed"
[[ -f $BERTH_BUILD_DIR/images/busybox-docker-archive.tar ]] \
  || fail "busybox image missing (run scripts/make-base-image $BERTH_BUILD_DIR/images)"
RT=$(e2e_runtime)
D=$E2E_TMP/ctrd
RROOT=$E2E_TMP/rt-root
PARENT=/berth-cri-${E2E_TMP##*.}
POD_CG=$PARENT/pod-${E2E_TMP##*.}
mkdir -p "$RROOT" "$E2E_TMP/logs"
on_exit_late rm_cgroup_tree "$PARENT"

cri_containerd_config "$D" "$RT" "$RROOT" false
containerd --config "$D/config.toml" > "$D/containerd.log" 2>&1 &
CTRD_PID=$!
on_exit kill_pid_bounded "$CTRD_PID" 10
e2e_on_failure() { echo "---- containerd log (tail) ----" >&2; tail -n 60 "$D/containerd.log" >&2; }
wait_for_socket "$D/c.sock" 30
cri_import_images "$D/c.sock"

log "CRI scenario (cgroupfs driver, runtime $RT)"
/usr/bin/python3 "$BERTH_SOURCE_DIR/tests/e2e/cri/cri_scenario.py" --socket "$D/c.sock" \
  --image docker.io/library/busybox:latest --cgroup-parent "$POD_CG" \
  --log-dir "$E2E_TMP/logs" --mark "$E2E_MARK" || fail "CRI scenario failed"

# containerd's shim runs `kill --all` after every task exit: it must succeed
# (it logged this for every container while berth-runtime refused it).
left=$(grep -c "failed to kill init's children" "$D/containerd.log" || true)
assert_eq "containerd's \"failed to kill init's children\" warnings" 0 "$left"

# Nothing left: the runtime's state, shims, mounts, cgroups.
left=$(find "$RROOT" -mindepth 2 -maxdepth 2 ! -name '.*' 2>/dev/null || true)
assert_eq "container entries left in the runtime state dir" "" "$left"
# (the pod's own dirs stay, as with runc: the kubelet makes and removes them)
left=$(for d in $(cgroup_dirs_named "$POD_CG"); do find "$d" -mindepth 1 -type d; done)
assert_eq "container cgroup dirs left under $POD_CG" "" "$left"
kill_pid_bounded "$CTRD_PID" 10
no_shims() { [[ -z $(pids_matching "$D/c.sock") ]]; }
wait_until 10 no_shims || fail "shims still running: $(pids_matching "$D/c.sock")"
left=$(awk -v d="$D" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo)
assert_eq "mounts left under the containerd root/state" "" "$left"
assert_eq "container processes left" "" "$(pids_matching "$E2E_MARK")"
log "passed"
