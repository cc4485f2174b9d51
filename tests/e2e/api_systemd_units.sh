#!/usr/bin/env bash
# contrib/systemd/berth.socket + berth.service (issue 14): both verified by
# systemd-analyze in a private mount namespace where /usr/local/bin is the
# build's bin dir (no host file changes), the service's ExecStart served
# on a socket systemd-socket-activate hands it as systemd would (fd://),
# and KillMode=process, which lets `systemctl restart berth` leave the
# containers running.
source "$(dirname "$0")/lib.sh"
e2e_init
command -v systemd-analyze >/dev/null ||
  skip "systemd-analyze not installed (Debian package systemd; scripts/install-deps installs it)"
require_bin unshare systemd-socket-activate curl
SOCKET_UNIT=$BERTH_SOURCE_DIR/contrib/systemd/berth.socket
SERVICE_UNIT=$BERTH_SOURCE_DIR/contrib/systemd/berth.service

log "systemd-analyze verify"
out=$(unshare -m --propagation private sh -c 'mount --bind "$1" /usr/local/bin && systemd-analyze verify "$2" "$3"' \
  _ "$BERTH_BUILD_DIR/bin" "$SOCKET_UNIT" "$SERVICE_UNIT" 2>&1) || fail "systemd-analyze verify failed: $out"
[[ -z $out ]] || fail "systemd-analyze verify warns: $out"
unit_value() {
  awk -v s="[$2]" -v k="$3" '/^\[/ { in_s = ($0 == s) } in_s && index($0, k "=") == 1 { print substr($0, length(k) + 2) }' "$1"
}
assert_eq "ExecStart" "/usr/local/bin/berth serve -H fd://" "$(unit_value "$SERVICE_UNIT" Service ExecStart)"
assert_eq "KillMode" process "$(unit_value "$SERVICE_UNIT" Service KillMode)"
assert_eq "SocketMode" 0660 "$(unit_value "$SOCKET_UNIT" Socket SocketMode)"
assert_eq "ListenStream" /run/berth/berth.sock "$(unit_value "$SOCKET_UNIT" Socket ListenStream)"

log "the ExecStart serves a socket handed to it as systemd does (LISTEN_FDS)"
engine_init
source "$(dirname "$0")/api_lib.bash"
API_SOCK=$E2E_TMP/activated.sock
systemd-socket-activate -l "$API_SOCK" "$BERTH" --root "$ROOT" --state "$STATE" serve -H fd:// \
  >"$E2E_TMP/serve.log" 2>&1 &
act=$!
on_exit kill_pid_bounded "$act" 5
wait_for_socket "$API_SOCK" 10
assert_eq "ping through the activated socket" "200 OK" "$(api GET /_ping)"
assert_eq "containers through it" "[]" "$(curl -sS --unix-socket "$API_SOCK" http://berth/containers/json | jq -c .)"
log "ok"
