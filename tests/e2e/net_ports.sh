#!/usr/bin/env bash
# Port ranges (-p 18100-18102:8100-8102, -p 127.0.0.1:18110-18111:5353-5354/udp)
# and DNS over TCP from a user network's responder, in a network namespace
# of the test's own: every port of a range answers, each mapped to its own
# container port; mismatched or malformed ranges get one clear line and
# leave nothing behind; the responder answers a query over TCP (2-byte
# length prefix) as it does over UDP, a name it knows with its address, and
# keeps its UDP answers within 512 bytes.
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin nft sqlite3 curl python3 cc
net_test_init
links_before=$(links)
rules_before=$(nft list ruleset)

log "bad ranges: one clear line each, nothing made"
expect_error 125 "differ in length (3 and 2 ports)" b run -d --network bridge -p 18100-18102:8100-8101 busybox true
expect_error 125 "the first port is above the last" b run -d --network bridge -p 18102-18100:8102-8100 busybox true
expect_error 125 "want 1..65535 or a range" b run -d --network bridge -p 18100-99999:8100-8101 busybox true
expect_error 125 "want 1..65535 or a range" b run -d --network bridge -p 18100-:8100 busybox true
expect_error 125 "differ in length" b run -d --network bridge -p 127.0.0.1:18100:8100-8101/udp busybox true
assert_eq "no container" "" "$(b ps -aq)"
assert_eq "links" "$links_before" "$(links)"
assert_eq "nft ruleset" "$rules_before" "$(nft list ruleset)"
assert_eq "leases" 0 "$(leases)"

log "a TCP range: each host port to its own container port"
b run -d --name web --network bridge -p 18100-18102:8100-8102 busybox sh -c \
  "$MK for p in 8100 8101 8102; do mkdir -p /w\$p; echo port-\$p > /w\$p/index.html; httpd -p \$p -h /w\$p; done; exec sleep 1000" >/dev/null
for k in 0 1 2; do
  got() { curl -sS --max-time 5 "http://127.0.0.1:$((18100 + k))/"; }
  wait_until 5 got >/dev/null || true
  assert_eq "127.0.0.1:$((18100 + k))" "port-$((8100 + k))" "$(got)"
done
assert_eq "berth port" "8100/tcp -> 0.0.0.0:18100
8101/tcp -> 0.0.0.0:18101
8102/tcp -> 0.0.0.0:18102" "$(b port web)"

log "a UDP range on one address"
cc -static -O2 -o "$E2E_TMP/udp_echo" "$BERTH_SOURCE_DIR/tests/e2e/net/udp_echo.c"
b run -d --name udp --network bridge -v "$E2E_TMP/udp_echo:/udp_echo:ro" -p 127.0.0.1:18110-18111:5353-5354/udp \
  busybox sh -c "$MK /udp_echo 5353 & exec /udp_echo 5354" >/dev/null
udp_reply() {
  python3 -c 'import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1]))); print(s.recv(100).decode(), end="")' "$1" 2>/dev/null
}
for port in 18110 18111; do
  ok() { [[ $(udp_reply $port) == "pong ping" ]]; }
  wait_until 5 ok || fail "udp 127.0.0.1:$port: [$(udp_reply $port)]"
done
expect_error 125 "port is already allocated" b run -d --name clash --network bridge -p 127.0.0.1:18111-18112:80-81/udp busybox true
b rm -f clash >/dev/null 2>&1 || true

log "DNS over TCP from a user network's responder"
b network create --subnet 10.77.1.0/24 net1 >/dev/null
b run -d --name named --network net1 --network-alias db busybox sh -c "$MK exec sleep 1000" >/dev/null
named_ip=$(b inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' named)
dns_query() {  # NAME TRANSPORT: the A record's address, or the rcode
  python3 - "$1" "$2" <<'EOF'
import socket, struct, sys
name, transport = sys.argv[1], sys.argv[2]
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
for label in name.split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", 1, 1)
if transport == "tcp":
    s = socket.create_connection(("10.77.1.1", 53), timeout=3)
    s.sendall(struct.pack(">H", len(q)) + q)
    def read(n):
        b = b""
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk: raise SystemExit("closed")
            b += chunk
        return b
    (n,) = struct.unpack(">H", read(2))
    r = read(n)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    s.sendto(q, ("10.77.1.1", 53)); r = s.recv(4096)
assert r[:2] == b"\x42\x42", "wrong id"
ancount = struct.unpack(">H", r[6:8])[0]
print(".".join(str(x) for x in r[-4:]) if ancount else "rcode %d" % (r[3] & 15))
EOF
}
assert_eq "db over TCP" "$named_ip" "$(dns_query db tcp)"
assert_eq "db over UDP" "$named_ip" "$(dns_query db udp)"
assert_eq "named over TCP" "$named_ip" "$(dns_query named tcp)"

log "cleanup"
b rm -f web udp named >/dev/null
b network rm net1 >/dev/null
assert_eq "links" "$links_before" "$(links)"
assert_eq "nft ruleset" "$rules_before" "$(nft list ruleset)"
assert_eq "leases" 0 "$(leases)"
log "ok"
