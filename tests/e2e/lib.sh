# Shared helpers for tests/e2e/*.sh (sourced, not run).
#
# Every test gets one private temp dir ($E2E_TMP) and one cleanup trap that
# runs registered handlers in reverse order, then unmounts anything left under
# $E2E_TMP and removes it. Daemons (containerd, dockerd) are started on private
# sockets and roots under $E2E_TMP, never touching a system instance.
#
# Environment (set by tests/CMakeLists.txt):
#   BERTH_BUILD_DIR   the build tree (bin/berth-runtime, images/)
#   BERTH_SOURCE_DIR  the source tree
# Optional:
#   E2E_RUNTIME       runtime binary to drive (default: $BERTH_BUILD_DIR/bin/berth-runtime);
#                     set to /usr/sbin/runc to validate a harness against runc
#   E2E_TRACE=1       drive the runtime through a wrapper that logs every argv
#                     (to $E2E_TMP/runtime-argv.log, printed on failure)
#   E2E_KEEP=1        keep $E2E_TMP on failure (daemons are still stopped)

set -euo pipefail

# Every e2e test runs in a network namespace of its own, with only its
# loopback up: the engine's default `bridge` network (berth0, its nftables
# rules, ip_forward), dockerd, registries and containers all stay off the
# machine's own network. A test that must reach the outside (a first
# mmdebstrap download) sets E2E_HOST_NETWORK=1 before sourcing this file.
if [[ -z ${E2E_IN_PRIVATE_NET_NS:-} && -z ${E2E_HOST_NETWORK:-} && $(id -u) == 0 ]] && command -v unshare >/dev/null; then
  exec env E2E_IN_PRIVATE_NET_NS=1 unshare --net bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$@"
fi

E2E_NAME=${E2E_NAME:-$(basename "${BASH_SOURCE[1]:-e2e}" .sh)}
E2E_TMP=
E2E_CLEANUPS=()
E2E_LATE_CLEANUPS=()
E2E_FAILED=0

log()  { printf '[%s %s] %s\n' "$E2E_NAME" "$(date +%T)" "$*" >&2; }
skip() { printf '[%s] SKIP: %s\n' "$E2E_NAME" "$*" >&2; exit 77; }
fail() {
  printf '[%s] FAIL: %s\n' "$E2E_NAME" "$*" >&2
  E2E_FAILED=1
  exit 1
}

# require_bin NAME... : skip (77) only when a peer binary is truly missing.
require_bin() {
  local b
  for b in "$@"; do
    command -v "$b" >/dev/null 2>&1 || skip "$b not installed"
  done
}

require_root() {
  [[ $(id -u) == 0 ]] || skip "needs root"
}

# on_exit CMD... : register a cleanup command (run in reverse order, errors ignored).
on_exit() { E2E_CLEANUPS+=("$*"); }
# on_exit_late CMD... : run after all on_exit handlers (daemons stopped) and
# after container processes carrying $E2E_MARK were killed: cgroup removal.
on_exit_late() { E2E_LATE_CLEANUPS+=("$*"); }

# kill_marked : SIGKILL every process whose command line carries $E2E_MARK.
# Tests put the marker into every container command (`: $E2E_MARK;`), so a
# container the runtime failed to stop (or put in a cgroup) is still found.
kill_marked() {
  [[ -n ${E2E_MARK:-} ]] || return 0
  local pids
  pids=$(pids_matching "$E2E_MARK")
  [[ -z $pids ]] && return 0
  kill -KILL $pids 2>/dev/null || true
  local deadline=$((SECONDS + 5))
  while [[ -n $(pids_matching "$E2E_MARK") ]] && ((SECONDS < deadline)); do sleep 0.1; done
}

_e2e_umount_under() {
  local dir=$1 mp
  # Deepest first; lazy as a last resort so cleanup never hangs.
  while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
  done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r)
}

