#!/usr/bin/env bash
# `berth serve` with TLS (issue 14), as dockerd's --tlsverify: the real
# docker CLI with client certificates over tcp (run --rm, ps, logs -f,
# build, the hijacked run -i / run -it / exec -it), and the refusals: a
# client without a certificate, one from another CA, plain HTTP to the TLS
# port (each refused, the server keeps serving); tcp off loopback without
# --tlsverify; missing or mismatched files. The certificates come from a
# throwaway CA made here with openssl. Everything runs in a network
# namespace of the test's own (the off-loopback address is on its lo).
if [[ -z ${BERTH_NET_TEST_NS:-} ]]; then
  exec env BERTH_NET_TEST_NS=1 E2E_IN_PRIVATE_NET_NS=1 unshare --net bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin docker script curl openssl
engine_init
source "$(dirname "$0")/api_lib.bash"
ip link set lo up
# An address off 127.0.0.0/8 (on lo: no dummy module here), as a LAN's would be.
ip addr add 10.123.0.1/32 dev lo
ADDR=10.123.0.1

log "a throwaway CA; the server's certificate; a client's; a client of another CA"
C=$E2E_TMP/certs
mkdir -p "$C"
mkca() { # mkca NAME
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=berth test $1" \
    -keyout "$C/$1.key" -out "$C/$1.pem" 2>/dev/null || fail "openssl: CA $1"
}
mkcert() { # mkcert NAME CA EXTENSIONS
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$C/$1-key.pem" -out "$C/$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$C/$1.ext"
  openssl x509 -req -in "$C/$1.csr" -CA "$C/$2.pem" -CAkey "$C/$2.key" -CAcreateserial -days 2 \
    -extfile "$C/$1.ext" -out "$C/$1.pem" 2>/dev/null || fail "openssl: certificate $1"
}
mkca ca
mkca otherca
mkcert server ca "subjectAltName=IP:$ADDR,IP:127.0.0.1,IP:::1,DNS:localhost
extendedKeyUsage=serverAuth"
mkcert client ca "extendedKeyUsage=clientAuth"
mkcert intruder otherca "extendedKeyUsage=clientAuth"

