#!/usr/bin/env bash
# A micro-VM on a bridge network (`berth vm run --net NETWORK`), in a
# network namespace of the test's own: the VM's tap joins the network's
# bridge and the VM gets a lease of the network's IPAM, handed to the guest
# as Linux's ip= option. The guest (tests/guests/net_responder.c) answers
# ARP and ICMP echo at that address: a busybox container on the same
# network pings it, and so does the host side. `vm ls` and `vm inspect`
# show the address. After `vm stop` the tap is gone (the lease stays);
# after `vm rm` the lease too, and once the network is removed `ip link`,
# `nft list ruleset` and the lease table are what they were. A VMM killed
# with -9 leaves a tap that the next command removes. Bad input: an
# unknown network, a bad --mac, a bridge name taken by a link of another
# kind: one line each, no tap, lease or record left behind.
source "$(dirname "$0")/lib.sh"
e2e_init
[[ -w /dev/kvm ]] || skip "no /dev/kvm (this machine cannot run VMs)"
[[ -c /dev/net/tun ]] || skip "no /dev/net/tun"
require_bin nft sqlite3 busybox
net_test_init
guest=$BERTH_BUILD_DIR/guests/net_responder.bzimage
[[ -f $guest ]] || fail "$guest missing (ninja guests)"

vm_cleanup() {
  local n
  for n in $(b vm ls 2>/dev/null | awk 'NR > 1 {print $1}'); do
    b vm kill "$n" >/dev/null 2>&1 || true
    b vm rm "$n" >/dev/null 2>&1 || true
  done
}
on_exit vm_cleanup

links_before=$(links)
rules_before=$(nft list ruleset)
vm_leases() { sqlite3 "$ROOT/berth.db" "SELECT network_id || ' ' || address FROM leases WHERE container_id = 'vm:$1'" 2>/dev/null || true; }
tap_of() { b vm inspect "$1" | jq -r '.NetworkSettings.Tap'; }
# The guest prints this line once its virtio-net is up.
wait_guest_up() { wait_until 60 sh -c "'$BERTH' --root '$ROOT' --state '$STATE' vm logs $1 | grep 'net-responder up' >/dev/null" ||
  fail "vm $1 did not come up: $(b vm logs "$1" | tail -5)"; }

b network create --subnet 10.77.5.0/24 mynet >/dev/null

log "vm run --net mynet: a tap on mynet's bridge and a lease of mynet"
b vm run -d --name v1 --net mynet --memory 32M --kernel "$guest" >/dev/null
wait_guest_up v1
addr=$(b vm inspect v1 | jq -r '.NetworkSettings.IPAddress')
assert_eq "the VM's address" "10.77.5.2" "$addr"
assert_eq "the gateway" "10.77.5.1" "$(b vm inspect v1 | jq -r '.NetworkSettings.Gateway')"
assert_eq "the MAC the guest sees" "net-responder up ip=10.77.5.2 mac=02:42:0a:4d:05:02" \
  "$(b vm logs v1 | grep -m1 'net-responder up' | tr -d '\r')"
assert_contains "ip= on the command line" "$(b vm inspect v1 | jq -r '.Config.cmdline')" \
  "ip=10.77.5.2::10.77.5.1:255.255.255.0:v1:eth0:off:10.77.5.1"
b vm ls | grep "^v1 .* 10.77.5.2\$" >/dev/null || fail "vm ls lacks the address: $(b vm ls)"
tap=$(tap_of v1)
bridge=$(b network inspect mynet | jq -r '.[0].Options["com.docker.network.bridge.name"]')
# (ip, not /sys: this namespace's /sys is the machine's)
ip -o link show "$tap" | grep "master $bridge " >/dev/null || fail "tap $tap is not a port of $bridge: $(ip -o link show "$tap")"
assert_eq "the VM's lease" "$(b network inspect mynet | jq -r '.[0].Id') 10.77.5.2" "$(vm_leases v1)"

log "a container on mynet pings the VM; so does the host"
b run --rm --network mynet busybox ping -c 2 -W 5 10.77.5.2 >/dev/null || fail "the container could not ping the VM"
busybox ping -c 2 -W 5 10.77.5.2 >/dev/null || fail "the host could not ping the VM"
b run --rm --network mynet busybox ping -c 1 -W 5 v1 >/dev/null || fail "the container could not ping the VM by name (v1)"
# The answers came from the guest (its console says so), to both peers.
b vm logs v1 | grep "echo reply sent to 10.77.5.3" >/dev/null || fail "the guest did not answer the container: $(b vm logs v1 | tail -5)"
b vm logs v1 | grep "echo reply sent to 10.77.5.1" >/dev/null || fail "the guest did not answer the host: $(b vm logs v1 | tail -5)"
# The next container gets the next address: one lease table for both.
assert_eq "a container's address after the VM's" "10.77.5.3/24" \
  "$(b run --rm --network mynet busybox ip -o -4 addr show eth0 | awk '{print $4}')"

log "snapshot, rm, restore: the VM is back on mynet with its address, on a tap of its own"
b vm snapshot --stop v1 "$E2E_TMP/snap" >/dev/null
! ip link show "$tap" >/dev/null 2>&1 || fail "tap $tap left after snapshot --stop"
b vm rm v1 >/dev/null
b vm restore -d "$E2E_TMP/snap" >/dev/null
assert_eq "the restored VM's address" "10.77.5.2" "$(b vm inspect v1 | jq -r '.NetworkSettings.IPAddress')"
ip -o link show "$tap" | grep "master $bridge " >/dev/null || fail "the restored VM's tap is not on $bridge"
b run --rm --network mynet busybox ping -c 2 -W 5 v1 >/dev/null || fail "the container could not ping the restored VM by name"
# Its address is taken: a second restore of the same snapshot is refused, and leaves nothing.
expect_error 4 "already in use on network mynet" b vm restore -d --name v1b "$E2E_TMP/snap"
assert_eq "leases after the refused restore" "1" "$(sqlite3 "$ROOT/berth.db" "SELECT count(*) FROM leases WHERE container_id LIKE 'vm:%'")"

