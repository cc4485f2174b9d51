#!/usr/bin/env bash
# Dual-stack user networks (network create --ipv6), in a network namespace
# of the test's own: containers get an IPv4 and an IPv6 address on eth0 and
# default routes for both, reach each other over IPv6 by address and by
# name (AAAA from the network's responder), /etc/hosts names the IPv6
# address; a published port answers IPv6 clients on the host side and
# beyond it; outbound IPv6 is masqueraded; two IPv6 networks are isolated;
# all with ip6tables' FORWARD policy DROP. Bad input (an IPv6 subnet
# without --ipv6, too small, overlapping, host bits set, --ip6 where there
# is no IPv6) gets one clear line and leaves no bridge, rule or lease; after
# rm and network rm, links, nft ruleset, ip6tables and leases are as before.
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin nft iptables ip6tables sqlite3 curl
net_test_init
[[ $(cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null) == 0 ]] || skip "IPv6 is disabled on this host"

# An "outside" beyond the host, IPv6 only (fd99::/64): it has no route to
# the containers' subnets, so an answer proves the masquerade.
outside_ns ext0 ext1 "fd99::1/64 nodad" 'ip addr add fd99::2/64 dev ext1 nodad; ip link set ext1 up'
ext_pid=$OUTSIDE_PID
iptables -P FORWARD DROP    # docker's policy, for both families: berth must still forward
ip6tables -P FORWARD DROP
links_before=$(links)
rules_before=$(nft list ruleset)
ipt6_before=$(ip6tables -S)

log "bad input: one clear line each, nothing made"
expect_error 1 "needs --ipv6" b network create --subnet fd00:1::/64 bad6
expect_error 1 "too small for IPv6" b network create --ipv6 --subnet fd00:1::/124 bad6
expect_error 1 "host bits are set" b network create --ipv6 --subnet fd00:1::5/64 bad6
expect_error 1 "invalid subnet" b network create --ipv6 --subnet fd00:1::/129 bad6
expect_error 1 "not a host address" b network create --ipv6 --subnet fd00:1::/64 --gateway fd00:2::1 bad6
expect_error 1 "one per address family" b network create --ipv6 --subnet fd00:1::/64 --subnet fd00:2::/64 bad6
b network create --ipv6 --subnet 10.77.1.0/24 --subnet fd00:1::/64 v6net >/dev/null
expect_error 1 "overlaps network v6net" b network create --ipv6 --subnet fd00:1:0:0:8000::/65 bad6
expect_error 1 "overlaps network v6net" b network create --ipv6 --subnet fd00:1::/48 bad6
expect_error 125 "user defined networks only" b run --network bridge --ip6 fd00:1::9 busybox true
b network create v4only >/dev/null
expect_error 125 "has no IPv6 subnet" b run --network v4only --ip6 fd00:1::9 busybox true
b network rm v4only >/dev/null
expect_error 125 "not a free host address" b run --network v6net --ip6 fd00:2::9 busybox true
expect_error 125 "IPv6 loopback cannot be published" b run --network v6net -p '[::1]:18093:80' busybox true
expect_error 125 "no ] after the IPv6 address" b run --network v6net -p '[fd00:1::1:18093:80' busybox true
expect_error 125 "goes in brackets" b run --network v6net -p 'fd00:1::1:18093:80' busybox true
expect_error 125 "is not an IPv6 address" b run --network v6net -p '[10.0.0.1]:18093:80' busybox true
expect_error 125 "want [IPv6]:hostPort:containerPort" b run --network v6net -p '[fd00:1::1]18093:80' busybox true
expect_error 125 "want [IPv6]:hostPort:containerPort" b run --network v6net -p '[fd00:1::1]:80' busybox true
expect_error 125 "network bridge has no IPv6 subnet" b run --network bridge -p '[fd00:1::1]:18093:80' busybox true
assert_eq "network ls after bad input" "bridge host none v6net" \
  "$(b network ls --format '{{.Name}}' | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "links after bad input" "$links_before" "$(links)"
assert_eq "nft ruleset after bad input" "$rules_before" "$(nft list ruleset)"
assert_eq "leases after bad input" 0 "$(leases)"
b rm -f $(b ps -aq) >/dev/null 2>&1 || true

log "a generated unique local /64 when --ipv6 comes without an IPv6 subnet"
b network create --ipv6 v6auto >/dev/null
auto6=$(b network inspect -f '{{(index .IPAM.Config 1).Subnet}}' v6auto)
[[ $auto6 == fd*::/64 ]] || fail "generated IPv6 subnet: $auto6"
assert_eq "EnableIPv6" true "$(b network inspect -f '{{.EnableIPv6}}' v6auto)"
assert_eq "v6net's IPAM" "10.77.1.0/24 10.77.1.1 fd00:1::/64 fd00:1::1" \
  "$(b network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}} {{end}}' v6net | sed 's/ $//')"

