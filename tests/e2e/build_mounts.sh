#!/usr/bin/env bash
# RUN --mount (BuildKit's syntax) and `#!` heredocs, their effects asserted
# directly (docker's classic builder, our peer here, has neither):
#  - type=cache: content survives between builds (--no-cache too), shared
#    by id, mode/uid/gid on creation, never in the image;
#  - type=bind: the context (read-only; rw writes thrown away), a stage via
#    from=; the source's content is in the cache key;
#  - type=tmpfs with a size; type=secret from `--secret id=,src=`: mode
#    0400, in no layer, a missing required one an error, an optional one
#    skipped; `--secret id=,env=VAR` too;
#  - `RUN <<EOF` whose body starts with #! runs with that interpreter;
#  - bad input: one line naming Dockerfile:LINE, nothing left behind.
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init

ctx=$E2E_TMP/ctx; mkdir -p "$ctx/data"
echo "one $E2E_MARK" > "$ctx/data/x"
build() { b build "$@" >"$E2E_TMP/build.out" 2>&1 || { cat "$E2E_TMP/build.out" >&2; fail "build $* failed"; }; }
r() { local img=$1; shift; b run --rm --network none "$img" "$@"; }
expect_build_error() {
  local pat=$1 rc=0; shift
  b build "$@" >"$E2E_TMP/err.out" 2>"$E2E_TMP/err.err" || rc=$?
  [[ $rc == 1 ]] || fail "build $*: exit $rc, want 1 ($(cat "$E2E_TMP/err.err"))"
  [[ $(wc -l < "$E2E_TMP/err.err") == 1 ]] || fail "build $*: want one line on stderr, got: $(cat "$E2E_TMP/err.err")"
  assert_contains "build $*" "$(cat "$E2E_TMP/err.err")" "$pat"
}
# every file of every layer of IMAGE, for "not in any layer" checks
layers_of() { b image inspect "$1" | jq -r '.[0].GraphDriver.Data.LowerDir' | tr ':' '\n'; }

log "type=cache: kept between builds, by id, with mode and owner; not in the image"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox
RUN --mount=type=cache,target=/cache echo run >> /cache/runs && wc -l < /cache/runs > /count
RUN --mount=type=cache,id=shared,target=/a,sharing=locked echo shared > /a/f
RUN --mount=type=cache,id=shared,target=/b,sharing=private cat /b/f > /from-b
RUN --mount=type=cache,target=/c2,uid=1000,gid=1000,mode=0700 stat -c '%u %g %a' /c2 > /c2-stat
DF
build -t mounts/cache "$ctx"
assert_eq "first build: one run in the cache" 1 "$(r mounts/cache cat /count)"
build --no-cache -t mounts/cache "$ctx"
assert_eq "second build: the cache kept the first run's line" 2 "$(r mounts/cache cat /count)"
assert_eq "a cache shared by id across targets" shared "$(r mounts/cache cat /from-b)"
assert_eq "mode and owner of a new cache" "1000 1000 700" "$(r mounts/cache cat /c2-stat)"
assert_eq "mount points not in the image" "no no no no" \
  "$(r mounts/cache sh -c 'for d in /cache /a /b /c2; do test -e $d && echo yes || echo no; done' | paste -sd' ')"

