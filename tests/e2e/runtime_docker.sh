#!/usr/bin/env bash
# Docker's engine drives berth-runtime: a private dockerd (Debian's docker.io
# 20.10, its own containerd, no iptables, no bridge) registers it with
# `--add-runtime berth=<abs path>`, loads the bundled busybox image from its
# docker-archive tar (never a registry) and runs it with `--runtime berth`:
# foreground (output + exit code), detached (exec, top, update, stop, rm), a
# TTY, and a memory limit seen from inside. Afterwards nothing may be left (runtime
# state, cgroups, mounts, processes on our private paths).
#
# Validate the harness itself against runc: E2E_RUNTIME=/usr/sbin/runc.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
require_bin dockerd docker containerd containerd-shim-runc-v2
RT=$(e2e_runtime)
IMAGE_TAR=$BERTH_BUILD_DIR/images/busybox-docker-archive.tar
[[ -f $IMAGE_TAR ]] || fail "$IMAGE_TAR missing (run scripts/make-base-image $BERTH_BUILD_DIR/images)"
IMG=busybox:latest

start_dockerd "$E2E_TMP/dockerd" --add-runtime "berth=$RT"
d() { docker_cli "$@"; }
DRUN=(run --runtime berth --network none)
# dockerd 20.10 passes --root <exec-root>/runtime-runc/moby to every runc-like runtime.
RROOT=$DOCKERD_DIR/exec