_e2e_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  [[ $rc != 0 && $rc != 77 ]] && E2E_FAILED=1
  if [[ $E2E_FAILED == 1 ]]; then
    declare -F e2e_on_failure >/dev/null && e2e_on_failure
    if [[ -n ${E2E_TMP:-} && -s $E2E_TMP/runtime-argv.log ]]; then
      echo "---- runtime argv log ($E2E_TMP/runtime-argv.log) ----" >&2
      tail -n 60 "$E2E_TMP/runtime-argv.log" >&2
    fi
  fi
  local i
  for ((i = ${#E2E_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${E2E_CLEANUPS[$i]}" >/dev/null 2>&1
  done
  kill_marked
  for ((i = ${#E2E_LATE_CLEANUPS[@]} - 1; i >= 0; i--)); do
    eval "${E2E_LATE_CLEANUPS[$i]}" >/dev/null 2>&1
  done
  if [[ -n ${E2E_TMP:-} && -d $E2E_TMP ]]; then
    _e2e_umount_under "$E2E_TMP"
    if [[ $E2E_FAILED == 1 && ${E2E_KEEP:-0} == 1 ]]; then
      echo "[$E2E_NAME] kept $E2E_TMP" >&2
    else
      rm -rf "$E2E_TMP"
    fi
  fi
  if [[ $rc == 0 ]]; then echo "[$E2E_NAME] PASS" >&2; fi
  exit $rc
}

# e2e_init : create $E2E_TMP (short path: it holds unix sockets) and the trap.
e2e_init() {
  require_root
  : "${BERTH_BUILD_DIR:?BERTH_BUILD_DIR not set (run via ctest or set it)}"
  : "${BERTH_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
  BERTH_BUILD_DIR=$(cd "$BERTH_BUILD_DIR" && pwd)
  E2E_TMP=$(mktemp -d "/tmp/be2e-${E2E_NAME:0:12}.XXXXXX")
  chmod 755 "$E2E_TMP"
  E2E_MARK=be2e-mark-${E2E_TMP##*.}
  MK=": $E2E_MARK; "   # prefix for container shell commands
  trap _e2e_cleanup EXIT
  trap 'printf "[%s] FAIL: command failed (exit %s) at %s line %s: %s\n" "$E2E_NAME" "$?" "${BASH_SOURCE[0]##*/}" "$LINENO" "$BASH_COMMAND" >&2' ERR
  trap 'exit 130' INT
  trap 'exit 143' TERM
  export E2E_TMP
}

# e2e_runtime : print the runtime binary to hand to engines (absolute path).
# With E2E_TRACE=1 it is a wrapper that logs argv and execs the real binary.
e2e_runtime() {
  local rt=${E2E_RUNTIME:-$BERTH_BUILD_DIR/bin/berth-runtime}
  [[ -x $rt ]] || fail "runtime binary $rt missing (build target berth-runtime)"
  if [[ ${E2E_TRACE:-0} == 1 ]]; then
    local w=$E2E_TMP/runtime-wrapper
    if [[ ! -x $w ]]; then
      cat > "$w" <<EOF
#!/bin/bash
printf '%s pid=%s ppid=%s:' "\$(date +%T.%N)" "\$\$" "\$PPID" >> '$E2E_TMP/runtime-argv.log'
printf ' %q' "\$@" >> '$E2E_TMP/runtime-argv.log'
printf '\n' >> '$E2E_TMP/runtime-argv.log'
exec '$rt' "\$@"
EOF
      chmod 755 "$w"
    fi
    echo "$w"
  else
    echo "$rt"
  fi
}

# wait_until TIMEOUT_S CMD... : poll CMD every 0.1 s until it succeeds.
wait_until() {
  local timeout=$1; shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# wait_for_socket PATH TIMEOUT_S
wait_for_socket() {
  wait_until "$2" test -S "$1" || fail "socket $1 did not appear within $2 s"
}

# pids_matching STRING : pids of processes whose command line contains STRING
# (always a private path under $E2E_TMP, so only our own daemons and shims match).
pids_matching() {
  pgrep -f -- "$1" 2>/dev/null | grep -vx "$$" || true
}

# kill_pid_bounded PID TIMEOUT_S : SIGTERM, wait, then SIGKILL.
kill_pid_bounded() {
  local pid=$1 timeout=$2
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid ignored SIGTERM for ${timeout}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  wait "$pid" 2>/dev/null || true
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
  [[ $2 == "$3" ]] || fail "$1: expected [$2], got [$3]"
}

# assert_contains WHAT HAYSTACK NEEDLE
assert_contains() {
  [[ $2 == *"$3"* ]] || fail "$1: expected output containing [$3], got [$2]"
}

# run_capture VAR_OUT VAR_RC CMD... : run CMD (a command or a function; bound
# it with `timeout` yourself), capture stdout+stderr and the exit code without
# tripping set -e.
run_capture() {
  local __out=$1 __rc=$2; shift 2
  local __o __r=0
  __o=$("$@" 2>&1) || __r=$?
  printf -v "$__out" '%s' "$__o"
  printf -v "$__rc" '%s' "$__r"
}

# runtime_on_busybox: RT (the runtime under test) and ROOTFS (the bundled
# busybox rootfs), after e2e_init; fails if the rootfs was not made.
runtime_on_busybox() {
  require_bin jq
  RT=$(e2e_runtime)
  ROOTFS=$BERTH_BUILD_DIR/images/busybox-rootfs
  [[ -d $ROOTFS ]] || fail "$ROOTFS missing (run scripts/make-base-image $BERTH_BUILD_DIR/images)"
}

# ------------------------------------------------------------- networks

# net_test_init : how a network test starts, after e2e_init (the test
# already runs in a network namespace of its own: see the top of this file).
net_test_init() {
  engine_init
  [[ -x $BERTH_BUILD_DIR/bin/berth-network ]] || fail "berth-network missing (ninja berth-network)"
  ip link set lo up
}
# What must be as before once a test removed its containers and networks.
links() { ip -o link show | awk -F': ' '{print $2}' | grep -v '^ext0\|^lan0' | sort; }
leases() { sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM leases' 2>/dev/null || echo 0; }

# in_other_netns PID : PID (already) has a network namespace other than ours.
in_other_netns() { [[ $(readlink "/proc/$1/ns/net") != "$(readlink /proc/$$/ns/net)" ]]; }

# outside_ns HOSTIF PEERIF HOSTADDR PEERSETUP : an "outside" network
# namespace behind a veth pair: HOSTIF here with HOSTADDR, PEERIF there,
# set up by the shell commands PEERSETUP (its addresses and routes). Sets
# OUTSIDE_PID (for nsenter -t "$OUTSIDE_PID" -n ...); killed on exit.
outside_ns() {
  unshare --net sleep 1000 &
  OUTSIDE_PID=$!
  on_exit "kill $OUTSIDE_PID"
  wait_until 5 in_other_netns "$OUTSIDE_PID" || fail "outside namespace for $1 not made"
  ip link add "$1" type veth peer name "$2" netns "$OUTSIDE_PID"
  ip addr add $3 dev "$1"
  ip link set "$1" up
  nsenter -t "$OUTSIDE_PID" -n sh -c "ip link set lo up; $4"
}

# in_private_mount_ns "$@" : re-runs the calling test, once, in a private
# mount namespace of its own, so that it may change what the host mounts
# (the cgroup views of runtime_cgroup1/2). Call before e2e_init.
in_private_mount_ns() {
  [[ -n ${E2E_IN_PRIVATE_MOUNT_NS:-} ]] && return 0
  [[ $(id -u) == 0 ]] || skip "needs root"
  require_bin unshare
  exec unshare -m --propagation private env E2E_IN_PRIVATE_MOUNT_NS=1 bash "$0" "$@"
}

# cgroup_bundle NAME CGROUPS_PREFIX JQ-FILTER : prints the dir of a bundle
# $E2E_TMP/NAME on the shared read-only busybox rootfs ($ROOTFS), made by
# `$RT spec`: `sleep 100`, no terminal, cgroupsPath CGROUPS_PREFIX/NAME, then
# JQ-FILTER applied to config.json.
cgroup_bundle() {
  local dir=$E2E_TMP/$1
  mkdir -p "$dir"
  (cd "$dir" && "$RT" spec)
  jq --arg root "$ROOTFS" --arg cg "$2/$1" \
    '.root.path = $root | .process.terminal = false | .process.args = ["sleep", "100"]
     | .linux.cgroupsPath = $cg | '"$3" "$dir/config.json" > "$dir/c" && mv "$dir/c" "$dir/config.json"
  echo "$dir"
}

# ---------------------------------------------------------------- cgroups

# cgroup_dirs_named REL : existing cgroup dirs at REL in any hierarchy (v1 or v2).
cgroup_dirs_named() {
  local rel=${1#/} m
  for m in /sys/fs/cgroup /sys/fs/cgroup/*/; do
    m=${m%/}
    [[ -d $m/$rel ]] && echo "$m/$rel"
  done
  return 0
}

# cgroup_dirs_of PID : the absolute cgroup dir of PID in each hierarchy it is
# in (v1 controllers, name=systemd, and the v2 tree at /sys/fs/cgroup or
# /sys/fs/cgroup/unified), one per line as "<hierarchy> <dir>".
cgroup_dirs_of() {
  local v2root=/sys/fs/cgroup
  [[ -f /sys/fs/cgroup/unified/cgroup.controllers ]] && v2root=/sys/fs/cgroup/unified
  local id ctrls path
  while IFS=: read -r id ctrls path; do
    case $ctrls in
      "") echo "unified $v2root$path" ;;
      name=*) echo "$ctrls /sys/fs/cgroup/${ctrls#name=}$path" ;;
      *) echo "$ctrls /sys/fs/cgroup/$ctrls$path" ;;
    esac
  done < "/proc/$1/cgroup"
}

# rm_cgroup_tree REL : kill what is left in the cgroups at REL (a private,
# per-test name: only our containers can be there) and remove the dirs, in
# every hierarchy.
rm_cgroup_tree() {
  local d pids
  pids=$(for d in $(cgroup_dirs_named "$1"); do
           find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null
         done | sort -u)
  if [[ -n $pids ]]; then
    kill -KILL $pids 2>/dev/null || true
    sleep 0.2
  fi
  while read -r d; do
    [[ -n $d ]] || continue
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done < <(cgroup_dirs_named "$1")
}

# ------------------------------------------------------------- containerd

# start_containerd DIR : private containerd with root/state/sockets under DIR.
# Sets CTRD_SOCK, CTRD_PID, CTRD_DIR, CTRD_LOG.
start_containerd() {
  require_bin containerd ctr containerd-shim-runc-v2
  CTRD_DIR=$1
  mkdir -p "$CTRD_DIR"
  CTRD_SOCK=$CTRD_DIR/c.sock
  CTRD_LOG=$CTRD_DIR/containerd.log
  cat > "$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
plugin_dir = ""
disabled_plugins = [
  "io.containerd.grpc.v1.cri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$CTRD_SOCK"

[ttrpc]
  address = "$CTRD_SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$CTRD_DIR/opt"
EOF
  containerd --config "$CTRD_DIR/config.toml" > "$CTRD_LOG" 2>&1 &
  CTRD_PID=$!
  on_exit stop_containerd
  wait_for_socket "$CTRD_SOCK" 20
  wait_until 20 ctr --address "$CTRD_SOCK" version \
    || { tail -n 30 "$CTRD_LOG" >&2; fail "containerd did not answer on $CTRD_SOCK"; }
  log "containerd pid $CTRD_PID on $CTRD_SOCK"
}

# stop_containerd : stop our containerd and every shim it started (by pid).
stop_containerd() {
  [[ -n ${CTRD_PID:-} ]] || return 0
  kill_pid_bounded "$CTRD_PID" 10
  local pid
  for pid in $(pids_matching "-address $CTRD_SOCK"); do
    kill_pid_bounded "$pid" 5
  done
  CTRD_PID=
}

# ----------------------------------------------------------------- dockerd

# start_dockerd DIR [EXTRA_ARGS...] : private dockerd (it spawns its own
# containerd under DIR/exec). Sets DOCKERD_SOCK, DOCKERD_PID, DOCKERD_DIR,
# DOCKERD_LOG, DOCKERD_CGROUP_PARENT and exports DOCKER_HOST.
start_dockerd() {
  require_bin dockerd containerd containerd-shim-runc-v2
  DOCKERD_DIR=$1; shift
  mkdir -p "$DOCKERD_DIR"/{data,exec}
  DOCKERD_SOCK=$DOCKERD_DIR/d.sock
  DOCKERD_LOG=$DOCKERD_DIR/dockerd.log
  DOCKERD_CGROUP_PARENT=/$(basename "$DOCKERD_DIR")-$(basename "$E2E_TMP" | tr -c 'a-zA-Z0-9-\n' -)
  echo '{}' > "$DOCKERD_DIR/daemon.json"
  dockerd \
    --config-file "$DOCKERD_DIR/daemon.json" \
    --data-root "$DOCKERD_DIR/data" \
    --exec-root "$DOCKERD_DIR/exec" \
    --pidfile "$DOCKERD_DIR/docker.pid" \
    -H "unix://$DOCKERD_SOCK" \
    --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false \
    --cgroup-parent "$DOCKERD_CGROUP_PARENT" \
    --storage-driver overlay2 \
    --userland-proxy=false \
    "$@" > "$DOCKERD_LOG" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST=unix://$DOCKERD_SOCK
  on_exit stop_dockerd
  on_exit_late rm_cgroup_tree "$DOCKERD_CGROUP_PARENT"
  wait_for_socket "$DOCKERD_SOCK" 30
  wait_until 30 docker_cli version \
    || { tail -n 30 "$DOCKERD_LOG" >&2; fail "dockerd did not answer on $DOCKERD_SOCK"; }
  log "dockerd pid $DOCKERD_PID on $DOCKERD_SOCK"
}

# docker_cli ARGS... : the docker client against our private daemon.
docker_cli() {
  local bin=/usr/bin/docker
  [[ -x $bin ]] || bin=docker
  timeout 60 "$bin" -H "unix://$DOCKERD_SOCK" "$@"
}

# stop_dockerd : stop dockerd, then its containerd and shims (matched by our private paths).
stop_dockerd() {
  [[ -n ${DOCKERD_PID:-} ]] || return 0
  kill_pid_bounded "$DOCKERD_PID" 15
  local pid
  for pid in $(pids_matching "$DOCKERD_DIR/exec/containerd"); do
    kill_pid_bounded "$pid" 5
  done
  DOCKERD_PID=
}

# ------------------------------------------------------------------ engine
# The `berth` container CLI on a store of the test's own. engine_init (after
# e2e_init) sets ROOT and STATE under $E2E_TMP, loads the bundled busybox
# image, and registers a teardown that removes every container (rm -f), then
# kills what is left in their cgroups and removes those.

engine_init() {
  require_bin jq
  BERTH=$BERTH_BUILD_DIR/bin/berth
  local bin
  for bin in berth berth-monitor berth-runtime; do
    [[ -x $BERTH_BUILD_DIR/bin/$bin ]] || fail "$BERTH_BUILD_DIR/bin/$bin missing (ninja berth berth-monitor berth-runtime)"
  done
  BUSYBOX_ARCHIVE=$BERTH_BUILD_DIR/images/busybox-docker-archive.tar
  [[ -f $BUSYBOX_ARCHIVE ]] || fail "$BUSYBOX_ARCHIVE missing (run scripts/make-base-image $BERTH_BUILD_DIR/images)"
  ROOT=$E2E_TMP/root
  STATE=$E2E_TMP/state
  on_exit engine_teardown
  b load -i "$BUSYBOX_ARCHIVE" >/dev/null
}

# b ARGS... : berth on this test's root and state (bounded: a hung verb fails
# the test instead of the ctest timeout).
b() { timeout 60 "$BERTH" --root "$ROOT" --state "$STATE" "$@"; }

engine_teardown() {
  local ids id
  ids=$(ls "$ROOT/containers" 2>/dev/null || true)
  for id in $ids; do b rm -f "$id" >/dev/null 2>&1 || true; done
  # Monitors (and their runtimes) name the bundle under $ROOT in their argv.
  for id in $(pids_matching "$ROOT/containers/"); do kill -KILL "$id" 2>/dev/null || true; done
  for id in $ids; do rm_cgroup_tree "berth/$id"; done
}

# expect_error CODE PATTERN CMD... : CMD fails with exit CODE and exactly one
# line on stderr, which contains PATTERN; nothing on stdout.
expect_error() {
  local code=$1 pat=$2; shift 2
  local out err rc=0
  out=$("$@" 2>"$E2E_TMP/expect_error.err") || rc=$?
  err=$(cat "$E2E_TMP/expect_error.err")
  [[ $rc == "$code" ]] || fail "$*: exit $rc, want $code (stderr: $err)"
  [[ -n $err && $(printf '%s\n' "$err" | wc -l) == 1 ]] || fail "$*: want one line on stderr, got: [$err]"
  [[ $err == *"$pat"* ]] || fail "$*: stderr lacks [$pat]: $err"
  [[ -z $out ]] || fail "$*: unexpected stdout: [$out]"
}

# assert_exit WHAT CODE CMD... : CMD exits with CODE; its stdout and stderr
# are left in $E2E_TMP/stdout and $E2E_TMP/stderr.
assert_exit() {
  local what=$1 code=$2 rc=0; shift 2
  "$@" >"$E2E_TMP/stdout" 2>"$E2E_TMP/stderr" || rc=$?
  [[ $rc == "$code" ]] || fail "$what: $*: exit $rc, want $code (stderr: $(head -c 500 "$E2E_TMP/stderr"))"
}

# assert_refused WHAT PATTERN CMD... : CMD fails (any non-zero exit) and
# says PATTERN on stderr: a write the container must not be able to do.
assert_refused() {
  local what=$1 pat=$2 rc=0; shift 2
  "$@" >"$E2E_TMP/stdout" 2>"$E2E_TMP/stderr" || rc=$?
  [[ $rc != 0 ]] || fail "$what: succeeded ($*)"
  assert_contains "$what" "$(cat "$E2E_TMP/stderr")" "$pat"
}

# container_pid REF : the host pid of the container's init (fails if none).
container_pid() {
  local pid
  pid=$(b inspect -f '{{.State.Pid}}' "$1")
  [[ $pid =~ ^[1-9][0-9]*$ ]] && kill -0 "$pid" 2>/dev/null || fail "container $1: no live pid (State.Pid=[$pid])"
  echo "$pid"
}

# container_id REF : the full id.
container_id() { b inspect -f '{{.Id}}' "$1"; }

# container_mount DEST [RUN-FLAGS...] : the /proc/self/mountinfo line of DEST
# in a busybox container run with RUN-FLAGS (empty if nothing is mounted there).
container_mount() {
  local dest=$1; shift
  b run --rm "$@" busybox awk -v d="$dest" '$5 == d' /proc/self/mountinfo
}

# engine_traces ID_OR_PREFIX : every trace of a container on the host, one
# per line: its dirs under ROOT and STATE, its runtime state, mounts naming
# it, its cgroup dirs (any hierarchy). Empty when the container is gone.
engine_traces() {
  local p=$1
  ls -d "$ROOT/containers/$p"* "$STATE/containers/$p"* "$STATE/runtime/$p"* 2>/dev/null || true
  grep -F "$p" /proc/self/mountinfo || true
  ls -d /sys/fs/cgroup/*/berth/"$p"* /sys/fs/cgroup/berth/"$p"* 2>/dev/null || true
}

# assert_no_trace ID_OR_PREFIX : no record, no dir, no mount, no cgroup.
assert_no_trace() {
  local traces
  [[ -z $(b ps -a -q --no-trunc | grep "^$1" || true) ]] || fail "container $1 still listed by ps -a"
  traces=$(engine_traces "$1")
  [[ -z $traces ]] || fail "container $1 left traces: $traces"
}

# wait_no_trace ID_OR_PREFIX TIMEOUT_S : assert_no_trace, once the traces
# are gone or after TIMEOUT_S (a container that removes itself: run -d --rm).
wait_no_trace() {
  local deadline=$((SECONDS + $2))
  while [[ -n $(b ps -a -q --no-trunc | grep "^$1" || true)$(engine_traces "$1") ]] && ((SECONDS < deadline)); do
    sleep 0.2
  done
  assert_no_trace "$1"
}

# engine_footprint : what a failed command must not change: records, dirs,
# volumes, mounts under the test's dir, cgroups of our containers.
engine_footprint() {
  b ps -a -q --no-trunc | sort
  echo "-- dirs"; ls "$ROOT/containers" "$STATE/containers" "$ROOT/volumes" 2>/dev/null || true
  echo "-- volumes"; b volume ls -q
  echo "-- mounts"; awk -v d="$E2E_TMP" 'index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort
  echo "-- cgroups"; ls -d /sys/fs/cgroup/*/berth/* 2>/dev/null | grep -F -f <(ls "$ROOT/containers" 2>/dev/null; echo ///) || true
}

# image_with_config NAME:TAG JQ-FILTER : loads busybox again as NAME:TAG with
# JQ-FILTER applied to its image config (e.g. '.config.Entrypoint = ["echo"]').
image_with_config() {
  local ref=$1 filter=$2 dir cfg hash
  dir=$(mktemp -d "$E2E_TMP/image.XXXXXX")
  tar -C "$dir" -xf "$BUSYBOX_ARCHIVE"
  cfg=$(jq -r '.[0].Config' "$dir/manifest.json")
  jq -c "$filter" "$dir/$cfg" > "$dir/new.json"
  hash=$(sha256sum "$dir/new.json" | cut -d' ' -f1)
  mv "$dir/new.json" "$dir/$hash.json"
  rm -f "$dir/$cfg" "$dir/repositories"
  jq -c --arg c "$hash.json" --arg r "$ref" '.[0].Config = $c | .[0].RepoTags = [$r]' "$dir/manifest.json" > "$dir/m"
  mv "$dir/m" "$dir/manifest.json"
  (cd "$dir" && tar -cf ../"${dir##*/}.tar" .)
  b load -i "$dir.tar" >/dev/null
  rm -rf "$dir" "$dir.tar"
}

# seconds_since START (from `date +%s.%N`) : elapsed seconds, decimal.
seconds_since() { echo "$(date +%s.%N) - $1" | bc; }

# ------------------------------------------------------- engine: leftovers
# What the crash, restart and load tests check on the host itself (/proc,
# mountinfo, cgroupfs), never through berth's own word. They need
# engine_init's ROOT and STATE and e2e_init's E2E_MARK: every container
# command carries the marker (`sh -c "sleep 1000; : $E2E_MARK"`: not the
# last command, so the shell does not exec it away).

# bk DELAY ARGS... : berth ARGS... killed with SIGKILL after DELAY seconds,
# in one of two ways, alternately: with its process group (`timeout -s
# KILL`: the runtime calls it made die with it; a monitor is in a session
# of its own), or alone, under a parent that never reaps it, so that it
# stays a zombie while the next commands run (as under an init that is slow
# to reap) until the next bk or bk_reap. Never fails.
BK_N=0
bk() {
  local d=$1; shift
  bk_reap
  BK_N=$((BK_N + 1))
  if ((BK_N % 2)); then
    (timeout -s KILL "$d" "$BERTH" --root "$ROOT" --state "$STATE" "$@" >/dev/null 2>&1 || true) 2>/dev/null
  else
    rm -f "$E2E_TMP/bk.pid"
    ( "$BERTH" --root "$ROOT" --state "$STATE" "$@" >/dev/null 2>&1 &
      echo $! > "$E2E_TMP/bk.pid"
      exec sleep 600 ) &
    BK_PARENT=$!
    wait_until 10 test -s "$E2E_TMP/bk.pid" || fail "berth $* did not start"
    sleep "$d"
    kill -KILL "$(cat "$E2E_TMP/bk.pid")" 2>/dev/null || true
  fi
  # SIGKILL is sent, not yet done: wait until the CLI is dead (a zombie's
  # command line is empty, so it no longer matches).
  wait_until 10 no_cli_runs || fail "berth $* survived SIGKILL"
}
no_cli_runs() { [[ -z $(pgrep -f -- "^$BERTH --root $ROOT " || true) ]]; }
bk_reap() {
  [[ -n ${BK_PARENT:-} ]] || return 0
  kill -KILL "$BK_PARENT" 2>/dev/null || true
  wait "$BK_PARENT" 2>/dev/null || true
  BK_PARENT=
}

# ms_of ARGS... : runs berth ARGS... (output dropped) and prints its wall time in ms.
ms_of() {
  local t0
  t0=$(date +%s%N)
  b "$@" >/dev/null
  echo $((($(date +%s%N) - t0) / 1000000))
}

# kill_delays MS N : N delays in seconds, spread from 0 to 1.25 x MS (the
# verb's own duration, measured on this machine now), for bk.
kill_delays() {
  awk -v ms="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%.3f\n", ms * 1.25 * i / (n - 1) / 1000 }'
}

# monitor_pids : the berth-monitors of this store (their argv names status.json under ROOT).
monitor_pids() { pgrep -f -- "^berth-monitor .*--status $ROOT/containers/" || true; }
no_monitors() { [[ -z $(monitor_pids) ]]; }
# monitor_of ID : the pid of the monitor of container ID (full id), "" if
# none. The oldest match: a child the monitor is spawning shares its memory,
# so its command line too, until it execs.
monitor_of() { pgrep -o -f -- "^berth-monitor --id $1 " || true; }
# monitor_gone ID : the monitor of container ID has exited.
monitor_gone() { [[ -z $(monitor_of "$1") ]]; }

# container_procs : processes of this store's containers: those whose
# command line carries $E2E_MARK, and those in the cgroup of any container
# id noted so far (note_ids). (Not /proc/PID/root: from the host, a
# pivot_root'ed root reads as "/".)
container_procs() {
  local id f files=()
  for id in $(cat "$E2E_TMP/ids" 2>/dev/null); do
    for f in /sys/fs/cgroup/*/berth/"$id"/cgroup.procs; do [[ -e $f ]] && files+=("$f"); done
  done
  {
    pids_matching "$E2E_MARK"
    ((${#files[@]} == 0)) || cat "${files[@]}" 2>/dev/null
  } | sort -u
}

# cgroup_container PID : the id in PID's v1 memory cgroup path /berth/<id> ("" if none).
cgroup_container() {
  local path
  path=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$1/cgroup" 2>/dev/null)
  [[ $path == /berth/* ]] && echo "${path#/berth/}"
  return 0
}

# mounts_under DIR : mount points at or below DIR.
mounts_under() { awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo; }

# note_ids : remembers ($E2E_TMP/ids) every container id that has had a dir
# under ROOT or STATE so far, so one whose record went is still checked.
note_ids() {
  {
    ls "$ROOT/containers" "$STATE/containers" "$STATE/runtime" 2>/dev/null
    cat "$E2E_TMP/ids" 2>/dev/null
  } | grep -E '^[0-9a-f]{64}$' | sort -u > "$E2E_TMP/ids.new" || true
  mv "$E2E_TMP/ids.new" "$E2E_TMP/ids"
}

# settle : waits (bounded) until no runtime call of this store has run for
# 0.2 s: a monitor that a killed CLI left starting its container (in a
# session of its own, it outlives the CLI) has reported the start.
settle() {
  local quiet=0 deadline=$((SECONDS + 20))
  while ((quiet < 2 && SECONDS < deadline)); do
    if [[ -z $(pgrep -f -- "--root $STATE/runtime" || true) ]]; then quiet=$((quiet + 1)); else quiet=0; fi
    sleep 0.1
  done
}

# assert_reconciled WHAT : settles, then runs the next command (`ps -a`) and checks what it
# reports against the host: every container process is in the cgroup of a
# running container, every mount under ROOT is the rootfs of a running
# container, every monitor watches one; a container that does not run has
# no runtime state and no cgroup; an id without a record has no trace at all.
assert_reconciled() {
  local what=$1 id st pid mp
  local -A state=()
  settle
  while read -r id st; do [[ -n $id ]] && state[$id]=$st; done < <(b ps -a --no-trunc --format '{{.ID}} {{.State}}')
  note_ids
  for pid in $(container_procs); do
    id=$(cgroup_container "$pid")
    [[ -n $id && ${state[$id]:-} == running ]] ||
      fail "$what: process $pid [$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)] in cgroup [/berth/$id] of a container that is [${state[$id]:-no record}]"
  done
  while read -r mp; do
    [[ -n $mp ]] || continue
    id=${mp#"$ROOT/containers/"}
    id=${id%/merged}
    [[ $mp == "$ROOT/containers/$id/merged" && ${state[$id]:-} == running ]] ||
      fail "$what: mount $mp of a container that is [${state[$id]:-no record}]"
  done < <(mounts_under "$ROOT")
  local -A watched=()
  for pid in $(monitor_pids); do
    id=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | sed -n '3p')
    [[ -n $id ]] && watched[$id]=$pid
    [[ -z $id || ${state[$id]:-} == running || ${state[$id]:-} == restarting ]] ||
      fail "$what: monitor $pid of container $id which is [${state[$id]:-no record}]"
  done
  assert_volumes_owned "$what" "${!state[@]}"
  while read -r id; do
    [[ -n $id ]] || continue
    st=${state[$id]:-}
    case $st in
      running | restarting | paused)
        [[ -n ${watched[$id]:-} ]] || fail "$what: container $id is $st but has no monitor"
        ;;
      "") [[ -z $(engine_traces "$id") ]] || fail "$what: container $id has no record but left: $(engine_traces "$id")" ;;
      *)
        [[ ! -e $STATE/runtime/$id ]] || fail "$what: container $id is $st but its runtime state is left"
        [[ -z $(ls -d /sys/fs/cgroup/*/berth/"$id" 2>/dev/null) ]] ||
          fail "$what: container $id is $st but its cgroups are left: $(ls -d /sys/fs/cgroup/*/berth/"$id")"
        ;;
    esac
  done < "$E2E_TMP/ids"
}

# lose_state_dir : what a reboot does to the engine, and more: every
# monitor of this store is SIGKILLed, then the state dir (a tmpfs) goes.
# The containers themselves are left running for the engine to find.
lose_state_dir() {
  local m
  m=$(monitor_pids)
  [[ -z $m ]] || kill -KILL $m
  wait_until 5 no_monitors || fail "monitors survived SIGKILL: $(monitor_pids)"
  # A reboot takes the mounts under the state dir too (the containers'
  # network namespace files).
  awk -v s="$STATE/" 'index($5, s) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
  rm -rf "$STATE"
}

# assert_volumes_owned WHAT ID... : every volume (record or dir under
# ROOT/volumes) is mounted by one of the containers ID...: none was lost
# to an interrupted create.
assert_volumes_owned() {
  local what=$1 v; shift
  [[ -n $(ls -A "$ROOT/volumes" 2>/dev/null) ]] || return 0
  local -A used=()
  if (($#)); then
    for v in $(b inspect -f '{{json .Mounts}}' "$@" | jq -r '.[] | select(.Type == "volume") | .Name'); do used[$v]=1; done
  fi
  for v in $(b volume ls -q; ls "$ROOT/volumes"); do
    [[ -n ${used[$v]:-} ]] || fail "$what: volume $v belongs to no container"
  done
}

# assert_all_removed WHAT : `rm -f` of every container, then nothing of any
# container this store ever had: no record, process, monitor, mount under
# ROOT, runtime state, container dir or cgroup.
assert_all_removed() {
  local what=$1 ids id
  note_ids
  ids=$(b ps -aq --no-trunc)
  [[ -z $ids ]] || b rm -f -v $ids >/dev/null
  [[ -z $(b ps -aq) ]] || fail "$what: ps -a still lists: $(b ps -a)"
  [[ -z $(container_procs) ]] || fail "$what: container processes left: $(container_procs | xargs -r ps -o pid=,args= -p)"
  [[ -z $(monitor_pids) ]] || fail "$what: monitors left: $(monitor_pids | tr '\n' ' ')"
  [[ -z $(mounts_under "$ROOT") ]] || fail "$what: mounts left: $(mounts_under "$ROOT")"
  # (the runtime's seccomp cache is shared by all containers, not state of one)
  local left
  left=$(find "$STATE/runtime" -mindepth 1 -maxdepth 1 ! -name .seccomp-cache 2>/dev/null || true)
  [[ -z $left ]] || fail "$what: runtime state left: $left"
  left=$(find "$ROOT/containers" "$STATE/containers" "$ROOT/volumes" -mindepth 1 -maxdepth 1 2>/dev/null || true)
  [[ -z $left ]] || fail "$what: container or volume dirs left: $left"
  while read -r id; do
    [[ -z $id || -z $(engine_traces "$id") ]] || fail "$what: container $id left: $(engine_traces "$id")"
  done < "$E2E_TMP/ids"
}

# ------------------------------------------------------------- self-test
# Run directly (ctest registers every tests/e2e/*.sh, this file included as
# e2e.lib), it checks its own promises: the trap removes the temp dir and
# unmounts what is under it on success and on failure, waits are bounded.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  E2E_NAME=lib
  : "${BERTH_BUILD_DIR:?BERTH_BUILD_DIR not set}"
  self=${BASH_SOURCE[0]}
  for mode in pass fail; do
    rec=$(mktemp /tmp/be2e-libtest.XXXXXX)
    rc=0
    bash -c '
      source "$1"
      e2e_init
      echo "$E2E_TMP" > "$2"
      mkdir "$E2E_TMP/m" && mount -t tmpfs none "$E2E_TMP/m"
      on_exit "echo handler-ran >> $2"
      [[ $3 == fail ]] && fail "deliberate failure (self-test)"
      exit 0' _ "$self" "$rec" "$mode" 2>/dev/null || rc=$?
    dir=$(head -n 1 "$rec")
    [[ $mode == pass && $rc == 0 || $mode == fail && $rc == 1 ]] || { echo "lib self-test: $mode: exit $rc" >&2; exit 1; }
    grep -q handler-ran "$rec" || { echo "lib self-test: $mode: on_exit handler did not run" >&2; exit 1; }
    [[ -n $dir && ! -e $dir ]] || { echo "lib self-test: $mode: $dir left behind" >&2; exit 1; }
    ! grep -q " $dir/" /proc/self/mountinfo || { echo "lib self-test: $mode: mount under $dir left" >&2; exit 1; }
    rm -f "$rec"
  done
  start=$SECONDS
  ! wait_until 1 false || { echo "lib self-test: wait_until false succeeded" >&2; exit 1; }
  ((SECONDS - start <= 3)) || { echo "lib self-test: wait_until 1 took $((SECONDS - start)) s" >&2; exit 1; }
  [[ -z $(pids_matching "be2e-no-such-process-$$") ]] || { echo "lib self-test: pids_matching matched itself" >&2; exit 1; }
  echo "[lib] PASS" >&2
fi
