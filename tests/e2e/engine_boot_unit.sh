#!/usr/bin/env bash
# contrib/systemd/berth-boot.service, the unit that runs `berth system boot`
# (issue 9: "a systemd unit that runs it, checked with systemd-analyze
# verify"; these machines do not run systemd as pid 1). The unit is
# verified as it is installed: in a private mount namespace where
# /usr/local/bin is the build's bin dir, so its ExecStart resolves and no
# file of the host changes. Then its ExecStart, run as the unit would run
# it at boot (the store named by BERTH_ROOT/BERTH_STATE), brings back a
# --restart always container after its state dir and monitor were lost,
# and leaves a --restart no one down.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
UNIT=$BERTH_SOURCE_DIR/contrib/systemd/berth-boot.service
[[ -f $UNIT ]] || fail "$UNIT missing"
command -v systemd-analyze >/dev/null ||
  skip "systemd-analyze not installed (Debian package systemd; scripts/install-deps installs it)"
require_bin unshare

log "systemd-analyze verify $UNIT"
out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /usr/local/bin && systemd-analyze verify "$2"' \
  _ "$BERTH_BUILD_DIR/bin" "$UNIT" 2>&1) || fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || fail "systemd-analyze verify warns: $out"

# unit_value SECTION KEY : the value of KEY in [SECTION] of the unit.
unit_value() {
  awk -v s="[$1]" -v k="$2" '/^\[/ { in_s = ($0 == s) } in_s && index($0, k "=") == 1 { print substr($0, length(k) + 2) }' "$UNIT"
}
assert_eq "Type" oneshot "$(unit_value Service Type)"
assert_eq "ExecStart" "/usr/local/bin/berth system boot" "$(unit_value Service ExecStart)"
[[ " $(unit_value Unit After) " == *" local-fs.target "* ]] || fail "the unit is not ordered after local-fs.target"
# The monitors it starts stay in its cgroup: stopping the unit must not kill them.
assert_eq "KillMode" process "$(unit_value Service KillMode)"
[[ -n $(unit_value Install WantedBy) ]] || fail "the unit has no WantedBy: systemctl enable would not start it at boot"

log "its ExecStart brings back a --restart always container after a reboot"
engine_init
always=$(b run -d --restart always busybox sh -c "sleep 1000; : $E2E_MARK")
no=$(b run -d --restart no busybox sh -c "sleep 1000; : $E2E_MARK")
lose_state_dir
exec_start=$(unit_value Service ExecStart)
read -r -a argv <<< "${exec_start/#\/usr\/local\/bin\/berth/$BERTH}"
out=$(BERTH_ROOT=$ROOT BERTH_STATE=$STATE timeout 60 "${argv[@]}") || fail "${argv[*]} failed: $out"
assert_eq "what the unit's command started" "$always" "$out"
pid=$(container_pid "$always")
assert_eq "cgroup of the container brought back" "$always" "$(cgroup_container "$pid")"
assert_eq "status of the --restart no container" exited "$(b inspect -f '{{.State.Status}}' "$no")"
assert_all_removed "rm -f after the boot"
