#!/usr/bin/env bash
# Container networking on the default bridge and user networks, in a
# network namespace of the test's own (nothing touches the machine's):
# containers reach each other by address; a published TCP port (on
# 127.0.0.1 and on every address) and a UDP port answer from the
# namespace's host side, with iptables' FORWARD policy DROP in place (as
# docker or a firewall sets it); user networks are isolated from each
# other and --internal has no way out; bad input gets one clear error;
# after rm and network rm, `ip link`, `nft list ruleset` and the lease
# table are what they were.
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin nft iptables sqlite3 cc curl python3
net_test_init

# An "outside" beyond the host: a namespace of its own behind a veth, so
# that traffic leaving the containers is forwarded (and masqueraded).
outside_ns ext0 ext1 192.168.77.1/24 'ip addr add 192.168.77.2/24 dev ext1; ip link set ext1 up'
ext_pid=$OUTSIDE_PID
iptables -P FORWARD DROP   # docker's policy: berth must still forward its own traffic
links_before=$(links)
rules_before=$(nft list ruleset)
ipt_before=$(iptables -S)

log "two containers on the default bridge reach each other by address"
mkdir -p "$E2E_TMP/www"
echo hello-from-web > "$E2E_TMP/www/index.html"
b run -d --name web --network bridge -v "$E2E_TMP/www:/www:ro" -p 127.0.0.1:18080:8080 -p 18081:8080 \
  busybox sh -c "$MK exec httpd -f -p 8080 -h /www" >/dev/null