log "type=bind: the context read-only, rw thrown away, a stage with from=, content in the key"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox AS stage
RUN echo staged > /s
FROM busybox
RUN --mount=type=bind,source=data,target=/data cat /data/x > /copied
RUN --mount=target=/ctx sh -c 'touch /ctx/new 2>/dev/null && echo writable || echo read-only' > /ro
RUN --mount=type=bind,target=/ctx,rw sh -c 'echo w > /ctx/data/x && cat /ctx/data/x' > /rw
RUN --mount=type=bind,from=stage,source=/s,target=/m cat /m > /got
DF
dangling=$(b images -a | grep -c '<none>' || true)
build -t mounts/bind "$ctx"
assert_eq "bind of a context dir" "one $E2E_MARK" "$(r mounts/bind cat /copied)"
assert_eq "bind is read-only by default" read-only "$(r mounts/bind cat /ro)"
assert_eq "rw: the RUN wrote" w "$(r mounts/bind cat /rw)"
assert_eq "rw: the context is untouched" "one $E2E_MARK" "$(cat "$ctx/data/x")"
[[ ! -e $ctx/new ]] || fail "a read-only bind let the RUN write into the context"
assert_eq "bind from a stage" staged "$(r mounts/bind cat /got)"
assert_eq "no untagged image left (the stage a from= mounted is forgotten)" "$dangling" "$(b images -a | grep -c '<none>' || true)"
r mounts/bind sh -c 'test ! -e /data && test ! -e /ctx && test ! -e /m' || fail "bind mount points left in the image"
echo "two $E2E_MARK" > "$ctx/data/x"
build -t mounts/bind "$ctx"
assert_eq "changed source: the RUN ran again" "two $E2E_MARK" "$(r mounts/bind cat /copied)"
grep -q "RUN --mount=type=bind,from=stage" "$E2E_TMP/build.out" || fail "no step line"
build -t mounts/bind "$ctx"
assert_eq "unchanged: every RUN cached" 5 "$(grep -c CACHED "$E2E_TMP/build.out")"

log "type=bind of the context hides what .dockerignore excludes (as COPY sees it)"
echo "hidden $E2E_MARK" > "$ctx/data/ignored.log"
mkdir -p "$ctx/data/logs"; echo keep > "$ctx/data/logs/keep.log"; echo drop > "$ctx/data/logs/drop.log"
printf '**/*.log\n!data/logs/keep.log\n' > "$ctx/.dockerignore"
printf 'FROM busybox\nRUN --mount=target=/ctx,source=data sh -c "cd /ctx && find . | sort | paste -sd, -" > /seen\nRUN --mount=target=/ctx,rw sh -c "ls /ctx/data/ignored.log 2>&1 | grep -c \\"No such\\"" > /rw-seen\n' > "$ctx/Dockerfile"
build -t mounts/ignore "$ctx"
assert_eq "the excluded files are not in the bind" ".,./logs,./logs/keep.log,./x" "$(r mounts/ignore cat /seen)"
assert_eq "nor in a rw bind" 1 "$(r mounts/ignore cat /rw-seen)"
rm -f "$ctx/.dockerignore" "$ctx/data/ignored.log"; rm -rf "$ctx/data/logs"

log "type=tmpfs with a size"
printf 'FROM busybox\nRUN --mount=type=tmpfs,target=/t,size=2m sh -c "echo x > /t/f && df -k /t | tail -n1" > /df\n' > "$ctx/Dockerfile"
build -t mounts/tmpfs "$ctx"
assert_eq "a 2 MiB tmpfs" 2048 "$(r mounts/tmpfs awk '{print $2}' /df)"
r mounts/tmpfs test ! -e /t || fail "the tmpfs mount point is in the image"

log "type=secret: 0400, in no layer; required and optional"
secret="s3cr3t-$E2E_MARK"
echo "$secret" > "$E2E_TMP/tok"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox
RUN --mount=type=secret,id=tok sh -c 'stat -c "%a %u" /run/secrets/tok; md5sum < /run/secrets/tok' > /seen
RUN --mount=type=secret,id=tok,target=/etc/tok.conf,mode=0440 stat -c %a /etc/tok.conf > /seen2
RUN --mount=type=secret,id=absent sh -c 'test -e /run/secrets/absent && echo there || echo skipped' > /optional
DF
build --secret id=tok,src="$E2E_TMP/tok" -t mounts/secret "$ctx"
assert_eq "secret mode and owner" "400 0" "$(r mounts/secret head -n1 /seen)"
assert_eq "secret content" "$(md5sum < "$E2E_TMP/tok")" "$(r mounts/secret tail -n1 /seen)"
assert_eq "secret with a target and mode" 440 "$(r mounts/secret cat /seen2)"
assert_eq "an optional secret not given is skipped" skipped "$(r mounts/secret cat /optional)"
for d in $(layers_of mounts/secret); do
  if grep -rqs -- "$secret" "$d"; then fail "the secret is in layer $d"; fi
  [[ ! -e $d/run/secrets && ! -e $d/etc/tok.conf ]] || fail "a secret mount point is in layer $d"
