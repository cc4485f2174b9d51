#!/usr/bin/env bash
# Docker's secure defaults for every container, read from inside it (the
# kernel's /proc/1/status, mountinfo, what a write does), and what
# --privileged, --cap-add/--cap-drop, --security-opt and --read-only change.
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init

DOCKER_CAPS=00000000a80425fb
# status_field FIELD [RUN-FLAGS...] : FIELD of the container init's /proc/1/status.
status_field() {
  local field=$1; shift
  b run --rm "$@" busybox awk -v f="$field:" '$1 == f { print $2 }' /proc/1/status
}
# hex_caps N... : the capability mask of cap numbers N..., as /proc prints it.
hex_caps() {
  local m=0 n
  for n in "$@"; do m=$((m | (1 << n))); done
  printf '%016x' "$m"
}
# Masked paths the host has (a kernel without kcore has none to mask).
masked=()
for p in /proc/kcore /proc/timer_list /proc/keys /proc/sched_debug; do
  [[ -e $p ]] && masked+=("$p")
done
((${#masked[@]})) || fail "the host has none of the masked /proc files"

log "defaults: docker's capabilities, seccomp filter, no_new_privs"
assert_eq "CapEff" "$DOCKER_CAPS" "$(status_field CapEff)"
assert_eq "CapBnd" "$DOCKER_CAPS" "$(status_field CapBnd)"
assert_eq "CapPrm" "$DOCKER_CAPS" "$(status_field CapPrm)"
assert_eq "Seccomp (filter mode)" 2 "$(status_field Seccomp)"
assert_eq "NoNewPrivs" 1 "$(status_field NoNewPrivs)"

log "defaults: masked /proc files, read-only /proc/sys and /sys"
for p in "${masked[@]}"; do
  out=$(b run --rm busybox sh -c "awk -v p=$p '\$5 == p { print \"mounted\" }' /proc/self/mountinfo; cat $p 2>&1 | wc -c")
  assert_eq "$p masked (a mount over it, nothing to read)" "mounted
0" "$out"
done
assert_refused "a write to /proc/sys" "Read-only file system" b run --rm busybox sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid'
assert_refused "a write to /sys" "Read-only file system" b run --rm busybox sh -c 'echo x > /sys/kernel/uevent_helper'
[[ $(container_mount /sys | cut -d' ' -f6) == ro,* ]] || fail "/sys not mounted ro: $(container_mount /sys)"

log "--privileged lifts them all"
host_bnd=$(awk '$1 == "CapBnd:" { print $2 }' /proc/self/status)
priv=$(b run --rm --privileged busybox sh -c 'grep -E "^(CapEff|CapBnd|Seccomp|NoNewPrivs):" /proc/1/status')
assert_eq "--privileged /proc/1/status" "CapBnd:	$host_bnd
CapEff:	$host_bnd
NoNewPrivs:	0
Seccomp:	0" "$(sort <<<"$priv")"
for p in "${masked[@]}"; do
  out=$(container_mount "$p" --privileged)
  [[ -z $out ]] || fail "--privileged: $p still masked: $out"
done
b run --rm --privileged busybox sh -c 'echo 0 > /proc/sys/kernel/ns_last_pid' || fail "--privileged: /proc/sys not writable"
[[ $(container_mount /sys --privileged | cut -d' ' -f6) == rw,* ]] || fail "--privileged: /sys is not read-write"
assert_eq "--privileged: mount works" ok \
  "$(b run --rm --privileged busybox sh -c 'mkdir /m && mount -t tmpfs none /m && echo ok')"

log "--cap-add / --cap-drop: the mask and the effect"
assert_eq "--cap-add SYS_ADMIN --cap-drop NET_RAW" \
  "$(printf '%016x' $(((0x$DOCKER_CAPS | 1 << 21) & ~(1 << 13))))" \
  "$(status_field CapEff --cap-add SYS_ADMIN --cap-drop NET_RAW)"
assert_eq "--cap-drop ALL" 0000000000000000 "$(status_field CapEff --cap-drop ALL)"
assert_eq "--cap-drop ALL --cap-add CHOWN,KILL" "$(hex_caps 0 5)" "$(status_field CapEff --cap-drop ALL --cap-add CHOWN --cap-add KILL)"
assert_eq "chown with the default caps" ok "$(b run --rm busybox sh -c 'touch /f && chown 1:1 /f && echo ok')"
assert_refused "chown without CAP_CHOWN" "Operation not permitted" b run --rm --cap-drop CHOWN busybox sh -c 'touch /f && chown 1:1 /f'
assert_refused "mount with the default caps" "permission denied" b run --rm busybox sh -c 'mkdir /m && mount -t tmpfs none /m'
assert_eq "--cap-add SYS_ADMIN: mount works" ok \
  "$(b run --rm --cap-add SYS_ADMIN busybox sh -c 'mkdir /m && mount -t tmpfs none /m && echo ok')"

log "--security-opt seccomp=unconfined|FILE, no-new-privileges=false"
assert_eq "seccomp=unconfined" "0 1 $DOCKER_CAPS" \
  "$(b run --rm --security-opt seccomp=unconfined busybox awk '$1 ~ /^(Seccomp|NoNewPrivs|CapEff):$/ { v[$1] = $2 } END { print v["Seccomp:"], v["NoNewPrivs:"], v["CapEff:"] }' /proc/1/status)"
cat > "$E2E_TMP/no-mkdir.json" <<'EOF'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}
EOF
assert_refused "mkdir under a profile that denies it" "Operation not permitted" \
  b run --rm --security-opt "seccomp=$E2E_TMP/no-mkdir.json" busybox sh -c 'grep "^Seccomp:" /proc/1/status; mkdir /d'
assert_eq "seccomp=FILE applied" "Seccomp:	2" "$(cat "$E2E_TMP/stdout")"
assert_eq "no-new-privileges=false" 0 "$(status_field NoNewPrivs --security-opt no-new-privileges=false)"
assert_eq "no-new-privileges (true)" 1 "$(status_field NoNewPrivs --security-opt no-new-privileges)"

log "--read-only rootfs; --tmpfs still writable"
assert_refused "--read-only: touch /x" "Read-only file system" b run --rm --read-only busybox sh -c 'touch /x'
[[ $(container_mount / --read-only | cut -d' ' -f6) == ro,* ]] || fail "--read-only: / not mounted ro"
assert_eq "--read-only --tmpfs /tmp" ok "$(b run --rm --read-only --tmpfs /tmp busybox sh -c 'echo ok > /tmp/f && cat /tmp/f')"
assert_eq "no --read-only: / writable" ok "$(b run --rm busybox sh -c 'echo ok > /x && cat /x')"