b run -d --name client --network bridge busybox sh -c "$MK exec sleep 1000" >/dev/null
web_ip=$(b inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' web)
client_ip=$(b inspect -f '{{.NetworkSettings.IPAddress}}' client)
[[ $web_ip == 10.88.* && $client_ip == 10.88.* && $web_ip != "$client_ip" ]] || fail "addresses: web=$web_ip client=$client_ip"
ip -o link show berth0 >/dev/null || fail "no bridge berth0"
b exec client ping -c1 -W3 "$web_ip" >/dev/null || fail "client cannot ping web"
b exec web ping -c1 -W3 "$client_ip" >/dev/null || fail "web cannot ping client"
assert_eq "wget web from client" hello-from-web "$(b exec client timeout 5 wget -qO- "http://$web_ip:8080/")"
assert_eq "eth0 inside" "$web_ip/16" "$(b exec web ip -o -4 addr show eth0 | awk '{print $4}')"
assert_eq "/etc/hosts names the container's own address" "$web_ip" \
  "$(b exec web sh -c 'grep -w "$(hostname)" /etc/hosts' | awk '{print $1}')"

log "by name on the default bridge: no"
if b exec client ping -c1 -W2 web >/dev/null 2>&1; then fail "the default bridge resolved a container name"; fi

log "published ports answer from the host side: 127.0.0.1 and every address"
assert_eq "wget 127.0.0.1:18080" hello-from-web "$(curl -sS --max-time 5 http://127.0.0.1:18080/)"
assert_eq "wget 10.88.0.1:18081 (the gateway, a host address)" hello-from-web "$(curl -sS --max-time 5 http://10.88.0.1:18081/)"
assert_eq "wget 192.168.77.1:18081 from outside" hello-from-web \
  "$(nsenter -t "$ext_pid" -n curl -sS --max-time 5 http://192.168.77.1:18081/)"
if curl -sS --max-time 5 http://192.168.77.1:18080/ >/dev/null 2>&1; then fail "127.0.0.1:18080 answered on another address"; fi
assert_eq "berth port" "8080/tcp -> 127.0.0.1:18080
8080/tcp -> 0.0.0.0:18081" "$(b port web)"
[[ $(b ps --format '{{.Ports}}' -f name=web) == "127.0.0.1:18080->8080/tcp, 0.0.0.0:18081->8080/tcp" ]] ||
  fail "ps Ports: $(b ps --format '{{.Ports}}' -f name=web)"

log "outbound: masqueraded through the host, past iptables' FORWARD DROP"
nsenter -t "$ext_pid" -n busybox httpd -f -p 8090 -h "$E2E_TMP/www" &
on_exit "kill $!"
sleep 0.2
assert_eq "a container reaches the outside" hello-from-web "$(b exec client timeout 5 wget -qO- http://192.168.77.2:8090/)"

log "a UDP port"
cc -static -O2 -o "$E2E_TMP/udp_echo" "$BERTH_SOURCE_DIR/tests/e2e/net/udp_echo.c"
b run -d --name udp --network bridge -v "$E2E_TMP/udp_echo:/udp_echo:ro" -p 127.0.0.1:15353:5353/udp \
  busybox sh -c "$MK exec /udp_echo 5353" >/dev/null
udp_reply() {  # one datagram each way (bash's /dev/udp reads a byte per datagram)
  python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
s.sendto(b"ping", ("127.0.0.1", 15353)); print(s.recv(100).decode(), end="")' 2>/dev/null
}
udp_ok() { [[ $(udp_reply) == "pong ping" ]]; }
wait_until 5 udp_ok || fail "udp 127.0.0.1:15353: [$(udp_reply)]"

log "bad input: one clear error each, nothing made"
expect_error 125 "port is already allocated" b run -d --name bad1 --network bridge -p 127.0.0.1:18080:80 busybox true
busybox nc -l -p 18090 &
nc_pid=$!
on_exit "kill $nc_pid"
sleep 0.2
expect_error 125 "already in use" b run -d --name bad2 --network bridge -p 18090:80 busybox true
b rm -f bad1 bad2 >/dev/null
expect_error 125 "network nosuch not found" b run --network nosuch busybox true
expect_error 125 "invalid argument" b run -p 1:2:3:4 busybox true
expect_error 1 "invalid subnet" b network create --subnet 10.1.2.300/24 badnet
expect_error 1 "host bits are set" b network create --subnet 10.1.2.1/24 badnet
expect_error 1 "overlaps network bridge" b network create --subnet 10.88.5.0/24 badnet

log "user networks: isolated from each other; --internal has no way out"
b network create --subnet 10.77.1.0/24 net1 >/dev/null
b network create net2 >/dev/null
b network create --internal --subnet 10.77.3.0/24 intnet >/dev/null
expect_error 1 "already exists" b network create net1
expect_error 1 "overlaps network" b network create --subnet 10.77.0.0/16 badnet
assert_eq "network ls" "bridge host intnet net1 net2 none" "$(b network ls --format '{{.Name}}' | sort | tr '\n' ' ' | sed 's/ $//')"
b run -d --name a1 --network net1 --ip 10.77.1.50 --network-alias db busybox sh -c "$MK exec sleep 1000" >/dev/null
b run -d --name a2 --network net1 busybox sh -c "$MK exec sleep 1000" >/dev/null
b run -d --name b1 --network net2 busybox sh -c "$MK exec sleep 1000" >/dev/null
b run -d --name i1 --network intnet busybox sh -c "$MK exec sleep 1000" >/dev/null
b run -d --name i2 --network intnet busybox sh -c "$MK exec sleep 1000" >/dev/null
assert_eq "--ip" 10.77.1.50 "$(b inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' a1)"
b2=$(b inspect -f '{{.NetworkSettings.Networks.net2.IPAddress}}' b1)
i2=$(b inspect -f '{{.NetworkSettings.Networks.intnet.IPAddress}}' i2)
[[ $b2 == 10.89.0.* ]] || fail "net2's picked subnet: $b2"
b exec a2 ping -c1 -W3 10.77.1.50 >/dev/null || fail "a2 cannot ping a1 on net1"
log "names on a user network: by name and alias, A and AAAA answered at once"
b exec a2 ping -c1 -W3 a1 >/dev/null || fail "a2 cannot ping a1 by name"
b exec a1 ping -c1 -W3 a2 >/dev/null || fail "a1 cannot ping a2 by name"
b exec a2 ping -c1 -W3 db >/dev/null || fail "a2 cannot ping a1 by its alias db"
start=$(date +%s%N)
out=$(b exec a2 nslookup db) || fail "nslookup db: $out"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[[ $out == *10.77.1.50* ]] || fail "nslookup db: $out"
((ms < 2000)) || fail "nslookup db took $ms ms: an AAAA query went unanswered"
if b exec b1 ping -c1 -W2 a1 >/dev/null 2>&1; then fail "net2 resolved a name of net1"; fi
if b exec a2 ping -c1 -W2 "$b2" >/dev/null 2>&1; then fail "net1 reached net2"; fi
if b exec b1 ping -c1 -W2 10.77.1.50 >/dev/null 2>&1; then fail "net2 reached net1"; fi
b exec i1 ping -c1 -W3 "$i2" >/dev/null || fail "i1 cannot ping i2 on the internal network"
if b exec i1 timeout 5 wget -qO- http://192.168.77.2:8090/ >/dev/null 2>&1; then fail "an internal network got out"; fi
if b exec i1 ping -c1 -W2 "$b2" >/dev/null 2>&1; then fail "an internal network reached net2"; fi
assert_eq "a1 reaches the outside" hello-from-web "$(b exec a1 timeout 5 wget -qO- http://192.168.77.2:8090/)"
expect_error 125 "already in use" b run --network net1 --ip 10.77.1.50 busybox true
expect_error 1 "has active endpoints" b network rm net1
expect_error 1 "pre-defined network" b network rm bridge
assert_eq "network inspect" "10.77.1.0/24 10.77.1.1 2" \
  "$(b network inspect -f '{{(index .IPAM.Config 0).Subnet}} {{(index .IPAM.Config 0).Gateway}} {{len .Containers}}' net1)"

log "connect and disconnect a running container"
b network connect net2 a1
b2a1=$(b inspect -f '{{.NetworkSettings.Networks.net2.IPAddress}}' a1)
b exec b1 ping -c1 -W3 "$b2a1" >/dev/null || fail "b1 cannot ping a1 once it is on net2"
assert_eq "a1's eth1" "$b2a1" "$(b exec a1 ip -o -4 addr show eth1 | awk '{print $4}' | cut -d/ -f1)"
expect_error 1 "already exists in network net2" b network connect net2 a1
b network disconnect net2 a1
if b exec a1 ip link show eth1 >/dev/null 2>&1; then fail "eth1 is still in a1 after disconnect"; fi
expect_error 1 "is not connected to network net2" b network disconnect net2 a1

log "stop releases the kernel objects, start makes them again; rm releases the lease"
b stop -t 1 a2 >/dev/null
[[ -z $(ip -o link show | grep "vb$(b inspect -f '{{.Id}}' a2 | cut -c1-10)") ]] || fail "a stopped container kept its veth"
b start a2 >/dev/null
b exec a2 ping -c1 -W3 10.77.1.50 >/dev/null || fail "a2 after a restart cannot ping a1"

log "cleanup: links, rules and leases come back to what they were"
b rm -f web client udp a1 a2 b1 i1 i2 >/dev/null
b network rm net1 net2 intnet >/dev/null
assert_eq "network prune with nothing left" "" "$(b network prune -f)"
assert_eq "links" "$links_before" "$(links)"
assert_eq "nft ruleset" "$rules_before" "$(nft list ruleset)"
assert_eq "iptables" "$ipt_before" "$(iptables -S)"
assert_eq "leases" 0 "$(leases)"
[[ -z $(ls "$STATE/netns" 2>/dev/null | grep -v '^\.lock$') ]] || fail "netns files left: $(ls "$STATE/netns")"
[[ -z $(pids_matching "$STATE/netns/dns-") ]] || fail "a name responder outlived its network"
log "ok"
