#!/usr/bin/env bash
# Restart policies (issue 9: "--restart no|on-failure[:N]|always|unless-stopped
# (docker's back-off: 100 ms doubling ...)"). Every run of a container
# appends the host's uptime to a file on a bind mount, so runs are counted
# and timed on the host, not only from berth's RestartCount and log. Timing
# asserts are lower bounds (a restart never comes before its back-off) and
# growth between runs far apart (1.6 s against 0.1 s), never tight.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
engine_init
OUT=$E2E_TMP/out
mkdir -p "$OUT"

# runs_cmd FILE CODE : a container command that records its run in
# /out/FILE (the host's uptime, 10 ms steps), says "run" and exits CODE.
runs_cmd() { echo "cut -d' ' -f1 /proc/uptime >> /out/$1; echo run; exit $2; : $E2E_MARK"; }
runs_in() { [[ -f $OUT/$1 ]] && wc -l < "$OUT/$1" || echo 0; }
at_least_runs() { (($(runs_in "$1") >= $2)); }
state_of() { b inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' "$1"; }
# run_to_end POLICY FILE CODE : runs runs_cmd FILE CODE under --restart
# POLICY, waits (60 s at most) for its monitor to end; prints the id.
run_to_end() {
  local id
  id=$(b run -d --restart "$1" -v "$OUT:/out" busybox sh -c "$(runs_cmd "$2" "$3")")
  wait_until 60 monitor_gone "$id" || fail "--restart $1: the monitor still runs after 60 s ($(runs_in "$2") runs)"
  echo "$id"
}

log "on-failure:3 restarts exactly 3 times"
id=$(run_to_end on-failure:3 f3 1)
assert_eq "runs of on-failure:3 (host file)" 4 "$(runs_in f3)"
assert_eq "runs of on-failure:3 (log)" 4 "$(b logs "$id" | grep -c '^run$')"
assert_eq "state, exit code, RestartCount of on-failure:3" "exited 1 3" "$(state_of "$id")"
sleep 1
assert_eq "runs of on-failure:3 a second later" 4 "$(runs_in f3)"

log "on-failure:3 does not restart a container that exits 0; no policy does not restart"
id=$(run_to_end on-failure:3 f0 0)
id2=$(run_to_end no no 1)
sleep 0.5
assert_eq "runs of on-failure:3 that exits 0" 1 "$(runs_in f0)"
assert_eq "state of on-failure:3 that exits 0" "exited 0 0" "$(state_of "$id")"
assert_eq "runs of --restart no" 1 "$(runs_in no)"
assert_eq "state of --restart no" "exited 1 0" "$(state_of "$id2")"

log "the back-off: 100 ms doubling (on-failure:5)"
id=$(run_to_end on-failure:5 f5 2)
assert_eq "runs of on-failure:5" 6 "$(runs_in f5)"
assert_eq "state of on-failure:5" "exited 2 5" "$(state_of "$id")"
mapfile -t gaps < <(awk 'NR > 1 { printf "%d\n", ($1 - prev) * 1000 + 0.5 } { prev = $1 }' "$OUT/f5")
log "gaps between runs (ms): ${gaps[*]}"
for k in 0 1 2 3 4; do
  want=$((100 << k))
  # uptime has 10 ms steps
  ((gaps[k] >= want * 9 / 10 - 10)) || fail "restart $((k + 1)) came ${gaps[k]} ms after the run before it, before its ${want} ms back-off (gaps: ${gaps[*]})"
done
((gaps[4] > gaps[0] && gaps[3] > gaps[1])) || fail "the back-off does not grow: gaps ${gaps[*]} ms"

log "always restarts after exit 0 too; a stop (even during the back-off) ends it for good"
id=$(b run -d --restart always -v "$OUT:/out" busybox sh -c "$(runs_cmd always 0)")
wait_until 30 at_least_runs always 4 || fail "--restart always: $(runs_in always) runs after 30 s"
rc=$(b inspect -f '{{.RestartCount}}' "$id")
((rc >= 3)) || fail "--restart always: RestartCount $rc after $(runs_in always) runs"
# From here a restart waits >= 800 ms: the container is mostly "restarting".
restarting() { [[ $(b inspect -f '{{.State.Status}}' "$id") == restarting ]]; }
wait_until 10 restarting || fail "--restart always: never seen restarting"
b stop -t 1 "$id" >/dev/null
n=$(runs_in always)
assert_eq "state of --restart always after stop" exited "$(b inspect -f '{{.State.Status}}' "$id")"
wait_until 5 monitor_gone "$id" || fail "--restart always: the monitor still runs after stop"
sleep 4  # longer than the next back-off (1.6 s)
assert_eq "runs of --restart always in the 4 s after stop" "$n" "$(runs_in always)"
[[ -z $(b ps -q) ]] || fail "ps lists containers after stop: $(b ps)"

log "always restarts a container killed from the host"
id=$(b run -d --restart always -v "$OUT:/out" busybox sh -c "$(runs_cmd killed 0 | sed 's/exit 0/sleep 1000/')")
pid=$(container_pid "$id")
kill -KILL "$pid"
wait_until 10 at_least_runs killed 2 || fail "--restart always: not restarted after its process was killed"
new=$(container_pid "$id")
[[ $new != "$pid" ]] || fail "--restart always: same pid $pid after the kill"
assert_eq "cgroup of the restarted process" "$id" "$(cgroup_container "$new")"
assert_eq "RestartCount after the kill" 1 "$(b inspect -f '{{.RestartCount}}' "$id")"
b rm -f "$id" >/dev/null

log "unless-stopped restarts like always until a user stops it; start brings the policy back"
id=$(b run -d --restart unless-stopped -v "$OUT:/out" busybox sh -c "$(runs_cmd us 3)")
wait_until 30 at_least_runs us 3 || fail "--restart unless-stopped: $(runs_in us) runs after 30 s"
b stop -t 1 "$id" >/dev/null
wait_until 5 monitor_gone "$id" || fail "--restart unless-stopped: the monitor still runs after stop"
n=$(runs_in us)
sleep 2
assert_eq "runs of --restart unless-stopped in the 2 s after stop" "$n" "$(runs_in us)"
b start "$id" >/dev/null
wait_until 30 at_least_runs us $((n + 2)) || fail "--restart unless-stopped: not restarting after start ($(runs_in us) runs)"
b stop -t 1 "$id" >/dev/null

assert_all_removed "rm -f of the restart containers"