done
if grep -rqs -- "$secret" "$ROOT/content" "$ROOT/berth.db"; then fail "the secret is in the store"; fi
printf 'FROM busybox\nRUN --mount=type=secret,id=fromenv,required cat /run/secrets/fromenv > /dev/null && md5sum < /run/secrets/fromenv > /env-md5\n' > "$ctx/Dockerfile"
ENV_SECRET="env-$secret" build --secret id=fromenv,env=ENV_SECRET -t mounts/envsecret "$ctx"
assert_eq "a secret from an environment variable" "$(printf %s "env-$secret" | md5sum)" "$(r mounts/envsecret cat /env-md5)"
[[ -z $(ls "$ROOT/build-tmp" 2>/dev/null) ]] || fail "the env secret's file was left: $(ls "$ROOT/build-tmp")"
expect_build_error "--secret id=fromenv: the environment variable NOT_SET_$$ is not set" --secret id=fromenv,env=NOT_SET_$$ "$ctx"
printf 'FROM busybox\n\nRUN --mount=type=secret,id=need,required=true cat /run/secrets/need\n' > "$ctx/Dockerfile"
expect_build_error "Dockerfile:3: secret need is required but was not given (berth build --secret id=need,src=FILE)" "$ctx"
rc=0; b build --secret id=tok,src="$E2E_TMP/nope" "$ctx" >/dev/null 2>"$E2E_TMP/err.err" || rc=$?
[[ $rc != 0 && $(wc -l < "$E2E_TMP/err.err") == 1 ]] || fail "a missing secret file: exit $rc, $(cat "$E2E_TMP/err.err")"
assert_contains "a missing secret file" "$(cat "$E2E_TMP/err.err")" "--secret id=tok: cannot read $E2E_TMP/nope"

log "a #! heredoc runs with its interpreter"
cat > "$ctx/Dockerfile" <<'DF'
FROM busybox
RUN <<EOT
#!/usr/bin/awk -f
BEGIN { print "awk ran me" > "/by-awk" }
EOT
DF
build -t mounts/shebang "$ctx"
assert_eq "the script ran under awk" "awk ran me" "$(r mounts/shebang cat /by-awk)"
r mounts/shebang test ! -e /dev/pipes/EOT || true

log "bad --mount options: one line naming the line, nothing left behind"
before=$(b images -q -a | sort | paste -sd' ')
bad() {
  printf 'FROM busybox\nRUN %s true\n' "$1" > "$ctx/Dockerfile"
  expect_build_error "Dockerfile:2: $2" "$ctx"
}
bad "--mount=type=cache,target=/x,bogus=1" "--mount: unexpected key 'bogus' in 'bogus=1'"
bad "--mount=type=nope,target=/x" "--mount type=nope: unknown mount type (bind, cache, tmpfs, secret)"
bad "--mount=type=tmpfs" "--mount type=tmpfs: a target is required"
bad "--mount=type=cache,target=/x,sharing=sometimes" "--mount sharing=sometimes: unknown sharing mode"
bad "--mount=type=cache,target=/x,mode=999" "--mount mode=999: not an octal mode"
bad "--mount=type=bind,source=../outside,target=/x" "forbidden path outside the build context"
bad "--mount=type=bind,source=missing,target=/x" "file not found in build context or excluded by .dockerignore: missing"
bad "--mount=type=bind,from=127.0.0.1:1/nostage,target=/x" "image 127.0.0.1:1/nostage is not in the store and could not be pulled"
assert_eq "no image recorded by the failed builds" "$before" "$(b images -q -a | sort | paste -sd' ')"
[[ -z $(ls "$ROOT/build-tmp" 2>/dev/null) ]] || fail "left in build-tmp: $(ls "$ROOT/build-tmp")"
[[ -z $(ls "$ROOT/containers" 2>/dev/null) ]] || fail "containers left: $(ls "$ROOT/containers")"
[[ -z $(awk -v r="$ROOT/" 'index($5, r) == 1' /proc/self/mountinfo) ]] || fail "mounts left under $ROOT"
