#!/usr/bin/env bash
# docker reads berth's push: a private dockerd (Debian's 20.10) pulls from
# docker-registry on loopback (in a network namespace of the test's own)
# the image berth pushed, with the digest berth printed, and runs it; and
# berth pulls what docker pushed.
if [[ -z ${REG_IN_NETNS:-} ]]; then
  exec env REG_IN_NETNS=1 unshare -n bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_env.bash"
e2e_init
engine_init
require_bin docker-registry docker jq
ip link set lo up

registry_start "$E2E_TMP/reg" 5000
on_exit "kill $REG_PID"
H=127.0.0.1:5000
start_dockerd "$E2E_TMP/dockerd"

log "berth push, docker pull + run"
b tag busybox "$H/from/berth:1"
out=$(b push "$H/from/berth:1")
[[ $(tail -n1 <<<"$out") =~ ^1:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]] || fail "push's last line: $(tail -n1 <<<"$out")"
digest=${BASH_REMATCH[1]}
docker_cli pull -q "$H/from/berth:1" >/dev/null
assert_eq "docker's RepoDigests" "$H/from/berth@$digest" \
  "$(docker_cli image inspect -f '{{index .RepoDigests 0}}' "$H/from/berth:1")"
assert_eq "docker runs berth's push" "pushed by berth" \
  "$(docker_cli run --rm --network none "$H/from/berth:1" echo pushed by berth)"
assert_eq "same image ID" "$(b image inspect busybox | jq -r '.[0].Id')" \
  "$(docker_cli image inspect -f '{{.Id}}' "$H/from/berth:1")"

log "docker push, berth pull + run"
docker_cli tag "$H/from/berth:1" "$H/from/docker:2"
docker_cli push "$H/from/docker:2" >/dev/null
PROOT=$E2E_TMP/proot
p() { timeout 60 "$BERTH" --root "$PROOT" --state "$STATE" "$@"; }
p pull -q "$H/from/docker:2" >/dev/null
assert_eq "berth runs docker's push" "pushed by docker" \
  "$(p run --rm --network none "$H/from/docker:2" echo pushed by docker)"
