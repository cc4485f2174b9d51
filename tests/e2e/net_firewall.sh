#!/usr/bin/env bash
# A firewall written in nftables itself, whose drop is in a table of its
# own (`table inet filter` with `policy drop` on its forward chain, as
# Debian's /etc/nftables.conf examples): nftables ends a packet at the
# first drop of any base chain, so Berth's own accepts cannot save it.
# Berth puts accepts for its bridges first in that chain (commented "berth
# BRIDGE") and takes them out with the bridge. In a network namespace of
# the test's own: outbound traffic, a published port from outside, and
# replies all pass; the firewall still drops what is not Berth's; networks
# stay isolated; after rm and network rm the firewall's table is exactly
# as it was.
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin nft curl
net_test_init

outside_ns ext0 ext1 192.168.77.1/24 'ip addr add 192.168.77.2/24 dev ext1; ip link set ext1 up; ip route add 10.77.0.0/16 via 192.168.77.1'
ext_pid=$OUTSIDE_PID
# A second "inside" link the firewall has no business forwarding to.
outside_ns lan0 lan1 192.168.78.1/24 'ip addr add 192.168.78.2/24 dev lan1; ip link set lan1 up; ip route add default via 192.168.78.1'
lan_pid=$OUTSIDE_PID
echo 1 > /proc/sys/net/ipv4/ip_forward
nft -f - <<'EOF'
table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept comment "the firewall's own"
  }
}
EOF
firewall_before=$(nft list table inet filter)
links_before=$(links)

mkdir -p "$E2E_TMP/www"
echo hello-through-firewall > "$E2E_TMP/www/index.html"
nsenter -t "$ext_pid" -n busybox httpd -f -p 8090 -h "$E2E_TMP/www" &
on_exit "kill $!"
sleep 0.2

log "the firewall drops forwarded traffic that is not Berth's"
if nsenter -t "$lan_pid" -n curl -sS --max-time 3 http://192.168.77.2:8090/ >/dev/null 2>&1; then
  fail "the test's firewall does not drop: the test proves nothing"
fi

log "Berth's containers get out, and a published port comes in, through it"
b network create --subnet 10.77.1.0/24 net1 >/dev/null
b network create --subnet 10.77.2.0/24 net2 >/dev/null
b run -d --name web --network net1 -v "$E2E_TMP/www:/www:ro" -p 18081:8080 \
  busybox sh -c "$MK exec httpd -f -p 8080 -h /www" >/dev/null
b run -d --name other --network net2 busybox sh -c "$MK exec sleep 1000" >/dev/null
b run -d --name plain --network bridge busybox sh -c "$MK exec sleep 1000" >/dev/null
assert_eq "web reaches the outside" hello-through-firewall "$(b exec web timeout 5 wget -qO- http://192.168.77.2:8090/)"
assert_eq "a container on the default bridge too" hello-through-firewall \
  "$(b exec plain timeout 5 wget -qO- http://192.168.77.2:8090/)"
assert_eq "the published port from outside" hello-through-firewall \
  "$(nsenter -t "$ext_pid" -n curl -sS --max-time 5 http://192.168.77.1:18081/)"
n=$(nft list chain inet filter forward | grep -c '"berth ' || true)
assert_eq "accept rules in the firewall's chain (3 per bridge)" 9 "$n"

log "and the firewall still drops the rest; networks stay isolated"
if nsenter -t "$lan_pid" -n curl -sS --max-time 3 http://192.168.77.2:8090/ >/dev/null 2>&1; then
  fail "Berth's rules opened the firewall to other links"
fi
if nsenter -t "$ext_pid" -n ping -c1 -W2 "$(b inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' web)" >/dev/null 2>&1; then
  fail "the outside reached a container's address directly"
fi
if b exec other ping -c1 -W2 "$(b inspect -f '{{.NetworkSettings.Networks.net1.IPAddress}}' web)" >/dev/null 2>&1; then
  fail "net2 reached net1"
fi

log "cleanup: the firewall's table is as it was"
b stop -t 1 plain >/dev/null
assert_eq "berth0's rules went with it" 6 "$(nft list chain inet filter forward | grep -c '"berth ' || true)"
b rm -f web other plain >/dev/null
b network rm net1 net2 >/dev/null
assert_eq "firewall table" "$firewall_before" "$(nft list table inet filter)"
assert_eq "links" "$links_before" "$(links)"
nft list table inet berth >/dev/null 2>&1 && fail "table inet berth is left"
log "ok"
