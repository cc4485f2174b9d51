#!/usr/bin/env bash
# `berth run` and the container verbs around it, asserting what really
# happened: in the container (/proc, id, files), on the host (cgroup files,
# /proc/<pid>/ns, mountinfo), and in the exit codes docker gives.
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init

log "run: exit codes, stdout and stderr apart"
assert_exit "run: the container's code" 3 b run --rm busybox sh -c 'echo to-out; echo to-err >&2; exit 3'
assert_eq "run stdout" to-out "$(cat "$E2E_TMP/stdout")"
assert_eq "run stderr" to-err "$(cat "$E2E_TMP/stderr")"
assert_exit "run true" 0 b run --rm busybox true
expect_error 125 "No such image" b run --rm no-such-image true
expect_error 126 "permission denied" b run --rm busybox /etc/passwd
expect_error 127 "not found" b run --rm busybox no-such-command
# An argument that is not UTF-8 (Latin-1 text): json's dump() threw at
# create ("[json.exception.type_error.316] ..."); as docker's CLI, each such
# byte becomes U+FFFD in the record and the process.
assert_eq "run with a Latin-1 argument" "caf$(printf '\357\277\275')" "$(b run --rm busybox echo "$(printf 'caf\351')")"
# A uid past runc's 2^31 - 1 was cast to uint32_t: 4294967296 ran as root.
expect_error 125 "uids and gids must be in range 0-2147483647" b run --rm --user 4294967296 busybox id -u

log "run --rm leaves nothing (record, dirs, mounts, cgroups)"
short=$(b run --rm busybox sh -c 'cat /etc/hostname; grep -c . /proc/self/cgroup >/dev/null')
[[ $short =~ ^[0-9a-f]{12}$ ]] || fail "hostname of a container is its short id, got [$short]"
assert_no_trace "$short"

