#!/usr/bin/env bash
# Volumes and mounts of `berth run`: named volumes (made on first use, filled
# from the image, outliving their container), :ro, binds both ways,
# --mount bind|volume|tmpfs, --tmpfs, anonymous volumes and `rm -v`, the
# `volume` verbs, and a bind source that does not exist. Effects are read on
# the host (the volume's dir, the bind source) and in the container's
# /proc/self/mountinfo.
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init

log "a named volume is made on first use and filled with the image's content"
[[ -z $(b volume ls -q) ]] || fail "a new store has volumes: $(b volume ls -q)"
assert_eq "ls of the image's /etc through an empty named volume" \
  "$(ls "$BERTH_BUILD_DIR/images/busybox-rootfs/etc" | sort)" "$(b run --rm -v v1:/etc busybox ls /etc | sort)"
assert_eq "volume ls" v1 "$(b volume ls -q)"
vdir=$ROOT/volumes/v1/_data
assert_eq "the image's passwd copied into the volume" "$(cat "$BERTH_BUILD_DIR/images/busybox-rootfs/etc/passwd")" "$(cat "$vdir/passwd")"

log "data outlives the container; a volume already filled is not filled again"
b run --rm -v v1:/etc busybox sh -c 'echo kept > /etc/mine; rm /etc/group'
assert_eq "written through the volume" kept "$(cat "$vdir/mine")"
assert_eq "a later container sees it, the volume not filled again" "kept" \
  "$(b run --rm -v v1:/etc busybox sh -c 'cat /etc/mine; test -e /etc/group && echo REFILLED')"
[[ ! -e $vdir/group ]] || fail "a used volume was filled again from the image"

log "-v NAME:/path:ro refuses writes"
assert_refused "a write to a :ro volume" "Read-only file system" b run --rm -v v1:/data:ro busybox sh -c 'echo x > /data/new'
[[ ! -e $vdir/new ]] || fail "a :ro volume was written"
[[ $(container_mount /data -v v1:/data:ro) =~ \ /data\ ro, ]] || fail "the :ro volume is not mounted ro: $(container_mount /data -v v1:/data:ro)"

log "bind mounts, both ways"
mkdir -p "$E2E_TMP/bind"
echo from-host > "$E2E_TMP/bind/h"
assert_eq "host file seen in the container" from-host "$(b run --rm -v "$E2E_TMP/bind:/b" busybox cat /b/h)"
b run --rm -v "$E2E_TMP/bind:/b" busybox sh -c 'echo from-ctr > /b/c'
assert_eq "container file seen on the host" from-ctr "$(cat "$E2E_TMP/bind/c")"
assert_refused "a write to a :ro bind" "Read-only file system" b run --rm -v "$E2E_TMP/bind:/b:ro" busybox sh -c 'echo x > /b/ro'
[[ ! -e $E2E_TMP/bind/ro ]] || fail "a :ro bind was written"

log "--mount type=bind|volume|tmpfs, --tmpfs"
assert_eq "--mount bind,readonly" from-host \
  "$(b run --rm --mount "type=bind,source=$E2E_TMP/bind,target=/b,readonly" busybox sh -c 'cat /b/h; touch /b/z 2>/dev/null && echo WROTE')"
[[ ! -e $E2E_TMP/bind/z ]] || fail "--mount bind,readonly was written"
b run --rm --mount type=volume,source=v2,target=/d busybox sh -c 'echo in-v2 > /d/f'
assert_eq "--mount volume made v2" in-v2 "$(cat "$ROOT/volumes/v2/_data/f")"
line=$(container_mount /t --mount type=tmpfs,target=/t,tmpfs-size=1m)
[[ $line == *" - tmpfs "* && $line == *size=1024k* ]] || fail "--mount tmpfs,tmpfs-size=1m: [$line]"
line=$(container_mount /t2 --tmpfs /t2:size=2m)
[[ $line == *" - tmpfs "* && $line == *size=2048k* ]] || fail "--tmpfs /t2:size=2m: [$line]"
assert_eq "a tmpfs is writable and private" ok "$(b run --rm --tmpfs /t busybox sh -c 'echo ok > /t/f && cat /t/f')"

