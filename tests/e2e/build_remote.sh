#!/usr/bin/env bash
# `berth build` reaching out, all on loopback in a network namespace of the
# test's own:
#  - FROM (and COPY --from) of an image the store lacks pulls it from
#    Debian's docker-registry; a rebuild does not pull again; `--pull`
#    pulls the tag anew and the steps after FROM rebuild on the new base;
#  - ADD https:// through berth-registry's libcurl from a python3 HTTPS
#    server with a CA the test makes (trusted through the host's cert dir,
#    as registries): the file named from the URL (or Content-Disposition),
#    mtime from Last-Modified, mode 600, a tar kept packed, --checksum
#    verified, the cache keyed by the content;
#  - bad input, one line naming Dockerfile:LINE and nothing left behind: an
#    unknown image, an unreachable registry, an unreachable URL, a checksum
#    mismatch, a 404, an untrusted certificate.
if [[ -z ${REG_IN_NETNS:-} ]]; then
  exec env REG_IN_NETNS=1 unshare -n bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_env.bash"
e2e_init
engine_init
require_bin docker-registry skopeo jq openssl
ip link set lo up

REG=$E2E_TMP/reg
PORT=5000
registry_start "$REG" $PORT
on_exit "kill $REG_PID"
H=127.0.0.1:$PORT
export BERTH_CONFIG=$E2E_TMP/config
PROOT=$E2E_TMP/proot
p() { timeout 60 "$BERTH" --root "$PROOT" --state "$STATE" "$@"; }
ctx=$E2E_TMP/ctx; mkdir -p "$ctx"
# pbuild ARGS... : build in PROOT, output in $E2E_TMP/build.out.
pbuild() { p build "$@" >"$E2E_TMP/build.out" 2>&1 || { cat "$E2E_TMP/build.out" >&2; fail "build $* failed"; }; }
# expect_build_error PATTERN ARGS...: one line on stderr holding PATTERN, exit 1.
expect_build_error() {
  local pat=$1 rc=0; shift
  p build "$@" >"$E2E_TMP/err.out" 2>"$E2E_TMP/err.err" || rc=$?
  [[ $rc == 1 ]] || fail "build $*: exit $rc, want 1 ($(cat "$E2E_TMP/err.err"))"
  [[ $(wc -l < "$E2E_TMP/err.err") == 1 ]] || fail "build $*: want one line on stderr, got: $(cat "$E2E_TMP/err.err")"
  assert_contains "build $*" "$(cat "$E2E_TMP/err.err")" "$pat"
}
images_now() { p images -q -a | sort | paste -sd' '; }
nothing_left() {
  [[ -z $(ls "$PROOT/build-tmp" 2>/dev/null) ]] || fail "$1: left in build-tmp: $(ls "$PROOT/build-tmp")"
  [[ -z $(ls "$PROOT/content/download" 2>/dev/null) ]] || fail "$1: partial downloads left: $(ls "$PROOT/content/download")"
  [[ -z $(ls "$PROOT/containers" 2>/dev/null) ]] || fail "$1: containers left: $(ls "$PROOT/containers")"
}

log "a base image v1 pushed from another store"
printf 'FROM busybox\nRUN echo v1 > /v\n' > "$ctx/Dockerfile"
b build -q -t "$H/base:1" "$ctx" >/dev/null
b push -q "$H/base:1" >/dev/null

log "FROM an image the store lacks pulls it"
printf 'FROM %s/base:1\nRUN cat /v > /seen\n' "$H" > "$ctx/Dockerfile"
pbuild -t app "$ctx"
assert_contains "build says it pulls" "$(cat "$E2E_TMP/build.out")" "Unable to find image '$H/base:1' locally"
assert_contains "build relays the pull" "$(cat "$E2E_TMP/build.out")" "Status: Downloaded newer image for $H/base:1"
assert_eq "the base is in the store" "$(b image inspect "$H/base:1" | jq -r '.[0].Id')" \
  "$(p image inspect "$H/base:1" | jq -r '.[0].Id')"
assert_eq "built on the pulled base" v1 "$(p run --rm --network none app cat /seen)"

