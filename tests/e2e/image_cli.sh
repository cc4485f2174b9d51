#!/usr/bin/env bash
# The image verbs as a user types them: output shapes, exit codes, one-line
# errors, nothing leaked on bad input.
set -euo pipefail
trap 'echo "failed at line $LINENO" >&2' ERR
build=${BERTH_BUILD_DIR:?}
berth=$build/bin/berth
archive=$build/images/busybox-docker-archive.tar
[[ -f $archive ]] || { echo "skip: $archive missing (run scripts/make-base-image $build/images)"; exit 77; }
[[ $(id -u) -eq 0 ]] || { echo "skip: needs root"; exit 77; }
tmp=$(mktemp -d /tmp/berth-e2e-cli-XXXXXX)
trap '"$berth" --root "$root" rm -f live >/dev/null 2>&1 || true; umount -R -l "$tmp"/root/containers/*/merged 2>/dev/null || true; rm -rf "$tmp"' EXIT
root=$tmp/root
b() { "$berth" --root "$root" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# expect CODE PATTERN cmd...: exit code and a one-line "berth: " error.
expect() {
  local code=$1 pat=$2; shift 2
  local err rc=0
  err=$(b "$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc == "$code" ]] || fail "berth $*: exit $rc, want $code ($err)"
  [[ $(printf '%s\n' "$err" | wc -l) == 1 && $err == "berth: "* ]] || fail "berth $*: not one error line: $err"
  [[ $err == *$pat* ]] || fail "berth $*: error lacks '$pat': $err"
}

[[ $(b load -i "$archive") == "Loaded image: busybox:latest" ]] || fail load
b load < "$archive" >/dev/null                      # stdin
b images | head -1 | grep '^REPOSITORY *TAG *IMAGE ID *CREATED *SIZE$' >/dev/null || fail "images header"
[[ $(b images -q) =~ ^[0-9a-f]{12}$ ]] || fail "images -q"
b images --digests | grep 'sha256:' >/dev/null || fail "--digests"
b images --format json | jq -e '.Repository == "busybox" and .Tag == "latest"' >/dev/null || fail "--format json"
b tag busybox me/app:1
b image tag busybox:latest quay.io/x/y
[[ $(b image ls | wc -l) == 4 ]] || fail "image ls after tag"
b image inspect me/app:1 | jq -e '.[0].RepoTags | length == 3' >/dev/null || fail inspect
[[ $(b image inspect -f '{{.Os}}/{{.Architecture}}' me/app:1) == linux/amd64 ]] || fail "image inspect -f"
b image inspect --format json me/app:1 | jq -e '.Os == "linux"' >/dev/null || fail "image inspect --format json"
[[ $(b rmi me/app:1) == "Untagged: me/app:1" ]] || fail "rmi of one tag"
b image rm quay.io/x/y >/dev/null

expect 3 'image "nope" not found' rmi nope
expect 3 'not found' image inspect nope
expect 2 'invalid reference' tag busybox 'Bad:Name'
expect 2 'unknown format' save --format zip -o "$tmp/x.tar" busybox
expect 3 'does-not-exist.tar' load -i "$tmp/does-not-exist.tar"
echo "not a tar" > "$tmp/junk.tar"
expect 2 'junk.tar' load -i "$tmp/junk.tar"
head -c 1000000 "$archive" > "$tmp/trunc.tar"
expect 7 'truncated' load -i "$tmp/trunc.tar"
# An image config whose history holds a number: `history` and `image
# inspect` threw json's type_error on it; load refuses it, naming the entry.
mkdir "$tmp/hist" && tar -C "$tmp/hist" -xf "$archive"
cfg=$(jq -r '.[0].Config' "$tmp/hist/manifest.json")
jq -c '.history = [1]' "$tmp/hist/$cfg" > "$tmp/hist/c" && mv "$tmp/hist/c" "$tmp/hist/$cfg"
jq -c '.[0].RepoTags = ["hostile:hist"]' "$tmp/hist/manifest.json" > "$tmp/hist/m" && mv "$tmp/hist/m" "$tmp/hist/manifest.json"
tar -C "$tmp/hist" -cf "$tmp/hist.tar" .
images_before=$(b images -q | sort)
expect 2 '.json: history?0] is not an object' load -i "$tmp/hist.tar"
[[ $(b images -q | sort) == "$images_before" ]] || fail "a refused load changed the images"
[[ $(ls "$root/content/ingest" | wc -l) == 0 ]] || fail "ingest leftovers"
[[ $(ls "$root/layers" | grep -c '^\.tmp') == 0 ]] || fail "layer temp dirs left"

# save is atomic: a failed save leaves no file.
expect 3 'not found' save -o "$tmp/out.tar" busybox nope
[[ ! -e $tmp/out.tar ]] && ! ls "$tmp"/out.tar.berth-tmp-* >/dev/null 2>&1 || fail "failed save left a file"
b save -o "$tmp/out.tar" busybox
tar -tf "$tmp/out.tar" | grep '^manifest.json$' >/dev/null || fail "docker-archive lacks manifest.json"

# rmi refuses an image a container uses; -f overrides.
b image snapshot prepare web busybox >/dev/null
expect 5 'used by container web' rmi busybox
b image snapshot rm web
b rmi busybox | grep '^Untagged: busybox:latest' >/dev/null || fail "rmi busybox"
b image prune -a | grep 'Total reclaimed space' >/dev/null || fail prune
[[ -z $(b images -q) ]] || fail "images left after prune -a"
[[ $(ls "$root/content/sha256" | wc -l) == 0 ]] || fail "blobs left after prune"
# Four processes load the same archive into one root at once: one layer
# dir, one image, no temporaries.
pids=()
for i in 1 2 3 4; do b load -q -i "$archive" & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || fail "a parallel load failed"; done
[[ $(b images -q) =~ ^[0-9a-f]{12}$ ]] || fail "parallel loads: $(b images)"
[[ $(ls "$root/layers" | grep -vc '^\.') == 1 ]] || fail "parallel loads: layer dirs: $(ls -a "$root/layers")"
[[ $(ls -a "$root/layers" | grep -c '^\.tmp') == 0 && $(ls "$root/content/ingest" | wc -l) == 0 ]] || fail "parallel loads left temporaries"
b image snapshot prepare p1 busybox >/dev/null
[[ $(chroot "$(b image snapshot mount p1)" /bin/busybox echo ok) == ok ]] || fail "run after parallel loads"
b image snapshot rm p1

# commit takes a container by name; a running one is paused meanwhile and
# runs on after, and the layer holds what it wrote.
b run -d --name live busybox sh -c 'echo x > /x; exec sleep 100' >/dev/null
id=$(b inspect live | jq -r '.[0].Id')
for _ in $(seq 50); do [[ -f $root/containers/$id/upper/x ]] && break; sleep 0.1; done
b commit live me/live:1 >/dev/null
[[ $(b inspect live | jq -r '.[0].State.Status') == running ]] || fail "commit left live $(b inspect live | jq -r '.[0].State.Status')"
[[ $(b run --rm me/live:1 cat /x) == x ]] || fail "the committed layer lacks what the container wrote"
b rm -f live >/dev/null
expect 1 'No such container: nope' commit nope me/nope:1   # docker's exit code for a container verb
echo "ok: image CLI"
