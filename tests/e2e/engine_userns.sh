#!/usr/bin/env bash
# Containers in user namespaces: `--userns auto` and `--uidmap/--gidmap`.
# Root in the container is an unprivileged host uid from berth's own range;
# the rootfs, volumes and `cp` show the container the ids it expects, and
# every file keeps its true owner on disk (commit, diff need no shifting);
# a host file mounted in stays the host's; ranges are given back on rm.
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init

host_uid() { awk '$1 == "Uid:" { print $2 }' "/proc/$(container_pid "$1")/status"; }

log "--userns auto: root inside, a high host uid outside, ranges apart"
b run -d --name u1 --userns auto -v uvol:/data -w /work busybox sleep 300 >/dev/null
b run -d --name u2 --userns auto busybox sleep 300 >/dev/null
assert_eq "id inside" "uid=0(root) gid=0(root)" "$(b exec u1 id)"
u1=$(host_uid u1) u2=$(host_uid u2)
((u1 >= 1000000000)) || fail "u1's root is host uid $u1, want one of berth's range (>= 1000000000)"
((u2 >= 1000000000 && u2 != u1)) || fail "u2's root is host uid $u2 (u1's is $u1): want its own range"
assert_eq "uid_map" "0 $u1 65536" "$(b exec u1 cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
assert_eq "IDMappings recorded" "[\"0:$u1:65536\"] auto" "$(b inspect -f '{{json .HostConfig.IDMappings.UidMap}} {{.HostConfig.UsernsMode}}' u1)"

log "the image's files are root's inside; new files get true owners on disk"
assert_eq "/bin owner inside" "0 0" "$(b exec u1 stat -c '%u %g' /bin)"
b exec u1 sh -c 'echo x > /data/f && mkdir -p /made && echo y > /made/z && chown 5:6 /made/z && echo w > /work/w'
upper=$ROOT/containers/$(container_id u1)/upper
assert_eq "upper file owner on disk" "5 6" "$(stat -c '%u %g' "$upper/made/z")"
assert_eq "upper dir owner on disk" "0 0" "$(stat -c '%u %g' "$upper/made")"
assert_eq "volume file owner on disk" "0 0" "$(stat -c '%u %g' "$ROOT/volumes/uvol/_data/f")"
assert_eq "the volume from a container without a user namespace" "0 x" "$(b run --rm -v uvol:/data busybox sh -c 'stat -c %u /data/f; cat /data/f' | tr '\n' ' ' | sed 's/ $//')"

log "cp both ways through the container's mapping"
echo hello >"$E2E_TMP/hf"
chown 7:8 "$E2E_TMP/hf"
b cp "$E2E_TMP/hf" u1:/hf
assert_eq "cp in: owner inside" "7 8" "$(b exec u1 stat -c '%u %g' /hf)"
assert_eq "cp in: owner on disk" "7 8" "$(stat -c '%u %g' "$upper/hf")"
assert_eq "cp out: owners as the container sees them" "5/6" "$(b cp u1:/made/z - | tar tvf - | awk '{ print $2 }')"

log "commit keeps the owners the container gave"
b commit u1 userns-commit:1 >/dev/null
assert_eq "committed owner" "5 6" "$(b run --rm userns-commit:1 stat -c '%u %g' /made/z)"

log "a host file mounted in stays the host's"
echo secret >"$E2E_TMP/secret"
chmod 600 "$E2E_TMP/secret"
b run -d --name u3 --userns auto -v "$E2E_TMP/secret:/secret" busybox sleep 300 >/dev/null
assert_eq "the secret's owner inside (unmapped)" "65534" "$(b exec u3 stat -c %u /secret)"
assert_refused "container root reads a host root 0600 file" "Permission denied" b exec u3 cat /secret

log "--uidmap / --gidmap"
b run -d --name u4 --uidmap 0:2000000000:1000 --gidmap 0:2000100000:1000 busybox sleep 300 >/dev/null
assert_eq "uid_map" "0 2000000000 1000" "$(b exec u4 cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
assert_eq "gid_map" "0 2000100000 1000" "$(b exec u4 cat /proc/self/gid_map | tr -s ' ' | sed 's/^ //')"
assert_eq "host uid" 2000000000 "$(host_uid u4)"

log "ranges are given back on rm, and reused"
b rm -f u1 u2 u3 u4 >/dev/null
b run -d --name u5 --userns auto busybox sleep 300 >/dev/null
b run -d --name u6 --userns auto busybox sleep 300 >/dev/null
assert_eq "u5 has the first range again" "$u1" "$(host_uid u5)"
assert_eq "u6 has the second range again" "$u2" "$(host_uid u6)"
b rm -f u5 u6 >/dev/null

log "a --root under a directory others cannot pass: a clear error at start"
mkdir -m 0700 "$E2E_TMP/closed"
closed=(timeout 60 "$BERTH" --root "$E2E_TMP/closed/root" --state "$STATE")
"${closed[@]}" load -i "$BUSYBOX_ARCHIVE" >/dev/null
run_capture out rc "${closed[@]}" run --rm --userns auto busybox true
assert_eq "exit code" 125 "$rc"
assert_contains "the error" "$out" "$E2E_TMP/closed (mode 0700) cannot be passed by the container's root"
assert_eq "nothing left (--rm)" "" "$("${closed[@]}" ps -a -q)"

log "a user namespace on a bridge network (in a network namespace of the test's)"
# The engine's netns belongs to the host's user namespace: the runtime's
# parent joins it for the clone (the child, in its new user namespace, may not).
export BERTH ROOT STATE
export -f b
out=$(unshare -n bash -c 'ip link set lo up && b network create usernet >/dev/null &&
  b run --rm --userns auto --network usernet busybox sh -c "id -u; ip -4 addr show eth0 | grep -c inet"; rc=$?;
  b network rm usernet >/dev/null; exit $rc')
assert_eq "root with an address on usernet" "0
1" "$out"

log "bad input: one clear line, nothing made"
before=$(engine_footprint)
expect_error 125 "unknown mode" b run --rm --userns bogus busybox true
expect_error 125 "0 < N <= 65536" b run --rm --userns auto:size=0 busybox true
expect_error 125 "CONTAINER_ID:HOST_ID:SIZE" b run --rm --uidmap 1:2:x busybox true
expect_error 125 "uid 0 (root) must be mapped" b run --rm --uidmap 1:3000000000:10 busybox true
expect_error 125 "--privileged cannot be used" b run --rm --userns auto --privileged busybox true
expect_error 125 "cannot be used with --uidmap" b run --rm --userns host --uidmap 0:1:1 busybox true
assert_eq "footprint after refusals" "$before" "$(engine_footprint)"
log "ok"
