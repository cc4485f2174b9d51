#!/usr/bin/env bash
# Crash safety of the container engine (issue 9, "Crash safety"): the CLI
# killed with SIGKILL at many points of `run -d`, `create`, `start` and
# `rm -f`; a monitor killed with SIGKILL; a container that dies while no CLI
# runs; the state dir lost while containers run (a reboot). After each, the
# next command must reconcile records with the host — checked on the host
# itself (/proc, mountinfo, cgroupfs; lib.sh assert_reconciled) — and `rm -f`
# must leave nothing (assert_all_removed).
#
# The kill points are spread over each verb's own duration, measured first
# on this machine, so a slow or loaded machine is covered the same way.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
engine_init
on_exit bk_reap
[[ -d /sys/fs/cgroup/memory ]] || skip "no v1 memory hierarchy at /sys/fs/cgroup/memory (cgroup_container reads it)"

CMD=(sh -c "sleep 1000; : $E2E_MARK")
N=${ENGINE_CRASH_POINTS:-20}

ms_run=$(ms_of run -d busybox "${CMD[@]}")
ms_create=$(ms_of create busybox "${CMD[@]}")
id=$(b ps -aq --no-trunc --filter status=created)
ms_start=$(ms_of start "$id")
ms_rm=$(ms_of rm -f "$id")
log "durations here: run -d ${ms_run} ms, create ${ms_create} ms, start ${ms_start} ms, rm -f ${ms_rm} ms"
assert_all_removed "after the measuring runs"

log "run -d killed at $N points"
for d in $(kill_delays "$ms_run" "$N"); do
  bk "$d" run -d busybox "${CMD[@]}"
  assert_reconciled "run -d killed after ${d}s"
done
assert_all_removed "rm -f after the killed run -d"

# With anonymous volumes: more for create to make (and undo), and a longer
# window where the record says "creating".
VOLS=()
for i in $(seq 1 20); do VOLS+=(-v "/v$i"); done
ms_create=$(ms_of create "${VOLS[@]}" busybox "${CMD[@]}")
assert_all_removed "after measuring create with volumes"
log "create killed at $N points (create with volumes: ${ms_create} ms)"
for d in $(kill_delays "$ms_create" "$N"); do
  bk "$d" create "${VOLS[@]}" busybox "${CMD[@]}"
  assert_reconciled "create killed after ${d}s"
done
# What survived as "created" can start: an interrupted create left nothing half-made.
for id in $(b ps -aq --no-trunc --filter status=created); do
  b start "$id" >/dev/null || fail "start of $id, created by a create that was then killed"
done
assert_reconciled "start of what the killed creates made"
[[ $(b ps -q | wc -l) == $(b ps -aq | wc -l) ]] || fail "not all of them run: $(b ps -a)"
assert_all_removed "rm -f after the killed create"

log "start killed at $N points"
for d in $(kill_delays "$ms_start" "$N"); do
  id=$(b create busybox "${CMD[@]}")
  bk "$d" start "$id"
  assert_reconciled "start killed after ${d}s"
  # Whatever the kill left, the next start brings the container up.
  b start "$id" >/dev/null || fail "start of $id after a start killed after ${d}s"
  pid=$(container_pid "$id")
  assert_eq "cgroup of $id's process (start killed after ${d}s)" "$id" "$(cgroup_container "$pid")"
done
assert_reconciled "after the restarts"
assert_all_removed "rm -f after the killed starts"

log "rm -f killed at $N points"
for d in $(kill_delays "$ms_rm" "$N"); do
  id=$(b run -d busybox "${CMD[@]}")
  bk "$d" rm -f "$id"
  assert_reconciled "rm -f killed after ${d}s"
done
assert_all_removed "rm -f after the killed rm -f"

log "kill -9 of a monitor: the container is ended and marked exited with an error"
id=$(b run -d busybox "${CMD[@]}")
pid=$(container_pid "$id")
mon=$(monitor_of "$id")
[[ -n $mon ]] || fail "no monitor for $id"
kill -KILL "$mon"
wait_until 5 test ! -d "/proc/$mon" || fail "monitor $mon still there after SIGKILL"
st=$(b inspect -f '{{.State.Status}} {{.State.Running}} {{.State.Pid}}' "$id")
assert_eq "state after the monitor was killed" "exited false 0" "$st"
[[ -n $(b inspect -f '{{.State.Error}}' "$id") ]] || fail "no State.Error after the monitor was killed"
wait_until 5 test ! -d "/proc/$pid" || fail "container process $pid still runs after its monitor was killed"
assert_reconciled "monitor killed"
b start "$id" >/dev/null
container_pid "$id" >/dev/null
assert_all_removed "rm -f after a monitor was killed"

