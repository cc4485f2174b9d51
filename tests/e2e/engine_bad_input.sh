#!/usr/bin/env bash
# Bad input to the container verbs: each gets one docker-like line on
# stderr, docker's exit code (125 for run/create, 1 for the other verbs),
# and leaves nothing behind: no record in `ps -a`, no dir, no volume, no
# mount.
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init

b create --name taken busybox sleep 60 >/dev/null
b run -d --name running busybox sleep 60 >/dev/null
before=$(engine_footprint)
taken_id=$(container_id taken)

# refused CODE PATTERN ARGS... : `berth ARGS` fails as expect_error says and
# changes nothing.
refused() {
  expect_error "$@"
  assert_eq "footprint after berth ${*:3}" "$before" "$(engine_footprint)"
}

log "run and create: engine errors exit 125"
for verb in run create; do
  # Each also names a new volume: a refusal must not make it.
  refused 125 "No such image: no-such-image" b $verb -v fresh:/x no-such-image true
  refused 125 '"abc" for "--memory"' b $verb -v fresh:/x --memory abc busybox true
  refused 125 "Minimum memory limit" b $verb -v fresh:/x --memory 1k busybox true
  refused 125 '"-1" for "--cpus"' b $verb -v fresh:/x --cpus -1 busybox true
  refused 125 '"abc" for "--cpus"' b $verb -v fresh:/x --cpus abc busybox true
  refused 125 'The container name "/taken" is already in use' b $verb -v fresh:/x --name taken busybox true
  refused 125 "invalid restart policy" b $verb -v fresh:/x --restart sometimes busybox true
  refused 125 "maximum retry count" b $verb -v fresh:/x --restart on-failure:x busybox true
  refused 125 '"nofile=abc" for "--ulimit"' b $verb -v fresh:/x --ulimit nofile=abc busybox true
  refused 125 "invalid ulimit type: bogus" b $verb -v fresh:/x --ulimit bogus=1:2 busybox true
  refused 125 "soft limit must be less than or equal to hard limit" b $verb --ulimit nofile=10:5 busybox true
  refused 125 "--bogus" b $verb --bogus busybox true
  refused 125 "invalid capability" b $verb -v fresh:/x --cap-add NOPE busybox true
  refused 125 'Invalid --security-opt: "bogus"' b $verb -v fresh:/x --security-opt bogus busybox true
  refused 125 "seccomp profile" b $verb -v fresh:/x --security-opt "seccomp=$E2E_TMP/no-such-profile.json" busybox true
  refused 125 "it needs to be an absolute path" b $verb -v fresh:/x -w relative busybox true
  refused 125 "mount path must be absolute" b $verb -v fresh:relative busybox true
  refused 125 "unknown mount type" b $verb -v fresh:/x --mount type=bogus,target=/y busybox true
  refused 125 "Duplicate mount point: /x" b $verb -v fresh:/x -v other:/x busybox true
  refused 125 "invalid characters for a local volume name" b $verb -v 'bad*name:/x' busybox true
  refused 125 "No command specified" b $verb -v fresh:/x --entrypoint "" busybox
  refused 125 "cannot specify both --restart and --rm" b $verb -v fresh:/x --rm --restart always busybox true
  refused 125 "invalid max-size '1e300' for the json-file log" b $verb -v fresh:/x --log-opt max-size=1e300 busybox true
  refused 125 "invalid max-file '0' for the json-file log" b $verb -v fresh:/x --log-opt max-file=0 busybox true
  refused 125 "invalid max-file '2000000000' for the json-file log" b $verb -v fresh:/x --log-opt max-file=2000000000 busybox true
  refused 125 "unknown log opt 'mode' for json-file log driver" b $verb -v fresh:/x --log-opt mode=non-blocking busybox true
done

log "unknown --format fields: 1"
refused 1 "Bogus" b ps --format '{{.Bogus}}'
refused 1 "Bogus" b container inspect -f '{{.Bogus}}' taken
refused 1 "Bogus" b inspect -f '{{.Bogus}}' taken
refused 1 "Invalid filter 'bogus'" b ps --filter bogus=1
refused 1 "Invalid filter 'status=sleeping'" b ps --filter status=sleeping

log "the other verbs: 1, one line"
refused 1 "No such container: nope" b logs nope
refused 1 "No such container: nope" b stop nope
refused 1 "No such container: nope" b rm nope
refused 1 "No such container: nope" b exec nope true
refused 1 "No such container: nope" b wait nope
refused 1 "No such container: nope" b rename nope other
refused 1 "is already in use" b rename taken running
refused 1 "is not running" b exec taken true
refused 1 "is not running" b kill taken
refused 1 "is not running" b pause taken
refused 1 "invalid signal: BOGUS" b kill -s BOGUS running
refused 1 "is not paused" b unpause running
refused 1 "stop the container before removing or force remove" b rm running
refused 1 "no such volume" b volume inspect nope
refused 1 "includes invalid characters" b volume create 'bad*name'

assert_eq "the created container is untouched" "created $taken_id" "$(b inspect -f '{{.State.Status}} {{.Id}}' taken)"
container_pid running >/dev/null

# The CLI defines only the verbs a command line names (add_commands'
# declared words); help defines them all, and a registration that adds a
# word it did not declare fails every command line that runs it (exit 70).
log "help lists every verb; an unknown verb is one line"
assert_exit "berth --help" 0 b --help
for verb in run create ps exec logs inspect rm cp images build pull push login network volume vm system serve stats port; do
  grep -qE "^  $verb( |$)" "$E2E_TMP/stdout" || fail "berth --help does not list $verb: $(cat "$E2E_TMP/stdout")"
done
refused 1 "'pss' is not a berth command" b pss
refused 1 "'pss' is not a berth command" b --root "$ROOT" pss -a
assert_exit "berth (no verb)" 2 b