log "a rebuild does not pull; every step is cached"
pbuild -t app "$ctx"
if grep -q "Pull\|Unable to find" "$E2E_TMP/build.out"; then fail "the rebuild pulled: $(cat "$E2E_TMP/build.out")"; fi
assert_eq "both steps cached" 1 "$(grep -c CACHED "$E2E_TMP/build.out")"

log "--pull takes the tag's new content"
printf 'FROM busybox\nRUN echo v2 > /v\n' > "$E2E_TMP/v2.Dockerfile"
b build -q -f "$E2E_TMP/v2.Dockerfile" -t "$H/base:1" "$ctx" >/dev/null
b push -q "$H/base:1" >/dev/null
pbuild -t app "$ctx"
assert_eq "without --pull: the old base" v1 "$(p run --rm --network none app cat /seen)"
pbuild --pull -t app "$ctx"
assert_contains "--pull pulls" "$(cat "$E2E_TMP/build.out")" "Status: Downloaded newer image for $H/base:1"
assert_eq "with --pull: the new base" v2 "$(p run --rm --network none app cat /seen)"
pbuild --pull -t app "$ctx"
assert_contains "--pull again: up to date" "$(cat "$E2E_TMP/build.out")" "Status: Image is up to date for $H/base:1"
assert_eq "--pull of an unchanged base: cached" 1 "$(grep -c CACHED "$E2E_TMP/build.out")"

log "COPY --from an image the store lacks pulls it"
printf 'FROM scratch\nCOPY --from=%s/base:1 /v /from-image\n' "$H" > "$ctx/Dockerfile"
CROOT=$E2E_TMP/croot
timeout 60 "$BERTH" --root "$CROOT" --state "$STATE" build -q -t copied "$ctx" >/dev/null
assert_eq "COPY --from pulled the image" "$(p image inspect "$H/base:1" | jq -r '.[0].Id')" \
  "$(timeout 10 "$BERTH" --root "$CROOT" image inspect "$H/base:1" | jq -r '.[0].Id')"

log "bad bases: an unknown image, an unreachable registry"
before=$(images_now)
printf 'FROM busybox\nFROM %s/nope:1\nRUN true\n' "$H" > "$ctx/Dockerfile"
expect_build_error "Dockerfile:2: image $H/nope:1 is not in the store and could not be pulled: $H/nope:1: manifest unknown" "$ctx"
printf 'FROM 127.0.0.1:1/x:1\n' > "$ctx/Dockerfile"
t0=$(date +%s)
expect_build_error "Dockerfile:1: image 127.0.0.1:1/x:1 is not in the store and could not be pulled: registry 127.0.0.1:1 cannot be reached" "$ctx"
(( $(date +%s) - t0 < 15 )) || fail "an unreachable registry took $(( $(date +%s) - t0 )) s"
assert_eq "no image recorded by the failed builds" "$before" "$(images_now)"
nothing_left "failed pulls"

log "an HTTPS server on loopback with a CA of the test's own"
TLS=$E2E_TMP/tls; mkdir -p "$TLS/www/dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth build test CA" \
  -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' > "$TLS/san.ext"
openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -CAcreateserial \
  -days 2 -extfile "$TLS/san.ext" -out "$TLS/server.crt" 2>/dev/null