log "network rm is refused while the VM holds a lease"
expect_error 1 "has active endpoints (vm v1)" b network rm mynet

log "vm stop: the tap goes, the lease stays; vm rm: the lease goes"
b vm stop v1 >/dev/null
! ip link show "$tap" >/dev/null 2>&1 || fail "tap $tap left after vm stop"
[[ -n $(vm_leases v1) ]] || fail "the lease went at stop (it stays until rm)"
b vm rm v1 >/dev/null
[[ -z $(vm_leases v1) ]] || fail "lease left after vm rm: $(vm_leases v1)"

log "an --internal network: no gateway for the guest, the host still reaches it"
b network create --internal --subnet 10.77.6.0/24 inner >/dev/null
b vm run -d --name v2 --net inner --memory 32M --kernel "$guest" >/dev/null
wait_guest_up v2
assert_contains "no gateway in ip=" "$(b vm inspect v2 | jq -r '.Config.cmdline')" "ip=10.77.6.2:::255.255.255.0:v2:eth0:off"
b run --rm --network inner busybox ping -c 2 -W 5 10.77.6.2 >/dev/null || fail "a container on inner could not ping the VM"

log "a VMM killed with -9: the next command removes its tap"
tap2=$(tap_of v2)
kill -KILL "$(b vm inspect v2 | jq -r '.Pid')"
wait_until 10 sh -c "! '$BERTH' --root '$ROOT' --state '$STATE' vm ls | grep '^v2 .*running' >/dev/null" || fail "v2 still running"
b vm ls >/dev/null
! ip link show "$tap2" >/dev/null 2>&1 || fail "tap $tap2 left after the VMM died and vm ls ran"
b vm rm v2 >/dev/null
[[ -z $(vm_leases v2) ]] || fail "lease of v2 left after vm rm"

log "the default bridge network (made on first use by the VM), with --mac and --rm"
b vm run -d --rm --name v3 --net bridge --mac 02:00:00:00:00:33 --memory 32M --kernel "$guest" >/dev/null
wait_guest_up v3
assert_eq "the guest's MAC" "net-responder up ip=10.88.0.2 mac=02:00:00:00:00:33" \
  "$(b vm logs v3 | grep -m1 'net-responder up' | tr -d '\r')"
assert_contains "no DNS on the default bridge" "$(b vm inspect v3 | jq -r '.Config.cmdline')" "ip=10.88.0.2::10.88.0.1:255.255.0.0:v3:eth0:off"
busybox ping -c 1 -W 5 10.88.0.2 >/dev/null || fail "the host could not ping the VM on bridge"
v3_cgroup=$(b vm inspect v3 | jq -r '.Cgroup')
[[ -n $v3_cgroup ]] || fail "vm inspect v3 names no cgroup: $(b vm inspect v3)"
b vm stop v3 >/dev/null   # --rm: record, tap and lease go at once
[[ -z $(b vm ls | awk 'NR > 1') ]] || fail "v3's record stayed (--rm)"
# its groups too: --rm's `vm rm`, started by the VMM inside them, leaves them first
for h in /sys/fs/cgroup/*/; do [[ ! -d $h$v3_cgroup ]] || fail "v3's cgroup $h$v3_cgroup stayed (--rm)"; done
[[ -z $(vm_leases v3) ]] || fail "v3's lease stayed (--rm)"
# Both `vm stop` (for --rm) and the VMM's exit command (`vm rm`) detach the
# VM; the second may still be at it when stop returns.
no_berth0() { ! ip link show berth0 >/dev/null 2>&1; }
wait_until 10 no_berth0 || fail "berth0 stayed after its only VM ended"

log "bad input: one line, nothing left behind"
taps() { ip -o link show | awk -F': ' '{print $2}' | grep '^vt' || true; }
expect_error 3 "network nosuch not found" b vm run -d --name bad --net nosuch --kernel "$guest"
expect_error 2 "--mac 01:00:00:00:00:01" b vm run -d --name bad --net mynet --mac 01:00:00:00:00:01 --kernel "$guest"
# The VMM refuses the kernel after the tap and lease were made: both go.
echo "not a kernel" > "$E2E_TMP/junk.bzimage"
err=$(b vm run -d --name bad --net mynet --kernel "$E2E_TMP/junk.bzimage" 2>&1 >/dev/null) && fail "a junk kernel booted"
[[ $(wc -l <<<"$err") == 1 ]] || fail "want one line for a junk kernel, got: $err"
# A link that is not a bridge holds the name of mynet's bridge.
ip link add "$bridge" type veth peer name bvpeer0
expect_error 5 "exists and is not a bridge" b vm run -d --name bad --net mynet --kernel "$guest"
ip link del "$bridge"
[[ -z $(b vm ls | awk 'NR > 1') ]] || fail "a record left by a failed vm run: $(b vm ls)"
[[ -z $(taps) ]] || fail "taps left by failed vm runs: $(taps)"
assert_eq "leases after the failed runs" "0" "$(leases)"

log "after the last VM and network: links, rules and leases as before"
b network rm mynet inner >/dev/null
assert_eq "links" "$links_before" "$(links)"
assert_eq "nft ruleset" "$rules_before" "$(nft list ruleset)"
assert_eq "leases" "0" "$(leases)"
