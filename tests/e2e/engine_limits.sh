#!/usr/bin/env bash
# Resource limits of `berth run` (issue 9, "Proof": cgroup files per limit,
# OOM reported in inspect): each flag is read back from the cgroup file of
# the container's own cgroup (found from /proc/<pid>/cgroup, v1 on these
# hosts) or from /proc/<pid>/limits and from inside, and an OOM kill is
# checked against the kernel's own count in memory.oom_control.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
engine_init
for c in memory cpu pids; do
  [[ -d /sys/fs/cgroup/$c ]] || skip "no v1 $c hierarchy at /sys/fs/cgroup/$c (this test reads v1 files)"
done

CMD=(sh -c "sleep 1000; : $E2E_MARK")

# cg PID CONTROLLER FILE : the content of FILE in PID's cgroup of the v1
# CONTROLLER hierarchy; fails unless that cgroup is the container's own.
cg() {
  local line ctrls path
  line=$(grep -E "^[0-9]+:([a-z_]+,)*$2(,[a-z_]+)*:" "/proc/$1/cgroup") || fail "pid $1 is in no $2 cgroup"
  IFS=: read -r _ ctrls path <<< "$line"
  [[ $path == /berth/* ]] || fail "pid $1's $2 cgroup is $path, not the container's /berth/<id>"
  cat "/sys/fs/cgroup/$ctrls$path/$3"
}
UNLIMITED=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)  # the root's: no limit

log "--memory, and the default swap limit (twice the memory, as docker)"
id=$(b run -d --memory 64m busybox "${CMD[@]}")
pid=$(container_pid "$id")
assert_eq "memory.limit_in_bytes of --memory 64m" 67108864 "$(cg "$pid" memory memory.limit_in_bytes)"
MEMSW=0
[[ -f /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]] && MEMSW=1
if ((MEMSW)); then
  assert_eq "memory.memsw.limit_in_bytes of --memory 64m" 134217728 "$(cg "$pid" memory memory.memsw.limit_in_bytes)"
else
  log "no memory.memsw.limit_in_bytes here (swap accounting off): swap limits not checked"
fi
id=$(b run -d busybox "${CMD[@]}")
assert_eq "memory.limit_in_bytes without --memory" "$UNLIMITED" "$(cg "$(container_pid "$id")" memory memory.limit_in_bytes)"

if ((MEMSW)); then
  log "--memory-swap"
  id=$(b run -d --memory 64m --memory-swap 96m busybox "${CMD[@]}")
  pid=$(container_pid "$id")
  assert_eq "memory.limit_in_bytes of --memory 64m --memory-swap 96m" 67108864 "$(cg "$pid" memory memory.limit_in_bytes)"
  assert_eq "memory.memsw.limit_in_bytes of --memory-swap 96m" 100663296 "$(cg "$pid" memory memory.memsw.limit_in_bytes)"
  id=$(b run -d --memory 64m --memory-swap -1 busybox "${CMD[@]}")
  assert_eq "memory.memsw.limit_in_bytes of --memory-swap -1" "$UNLIMITED" \
    "$(cg "$(container_pid "$id")" memory memory.memsw.limit_in_bytes)"
fi

log "--cpus, --cpu-shares"
id=$(b run -d --cpus 1.5 --cpu-shares 512 busybox "${CMD[@]}")
pid=$(container_pid "$id")
quota=$(cg "$pid" cpu cpu.cfs_quota_us)
period=$(cg "$pid" cpu cpu.cfs_period_us)
assert_eq "cpu.cfs_quota_us / cpu.cfs_period_us of --cpus 1.5 (x1000)" 1500 $((quota * 1000 / period))
assert_eq "cpu.shares of --cpu-shares 512" 512 "$(cg "$pid" cpu cpu.shares)"
id=$(b run -d --cpus 0.25 busybox "${CMD[@]}")
pid=$(container_pid "$id")
assert_eq "cpu.cfs_quota_us / cpu.cfs_period_us of --cpus 0.25 (x1000)" 250 \
  $(($(cg "$pid" cpu cpu.cfs_quota_us) * 1000 / $(cg "$pid" cpu cpu.cfs_period_us)))

log "--pids-limit"
id=$(b run -d --pids-limit 20 busybox "${CMD[@]}")
assert_eq "pids.max of --pids-limit 20" 20 "$(cg "$(container_pid "$id")" pids pids.max)"

log "--ulimit nofile=1024:2048"
id=$(b run -d --ulimit nofile=1024:2048 busybox "${CMD[@]}")
pid=$(container_pid "$id")
assert_eq "Max open files of the container's process" "1024 2048" \
  "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$pid/limits")"
assert_eq "ulimit -n / -Hn inside" "1024 2048" "$(b exec "$id" sh -c 'echo $(ulimit -n) $(ulimit -Hn)')"
assert_eq "ulimit -n / -Hn of run" "1024 2048" \
  "$(b run --rm --ulimit nofile=1024:2048 busybox sh -c 'echo $(ulimit -n) $(ulimit -Hn)')"

log "an OOM kill under --memory 8m: OOMKilled and exit 137"
# The shell keeps the whole 50 MB in a variable: far over 8 MB (16 MB with swap).
id=$(b run -d --memory 8m busybox sh -c "x=\$(head -c 50000000 /dev/zero | tr '\\0' a); echo survived; : $E2E_MARK")
pid=$(b inspect -f '{{.State.Pid}}' "$id")
wait_until 30 test ! -d "/proc/$pid" || fail "the allocating container still runs after 30 s"
wait_until 10 monitor_gone "$id" || fail "the monitor did not exit after the OOM kill"
assert_eq "state after the OOM" "exited 137 true" \
  "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}' "$id")"
[[ -z $(b logs "$id" 2>&1 | grep survived) ]] || fail "the allocation survived --memory 8m"
# The kernel's own word: its OOM killer acted in the container's memory cgroup.
if kernel_log=$(dmesg 2>/dev/null); then
  grep -q "oom_memcg=/berth/$id," <<< "$kernel_log" || fail "the kernel log has no OOM kill in /berth/$id"
else
  log "dmesg is not readable here: the kernel's OOM record not checked"
fi

log "no OOM well under the limit: OOMKilled false"
id=$(b run -d --memory 64m busybox sh -c "x=\$(head -c 1000000 /dev/zero | tr '\\0' a); exit 0; : $E2E_MARK")
wait_until 10 monitor_gone "$id" || fail "the monitor did not exit"
assert_eq "state of a container well under its limit" "exited 0 false" \
  "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.State.OOMKilled}}' "$id")"

assert_all_removed "rm -f of the limited containers"
