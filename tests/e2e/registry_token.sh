#!/usr/bin/env bash
# The bearer-token flow (as Docker Hub's): docker-registry with `auth: token`
# and a token service of the test's own (tests/e2e/registry/token_server.py,
# RS256 JWTs), on loopback in a network namespace:
#  - without credentials: "authentication required", nothing stored;
#  - a wrong password: the token service refuses, one clear error;
#  - login, then pull and push: tokens asked per scope, each once per
#    operation (cached for its lifetime), and skopeo reads berth's push;
#  - tokens kept across commands in the state dir (0600 files in a 0700
#    dir): a second pull asks none, an expired one is asked again, a 401
#    with a kept token asks a new one, logout forgets them.
if [[ -z ${REG_IN_NETNS:-} ]]; then
  exec env REG_IN_NETNS=1 unshare -n bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init
require_bin docker-registry skopeo jq openssl
ip link set lo up

T=$E2E_TMP/token
mkdir -p "$T/store"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth token signer" \
  -addext "keyUsage=digitalSignature,keyCertSign" -keyout "$T/token.key" -out "$T/token.crt" 2>/dev/null
/usr/bin/python3 "$(dirname "$0")/registry/token_server.py" 5200 "$T/token.key" "$T/token.crt" berth-issuer "$T/tokens.log" &
on_exit "kill $!"
cat > "$T/config.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $T/store
http:
  addr: 127.0.0.1:5000
auth:
  token:
    realm: http://127.0.0.1:5200/token
    service: berth-registry-test
    issuer: berth-issuer
    rootcertbundle: $T/token.crt
YML
docker-registry serve "$T/config.yml" > "$T/registry.log" 2>&1 &
on_exit "kill $!"
wait_until 20 curl -s -o /dev/null http://127.0.0.1:5000/v2/ || fail "registry did not come up: $(cat "$T/registry.log")"
wait_until 20 curl -s -o /dev/null http://127.0.0.1:5200/ || fail "token service did not come up"
H=127.0.0.1:5000
OCI=$BERTH_BUILD_DIR/images/busybox-oci
skopeo copy -q --dest-tls-verify=false --dest-creds alice:s3cret "oci:$OCI:latest" "docker://$H/library/busybox:1"
PROOT=$E2E_TMP/proot
p() { timeout 60 "$BERTH" --root "$PROOT" --state "$STATE" "$@"; }
export BERTH_CONFIG=$E2E_TMP/config

log "no credentials, wrong password"
expect_error 1 "registry $H: authentication required (berth login $H)" p pull -q "$H/library/busybox:1"
run_capture out rc bash -c "echo nope | timeout 30 '$BERTH' login -u alice --password-stdin $H"
[[ $rc == 1 && $out == *"registry $H: wrong user name or password"* ]] || fail "wrong password: exit $rc: $out"
assert_eq "nothing stored" "" "$(p images -q)"

log "login; pull asks one token for its scope"
assert_eq "login" "Login Succeeded" "$(echo s3cret | p login -u alice --password-stdin "$H")"
: > "$T/tokens.log"
p pull -q "$H/library/busybox:1" >/dev/null
assert_eq "token requests of a pull" "ok repository:library/busybox:pull" "$(cat "$T/tokens.log")"
assert_eq "run the pulled image" "token ok" "$(p run --rm --network none "$H/library/busybox:1" echo token ok)"

log "tokens outlive the command: kept in the state dir, 0600"
TOK=$STATE/registry-tokens
assert_eq "token files are 0600 in 0700 dirs" "700 700 600" \
  "$(stat -c %a "$TOK" "$TOK/127.0.0.1_5000" | paste -sd' ') $(find "$TOK" -type f -printf '%m\n' | sort -u | paste -sd' ')"
: > "$T/tokens.log"
p pull -q "$H/library/busybox:1" >/dev/null
assert_eq "a second pull asks no token" "" "$(cat "$T/tokens.log")"
log "an expired kept token is asked again; a refused one too"
for f in $(find "$TOK" -type f); do
  jq -c '.expires = 1' "$f" > "$f.new" && chmod 600 "$f.new" && mv "$f.new" "$f"
done
p pull -q "$H/library/busybox:1" >/dev/null
assert_eq "an expired token: asked again" "ok repository:library/busybox:pull" "$(cat "$T/tokens.log")"
for f in $(find "$TOK" -type f); do
  jq -c '.token = "not-a-valid-token"' "$f" > "$f.new" && chmod 600 "$f.new" && mv "$f.new" "$f"
done
: > "$T/tokens.log"
p pull -q "$H/library/busybox:1" >/dev/null
assert_eq "a token the registry refuses: a new one" "ok repository:library/busybox:pull" "$(cat "$T/tokens.log")"
chmod 644 $(find "$TOK" -type f)
: > "$T/tokens.log"
p pull -q "$H/library/busybox:1" >/dev/null
assert_eq "a token file others can read is not trusted" "ok repository:library/busybox:pull" "$(cat "$T/tokens.log")"

log "push: a token with push scope (and pull on the mount source)"
p tag "$H/library/busybox:1" "$H/pushed/bb:3"
: > "$T/tokens.log"
out=$(p push "$H/pushed/bb:3")
cp "$T/tokens.log" "$T/push-tokens.log"
[[ $(tail -n1 <<<"$out") =~ ^3:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]] || fail "push's last line: $(tail -n1 <<<"$out")"
assert_eq "skopeo sees berth's push" "${BASH_REMATCH[1]}" \
  "$(skopeo inspect --tls-verify=false --creds alice:s3cret "docker://$H/pushed/bb:3" | jq -r .Digest)"
assert_eq "token requests of a push (each scope once)" \
  "ok repository:pushed/bb:pull,push
ok repository:pushed/bb:pull,push repository:library/busybox:pull" "$(cat "$T/push-tokens.log")"
assert_contains "push mounted from the source repository" "$out" "Mounted from library/busybox"

log "logout forgets the kept tokens"
p logout "$H" >/dev/null
[[ ! -e $TOK/127.0.0.1_5000 ]] || fail "tokens kept after logout: $(ls "$TOK/127.0.0.1_5000")"
expect_error 1 "registry $H: authentication required (berth login $H)" p pull -q "$H/library/busybox:1"