log "run -d: prints the id, the container runs in cgroups of its own"
id=$(b run -d --name web -l team=a -l tier busybox sh -c "$MK trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done")
[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "run -d printed [$id], not an id"
pid=$(container_pid web)
[[ -d /sys/fs/cgroup/memory/berth/$id ]] || fail "no memory cgroup /sys/fs/cgroup/memory/berth/$id"
grep -qx "$pid" /sys/fs/cgroup/pids/berth/$id/cgroup.procs || fail "init $pid not in its pids cgroup"
assert_eq "inspect .Name" /web "$(b inspect -f '{{.Name}}' "$id")"
wait_until 10 grep -q ready "$ROOT/containers/$id/$id-json.log" || fail "no output logged"

log "--log-opt: the json-file log rotates at max-size and keeps max-file files"
rid=$(b run -d --log-opt max-size=2k --log-opt max-file=2 busybox sh -c "$MK for i in \$(seq 1 400); do echo line-\$i; done")
wait_until 20 sh -c "[ \"\$('$BERTH' --root '$ROOT' --state '$STATE' inspect -f '{{.State.Status}}' $rid)\" = exited ]" ||
  fail "the logging container did not exit"
logs=$ROOT/containers/$rid/$rid-json.log
[[ -f $logs && -f $logs.1 && ! -e $logs.2 ]] || fail "max-file=2: want the log and one rotated file, got: $(ls "$ROOT/containers/$rid")"
(( $(stat -c %s "$logs") <= 2048 + 128 && $(stat -c %s "$logs.1") <= 2048 + 128 )) ||
  fail "max-size=2k: files of $(stat -c %s "$logs" "$logs.1" | paste -sd' ') bytes"
assert_eq "logs ends with the last line" line-400 "$(b logs "$rid" | tail -n 1)"
[[ $(b logs "$rid" | head -n 1) != line-1 ]] || fail "nothing was rotated away"
b rm "$rid" >/dev/null

log "inspect: docker's keys, a live pid whose root is the container's"
ij=$(b inspect web)
jq -e '.[0] | (.Id, .Created, .Path, .Args, .State, .Image, .Name, .RestartCount, .HostConfig, .Mounts, .Config, .NetworkSettings) != null' <<<"$ij" >/dev/null \
  || fail "inspect lacks a top-level key: $(jq -c '.[0] | keys' <<<"$ij")"
jq -e '.[0].State | has("Status") and has("Running") and has("Paused") and has("Restarting") and has("OOMKilled")
       and has("Dead") and has("Pid") and has("ExitCode") and has("Error") and has("StartedAt") and has("FinishedAt")' <<<"$ij" >/dev/null \
  || fail "inspect .State lacks a key: $(jq -c '.[0].State' <<<"$ij")"
assert_eq "State.Running/Status" "true running" "$(jq -r '.[0].State | "\(.Running) \(.Status)"' <<<"$ij")"
assert_eq "LogConfig.Type" json-file "$(jq -r '.[0].HostConfig.LogConfig.Type' <<<"$ij")"
assert_eq "Id" "$id" "$(jq -r '.[0].Id' <<<"$ij")"
b exec web sh -c 'echo token-1 > /token'
assert_eq "/proc/PID/root is the container's root" token-1 "$(cat /proc/$pid/root/token)"
assert_eq "the rootfs is the container's merged dir" token-1 "$(cat "$ROOT/containers/$id/merged/token")"

log "exec joins the container's namespaces and cgroups"
b exec -d web sh -c ": $E2E_MARK-exec; sleep 30; :"
wait_until 10 pgrep -f -- "$E2E_MARK-exec" || fail "exec -d: the process did not start"
epid=$(pids_matching "$E2E_MARK-exec" | head -1)
for ns in mnt pid uts ipc net cgroup; do
  assert_eq "exec'd process $ns ns" "$(readlink /proc/$pid/ns/$ns)" "$(readlink /proc/$epid/ns/$ns)"
  [[ $(readlink /proc/$pid/ns/$ns) != "$(readlink /proc/self/ns/$ns)" ]] || fail "container shares the host's $ns ns"
done
assert_eq "exec'd process cgroups" "$(cat /proc/$pid/cgroup)" "$(cat /proc/$epid/cgroup)"
kill -KILL "$epid"
assert_eq "exec -e" bar "$(b exec -e FOO=bar web sh -c 'echo $FOO')"
assert_eq "exec -u name" "uid=65534(nobody) gid=65534(nogroup)" "$(b exec -u nobody web id)"
assert_eq "exec -u uid:gid" "uid=1000 gid=2000" "$(b exec -u 1000:2000 web id)"
assert_eq "exec -w" /tmp "$(b exec -w /tmp web pwd)"
assert_eq "exec -i" piped "$(echo piped | b exec -i web cat)"
assert_eq "exec without -i gets no stdin" "" "$(echo piped | b exec web cat)"
assert_exit "exec: the process's code" 9 b exec web sh -c 'exit 9'
assert_exit "exec of a missing command" 127 b exec web no-such-command
assert_exit "exec of a file that is not executable" 126 b exec web /etc/passwd
assert_exit "exec -w of a missing dir: 126, as docker" 126 b exec -w /no/such/dir web true

log "top, kill -s, rename"
top=$(b top web)
[[ $(head -1 <<<"$top") == *PID*CMD* ]] || fail "top header: $top"
grep -q "$MK" <<<"$top" || fail "top lacks the container's command: $top"
b kill -s USR1 web >/dev/null
wait_until 10 grep -q got-usr1 "$ROOT/containers/$id/$id-json.log" || fail "kill -s USR1 did not reach the container"
assert_eq "kill -s USR1 keeps it running" running "$(b inspect -f '{{.State.Status}}' web)"
b rename web web2
assert_eq "renamed" /web2 "$(b inspect -f '{{.Name}}' "$id")"
assert_exit "inspect of the old name after rename" 1 b inspect web

log "pause/unpause freeze the cgroup"
b pause web2 >/dev/null
assert_eq "freezer.state" FROZEN "$(cat /sys/fs/cgroup/freezer/berth/$id/freezer.state)"
assert_eq "ps status" "web2 paused" "$(b ps --filter name=web2 --format '{{.Names}} {{.State}}')"
expect_error 1 "paused" b exec web2 true
b unpause web2 >/dev/null
assert_eq "freezer.state" THAWED "$(cat /sys/fs/cgroup/freezer/berth/$id/freezer.state)"

log "rm of a running container without -f is refused and changes nothing"
expect_error 1 "stop the container before removing or force remove" b rm web2
assert_eq "still running" "true $pid" "$(b inspect -f '{{.State.Running}} {{.State.Pid}}' "$id")"
kill -0 "$pid" || fail "rm without -f killed the container"

log "logs: content, -t, --tail, --since, and -f until the container exits"
lid=$(b run -d --name logs1 busybox sh -c 'echo l1; echo l2 >&2; echo l3')
assert_eq "wait prints the exit code" 0 "$(b wait "$lid")"
assert_eq "logs stdout" "l1
l3" "$(b logs "$lid" 2>/dev/null)"
assert_eq "logs stderr" l2 "$(b logs "$lid" 2>&1 >/dev/null)"
[[ $(b logs -t "$lid" 2>/dev/null | head -1) =~ ^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z\ l1$ ]] || fail "logs -t: $(b logs -t "$lid")"
assert_eq "logs --since 1h" 3 "$(b logs --since 1h "$lid" 2>&1 | wc -l)"
assert_eq "logs --since the future" 0 "$(b logs --since 2099-01-01T00:00:00Z "$lid" 2>&1 | wc -l)"
# Bytes that are not UTF-8: the line was written as it came, no JSON reader
# took it, and `logs` dropped it; docker writes each such byte as U+FFFD.
bid=$(b run -d busybox printf 'before\n\377 caf\351\nafter\n')
wait_until 10 grep -q after "$ROOT/containers/$bid/$bid-json.log" || fail "no output logged"
assert_eq "logs of bytes that are not UTF-8" "before
$(printf '\357\277\275 caf\357\277\275')
after" "$(b logs "$bid")"
b rm "$bid" >/dev/null
# The container writes f2 and f3 only once the follower has seen f1: the
# follower must really follow, and end by itself when the container does.
fid=$(b run -d --name logs2 busybox sh -c 'echo f1; while [ ! -e /go ]; do sleep 0.05; done; echo f2; echo f3; exit 4')
timeout 30 "$BERTH" --root "$ROOT" --state "$STATE" logs -f "$fid" > "$E2E_TMP/follow" 2>&1 &
follower=$!
on_exit "kill $follower"
wait_until 20 grep -q f1 "$E2E_TMP/follow" || fail "logs -f did not print f1"
kill -0 "$follower" || fail "logs -f ended while the container runs"
touch "/proc/$(container_pid "$fid")/root/go"
rc=0; wait "$follower" || rc=$?
assert_eq "logs -f ends when the container does (rc)" 0 "$rc"
assert_eq "logs -f output" "f1
f2
f3" "$(cat "$E2E_TMP/follow")"
assert_eq "wait after exit" 4 "$(b wait "$fid")"
assert_eq "logs --tail 2" "f2
f3" "$(b logs --tail 2 "$fid" 2>&1)"

log "exec into a stopped container fails with 1 and one line"
expect_error 1 "is not running" b exec "$fid" true

log "stop -t: SIGTERM ignored, SIGKILL after t seconds, not before"
b run -d --name stubborn --stop-timeout 60 busybox sh -c "$MK trap '' TERM; while :; do sleep 0.1; done" >/dev/null
container_pid stubborn >/dev/null
t0=$(date +%s.%N)
b stop -t 2 stubborn >/dev/null
el=$(seconds_since "$t0")
(($(echo "$el >= 2" | bc))) || fail "stop -t 2 returned after $el s (before the timeout)"
(($(echo "$el < 50" | bc))) || fail "stop -t 2 took $el s: -t was not honoured (the container's own is 60)"
assert_eq "stopped by SIGKILL" "exited 137" "$(b inspect -f '{{.State.Status}} {{.State.ExitCode}}' stubborn)"

log "run -d --rm: the container removes itself when it ends"
rid=$(b run -d --rm busybox sh -c 'sleep 0.3')
wait_no_trace "$rid" 30

log "run: --name, -e, --env-file, -w, -u, -h, --entrypoint"
printf 'A=1\n# a comment\n\nB=two\n' > "$E2E_TMP/envfile"
env_out=$(b run --rm --env-file "$E2E_TMP/envfile" -e C=3 -e B=over busybox env)
for kv in A=1 B=over C=3 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root; do
  grep -qx "$kv" <<<"$env_out" || fail "env lacks $kv: $env_out"
done
assert_eq "-w an existing dir" /tmp "$(b run --rm -w /tmp busybox pwd)"
assert_eq "-w a new dir is made, as docker does" /new/work "$(b run --rm -w /new/work busybox pwd)"
assert_eq "-u name" "uid=65534(nobody) gid=65534(nogroup)" "$(b run --rm -u nobody busybox id)"
assert_eq "-u uid:gid" "uid=1000 gid=2000" "$(b run --rm -u 1000:2000 busybox id)"
assert_eq "-u uid unknown to passwd: gid 0, as docker" "uid=1000 gid=0(root)" "$(b run --rm -u 1000 busybox id)"
assert_eq "-u nobody: no effective caps" 0000000000000000 \
  "$(b run --rm -u nobody busybox sh -c 'grep CapEff /proc/self/status' | awk '{print $2}')"
assert_eq "-h" "myhost myhost" "$(b run --rm -h myhost busybox sh -c 'echo $(hostname) $(cat /etc/hostname)')"
assert_eq "--entrypoint" "a b" "$(b run --rm --entrypoint echo busybox a b)"

log "image Entrypoint/Cmd/User/Volumes merged with the command line"
image_with_config ep:1 '.config.Entrypoint = ["echo", "ep"] | .config.Cmd = ["c1", "c2"] | .config.User = "daemon"'
assert_eq "image Entrypoint + Cmd" "ep c1 c2" "$(b run --rm ep:1)"
assert_eq "image Entrypoint + args" "ep x y" "$(b run --rm ep:1 x y)"
assert_eq "--entrypoint drops the image's Cmd" "" "$(b run --rm --entrypoint true ep:1)"
assert_eq "image User" "uid=1(daemon) gid=1(daemon)" "$(b run --rm --entrypoint id ep:1)"
assert_eq "-u over the image User" "uid=0(root) gid=0(root)" "$(b run --rm -u root --entrypoint id ep:1)"
eid=$(b create -e X=1 ep:1)
assert_eq "inspect .Config: the image's merged in, as docker's" '["echo","ep"] ["c1","c2"] daemon true true' \
  "$(b inspect "$eid" | jq -r '.[0].Config | "\(.Entrypoint | tojson) \(.Cmd | tojson) \(.User) \(.Env | index("X=1") != null) \(any(.Env[]; startswith("PATH=")))"')"
assert_eq "inspect .Config.Cmd of busybox" '["sh"]' "$(b inspect -f '{{json .Config.Cmd}}' "$(b create busybox)")"
b rm "$eid" "$(b ps -a -q -n 1)" >/dev/null

log "-i pipes stdin; without -i the container gets none"
assert_eq "-i" hello "$(echo hello | b run --rm -i busybox cat)"
assert_eq "no -i" "" "$(echo hello | b run --rm busybox cat)"

log "a pty under script: run -t, run -it"
out=$(timeout 60 script -qec "$BERTH --root $ROOT --state $STATE run --rm -t busybox tty" /dev/null | tr -d '\r')
[[ $out =~ ^/dev/pts/[0-9]+$ ]] || fail "run -t: tty printed [$out]"
# script's stdin stays open and silent: at EOF it would type ^D into the
# container's terminal (echoed into the output).
exec {quiet}< <(exec sleep 120)
quiet_pid=$!
on_exit "kill $quiet_pid"
rc=0
out=$(timeout 60 script -qec "$BERTH --root $ROOT --state $STATE run --rm -it busybox sh -c 'test -t 0 && tty; exit 4'" /dev/null <&$quiet | tr -d '\r') || rc=$?
[[ $out =~ ^/dev/pts/[0-9]+$ ]] || fail "run -it: [$out]"
assert_eq "run -it exit code through script" 4 "$rc"
exec {quiet}<&-

log "create + start, start -a"
cid=$(b create --name made busybox sh -c 'echo o1; echo e1 >&2; exit 3')
[[ $cid =~ ^[0-9a-f]{64}$ ]] || fail "create printed [$cid]"
assert_eq "created" "made created" "$(b ps -a --filter status=created --format '{{.Names}} {{.State}}')"
[[ ! -d /sys/fs/cgroup/memory/berth/$cid ]] || fail "a created container has a cgroup already"
assert_exit "start -a: the container's code" 3 b start -a made
assert_eq "start -a stdout" o1 "$(cat "$E2E_TMP/stdout")"
assert_eq "start -a stderr" e1 "$(cat "$E2E_TMP/stderr")"
cid2=$(b create --name sleeper busybox sleep 30)
assert_eq "start prints its argument" "$cid2" "$(b start "$cid2")"
container_pid "$cid2" >/dev/null

log "ps: -a, -q, -n, --filter, --no-trunc, --format"
ps_names() { b ps "$@" --format '{{.Names}}' | sort | tr '\n' ' '; }
assert_eq "ps" "sleeper web2 " "$(ps_names)"
assert_eq "ps -a" "logs1 logs2 made sleeper stubborn web2 " "$(ps_names -a)"
assert_eq "ps --filter status=exited" "logs1 logs2 made stubborn " "$(ps_names -a --filter status=exited)"
assert_eq "ps --filter status=running" "sleeper web2 " "$(ps_names -a --filter status=running)"
assert_eq "ps --filter name" "web2 " "$(ps_names --filter name=web)"
assert_eq "ps --filter label=k=v" "web2 " "$(ps_names --filter label=team=a)"
assert_eq "ps --filter label=k" "web2 " "$(ps_names --filter label=tier)"
assert_eq "ps --filter label no match" "" "$(ps_names --filter label=team=b)"
assert_eq "ps --filter id" "web2 " "$(ps_names --filter id=${id:0:8})"
assert_eq "ps -n 1" "sleeper " "$(ps_names -n 1)"
assert_eq "ps -n 2" "made sleeper " "$(ps_names -n 2)"
assert_eq "ps -q" "${id:0:12}" "$(b ps -q --filter name=web2)"
assert_eq "ps -q --no-trunc" "$id" "$(b ps -q --no-trunc --filter name=web2)"
b ps --no-trunc | grep -q "^$id " || fail "ps --no-trunc lacks the full id"
[[ $(b ps --format '{{.Names}} {{.Status}}' --filter name=web2) =~ ^web2\ Up\  ]] || fail "ps --format Status: $(b ps --format '{{.Names}} {{.Status}}')"
[[ $(b ps -a --format '{{.Names}} {{.Status}}' --filter name=made) =~ ^made\ Exited\ \(3\)\  ]] || fail "ps --format exited Status"
assert_eq "ps -a -q counts every container" 6 "$(b ps -a -q | wc -l)"

log "kill: SIGKILL by default, exit 137"
b kill web2 >/dev/null
assert_eq "wait after kill" 137 "$(b wait web2)"
wait_until 10 test ! -d "/sys/fs/cgroup/memory/berth/$id" || fail "cgroup of a killed container left"

log "rm -f of a running container, rm of a stopped one: nothing left"
sleeper_id=$(container_id sleeper)
sleeper_pid=$(container_pid sleeper)
b rm -f sleeper >/dev/null
assert_no_trace "$sleeper_id"
! kill -0 "$sleeper_pid" 2>/dev/null || [[ $(awk '{ print $3 }' /proc/$sleeper_pid/stat 2>/dev/null) == Z ]] \
  || fail "rm -f left the container's process $sleeper_pid running"
b rm web2 >/dev/null
assert_no_trace "$id"
