#!/usr/bin/env bash
# What docker-registry cannot be made to send, from a fake registry of the
# test's own (tests/e2e/registry/fake_registry.py), in a network namespace:
#  - a docker schema 1 manifest: refused, saying so;
#  - a Docker-Content-Digest that is not the manifest's: refused;
#  - a plain-HTTP registry on an address that is not loopback: refused
#    (HTTPS only) unless named in config.json's insecure-registries, then
#    pulled over plain HTTP.
if [[ -z ${REG_IN_NETNS:-} ]]; then
  exec env REG_IN_NETNS=1 unshare -n bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init
ip link set lo up
ip addr add 10.9.9.9/32 dev lo

OCI=$BERTH_BUILD_DIR/images/busybox-oci
/usr/bin/python3 "$(dirname "$0")/registry/fake_registry.py" 0.0.0.0 5000 "$OCI" &
on_exit "kill $!"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/5000" || fail "fake registry did not start"
PROOT=$E2E_TMP/proot
export BERTH_CONFIG=$E2E_TMP/config
p() { timeout 60 "$BERTH" --root "$PROOT" --state "$STATE" "$@"; }

log "schema 1, a lying Docker-Content-Digest"
expect_error 1 "a docker schema 1 manifest, which berth does not pull" p pull 127.0.0.1:5000/old:1
expect_error 1 "Docker-Content-Digest says sha256:0000000000000000000000000000000000000000000000000000000000000000 but the manifest hashes to" \
  p pull 127.0.0.1:5000/lying:1
assert_eq "nothing stored" "" "$(p images -q)"
assert_eq "good manifest from the fake" "127.0.0.1:5000/ok:1" "$(p pull -q 127.0.0.1:5000/ok:1)"

log "plain HTTP off loopback: only when insecure-registries names it"
expect_error 1 "registry 10.9.9.9:5000 does not answer HTTPS" p pull 10.9.9.9:5000/ok:1
mkdir -p "$BERTH_CONFIG"
echo '{"insecure-registries": ["10.9.9.9:5000"]}' > "$BERTH_CONFIG/config.json"
assert_eq "pulled over plain HTTP" "10.9.9.9:5000/ok:1" "$(p pull -q 10.9.9.9:5000/ok:1)"
