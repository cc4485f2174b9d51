#!/usr/bin/env bash
# Load (issue 9, "Proof"): 200 containers started detached (four CLIs at a
# time on one store), all running — counted on the host: monitors, mounts,
# marked processes each in its own cgroup — listed by `ps` (its wall time is
# printed, not asserted: a loaded machine must not fail it), then removed
# with `rm -f` in batches: no mount, cgroup, process, monitor or runtime
# state is left; no container process holds more than its stdio, and the
# monitor started last holds no more fds than the first (nothing
# accumulates as containers come).
#
# ENGINE_LOAD_N overrides the count. 200 take 25-30 s here on two shared
# cores (load ~8): 5-8 s to start, 14-18 s to remove.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
engine_init
[[ -d /sys/fs/cgroup/memory ]] || skip "no v1 memory hierarchy at /sys/fs/cgroup/memory (cgroup_container reads it)"
N=${ENGINE_LOAD_N:-200}

# monitor_fds ID : the number of fds its monitor holds.
monitor_fds() { ls "/proc/$(monitor_of "$1")/fd" | wc -l; }

log "starting $N containers"
t0=$(date +%s%N)
seq 1 "$N" | xargs -P 4 -I{} timeout 120 "$BERTH" --root "$ROOT" --state "$STATE" \
  run -d --name "load-{}" busybox sh -c "sleep 100000; : $E2E_MARK" > "$E2E_TMP/ids.started" ||
  fail "a run -d failed"
log "started $N in $((($(date +%s%N) - t0) / 1000000)) ms"
note_ids

running=$(b ps -q | wc -l)
assert_eq "containers ps lists as running" "$N" "$running"
assert_eq "monitors on the host" "$N" "$(monitor_pids | wc -l)"
assert_eq "rootfs mounts under the root" "$N" "$(mounts_under "$ROOT" | wc -l)"
declare -A seen=()
for pid in $(pids_matching "$E2E_MARK"); do
  id=$(cgroup_container "$pid")
  [[ -n $id && -z ${seen[$id]:-} ]] || fail "marked process $pid in cgroup [/berth/$id], shared or none"
  seen[$id]=1
  fds=(/proc/"$pid"/fd/*)
  [[ ${#fds[@]} == 3 ]] || fail "container process $pid holds fds ${fds[*]##*/} (want 0 1 2 only)"
done
assert_eq "containers with a marked process in a cgroup of their own" "$N" "${#seen[@]}"
first=$(b inspect -f '{{.Id}}' load-1)
last=$(b inspect -f '{{.Id}}' "load-$N")
assert_eq "fds of the last monitor against the first's" "$(monitor_fds "$first")" "$(monitor_fds "$last")"

for what in "ps" "ps -a" "ps -q" "ps --format json"; do
  t0=$(date +%s%N)
  # shellcheck disable=SC2086
  lines=$(b $what | wc -l)
  log "$what with $N containers: $((($(date +%s%N) - t0) / 1000000)) ms ($lines lines)"
done
[[ $(b ps | wc -l) == $((N + 1)) ]] || fail "ps printed $(b ps | wc -l) lines for $N containers"

log "removing them, 25 per rm -f"
t0=$(date +%s%N)
b ps -aq --no-trunc | xargs -n 25 timeout 300 "$BERTH" --root "$ROOT" --state "$STATE" rm -f > /dev/null ||
  fail "an rm -f failed"
log "removed $N in $((($(date +%s%N) - t0) / 1000000)) ms"
assert_all_removed "after rm -f of $N containers"
