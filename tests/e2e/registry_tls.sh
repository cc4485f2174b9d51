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

log "mutual TLS: a registry that wants a client certificate"
openssl req -newkey rsa:2048 -nodes -subj "/CN=berth client" -keyout "$REG/client.key" -out "$REG/client.csr" 2>/dev/null
openssl x509 -req -in "$REG/client.csr" -CA "$CA/ca.crt" -CAkey "$REG/ca.key" -CAserial "$REG/ca.srl" -days 2 \
  -out "$REG/client.cert" 2>/dev/null
MREG=$E2E_TMP/mreg
mkdir -p "$MREG/store"
cat > "$MREG/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $MREG/store
http:
  addr: 127.0.0.1:5444
  tls:
    certificate: $REG/server.crt
    key: $REG/server.key
    clientcas:
      - $CA/ca.crt
YML
docker-registry serve "$MREG/config.yml" > "$MREG/registry.log" 2>&1 &
on_exit "kill $!"
MCERTS=$E2E_TMP/mcerts
mkdir -p "$MCERTS"
cp "$CA/ca.crt" "$REG/client.cert" "$REG/client.key" "$MCERTS/"
wait_until 20 curl -s -o /dev/null --cacert "$CA/ca.crt" --cert "$REG/client.cert" --key "$REG/client.key" \
  https://127.0.0.1:5444/v2/ || fail "mTLS registry did not come up: $(cat "$MREG/registry.log")"
expect_error 1 "registry 127.0.0.1:5444: TLS failed" p pull --cert-dir "$CA" 127.0.0.1:5444/library/busybox:1
p tag "$H/library/busybox:1" 127.0.0.1:5444/m/bb:1
p push -q --cert-dir "$MCERTS" 127.0.0.1:5444/m/bb:1 >/dev/null
MROOT=$E2E_TMP/mroot
assert_eq "pull with a client certificate" 127.0.0.1:5444/m/bb:1 \
  "$(timeout 60 "$BERTH" --root "$MROOT" pull -q --cert-dir "$MCERTS" 127.0.0.1:5444/m/bb:1)"
rm "$MCERTS/client.key"
expect_error 1 "client.cert has no client.key" p pull --cert-dir "$MCERTS" 127.0.0.1:5444/m/bb:1

log "logout"
assert_eq "logout" "Removing login credentials for $H" "$(p logout "$H")"
[[ $(jq -r --arg h "$H" '.auths[$h]' "$BERTH_CONFIG/config.json") == null ]] || fail "logout left the credentials"
assert_eq "second logout" "Not logged in to $H" "$(p logout "$H")"
expect_error 1 "authentication required" p pull --cert-dir "$CA" "$H/library/busybox:1"
