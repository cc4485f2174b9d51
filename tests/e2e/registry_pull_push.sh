#!/usr/bin/env bash
# berth pull/push against Debian's docker-registry (distribution 2.8) on
# plain HTTP, on loopback, in a network namespace of the test's own:
#  - an image skopeo copied into the registry is pulled (HTTPS tried first,
#    plain HTTP because the registry answers plain HTTP) and runs;
#  - berth's pushes (monolithic, chunked, a cross-repository mount) are read
#    back by skopeo inspect with the digest berth printed;
#  - a multi-platform index: the host's platform by default (never the
#    unknown/unknown attestation listed first), --platform another;
#    push --all-platforms of it under another name (read back by skopeo
#    and pulled back per platform), refused when a platform is missing;
#  - bad input, one clear error each and nothing half-written in the store:
#    an unknown tag, a blob whose content does not match its digest, a
#    registry that drops the connection mid-blob (a proxy; the next pull
#    resumes with a Range request), a pull killed with -9 (finished by the
#    next pull), an unreachable registry (fails within seconds).
if [[ -z ${REG_IN_NETNS:-} ]]; then
  exec env REG_IN_NETNS=1 unshare -n bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/registry_env.bash"
e2e_init
engine_init
require_bin docker-registry skopeo jq
ip link set lo up

REG=$E2E_TMP/reg
PORT=5000
registry_start "$REG" $PORT
on_exit "kill $REG_PID"
H=127.0.0.1:$PORT
OCI=$BERTH_BUILD_DIR/images/busybox-oci
PROOT=$E2E_TMP/proot
p() { timeout 60 "$BERTH" --root "$PROOT" --state "$STATE" "$@"; }
export BERTH_CONFIG=$E2E_TMP/config
blob_count() { ls "$1/content/sha256" 2>/dev/null | wc -l; }

log "skopeo copy into the registry, berth pull, run"
skopeo copy -q --dest-tls-verify=false "oci:$OCI:latest" "docker://$H/library/busybox:1"
out=$(p pull "$H/library/busybox:1")
assert_contains "pull output" "$out" "Status: Downloaded newer image for $H/library/busybox:1"
assert_eq "pull's last line" "$H/library/busybox:1" "$(tail -n1 <<<"$out")"
cfg=$(jq -r '.manifests[0].digest' "$OCI/index.json")
want_id=$(jq -r .config.digest "$OCI/blobs/sha256/${cfg#sha256:}")
assert_eq "image id" "$want_id" "$(p image inspect "$H/library/busybox:1" | jq -r '.[0].Id')"
assert_eq "run the pulled image" "hi from the registry" "$(p run --rm --network none "$H/library/busybox:1" echo hi from the registry)"
out=$(p pull "$H/library/busybox:1")
assert_contains "second pull" "$out" "Status: Image is up to date for $H/library/busybox:1"
assert_eq "pull -q" "$H/library/busybox:1" "$(p pull -q "$H/library/busybox:1")"
skopeo copy -q --dest-tls-verify=false "oci:$OCI:latest" "docker://$H/library/busybox:2"
assert_eq "pull --all-tags" "$H/library/busybox:1 $H/library/busybox:2" "$(p pull -a -q "$H/library/busybox" | sort | paste -sd' ')"
expect_error 1 "--all-tags takes a repository name without a tag" p pull -a "$H/library/busybox:1"
[[ -z $(ls "$PROOT/content/download" 2>/dev/null) ]] || fail "partial downloads left after a good pull: $(ls "$PROOT/content/download")"

log "registry-mirrors: docker.io images come from the mirror"
MCONF=$E2E_TMP/mirrorconf
mkdir -p "$MCONF"
echo "{\"registry-mirrors\": [\"http://127.0.0.1:1\", \"http://$H\"]}" > "$MCONF/config.json"
MROOT=$E2E_TMP/mroot
BERTH_CONFIG=$MCONF timeout 60 "$BERTH" --root "$MROOT" pull -q busybox:1 >/dev/null
assert_eq "image pulled through the second mirror (the first is down)" "$want_id" \
  "$(timeout 10 "$BERTH" --root "$MROOT" image inspect busybox:1 | jq -r '.[0].Id')"