log "anonymous volumes: -v /path and the image's VOLUME; rm -v removes them, rm keeps named ones"
image_with_config vol:1 '.config.Volumes = {"/var/lib/data": {}}'
aid=$(b create -v /anon -v v1:/named vol:1 true)
mounts=$(b inspect -f '{{json .Mounts}}' "$aid")
assert_eq "mount destinations" "/anon /named /var/lib/data" "$(jq -r '[.[].Destination] | sort | join(" ")' <<<"$mounts")"
anon=$(jq -r '.[] | select(.Destination != "/named") | .Name' <<<"$mounts")
assert_eq "two anonymous volumes" 2 "$(wc -l <<<"$anon")"
for v in $anon; do
  [[ $v =~ ^[0-9a-f]{64}$ && -d $ROOT/volumes/$v/_data ]] || fail "anonymous volume [$v] has no dir"
done
b rm -v "$aid" >/dev/null
for v in $anon; do
  [[ ! -e $ROOT/volumes/$v ]] || fail "rm -v left anonymous volume $v"
  assert_exit "volume inspect of a removed volume" 1 b volume inspect "$v"
done
b volume inspect v1 >/dev/null || fail "rm -v removed the named volume v1"
aid=$(b create -v /anon busybox true)
anon=$(b inspect -f '{{json .Mounts}}' "$aid" | jq -r '.[0].Name')
b rm "$aid" >/dev/null
[[ -d $ROOT/volumes/$anon/_data ]] || fail "rm without -v removed the anonymous volume"

log "volume create/ls/inspect/rm/prune"
assert_eq "volume create" v3 "$(b volume create --label k=v v3)"
[[ -d $ROOT/volumes/v3/_data ]] || fail "volume create made no dir"
vj=$(b volume inspect v3)
assert_eq "volume inspect" "v3 local $ROOT/volumes/v3/_data v" \
  "$(jq -r '.[0] | "\(.Name) \(.Driver) \(.Mountpoint) \(.Labels.k)"' <<<"$vj")"
assert_eq "volume ls --filter name" v3 "$(b volume ls -q --filter name=v3)"
b run -d --name holder -v v3:/x busybox sleep 60 >/dev/null
expect_error 1 "volume is in use" b volume rm v3
[[ -d $ROOT/volumes/v3/_data ]] || fail "a refused volume rm removed the dir"
b rm -f holder >/dev/null
assert_eq "volume rm" v3 "$(b volume rm v3)"
[[ ! -e $ROOT/volumes/v3 ]] || fail "volume rm left its dir"
expect_error 1 "no such volume" b volume rm v3
prune=$(b volume prune -f)
grep -qx "$anon" <<<"$prune" || fail "volume prune did not remove the unused anonymous volume: $prune"
[[ ! -e $ROOT/volumes/$anon ]] || fail "volume prune left $anon's dir"
b volume inspect v1 >/dev/null || fail "volume prune (without -a) removed a named volume"
b create --name user-of-v2 -v v2:/d busybox true >/dev/null
b volume prune -f -a >/dev/null
b volume inspect v2 >/dev/null || fail "volume prune -a removed a volume a container uses"
assert_exit "volume prune -a removes unused named volumes" 1 b volume inspect v1

log "a bind source that does not exist: 125, one line, nothing half-made"
before=$(engine_footprint)
expect_error 125 "bind source path does not exist" b run --rm -v "$E2E_TMP/missing:/m" -v fresh:/f busybox true
expect_error 125 "bind source path does not exist" b create --mount "type=bind,source=$E2E_TMP/missing,target=/m" busybox true
assert_eq "footprint after a bad bind" "$before" "$(engine_footprint)"
[[ ! -e $E2E_TMP/missing ]] || fail "the missing bind source was created on the host"
