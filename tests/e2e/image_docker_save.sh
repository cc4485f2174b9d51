#!/usr/bin/env bash
# A real `docker save` archive into berth: a private dockerd (Debian's
# docker.io, no registry, no network) loads the bundled busybox, commits a
# container that wrote a file and removed one (a second layer with a
# whiteout, made by dockerd itself), and saves the result. berth loads that
# archive, keeps its image ID (the config digest), and a snapshot of it shows
# dockerd's layer applied on top of busybox. Then the other way: berth saves
# it again and dockerd loads berth's archive to the same image ID.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
require_bin dockerd docker containerd containerd-shim-runc-v2 jq
IMAGE_TAR=$BERTH_BUILD_DIR/images/busybox-docker-archive.tar
[[ -f $IMAGE_TAR ]] || fail "$IMAGE_TAR missing (run scripts/make-base-image $BERTH_BUILD_DIR/images)"
BERTH=$BERTH_BUILD_DIR/bin/berth
ROOT=$E2E_TMP/berth-root
b() { "$BERTH" --root "$ROOT" "$@"; }
on_exit_late "$BERTH" --root "$ROOT" image snapshot rm dsave

# dockerd runs the commit's container with runc: this test is about the
# archive format, not the runtime (runtime_docker.sh covers berth-runtime).
start_dockerd "$E2E_TMP/dockerd"
d() { docker_cli "$@"; }

log "docker load + a container that adds /hello and removes /etc/group"
run_capture out rc d load -i "$IMAGE_TAR"
assert_eq "docker load exit code (output: $out)" 0 "$rc"
run_capture out rc d run --name mk --network none busybox:latest \
  sh -c 'echo from-dockerd > /hello && rm /etc/group'
assert_eq "docker run exit code (output: $out)" 0 "$rc"
run_capture out rc d commit mk e2e/dsave:1
assert_eq "docker commit exit code (output: $out)" 0 "$rc"
d rm mk >/dev/null
docker_id=$(d image inspect -f '{{.Id}}' e2e/dsave:1)
[[ $docker_id == sha256:* ]] || fail "docker image id: '$docker_id'"

log "docker save -> berth load"
run_capture out rc d save -o "$E2E_TMP/dsave.tar" e2e/dsave:1
assert_eq "docker save exit code (output: $out)" 0 "$rc"
run_capture out rc b load -i "$E2E_TMP/dsave.tar"
assert_eq "berth load of docker's archive exit code (output: $out)" 0 "$rc"
assert_contains "berth load names the tag" "$out" "e2e/dsave:1"
berth_id=$(b image inspect e2e/dsave:1 | jq -r '.[0].Id // .Id')
assert_eq "image ID kept through docker save / berth load" "$docker_id" "$berth_id"

log "a snapshot of it: dockerd's layer over busybox"
run_capture out rc b image snapshot prepare dsave e2e/dsave:1
assert_eq "snapshot prepare exit code (output: $out)" 0 "$rc"
merged=$(b image snapshot mount dsave)
assert_eq "/hello from dockerd's layer" "from-dockerd" "$(cat "$merged/hello" 2>&1)"
[[ ! -e $merged/etc/group ]] || fail "/etc/group was removed in dockerd's layer (whiteout) but is visible"
[[ -x $merged/bin/busybox ]] || fail "busybox from the base layer is missing"
assert_eq "it runs" "ok" "$(chroot "$merged" /bin/sh -c 'echo ok')"
b image snapshot rm dsave >/dev/null

log "berth save -> docker load (the other way)"
d rmi e2e/dsave:1 >/dev/null
run_capture out rc b save -o "$E2E_TMP/bsave.tar" e2e/dsave:1
assert_eq "berth save exit code (output: $out)" 0 "$rc"
run_capture out rc d load -i "$E2E_TMP/bsave.tar"
assert_eq "docker load of berth's archive exit code (output: $out)" 0 "$rc"
assert_eq "image ID kept through berth save / docker load" "$docker_id" \
  "$(d image inspect -f '{{.Id}}' e2e/dsave:1)"
run_capture out rc d run --rm --network none e2e/dsave:1 cat /hello
assert_eq "docker runs berth's archive (output: $out)" "from-dockerd" "$out"

log "ok"
