#!/usr/bin/env bash
# Per-container network options and crash recovery, in a network (and
# mount) namespace of the test's own: --mac-address, --hostname,
# --add-host, --dns, --network container:NAME, -P; a user network's
# responder forwarding names it does not know to the host's resolvers (a
# resolver of the test's own, behind a veth, named in a resolv.conf bound
# over the host's in this mount namespace only); a monitor killed with -9
# (its container's namespace, veth and rules are undone by the next
# command), and leases of a record that no longer exists (dropped).
if [[ -z ${BERTH_NET_TEST_NS:-} ]]; then
  exec env BERTH_NET_TEST_NS=1 unshare --net --mount bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin nft sqlite3
engine_init
ip link set lo up
links() { ip -o link show | awk -F': ' '{print $2}' | grep -v '^ext0' | sort; }
links_before=$(links)
rules_before=$(nft list ruleset)

log "--mac-address, --hostname, --add-host, --dns"
out=$(b run --rm --network bridge --mac-address 92:d0:c6:0a:29:33 -h box --add-host db.local:10.1.2.3 --dns 10.9.9.9 \
  busybox sh -c 'cat /sys/class/net/eth0/address; hostname; grep db.local /etc/hosts; grep nameserver /etc/resolv.conf; grep -w box /etc/hosts | cut -f1')
assert_eq "options" "92:d0:c6:0a:29:33
box
10.1.2.3	db.local
nameserver 10.9.9.9
10.88.0.2" "$out"
expect_error 125 "invalid MAC address" b run --rm --network bridge --mac-address 92:d0:zz busybox true
expect_error 125 "--add-host" b run --rm --network bridge --add-host nocolon busybox true
expect_error 125 "user defined networks only" b run --rm --network bridge --ip 10.88.0.9 busybox true

log "--network container:NAME shares the other's namespace"
b run -d --name first --network bridge busybox sh -c "$MK exec sleep 1000" >/dev/null
ip1=$(b inspect -f '{{.NetworkSettings.IPAddress}}' first)
assert_eq "the same eth0" "$ip1" "$(b run --rm --network container:first busybox ip -o -4 addr show eth0 | awk '{print $4}' | cut -d/ -f1)"
expect_error 125 "port publishing" b run --rm --network container:first -p 80 busybox true

log "-P publishes the exposed ports on free host ports"
image_with_config exposing:1 '.config.ExposedPorts = {"8080/tcp": {}}'
b run -d --name pub --network bridge -P exposing:1 sh -c "$MK exec httpd -f -p 8080" >/dev/null
port=$(b port pub 8080/tcp)
[[ $port =~ ^0\.0\.0\.0:[0-9]+$ ]] || fail "berth port pub 8080/tcp: [$port]"
curl -s -o /dev/null --max-time 5 "http://127.0.0.1:${port#*:}/" || [[ $? == 22 ]] || fail "-P port ${port#*:} does not answer"

log "a user network forwards names it does not know to the host's resolvers"
outside_ns ext0 ext1 192.168.78.1/24 'ip addr add 192.168.78.2/24 dev ext1; ip link set ext1 up'
ext_pid=$OUTSIDE_PID
# The upstream: a responder of the same kind, serving one name, outside.
echo "203.0.113.7 outside.example" > "$E2E_TMP/upstream.hosts"
nsenter -t "$ext_pid" -n "$BERTH_BUILD_DIR/bin/berth-network" dns 192.168.78.2 "$E2E_TMP/upstream.hosts" upstream &
on_exit "kill $!"
echo "nameserver 192.168.78.2" > "$E2E_TMP/resolv.conf"
mount --bind "$E2E_TMP/resolv.conf" /etc/resolv.conf
b network create --subnet 10.66.0.0/24 fwd >/dev/null
out=$(b run --rm --network fwd busybox nslookup outside.example) || fail "nslookup outside.example: $out"
[[ $out == *203.0.113.7* ]] || fail "not forwarded: $out"

log "a monitor killed with -9: the next command undoes its container's network"
b run -d --name victim --network fwd -p 18085:80 busybox sh -c "$MK exec sleep 1000" >/dev/null
vid=$(b inspect -f '{{.Id}}' victim)
mon=$(jq -r .monitorPid "$ROOT/containers/$vid/status.json")
kill -KILL "$mon"
sleep 0.3
b ps -a >/dev/null
[[ ! -e $STATE/netns/$vid ]] || fail "the netns of a container whose monitor died is still there"
ip -o link show | grep "vb${vid:0:10}" >/dev/null && fail "its veth is still there"
nft list ruleset | grep 18085 >/dev/null && fail "its published port is still in the rules"
assert_eq "its lease is kept until rm" 1 "$(sqlite3 "$ROOT/berth.db" "SELECT count(*) FROM leases WHERE container_id = '$vid'")"
b start victim >/dev/null
b exec victim ip -o -4 addr show eth0 >/dev/null || fail "victim has no eth0 after a new start"

log "leases of a record that is gone (a create killed midway) are dropped"
net_id=$(b network inspect -f '{{.Id}}' fwd)
sqlite3 "$ROOT/berth.db" "INSERT INTO leases VALUES ('$net_id', '10.66.0.200', 'gone')"
b run --rm --network fwd busybox true
assert_eq "stale lease dropped" 0 "$(sqlite3 "$ROOT/berth.db" "SELECT count(*) FROM leases WHERE container_id = 'gone'")"

log "cleanup"
b rm -f first pub victim >/dev/null
b network rm fwd >/dev/null
assert_eq "links" "$links_before" "$(links)"
assert_eq "nft ruleset" "$rules_before" "$(nft list ruleset)"
assert_eq "leases" 0 "$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM leases')"
log "ok"