log "push: monolithic, read back by skopeo with the digest berth printed"
p tag "$H/library/busybox:1" "$H/mono/bb:1"
out=$(p push "$H/mono/bb:1")
line=$(tail -n1 <<<"$out")
[[ $line =~ ^1:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ ([0-9]+)$ ]] || fail "push's last line: [$line]"
digest=${BASH_REMATCH[1]}
assert_eq "skopeo inspect digest" "$digest" "$(skopeo inspect --tls-verify=false "docker://$H/mono/bb:1" | jq -r .Digest)"
assert_contains "push mounts from the repository it came from" "$out" "Mounted from library/busybox"

log "push: chunked upload to a second registry, no mount source there"
REG2=$E2E_TMP/reg2
registry_start "$REG2" 5001
on_exit "kill $REG_PID"
p tag "$H/library/busybox:1" "127.0.0.1:5001/chunked/bb:2"
out=$(p push --chunk-size 300000 "127.0.0.1:5001/chunked/bb:2")
assert_contains "chunked push" "$out" ": Pushed"
[[ $(tail -n1 <<<"$out") =~ ^2:\ digest:\ (sha256:[0-9a-f]{64})\ size: ]] || fail "chunked push's last line: $(tail -n1 <<<"$out")"
assert_eq "chunked push digest" "${BASH_REMATCH[1]}" "$(skopeo inspect --tls-verify=false docker://127.0.0.1:5001/chunked/bb:2 | jq -r .Digest)"
skopeo copy -q --src-tls-verify=false docker://127.0.0.1:5001/chunked/bb:2 "oci:$E2E_TMP/back:bb"
# skopeo compressed the layer on its way into the registry: its digest there.
layer=$(skopeo inspect --raw --tls-verify=false "docker://$H/library/busybox:1" | jq -r '.layers[0].digest')
cmp "$PROOT/content/sha256/${layer#sha256:}" "$E2E_TMP/back/blobs/sha256/${layer#sha256:}" || fail "chunked upload changed the layer"
out=$(p push "127.0.0.1:5001/chunked/bb:2")
assert_contains "second push" "$out" "Layer already exists"

log "multi-platform index: host's platform, --platform, attestation never chosen"
read -r amd arm < <(/usr/bin/python3 "$(dirname "$0")/registry/multi_platform.py" "$OCI" "$E2E_TMP/multi" | tr ' ' '\n' | cut -d= -f2 | paste -sd' ')
skopeo copy -q --all --dest-tls-verify=false "oci:$E2E_TMP/multi:multi" "docker://$H/multi:1"
p pull -q "$H/multi:1" >/dev/null
assert_eq "host platform picked" "$amd" "$(p image inspect "$H/multi:1" | jq -r '.[0].Id')"
p pull -q --platform linux/arm64 "$H/multi:1" >/dev/null
assert_eq "--platform linux/arm64" "$arm" "$(p image inspect "$H/multi:1" | jq -r '.[0].Id')"
idx=$(skopeo inspect --raw --tls-verify=false "docker://$H/multi:1" | sha256sum | cut -d' ' -f1)
p pull -q "$H/multi@sha256:$idx" >/dev/null
assert_eq "pulled by index digest, run by it" "by digest" "$(p run --rm --network none "$H/multi@sha256:$idx" echo by digest)"
p image inspect "$H/multi@sha256:$idx" | jq -e --arg d "$H/multi@sha256:$idx" '.[0].RepoDigests | index($d)' >/dev/null \
  || fail "RepoDigests lacks the index digest: $(p image inspect "$H/multi@sha256:$idx" | jq -c '.[0].RepoDigests')"
expect_error 1 "no manifest for linux/s390x (it offers linux/arm64, linux/amd64)" p pull --platform linux/s390x "$H/multi:1"
expect_error 1 "invalid platform" p pull --platform linux "$H/multi:1"

