#!/usr/bin/env bash
# berth login/pull/push against docker-registry on TLS (a CA the test makes
# with openssl) with htpasswd basic auth (bcrypt, htpasswd -B), on loopback
# in a network namespace of the test's own:
#  - an unknown CA is refused with a clear error and never retried on plain
#    HTTP (loopback registries may fall back, but not after a certificate error);
#  - a wrong password is refused and nothing is stored;
#  - login stores docker's config.json (mode 0600) under $BERTH_CONFIG; pull
#    and push then work with --cert-dir and with the default cert dir;
#  - a credential helper (credsStore) is asked for the credentials;
#  - logout removes them, and the registry refuses again.
if [[ -z ${REG_IN_NETNS:-} ]]; then
  exec env REG_IN_NETNS=1 unshare -n bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_env.bash"
e2e_init
engine_init
require_bin docker-registry skopeo jq htpasswd openssl
ip link set lo up

REG=$E2E_TMP/reg
PORT=5443
registry_start "$REG" $PORT tls
on_exit "kill $REG_PID"
H=127.0.0.1:$PORT
CA=$REG/ca
OCI=$BERTH_BUILD_DIR/images/busybox-oci
PROOT=$E2E_TMP/proot
p() { timeout 60 "$BERTH" --root "$PROOT" --state "$STATE" "$@"; }
export BERTH_CONFIG=$E2E_TMP/config
skopeo copy -q --dest-cert-dir "$CA" --dest-creds alice:s3cret "oci:$OCI:latest" "docker://$H/library/busybox:1"

log "unknown CA: refused, no fall back to plain HTTP"
expect_error 1 "TLS certificate not trusted" p pull "$H/library/busybox:1"
expect_error 1 "TLS certificate not trusted" bash -c "echo s3cret | timeout 30 '$BERTH' login -u alice --password-stdin $H"
assert_eq "nothing stored" "" "$(p images -q)"

log "wrong password"
run_capture out rc bash -c "echo wrong | timeout 30 '$BERTH' --root '$PROOT' login -u alice --password-stdin --cert-dir '$CA' $H"
[[ $rc == 1 ]] || fail "login with a wrong password: exit $rc: $out"
assert_contains "wrong password" "$out" "wrong user name or password"
[[ ! -e $BERTH_CONFIG/config.json ]] || fail "a failed login wrote $BERTH_CONFIG/config.json"
expect_error 1 "authentication required (berth login $H)" p pull --cert-dir "$CA" "$H/library/busybox:1"

log "login, then pull and push"
assert_eq "login" "Login Succeeded" "$(echo s3cret | p login -u alice --password-stdin --cert-dir "$CA" "$H")"
assert_eq "config.json mode" 600 "$(stat -c %a "$BERTH_CONFIG/config.json")"
assert_eq "config.json auth" "$(printf alice:s3cret | base64)" "$(jq -r --arg h "$H" '.auths[$h].auth' "$BERTH_CONFIG/config.json")"
p pull -q --cert-dir "$CA" "$H/library/busybox:1" >/dev/null
assert_eq "run the pulled image" "over tls" "$(p run --rm --network none "$H/library/busybox:1" echo over tls)"
p tag "$H/library/busybox:1" "$H/pushed/bb:7"
out=$(p push --cert-dir "$CA" "$H/pushed/bb:7")
[[ $(tail -n1 <<<"$out") =~ ^7:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]] || fail "push's last line: $(tail -n1 <<<"$out")"
assert_eq "skopeo sees berth's push" "${BASH_REMATCH[1]}" \
  "$(skopeo inspect --cert-dir "$CA" --creds alice:s3cret "docker://$H/pushed/bb:7" | jq -r .Digest)"

log "the default cert dir /etc/berth/certs.d/HOST:PORT"
certs=/etc/berth/certs.d/$H
mkdir -p "$certs"
on_exit "rm -rf '$certs'; rmdir /etc/berth/certs.d /etc/berth 2>/dev/null"
cp "$CA/ca.crt" "$certs/ca.crt"
p rmi "$H/library/busybox:1" >/dev/null
p pull -q "$H/library/busybox:1" >/dev/null
rm -rf "$certs"

log "a credential helper (credsStore)"
mkdir -p "$E2E_TMP/bin"
cat > "$E2E_TMP/bin/docker-credential-berthtest" <<'HELPER'
#!/bin/sh
read -r server
[ "$1" = get ] && printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}\n' "$server" && exit 0
exit 1
HELPER
chmod +x "$E2E_TMP/bin/docker-credential-berthtest"
HCONF=$E2E_TMP/helperconf
mkdir -p "$HCONF"
echo '{"credsStore":"berthtest"}' > "$HCONF/config.json"
HROOT=$E2E_TMP/hroot
PATH=$E2E_TMP/bin:$PATH BERTH_CONFIG=$HCONF timeout 60 "$BERTH" --root "$HROOT" pull -q --cert-dir "$CA" "$H/pushed/bb:7" >/dev/null

log "logout"
assert_eq "logout" "Removing login credentials for $H" "$(p logout "$H")"
[[ $(jq -r --arg h "$H" '.auths[$h]' "$BERTH_CONFIG/config.json") == null ]] || fail "logout left the credentials"
assert_eq "second logout" "Not logged in to $H" "$(p logout "$H")"
expect_error 1 "authentication required" p pull --cert-dir "$CA" "$H/library/busybox:1"