log "dual-stack containers: both addresses on eth0, default routes for both"
mkdir -p "$E2E_TMP/www"
echo hello-over-v6 > "$E2E_TMP/www/index.html"
b run -d --name web --network v6net --ip6 fd00:1::80 --network-alias www -v "$E2E_TMP/www:/www:ro" -p 18080:8080 \
  busybox sh -c "$MK exec httpd -f -p 8080 -h /www" >/dev/null
b run -d --name client --network v6net busybox sh -c "$MK exec sleep 1000" >/dev/null
b run -d --name other --network v6auto busybox sh -c "$MK exec sleep 1000" >/dev/null
assert_eq "--ip6" fd00:1::80 "$(b inspect -f '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}' web)"
client6=$(b inspect -f '{{.NetworkSettings.Networks.v6net.GlobalIPv6Address}}' client)
other6=$(b inspect -f '{{.NetworkSettings.Networks.v6auto.GlobalIPv6Address}}' other)
assert_eq "client's leased IPv6 address" fd00:1::2 "$client6"
[[ $other6 == "${auto6%::/64}::2" ]] || fail "other's IPv6 address $other6 is not the first of $auto6"
assert_eq "eth0's IPv6 address" "fd00:1::80/64" "$(b exec web ip -o -6 addr show dev eth0 | awk '$4 !~ /^fe80/ {print $4}')"
[[ $(b exec web ip -o -4 addr show dev eth0 | awk '{print $4}') == 10.77.1.*/24 ]] || fail "eth0 lost its IPv4 address"
assert_eq "IPv6 default route" "default via fd00:1::1 dev eth0" "$(b exec client ip -6 route | awk '$1 == "default" {print $1, $2, $3, $4, $5}')"
[[ -n $(b exec client ip -4 route | grep '^default') ]] || fail "no IPv4 default route"
assert_eq "/etc/hosts names the IPv6 address" "fd00:1::80" \
  "$(b exec web sh -c 'grep -w "$(hostname)" /etc/hosts' | awk '$1 ~ /:/ {print $1}')"
assert_eq "network inspect's IPv6Address" "fd00:1::80/64" \
  "$(b network inspect -f '{{range .Containers}}{{if eq .Name "web"}}{{.IPv6Address}}{{end}}{{end}}' v6net)"
assert_eq "a v6 lease per container in SQLite" 3 \
  "$(sqlite3 "$ROOT/berth.db" "SELECT count(*) FROM leases WHERE instr(address, ':') > 0")"

log "ping6 and wget over IPv6, by address, by name and alias (AAAA)"
b exec client ping -6 -c1 -W3 fd00:1::80 >/dev/null || fail "client cannot ping6 web"
b exec web ping -6 -c1 -W3 "$client6" >/dev/null || fail "web cannot ping6 client"
assert_eq "wget over IPv6" hello-over-v6 "$(b exec client timeout 5 wget -qO- 'http://[fd00:1::80]:8080/')"
out=$(b exec client nslookup -type=AAAA www) || fail "nslookup -type=AAAA www: $out"
[[ $out == *fd00:1::80* ]] || fail "no AAAA answer for www: $out"
b exec client ping -6 -c1 -W3 web >/dev/null || fail "client cannot ping6 web by name"
start=$(date +%s%N)
out=$(b exec client nslookup web) || fail "nslookup web: $out"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[[ $out == *10.77.1.* && $out == *fd00:1::80* ]] || fail "nslookup web (A and AAAA): $out"
((ms < 2000)) || fail "nslookup web took $ms ms"

log "a published port answers IPv6 clients: the host side and beyond"
assert_eq "curl [fd00:1::1]:18080 (the gateway, a host address)" hello-over-v6 \
  "$(curl -sS -g --max-time 5 'http://[fd00:1::1]:18080/')"
assert_eq "curl [fd99::1]:18080 from outside" hello-over-v6 \
  "$(nsenter -t "$ext_pid" -n curl -sS -g --max-time 5 'http://[fd99::1]:18080/')"
assert_eq "and IPv4 still" hello-over-v6 "$(curl -sS --max-time 5 http://10.77.1.1:18080/)"

log "-p [IPv6]:PORT: that address only; [::]: every IPv6 address, no IPv4 one"
b run -d --name web6 --network v6net -v "$E2E_TMP/www:/www:ro" -p '[fd00:1::1]:18090:8080' -p '[::]:18091:8080' \
  -p '[fd00:1::1]:18092:8081/udp' busybox sh -c "$MK exec httpd -f -p 8080 -h /www" >/dev/null
assert_eq "berth port web6 8080" "[fd00:1::1]:18090
[::]:18091" "$(b port web6 8080)"
assert_eq "ps's PORTS column" "[fd00:1::1]:18090->8080/tcp, [::]:18091->8080/tcp, [fd00:1::1]:18092->8081/udp" \
  "$(b ps --filter name=web6 --format '{{.Ports}}')"