log "push --all-platforms: each platform's image by digest, then the index (attestations left out)"
p tag "$H/multi:1" "$H/copy/multi:2"
out=$(p push --all-platforms "$H/copy/multi:2")
[[ $(tail -n1 <<<"$out") =~ ^2:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]] || fail "push --all-platforms' last line: $(tail -n1 <<<"$out")"
pushed=${BASH_REMATCH[1]}
raw=$(skopeo inspect --raw --tls-verify=false "docker://$H/copy/multi:2")
assert_eq "the registry's index is the digest berth printed" "$pushed" "sha256:$(printf %s "$raw" | sha256sum | cut -d' ' -f1)"
assert_eq "the index lists both platforms, no attestation" "linux/arm64 linux/amd64" \
  "$(jq -r '[.manifests[].platform | "\(.os)/\(.architecture)"] | join(" ")' <<<"$raw")"
XROOT=$E2E_TMP/xroot
timeout 60 "$BERTH" --root "$XROOT" pull -q --platform linux/arm64 "$H/copy/multi:2" >/dev/null
assert_eq "the arm64 image pulled back from the copy" "$arm" "$(timeout 10 "$BERTH" --root "$XROOT" image inspect "$H/copy/multi:2" | jq -r '.[0].Id')"
timeout 60 "$BERTH" --root "$XROOT" pull -q "$H/copy/multi:2" >/dev/null
assert_eq "the amd64 image pulled back from the copy" "$amd" "$(timeout 10 "$BERTH" --root "$XROOT" image inspect "$H/copy/multi:2" | jq -r '.[0].Id')"
YROOT=$E2E_TMP/yroot
timeout 60 "$BERTH" --root "$YROOT" pull -q "$H/multi:1" >/dev/null
expect_error 1 "the store lacks the image for linux/arm64 (berth pull --platform linux/arm64 $H/multi:1)" \
  timeout 60 "$BERTH" --root "$YROOT" push --all-platforms "$H/multi:1"
printf 'FROM %s/library/busybox:1\nLABEL single=1\n' "$H" | p build -q -t "$H/single:1" - >/dev/null
expect_error 1 "$H/single:1 was not pulled from a multi-platform index" p push --all-platforms "$H/single:1"

log "bad input: unknown tag, unknown repository"
n=$(p images -q | wc -l)
expect_error 1 "manifest unknown" p pull "$H/library/busybox:nope"
expect_error 1 "manifest unknown" p pull "$H/no/such:1"
assert_eq "no image added" "$n" "$(p images -q | wc -l)"

