#!/usr/bin/env bash
# Real peers from Debian against `berth load/save`:
#  - an image made by umoci from the busybox rootfs, converted by skopeo to
#    docker-archive, loads into berth and runs (overlay snapshot + chroot);
#  - berth's saves are read by skopeo (oci-archive:, docker-archive:) and
#    unpacked by umoci; digests stay identical through load then save.
set -euo pipefail
build=${BERTH_BUILD_DIR:?}
berth=$build/bin/berth
rootfs=$build/images/busybox-rootfs
for t in skopeo umoci jq; do command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }; done
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root (overlay mounts)"; exit 77; }
[[ -d $rootfs ]] || { echo "skip: $rootfs missing (run scripts/make-base-image $build/images)"; exit 77; }

tmp=$(mktemp -d /tmp/berth-e2e-image-XXXXXX)
root=$tmp/root
cleanup() {
  "$berth" --root "$root" image snapshot rm c1 >/dev/null 2>&1 || true
  umount -R -l "$tmp"/root/containers/*/merged 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
b() { "$berth" --root "$root" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. umoci builds an OCI image from a rootfs; skopeo converts it.
cd "$tmp"
umoci init --layout oci
umoci new --image oci:bb
umoci unpack --image oci:bb bundle >/dev/null
cp -a "$rootfs"/. bundle/rootfs/
umoci repack --image oci:bb bundle
umoci config --image oci:bb --config.cmd sh
skopeo copy -q oci:oci:bb "docker-archive:$tmp/umoci.tar:busybox:umoci"

# 2. berth loads it and runs it.
out=$(b load -i umoci.tar)
[[ $out == "Loaded image: busybox:umoci" ]] || fail "load said: $out"
b images | grep -E '^busybox +umoci ' >/dev/null || fail "images does not list busybox:umoci"
b image snapshot prepare c1 busybox:umoci >/dev/null
merged=$(b image snapshot mount c1)
said=$(chroot "$merged" /bin/sh -c 'echo ran in $(cat /etc/hostname)')
[[ $said == "ran in berth" ]] || fail "container said: $said"
b rmi busybox:umoci 2>/dev/null && fail "rmi removed an image a container uses"
b image snapshot rm c1
grep -q " $merged " /proc/self/mountinfo && fail "overlay still mounted"

# 3. skopeo reads berth's saves; digests are those of the input.
b save -o saved-da.tar busybox:umoci
b save -o saved-oci.tar --format oci-archive busybox:umoci
want=$(skopeo inspect docker-archive:umoci.tar | jq -r .Digest)
got=$(skopeo inspect docker-archive:saved-da.tar | jq -r .Digest)
[[ $want == "$got" ]] || fail "docker-archive digest changed: $want -> $got"
want_layers=$(skopeo inspect docker-archive:umoci.tar | jq -c .Layers)
got_layers=$(skopeo inspect oci-archive:saved-oci.tar | jq -c .Layers)
[[ $want_layers == "$got_layers" ]] || fail "layers changed: $want_layers -> $got_layers"

# 4. umoci unpacks berth's oci-archive.
mkdir x && tar -xf saved-oci.tar -C x
umoci unpack --image x:umoci ub >/dev/null
cmp -s ub/rootfs/bin/busybox "$rootfs/bin/busybox" || fail "umoci unpack of berth's save differs"

# 5. OCI layout in, OCI archive out: the manifest digest is identical; and
#    the bundled docker-archive round-trips with the same image ID.
b load -i "$build/images/busybox-oci" >/dev/null
want=$(jq -r '.manifests[0].digest' "$build/images/busybox-oci/index.json")
b save -o bb-oci.tar --format oci-archive busybox
got=$(skopeo inspect --raw oci-archive:bb-oci.tar | sha256sum | cut -d' ' -f1)
[[ $want == "sha256:$got" ]] || fail "OCI manifest digest changed: $want -> sha256:$got"
b save -o bb-da.tar busybox
cfg_in=$(skopeo inspect --config --raw "docker-archive:$build/images/busybox-docker-archive.tar" | sha256sum)
cfg_out=$(skopeo inspect --config --raw docker-archive:bb-da.tar | sha256sum)
[[ $cfg_in == "$cfg_out" ]] || fail "image ID changed through docker-archive"
echo "ok: umoci/skopeo interop, run, digests preserved"