e2e_on_failure() {
  echo "---- dockerd log (tail) ----" >&2
  grep -v 'level=info' "$DOCKERD_LOG" | tail -n 40 >&2
  local f
  for f in "$DOCKERD_DIR"/exec/containerd/daemon/io.containerd.runtime.v2.task/moby/*/log.json; do
    [[ -f $f ]] || continue
    echo "---- $f ----" >&2
    tail -n 20 "$f" >&2
  done
  echo "---- runtime root $RROOT ----" >&2
  find "$RROOT"/runtime-* -maxdepth 3 >&2 2>/dev/null
  d ps -a >&2 2>&1
}

log "runtime: $RT"
run_capture out rc d info --format '{{json .Runtimes}}'
assert_contains "docker info lists the berth runtime" "$out" '"berth"'

log "docker load -i $IMAGE_TAR"
run_capture out rc d load -i "$IMAGE_TAR"
assert_eq "docker load exit code (output: $out)" 0 "$rc"
assert_contains "docker load output" "$out" "busybox:latest"

# 1. Foreground: output and exit code pass through.
log "docker run --rm (foreground)"
run_capture out rc d "${DRUN[@]}" --rm "$IMG" sh -c "$MK"'echo hi; exit 5'
assert_eq "docker run output" "hi" "$out"
assert_eq "docker run exit code" 5 "$rc"

# stdin reaches the container.
run_capture out rc d "${DRUN[@]}" --rm -i "$IMG" \
  sh -c "$MK"'read -r line; echo "got $line"' <<< piped-input
assert_eq "docker run -i output" "got piped-input" "$out"
assert_eq "docker run -i exit code" 0 "$rc"

run_capture out rc d "${DRUN[@]}" --rm --hostname berthbox "$IMG" sh -c "$MK"'echo pid=$$ host=$(hostname) user=$(id -u); ls /bin/busybox'
assert_eq "docker run (isolation probe) exit code (output: $out)" 0 "$rc"
assert_contains "container pid namespace" "$out" "pid=1 "
assert_contains "container hostname" "$out" "host=berthbox"
assert_contains "container user" "$out" "user=0"
assert_contains "container rootfs" "$out" "/bin/busybox"

# 2. Detached: running, exec, top, stop (SIGTERM trapped -> exit 0), rm.
log "docker run -d (detached)"
CNAME=be2e-det-$$
run_capture out rc d "${DRUN[@]}" -d --name "$CNAME" "$IMG" \
  sh -c "trap 'exit 0' TERM; : $E2E_MARK; echo started; while true; do sleep 0.2; done"
assert_eq "docker run -d exit code (output: $out)" 0 "$rc"
cid=$out
run_capture out rc d inspect -f '{{.State.Running}} {{.State.Pid}}' "$CNAME"
assert_eq "docker inspect exit code (output: $out)" 0 "$rc"
read -r running pid <<< "$out"
assert_eq "detached container running" true "$running"
[[ $pid =~ ^[0-9]+$ && $pid != 0 && -d /proc/$pid ]] || fail "container pid [$pid] is not a live host process"
[[ $(readlink "/proc/$pid/ns/pid") != $(readlink /proc/self/ns/pid) ]] || fail "container shares the host pid namespace"
det_cgroups=$(cgroup_dirs_of "$pid")
det_mem=$(awk '$1 == "memory" { print $2 }' <<< "$det_cgroups")
own_mem=$(cgroup_dirs_of $$ | awk '$1 == "memory" { print $2 }')
log "detached: pid $pid, memory cgroup $det_mem"
# docker stats and containerd's OOM monitor read the memory cgroup of the init.
[[ -z $own_mem || $det_mem != "$own_mem" ]] || fail "container is in the test's own memory cgroup $own_mem (not its own)"

# The exec outlives the `exec --detach` call of the runtime (sleep).
log "docker exec"
run_capture out rc d exec "$CNAME" sh -c "$MK"'sleep 0.3; echo exec-ok pid1=$(cat /proc/1/comm); exit 6'
assert_eq "docker exec output" "exec-ok pid1=sh" "$out"
assert_eq "docker exec exit code" 6 "$rc"

log "docker top"
run_capture out rc d top "$CNAME"
assert_eq "docker top exit code (output: $out)" 0 "$rc"
assert_contains "docker top lists the init pid" "$out" "$pid"

# docker update: dockerd passes the limits through containerd to the
# runtime's `update` (a resources object with memory.kernel in it, which
# berth-runtime ignores); the container sees the new limit.
# (--memory-swap: dockerd refuses a memory limit above the swap limit it
# recorded at run time otherwise.)
log "docker update --memory 96m --memory-swap -1"
run_capture out rc d update --memory 96m --memory-swap -1 "$CNAME"
assert_eq "docker update exit code (output: $out)" 0 "$rc"
run_capture out rc d exec "$CNAME" sh -c "$MK"'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
assert_eq "memory limit seen inside after docker update" 100663296 "$out"
run_capture out rc d inspect -f '{{.HostConfig.Memory}}' "$CNAME"
assert_eq "docker inspect memory after update" 100663296 "$out"

log "docker pause / unpause"
run_capture out rc d pause "$CNAME"
assert_eq "docker pause exit code (output: $out)" 0 "$rc"
run_capture out rc d inspect -f '{{.State.Status}}' "$CNAME"
assert_eq "status after pause" paused "$out"
run_capture out rc d unpause "$CNAME"
assert_eq "docker unpause exit code (output: $out)" 0 "$rc"
run_capture out rc d inspect -f '{{.State.Status}}' "$CNAME"
assert_eq "status after unpause" running "$out"

log "docker stop"
run_capture out rc d stop -t 10 "$CNAME"
assert_eq "docker stop exit code (output: $out)" 0 "$rc"
run_capture out rc d inspect -f '{{.State.Running}} {{.State.ExitCode}}' "$CNAME"
assert_eq "state after docker stop" "false 0" "$out"
run_capture out rc d logs "$CNAME"
assert_eq "docker logs of the detached container" "started" "$out"
run_capture out rc d rm "$CNAME"
assert_eq "docker rm exit code (output: $out)" 0 "$rc"

# 3. TTY (console socket): stdout is a terminal.
log "docker run -t"
run_capture out rc d "${DRUN[@]}" --rm -t "$IMG" sh -c "$MK"'test -t 1 && echo is-a-tty; exit 4'
assert_contains "docker run -t output" "$out" "is-a-tty"
assert_eq "docker run -t exit code" 4 "$rc"

# 4. Memory limit, read from inside the container (v1 or v2 file).
log "docker run -m 64m"
run_capture out rc d "${DRUN[@]}" --rm -m 64m "$IMG" sh -c \
  'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max'
assert_eq "docker run -m 64m exit code (output: $out)" 0 "$rc"
assert_eq "memory limit seen inside the container" 67108864 "$out"

# 5. A bad command: docker's 127 and the real cause, read from the runtime's --log.
log "docker run of a missing binary"
run_capture out rc d "${DRUN[@]}" --rm "$IMG" /no/such/binary
assert_eq "docker run of /no/such/binary exit code (output: $out)" 127 "$rc"
assert_contains "error names the binary" "$out" "/no/such/binary"
assert_contains "error names the cause" "${out,,}" "no such file"

# 6. Nothing left behind (while dockerd still runs, then after it stops).
log "checking for leftovers"
run_capture out rc d ps -aq
assert_eq "containers left" "" "$out"
# (dot entries are the runtime's own, e.g. berth-runtime's .seccomp-cache, not containers)
left=$(find "$RROOT"/runtime-*/moby -mindepth 1 -maxdepth 1 ! -name '.*' 2>/dev/null || true)
assert_eq "container entries left in the runtime state dir $RROOT/runtime-*/moby" "" "$left"
left=$(for dd in $(cgroup_dirs_named "$DOCKERD_CGROUP_PARENT"); do find "$dd" -mindepth 1 -type d; done
       comm -23 <(sort <<< "$det_cgroups") <(cgroup_dirs_of $$ | sort) | while read -r _ dd; do
         if [[ -d $dd ]]; then echo "$dd"; fi
       done)
assert_eq "container cgroup dirs left" "" "$left"
left=$(awk -v d="$DOCKERD_DIR/exec" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo)
assert_eq "mounts left under the docker exec root" "" "$left"
left=$(awk -v d="$DOCKERD_DIR/data" 'index($5, d "/") == 1 && $5 !~ /\/overlay2$/ { print $5 }' /proc/self/mountinfo)
assert_eq "container mounts left under the docker data root" "" "$left"

left=$(pids_matching "$E2E_MARK")
assert_eq "container processes left" "" "$left"
stop_dockerd
sleep 0.2
left=$(pids_matching "$E2E_TMP")
assert_eq "processes left on private paths" "" "$left"