echo "secure $E2E_MARK" > "$TLS/www/file.txt"
mkdir -p "$TLS/pack"; echo inside > "$TLS/pack/inner.txt"
tar -C "$TLS/pack" -czf "$TLS/www/pack.tar.gz" inner.txt
touch -d @1600000000 "$TLS/www/file.txt"
HPORT=$(free_port)
cat > "$TLS/serve.py" <<'PY'
import http.server, ssl, sys, functools
port, www, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
class H(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/download/":  # no name in the URL: Content-Disposition gives it
            body = b"disposed\n"
            self.send_response(200)
            self.send_header("Content-Disposition", 'attachment; filename="named.bin"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()
    def log_message(self, *a): pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(H, directory=www))
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
PY
/usr/bin/python3 "$TLS/serve.py" "$HPORT" "$TLS/www" "$TLS/server.crt" "$TLS/server.key" &
srv=$!
on_exit "kill $srv"
wait_until 10 curl -s -o /dev/null --cacert "$TLS/ca.crt" "https://127.0.0.1:$HPORT/file.txt" || fail "https server did not start"
U=https://127.0.0.1:$HPORT
certs=/etc/berth/certs.d/127.0.0.1:$HPORT
mkdir -p "$certs"
on_exit "rm -rf '$certs'; rmdir /etc/berth/certs.d /etc/berth 2>/dev/null"
cp "$TLS/ca.crt" "$certs/ca.crt"

log "ADD https://: named from the URL, Last-Modified, 0600, not unpacked, --checksum"
sum=sha256:$(sha256sum "$TLS/www/file.txt" | cut -d' ' -f1)
cat > "$ctx/Dockerfile" <<DF
FROM busybox
ADD --checksum=$sum $U/file.txt /dl/
ADD $U/pack.tar.gz /dl/
ADD $U/download/ /dl/
ADD $U/file.txt /renamed.txt
DF
b build -t remote "$ctx" >"$E2E_TMP/build.out" 2>&1 || { cat "$E2E_TMP/build.out" >&2; fail "ADD https build failed"; }
r() { b run --rm --network none remote "$@"; }
assert_eq "content" "secure $E2E_MARK" "$(r cat /dl/file.txt)"
assert_eq "mtime from Last-Modified, mode 600" "1600000000 600" "$(r stat -c '%Y %a' /dl/file.txt)"
assert_eq "a tar is kept packed" "$(sha256sum < "$TLS/www/pack.tar.gz" | cut -d' ' -f1)" "$(r sha256sum /dl/pack.tar.gz | cut -d' ' -f1)"
assert_eq "no name in the URL: Content-Disposition's" disposed "$(r cat /dl/named.bin)"
assert_eq "a destination file name" "secure $E2E_MARK" "$(r cat /renamed.txt)"

log "the cache is keyed by the content"
b build -t remote "$ctx" >"$E2E_TMP/build.out" 2>&1
assert_eq "unchanged content: all 4 ADDs cached" 4 "$(grep -c CACHED "$E2E_TMP/build.out")"
printf 'FROM busybox\nADD %s/file.txt /renamed.txt\n' "$U" > "$ctx/Dockerfile"
b build -t remote2 "$ctx" >"$E2E_TMP/build.out" 2>&1
echo "changed $E2E_MARK" > "$TLS/www/file.txt"
b build -t remote2 "$ctx" >"$E2E_TMP/build.out" 2>&1 || { cat "$E2E_TMP/build.out" >&2; fail "rebuild failed"; }
assert_eq "changed content: ADD runs again" 0 "$(grep -c CACHED "$E2E_TMP/build.out")"
assert_eq "the new content" "changed $E2E_MARK" "$(b run --rm --network none remote2 cat /renamed.txt)"

log "bad ADDs: checksum mismatch, 404, unreachable, untrusted certificate"
ROOT_P=$PROOT; PROOT=$ROOT   # the errors are checked in the engine_init store, which has busybox
before=$(images_now)
printf 'FROM busybox\nADD --checksum=sha256:%064d %s/file.txt /dl/\n' 0 "$U" > "$ctx/Dockerfile"
expect_build_error "Dockerfile:2: ADD $U/file.txt: digest mismatch" "$ctx"
printf 'FROM busybox\nADD --checksum=md5:abc %s/file.txt /dl/\n' "$U" > "$ctx/Dockerfile"
expect_build_error "Dockerfile:2: --checksum md5:abc: not a sha256:<64 hex digits> digest" "$ctx"
printf 'FROM busybox\n\nADD %s/missing.txt /dl/\n' "$U" > "$ctx/Dockerfile"
expect_build_error "Dockerfile:3: ADD $U/missing.txt: the server answered HTTP 404" "$ctx"
printf 'FROM busybox\nADD https://127.0.0.1:1/x.txt /dl/\n' > "$ctx/Dockerfile"
expect_build_error "Dockerfile:2: ADD https://127.0.0.1:1/x.txt: cannot be fetched" "$ctx"
rm -rf "$certs"
printf 'FROM busybox\nADD %s/file.txt /dl/\n' "$U" > "$ctx/Dockerfile"
expect_build_error "Dockerfile:2: ADD $U/file.txt: TLS certificate not trusted" "$ctx"
assert_eq "no image recorded by the failed builds" "$before" "$(images_now)"
nothing_left "failed ADDs"
PROOT=$ROOT_P