log "a monitor killed at $N points of the container's start"
for d in $(kill_delays 40 "$N"); do
  id=$(b create busybox "${CMD[@]}")
  b start "$id" >/dev/null 2>&1 &
  starter=$!
  mon=
  for ((i = 0; i < 3000 && ${#mon} == 0; i++)); do mon=$(monitor_of "$id"); done
  [[ -n $mon ]] || fail "no monitor appeared for the start of $id"
  sleep "$d"
  kill -KILL "$mon"
  wait "$starter" || true  # it fails, or it succeeded before the kill
  assert_reconciled "monitor killed ${d}s into its start"
  b start "$id" >/dev/null || fail "start of $id after its monitor was killed ${d}s into the last start"
  container_pid "$id" >/dev/null
done
assert_all_removed "rm -f after the monitors killed in their start"

log "a container that exits while no CLI runs: its code is in the record"
id=$(b run -d busybox sh -c "sleep 1; exit 3; : $E2E_MARK")
pid=$(container_pid "$id")
mon=$(monitor_of "$id")
wait_until 10 test ! -d "/proc/$pid" || fail "container $pid did not exit"
wait_until 10 test ! -d "/proc/$mon" || fail "monitor $mon did not exit after its container"
assert_eq "state of a container that exited 3" "exited false 3" \
  "$(b inspect -f '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}' "$id")"
id=$(b run -d busybox "${CMD[@]}")
pid=$(container_pid "$id")
mon=$(monitor_of "$id")
kill -KILL "$pid"
wait_until 10 test ! -d "/proc/$mon" || fail "monitor $mon did not exit after its container was killed"
assert_eq "state of a container killed from the host" "exited false 137" \
  "$(b inspect -f '{{.State.Status}} {{.State.Running}} {{.State.ExitCode}}' "$id")"
assert_reconciled "containers that exited with no CLI"
assert_all_removed "rm -f of containers that exited with no CLI"

log "the state dir lost while containers run (a reboot): ps -a shows them exited, boot brings back always/unless-stopped"
declare -A ids_of=()
for p in always unless-stopped user-stopped no on-failure; do
  policy=$p
  [[ $p == user-stopped ]] && policy=unless-stopped
  ids_of[$p]=$(b run -d --restart "$policy" busybox "${CMD[@]}")
done
b stop -t 1 "${ids_of[user-stopped]}" >/dev/null
b start "${ids_of[user-stopped]}" >/dev/null  # started again by hand...
b stop -t 1 "${ids_of[user-stopped]}" >/dev/null  # ...and stopped by a user: stays down
assert_eq "running before the reboot" 4 "$(b ps -q | wc -l)"
# A reboot: every monitor goes first (their containers are left to the
# engine, which must not orphan them), then the state dir (a tmpfs).
lose_state_dir
assert_reconciled "after the state dir was lost"
for p in "${!ids_of[@]}"; do
  st=$(b inspect -f '{{.State.Status}}' "${ids_of[$p]}")
  assert_eq "status of the --restart $p container after the reboot" exited "$st"
done
[[ -z $(container_procs) ]] || fail "container processes survived the loss of their monitors and state: $(container_procs | xargs -r ps -o pid=,args= -p)"
booted=$(b system boot | sort)
assert_eq "containers brought back by system boot" \
  "$(printf '%s\n' "${ids_of[always]}" "${ids_of[unless-stopped]}" | sort)" "$booted"
for p in always unless-stopped; do
  pid=$(container_pid "${ids_of[$p]}")
  assert_eq "cgroup of the --restart $p container after boot" "${ids_of[$p]}" "$(cgroup_container "$pid")"
  # Its root is the rootfs mounted again (the same filesystem and inode).
  assert_eq "root of the --restart $p container after boot" \
    "$(stat -c %d:%i "$ROOT/containers/${ids_of[$p]}/merged/")" "$(stat -L -c %d:%i "/proc/$pid/root/")"
done
for p in user-stopped no on-failure; do
  assert_eq "status of the --restart $p container after boot" exited "$(b inspect -f '{{.State.Status}}' "${ids_of[$p]}")"
done
assert_reconciled "after system boot"
[[ -z $(b system boot) ]] || fail "a second system boot started containers again"
assert_all_removed "rm -f after the reboot"