TLS=(--tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/server.pem" --tlskey "$C/server-key.pem")
port=2376  # docker's TLS port: free in this namespace of our own

log "refused at start: tcp off loopback without client certificates; missing and mismatched files"
expect_error 1 "needs TLS with client certificates" b serve -H "tcp://$ADDR:$port"
expect_error 1 "needs TLS with client certificates" \
  b serve -H "tcp://$ADDR:$port" --tls --tlscert "$C/server.pem" --tlskey "$C/server-key.pem"
expect_error 1 "--tlscacert is required" b serve -H "tcp://$ADDR:$port" --tlsverify --tlscert "$C/server.pem" --tlskey "$C/server-key.pem"
expect_error 1 "--tlscert $C/nope.pem: No such file or directory" \
  b serve -H "tcp://$ADDR:$port" --tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/nope.pem" --tlskey "$C/server-key.pem"
expect_error 1 "--tlskey $C/client-key.pem: does not match the certificate" \
  b serve -H "tcp://$ADDR:$port" --tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/server.pem" --tlskey "$C/client-key.pem"
expect_error 1 "--tlscert $C/ca.key: not a PEM certificate" \
  b serve -H "tcp://$ADDR:$port" --tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/ca.key" --tlskey "$C/server-key.pem"
expect_error 1 "given without --tls or --tlsverify" b serve -H "tcp://127.0.0.1:$port" --tlscert "$C/server.pem"
expect_error 1 "want a port number (1-65535)" b serve -H "tcp://127.0.0.1:http"
expect_error 1 "want a port number (1-65535)" b serve -H "tcp://127.0.0.1:70000"
expect_error 1 "needs TLS with client certificates" b serve -H "tcp://[fd00::1]:$port"
expect_error 1 "is not an IPv6 address" b serve -H "tcp://[nope]:$port"

log "serve --tlsverify on $ADDR:$port"
"$BERTH" --root "$ROOT" --state "$STATE" serve -H "tcp://$ADDR:$port" "${TLS[@]}" >"$E2E_TMP/serve.log" 2>&1 &
SERVE_PID=$!
on_exit kill_pid_bounded "$SERVE_PID" 5
export DOCKER_CONFIG=$E2E_TMP/docker-config
mkdir -p "$DOCKER_CONFIG"
unset DOCKER_HOST
CLIENT=(--tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/client.pem" --tlskey "$C/client-key.pem" -H "tcp://$ADDR:$port")
# -k: a `docker run` that TERM only makes forward it to its container.
dt() { timeout -k 5 60 docker "${CLIENT[@]}" "$@"; }
wait_until 10 dt version || fail "no answer over TLS: $(cat "$E2E_TMP/serve.log")"
assert_contains "serve says TLS" "$(cat "$E2E_TMP/serve.log")" "(TLS, client certificates required)"
assert_eq "version over TLS" "1.43" "$(dt version --format '{{.Server.APIVersion}}')"

log "run --rm over TLS: output, stderr, exit code"
assert_run_rm_streams dt
log "run -i: stdin piped, its end (the client's close_notify) closes the container's stdin"
assert_eq "run --rm -i" "piped" "$(echo piped | dt run --rm -i busybox cat)"
head -c 3000000 /dev/urandom | base64 -w 0 >"$E2E_TMP/big"
for i in 1 2 3; do
  assert_eq "run -i of 4 MB both ways ($i)" "$(md5sum <"$E2E_TMP/big")" "$(dt run --rm -i busybox cat <"$E2E_TMP/big" | md5sum)"
done

log "run -d, ps, logs -f, exec, exec -it and run -it under a pty"
dt run -d --name web busybox sh -c "i=0; while true; do echo tick \$i; i=\$((i+1)); sleep 0.2; done; : $E2E_MARK" >/dev/null
assert_contains "ps over TLS" "$(dt ps --format '{{.Names}} {{.Status}}')" "web Up"
ticks() { dt logs web 2>/dev/null | grep -q 'tick 2'; }
wait_until 10 ticks || fail "no logs: $(dt logs web 2>&1 | head -3)"
got=$(timeout 10 docker "${CLIENT[@]}" logs -f web | head -n 5 | tail -n 1) || true
[[ $got =~ ^tick\ [0-9]+$ ]] || fail "logs -f over TLS: got [$got]"
assert_eq "stats --no-stream over TLS" "web" "$(dt stats --no-stream --format '{{.Name}}' web)"
# (the streamed table redraws with terminal escapes: count the rows)
got=$(timeout -k 5 10 docker "${CLIENT[@]}" stats --format '{{.Name}}' web | head -n 2 | grep -o web | wc -l) || true
assert_eq "stats streamed over TLS: two rows" 2 "$got"
assert_contains "events over TLS" "$(dt events --since 1m --until 0s --filter container=web --format '{{.Action}}')" "start"
rc=0; dt exec web sh -c 'exit 5' || rc=$?
assert_eq "exec exit code" 5 "$rc"
q() { printf '%q ' "$@"; }
out=$(timeout -k 5 30 script -qec "$(q docker "${CLIENT[@]}") exec -it web sh -c 'tty; stty size'" /dev/null | tr -d '\r')
assert_contains "exec -it has a terminal" "$out" "/dev/pts/"
rc=0
out=$(timeout -k 5 30 script -qec "$(q docker "${CLIENT[@]}") run --rm -it busybox sh -c 'tty; exit 4'" /dev/null | tr -d '\r') || rc=$?
assert_contains "run -it has a terminal" "$out" "/dev/pts/0"
assert_eq "run -it exit code" 4 "$rc"

log "build over TLS (an upload, then a stream)"
mkdir -p "$E2E_TMP/ctx"
printf 'FROM busybox\nRUN echo built-over-tls > /f\n' >"$E2E_TMP/ctx/Dockerfile"
out=$(DOCKER_BUILDKIT=0 dt build -t tlsbuilt:1 "$E2E_TMP/ctx" 2>&1) || fail "build over TLS: $out"
assert_contains "build" "$out" "Successfully tagged tlsbuilt:1"
assert_eq "the built image" built-over-tls "$(dt run --rm tlsbuilt:1 cat /f)"

log "refused: no client certificate, a certificate of another CA, plain HTTP; the server keeps serving"
rc=0; timeout 20 docker --tlsverify --tlscacert "$C/ca.pem" -H "tcp://$ADDR:$port" version >"$E2E_TMP/out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "a client without a certificate was served"
[[ $(cat "$E2E_TMP/serve.log") == *"handshake refused"* ]] || fail "serve did not log the refusal: $(cat "$E2E_TMP/serve.log")"
rc=0; curl -sS --max-time 20 --cacert "$C/ca.pem" "https://$ADDR:$port/_ping" >"$E2E_TMP/out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "curl without a client certificate was served: $(cat "$E2E_TMP/out")"
rc=0
timeout 20 docker --tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/intruder.pem" --tlskey "$C/intruder-key.pem" \
  -H "tcp://$ADDR:$port" ps >"$E2E_TMP/out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "a client certificate of another CA was accepted"
# The docker CLI (Go) offers only a certificate of a CA the server names;
# curl sends it anyway, and the server's check refuses it.
rc=0; curl -sS --max-time 20 --cacert "$C/ca.pem" --cert "$C/intruder.pem" --key "$C/intruder-key.pem" \
  "https://$ADDR:$port/_ping" >"$E2E_TMP/out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "curl with a certificate of another CA was served: $(cat "$E2E_TMP/out")"
[[ $(cat "$E2E_TMP/serve.log") == *"handshake refused: certificate verify failed"* ]] ||
  fail "no 'certificate verify failed' in the log: $(cat "$E2E_TMP/serve.log")"
assert_eq "curl with the right certificate" OK \
  "$(curl -sS --max-time 20 --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client-key.pem" "https://$ADDR:$port/_ping")"
out=$(curl -sS --max-time 20 -w ' %{http_code}' "http://$ADDR:$port/_ping") || true
assert_eq "plain HTTP to the TLS port" "Client sent an HTTP request to an HTTPS server. 400" "$(tr -d '\n' <<<"$out")"
# A connection that sends nothing, held open while others are served.
exec {idle}<>/dev/tcp/$ADDR/$port
assert_eq "still serving" "web" "$(dt ps --format '{{.Names}}')"
exec {idle}>&-
dt rm -f web >/dev/null
assert_eq "rm -f over TLS" "" "$(dt ps -aq)"
kill_pid_bounded "$SERVE_PID" 5

log "--tls without --tlsverify: loopback only, no client certificate asked"
"$BERTH" --root "$ROOT" --state "$STATE" serve -H "tcp://127.0.0.1:$port" -H "tcp://[::1]:$port" --tls \
  --tlscert "$C/server.pem" --tlskey "$C/server-key.pem" >"$E2E_TMP/serve2.log" 2>&1 &
SERVE_PID=$!
on_exit kill_pid_bounded "$SERVE_PID" 5
wait_until 10 curl -sf --cacert "$C/ca.pem" "https://127.0.0.1:$port/_ping" ||
  fail "--tls: no answer: $(cat "$E2E_TMP/serve2.log")"
assert_eq "IPv6 loopback, --tls" OK "$(curl -sS -g --max-time 20 --cacert "$C/ca.pem" "https://[::1]:$port/_ping")"
assert_eq "docker over --tls" "ok" "$(timeout -k 5 60 docker --tlsverify --tlscacert "$C/ca.pem" -H "tcp://127.0.0.1:$port" run --rm busybox echo ok)"
kill_pid_bounded "$SERVE_PID" 5

log "contrib/systemd/berth-tls.conf's ExecStart as systemd runs it: fd:// handed over, tcp 0.0.0.0:2376 with TLS"
if command -v systemd-socket-activate >/dev/null; then
  line=$(grep '^ExecStart=/' "$BERTH_SOURCE_DIR/contrib/systemd/berth-tls.conf" | cut -d= -f2-)
  read -ra argv <<<"${line//\/etc\/berth\/tls\//$C/}"
  [[ ${argv[0]} == /usr/local/bin/berth && ${argv[1]} == serve ]] || fail "berth-tls.conf: odd ExecStart [$line]"
  systemd-socket-activate -l "$E2E_TMP/act.sock" "$BERTH" --root "$ROOT" --state "$STATE" "${argv[@]:1}" \
    >"$E2E_TMP/serve3.log" 2>&1 &
  SERVE_PID=$!
  on_exit kill_pid_bounded "$SERVE_PID" 5
  wait_for_socket "$E2E_TMP/act.sock" 10
  # The first connection starts the server (and its tcp listener).
  assert_eq "the unix socket stays plain" OK "$(curl -sS --unix-socket "$E2E_TMP/act.sock" http://berth/_ping)"
  CLIENT=(--tlsverify --tlscacert "$C/ca.pem" --tlscert "$C/client.pem" --tlskey "$C/client-key.pem" -H "tcp://$ADDR:2376")
  wait_until 10 dt version || fail "the drop-in's tcp port: no answer: $(cat "$E2E_TMP/serve3.log")"
  assert_eq "docker over the drop-in's port" "dropin" "$(dt run --rm busybox echo dropin)"
  rc=0; curl -sS --max-time 20 --cacert "$C/ca.pem" "https://$ADDR:2376/_ping" >/dev/null 2>&1 || rc=$?
  [[ $rc != 0 ]] || fail "the drop-in's port served a client without a certificate"
  kill_pid_bounded "$SERVE_PID" 5
else
  log "systemd-socket-activate missing: the drop-in is not run (Debian package systemd)"
fi
log "ok"
