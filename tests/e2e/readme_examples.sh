#!/usr/bin/env bash
# README's berth-runtime and image examples, run as a user pastes them: each
# block is cut out of README.md and run with `bash -eu -o pipefail` from a
# directory laid out like the top of the source tree (build -> the build
# dir), so a README line that fails as written fails here. Isolation only:
# `berth-runtime` is wrapped to add a private --root, `berth` gets a private
# BERTH_ROOT, and the container IDs get a per-run suffix (berth-runtime's
# default cgroupsPath is /berth/<id>, shared by tests running in parallel).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init
[[ -f $BERTH_BUILD_DIR/images/busybox-docker-archive.tar && -d $BERTH_BUILD_DIR/images/busybox-rootfs ]] ||
  skip "base image missing (run scripts/make-base-image $BERTH_BUILD_DIR/images)"

# readme_block HEADING : the first ```sh block of README's section HEADING.
readme_block() {
  awk -v h="$1" '
    $0 == h { in_section = 1; next }
    in_section && /^## / { exit }
    in_section && $0 == "```sh" { in_block = 1; next }
    in_block && $0 == "```" { exit }
    in_block { print }' "$BERTH_SOURCE_DIR/README.md"
}

# run_block NAME PRELUDE BLOCK : runs PRELUDE then BLOCK in a fresh work dir;
# the output goes to $E2E_TMP/NAME.out (a file: a detached container holds
# its stdout open, a pipe would wait for it).
run_block() {
  local name=$1 work=$E2E_TMP/$1
  mkdir "$work"
  ln -s "$BERTH_BUILD_DIR" "$work/build"
  printf '%s\n%s\n' "$2" "$3" > "$E2E_TMP/$name.sh"
  local rc=0
  (cd "$work" && timeout 120 bash -eu -o pipefail "$E2E_TMP/$name.sh") </dev/null >"$E2E_TMP/$name.out" 2>&1 || rc=$?
  if [[ $rc != 0 ]]; then
    cat "$E2E_TMP/$name.out" >&2
    fail "README's $name block failed as written (exit $rc)"
  fi
}

log "README: berth-runtime"
block=$(readme_block '## berth-runtime')
assert_contains "the berth-runtime block" "$block" "berth-runtime create"
id=$$
RT_ROOT=$E2E_TMP/rt
export RT_ROOT
on_exit "$BERTH_BUILD_DIR/bin/berth-runtime --root $RT_ROOT delete --force c1-$id"
on_exit_late rm_cgroup_tree "/berth/c1-$id"
on_exit_late rm_cgroup_tree "/berth/demo-$id"
run_block runtime 'berth-runtime() { command berth-runtime --root "$RT_ROOT" "$@"; }' \
  "$(sed -E "s/\\b(demo|c1)\\b/\\1-$id/g" <<<"$block")"
out=$(cat "$E2E_TMP/runtime.out")
assert_contains "run's output" "$out" "hello from "
assert_contains "exec ps in the container" "$out" "sleep 3600"
assert_eq "containers left" "" "$("$BERTH_BUILD_DIR/bin/berth-runtime" --root "$RT_ROOT" list -q)"

log "README: images"
block=$(readme_block '## Images')
assert_contains "the images block" "$block" "berth load"
BERTH_ROOT=$E2E_TMP/root BERTH_STATE=$E2E_TMP/state
export BERTH_ROOT BERTH_STATE
on_exit "$BERTH_BUILD_DIR/bin/berth rm -f box1"
run_block images '' "$block"
out=$(cat "$E2E_TMP/images.out")
assert_contains "load's output" "$out" "Loaded image: busybox:latest"
assert_eq "containers left" "" "$("$BERTH_BUILD_DIR/bin/berth" ps -aq)"
tar -tf "$E2E_TMP/images/box.tar" > "$E2E_TMP/box.list"
grep -qx 'oci-layout' "$E2E_TMP/box.list" || fail "box.tar is not an oci-archive"
assert_eq "images left after prune -a" "" "$("$BERTH_BUILD_DIR/bin/berth" images -q)"
assert_eq "blobs left after prune -a" "0" "$(ls "$BERTH_ROOT/content/sha256" | wc -l)"

log "README: containers"
block=$(readme_block '## Containers')
assert_contains "the containers block" "$block" "berth run --rm"
BERTH_ROOT=$E2E_TMP/croot BERTH_STATE=$E2E_TMP/cstate
export BERTH_ROOT BERTH_STATE
on_exit "$BERTH_BUILD_DIR/bin/berth rm -f web"
run_block containers '' "$block"
out=$(cat "$E2E_TMP/containers.out")
assert_contains "run --rm's output" "$out" "hello"
assert_contains "exec in the container" "$out" "log"
grep -Eq '^[1-9][0-9]* /data/log$' "$E2E_TMP/containers.out" || fail "the volume's log did not outlive its container"
assert_eq "containers left" "" "$("$BERTH_BUILD_DIR/bin/berth" ps -aq)"