log "bad input: a layer whose content does not match its digest"
skopeo copy -q --dest-tls-verify=false "oci:$OCI:latest" "docker://$H/corrupt:1"
clayer=$(skopeo inspect --raw --tls-verify=false "docker://$H/corrupt:1" | jq -r '.layers[0].digest')
data=$REG/store/docker/registry/v2/blobs/sha256/${clayer:7:2}/${clayer#sha256:}/data
[[ -f $data ]] || fail "registry blob file $data not found"
cp "$data" "$E2E_TMP/good-layer"
/usr/bin/python3 -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(100000); b=f.read(1); f.seek(100000); f.write(bytes([b[0]^0xff]))' "$data"
CROOT=$E2E_TMP/croot
c() { timeout 60 "$BERTH" --root "$CROOT" --state "$STATE" "$@"; }
expect_error 1 "digest mismatch: the manifest says $clayer" c pull -q "$H/corrupt:1"
[[ ! -e $CROOT/content/sha256/${clayer#sha256:} ]] || fail "corrupt layer landed in the store"
[[ -z $(ls "$CROOT/content/download") ]] || fail "corrupt partial kept: $(ls "$CROOT/content/download")"
assert_eq "no image after a corrupt pull" "" "$(c images -q)"
cp "$E2E_TMP/good-layer" "$data"

log "bad input: the connection drops mid-blob; the next pull resumes"
echo "cut 20000" > "$E2E_TMP/mode"
/usr/bin/python3 "$(dirname "$0")/registry/cut_proxy.py" 5100 $PORT "$E2E_TMP/mode" "$E2E_TMP/proxy.log" &
on_exit "kill $!"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/5100" || fail "proxy did not start"
DROOT=$E2E_TMP/droot
d() { timeout 60 "$BERTH" --root "$DROOT" --state "$STATE" "$@"; }
run_capture out rc d pull -q 127.0.0.1:5100/library/busybox:1
[[ $rc != 0 ]] || fail "pull through a dropping proxy succeeded"
[[ $(grep -c . <<<"$out") == 1 ]] || fail "want one line of error, got: $out"
assert_contains "drop error" "$out" "layer 1 of 127.0.0.1:5100/library/busybox:1"
assert_eq "no image after a dropped pull" "" "$(d images -q)"
[[ ! -e $DROOT/content/sha256/${layer#sha256:} ]] || fail "partial layer landed in the store"
partial=$(stat -c %s "$DROOT/content/download/${layer#sha256:}")
((partial > 0)) || fail "no partial download kept to resume"
echo pass > "$E2E_TMP/mode"
: > "$E2E_TMP/proxy.log"
d pull -q 127.0.0.1:5100/library/busybox:1 >/dev/null
grep -qi "^range: bytes=$partial-" "$E2E_TMP/proxy.log" || fail "next pull did not resume from byte $partial: $(cat "$E2E_TMP/proxy.log")"
assert_eq "resumed pull's image" "$want_id" "$(d image inspect 127.0.0.1:5100/library/busybox:1 | jq -r '.[0].Id')"

log "kill -9 of a pull; the next pull finishes"
echo "slow 200000" > "$E2E_TMP/mode"
KROOT=$E2E_TMP/kroot
"$BERTH" --root "$KROOT" --state "$STATE" pull -q 127.0.0.1:5100/library/busybox:1 > /dev/null 2>&1 &
pull_pid=$!
wait_until 20 bash -c "[[ -s $KROOT/content/download/${layer#sha256:} ]]" || fail "killed pull never started the layer"
kill -9 $pull_pid
wait $pull_pid 2>/dev/null || true
wait_until 5 bash -c "! pgrep -f -- '[b]erth-registry --root $KROOT'" || fail "berth-registry outlived the killed berth"
[[ ! -e $KROOT/content/sha256/${layer#sha256:} ]] || fail "killed pull stored a partial layer"
echo pass > "$E2E_TMP/mode"
timeout 60 "$BERTH" --root "$KROOT" --state "$STATE" pull -q 127.0.0.1:5100/library/busybox:1 >/dev/null
assert_eq "image after a killed pull" "$want_id" "$(timeout 10 "$BERTH" --root "$KROOT" image inspect 127.0.0.1:5100/library/busybox:1 | jq -r '.[0].Id')"

log "unreachable registry: fails fast with a clear error"
start=$SECONDS
expect_error 1 "cannot be reached" p pull 127.0.0.1:9/x/y:1
expect_error 1 "cannot be reached" p pull 10.255.255.1:5000/x/y:1
((SECONDS - start <= 10)) || fail "unreachable registries took $((SECONDS - start)) s"

log "run of an image the store lacks pulls it (--pull missing), --pull never does not"
RROOT=$E2E_TMP/rroot
r() { timeout 60 "$BERTH" --root "$RROOT" --state "$STATE" "$@"; }
expect_error 125 "No such image: $H/library/busybox:1" r run --rm --pull never --network none "$H/library/busybox:1" true
out=$(r run --rm --network none "$H/library/busybox:1" echo pulled and ran 2>"$E2E_TMP/run.err")
assert_eq "run after an implicit pull" "pulled and ran" "$out"
assert_contains "run's stderr" "$(cat "$E2E_TMP/run.err")" "Unable to find image '$H/library/busybox:1' locally"
assert_contains "run's stderr" "$(cat "$E2E_TMP/run.err")" "Status: Downloaded newer image for $H/library/busybox:1"
assert_eq "image pulled by run" "$want_id" "$(r image inspect "$H/library/busybox:1" | jq -r '.[0].Id')"
expect_error 125 "No such image: $H/library/busybox:nope (pull: $H/library/busybox:nope: manifest unknown" \
  r run --rm --network none "$H/library/busybox:nope" true