assert_eq "curl [fd00:1::1]:18090" hello-over-v6 "$(curl -sS -g --max-time 5 'http://[fd00:1::1]:18090/')"
if curl -sS --max-time 2 http://10.77.1.1:18090/ >/dev/null 2>&1; then fail "[fd00:1::1]:18090 answered on IPv4"; fi
assert_eq "curl [fd99::1]:18091 from outside" hello-over-v6 \
  "$(nsenter -t "$ext_pid" -n curl -sS -g --max-time 5 'http://[fd99::1]:18091/')"
if curl -sS --max-time 2 http://10.77.1.1:18091/ >/dev/null 2>&1; then fail "[::]:18091 answered on IPv4"; fi
nft list map inet berth publish6_ip_udp | grep 'fd00:1::1 . 18092 : fd00:1::' >/dev/null ||
  fail "no IPv6 UDP element for [fd00:1::1]:18092: $(nft list map inet berth publish6_ip_udp)"
expect_error 125 "port is already allocated" b run --network v6net -p '[fd00:1::1]:18090:80' busybox true
b rm -f web6 >/dev/null
b rm -f $(b ps -aq --filter status=created) >/dev/null 2>&1 || true
if nft list map inet berth publish6_ip_udp | grep 18092 >/dev/null; then fail "the UDP element stayed after rm"; fi

log "outbound IPv6 is masqueraded past ip6tables' FORWARD DROP"
nsenter -t "$ext_pid" -n busybox httpd -f -p 8090 -h "$E2E_TMP/www" &
on_exit "kill $!"
sleep 0.2
assert_eq "a container reaches the outside over IPv6" hello-over-v6 \
  "$(b exec client timeout 5 wget -qO- 'http://[fd99::2]:8090/')"

log "two IPv6 networks are isolated"
if b exec other ping -6 -c1 -W2 fd00:1::80 >/dev/null 2>&1; then fail "v6auto reached v6net over IPv6"; fi
if b exec client ping -6 -c1 -W2 "$other6" >/dev/null 2>&1; then fail "v6net reached v6auto over IPv6"; fi
expect_error 125 "already in use" b run --network v6net --ip6 fd00:1::80 busybox true
b rm -f $(b ps -aq --filter status=created) >/dev/null 2>&1 || true

log "connect: a second dual-stack network on eth1"
b network connect --ip6 "${auto6%::/64}::77" v6auto client
assert_eq "eth1's IPv6 address" "${auto6%::/64}::77/64" \
  "$(b exec client ip -o -6 addr show dev eth1 | awk '$4 !~ /^fe80/ {print $4}')"
b exec other ping -6 -c1 -W3 "${auto6%::/64}::77" >/dev/null || fail "other cannot ping6 client on v6auto"
b network disconnect v6auto client

log "cleanup: links, rules and leases come back to what they were"
b rm -f web client other >/dev/null
b network rm v6net v6auto >/dev/null
assert_eq "links" "$links_before" "$(links)"
assert_eq "nft ruleset" "$rules_before" "$(nft list ruleset)"
assert_eq "ip6tables" "$ipt6_before" "$(ip6tables -S)"
assert_eq "leases" 0 "$(leases)"

log "the default bridge, dual stack with BERTH_BRIDGE_SUBNET6 when it is first made (a root of its own)"
b2() { timeout 60 env BERTH_BRIDGE_SUBNET6=fd00:88::/64 "$BERTH" --root "$E2E_TMP/root2" --state "$E2E_TMP/state2" "$@"; }
b2 load -i "$BUSYBOX_ARCHIVE" >/dev/null
on_exit "b2 rm -f d6"   # engine_teardown knows only ROOT: a failed assertion must not leave d6 running
expect_error 1 "too small for IPv6" env BERTH_BRIDGE_SUBNET6=fd00:88::/125 "$BERTH" --root "$E2E_TMP/root3" network ls
assert_eq "the default network's IPv6 subnet" "fd00:88::/64" \
  "$(b2 network inspect bridge | jq -r '.[0].IPAM.Config[] | select(.Subnet | contains(":")) | .Subnet')"
b2 run -d --name d6 --network bridge -p 18095:8080 -v "$E2E_TMP/www:/www:ro" busybox sh -c "$MK exec httpd -f -p 8080 -h /www" >/dev/null
assert_eq "eth0's IPv6 address on the default bridge" "fd00:88::2/64" \
  "$(b2 exec d6 ip -o -6 addr show dev eth0 | awk '$4 !~ /^fe80/ {print $4}')"
assert_eq "its port over IPv6" hello-over-v6 "$(curl -sS -g --max-time 5 'http://[fd00:88::1]:18095/')"
b2 rm -f d6 >/dev/null
assert_eq "links after the default bridge" "$links_before" "$(links)"
assert_eq "nft ruleset after the default bridge" "$rules_before" "$(nft list ruleset)"
log "ok"
