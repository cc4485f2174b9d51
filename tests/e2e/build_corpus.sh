#!/usr/bin/env bash
# `berth build` on the corpus under tests/build/: each Dockerfile built, then
# its image run or its config read; errors that name FILE:LINE; a context
# symlink that points outside; the cache (a rebuild with nothing changed
# starts no container, one changed file rebuilds from its step on); the
# flags (-f -, a tar context on stdin, -q, -t twice, --label, --target,
# --build-arg, --no-cache) and `berth image history`.
source "$(dirname "$0")/lib.sh"
e2e_init
engine_init

CORPUS=$E2E_TMP/corpus
cp -a "$BERTH_SOURCE_DIR/tests/build" "$CORPUS"
# modes git does not keep
chmod 751 "$CORPUS/single/dir/sub"
chmod 640 "$CORPUS/single/dir/a.txt"

build() { b build "$@" >"$E2E_TMP/build.out" 2>&1 || { cat "$E2E_TMP/build.out" >&2; fail "build $* failed"; }; }
run_in() { b run --rm "$@"; }
# expect_build_error PATTERN ARGS...: `berth build ARGS` exits 1 with one
# line on stderr holding PATTERN (the steps before may be on stdout).
expect_build_error() {
  local pat=$1 rc=0; shift
  b build "$@" >"$E2E_TMP/err.out" 2>"$E2E_TMP/err.err" || rc=$?
  [[ $rc == 1 ]] || fail "build $*: exit $rc, want 1 ($(cat "$E2E_TMP/err.err"))"
  [[ $(wc -l < "$E2E_TMP/err.err") == 1 ]] || fail "build $*: want one line on stderr, got: $(cat "$E2E_TMP/err.err")"
  assert_contains "build $*" "$(cat "$E2E_TMP/err.err")" "$pat"
}
cfg() { b image inspect "$1" | jq -r -c -S ".[0].Config$2"; }

log "single stage: COPY (file, dir with modes), RUN, CMD"
build -t corpus/single "$CORPUS/single"
assert_eq "CMD output" "hello from the context" "$(run_in corpus/single)"
assert_eq "RUN's chmod" "600" "$(run_in corpus/single stat -c %a /copy)"
assert_eq "dir contents copied, modes kept" "640 751 b" \
  "$(run_in corpus/single sh -c 'stat -c %a /opt/dir/a.txt /opt/dir/sub | tr "\n" " "; cat /opt/dir/sub/b.txt')"
assert_eq "COPY gives root ownership" "0:0" "$(run_in corpus/single stat -c %u:%g /opt/dir/a.txt)"
run_in corpus/single test -d /made/by/run || fail "RUN's mkdir is not in the image"
# the RUN layer holds what the command made, not the runtime's mount targets
top=$(b image inspect corpus/single | jq -r '.[0].GraphDriver.Data.LowerDir' | cut -d: -f1)
[[ -d $top/made/by/run ]] || fail "top layer $top lacks the RUN's dir"
for f in etc/hostname etc/hosts etc/resolv.conf; do
  [[ ! -e $top/$f ]] || fail "the RUN layer holds the mount target $f"
done
assert_eq "history: one entry per step, newest first" 5 "$(b image history -q corpus/single | wc -l)"
assert_contains "history shows the RUN" "$(b image history --no-trunc corpus/single)" "/bin/sh -c cat /hello.txt > /copy"

log "multi-stage: an unused stage is skipped, COPY --from a stage, an index and an image, FROM scratch"
build -t corpus/multi "$CORPUS/multistage"
if grep -q "must be skipped" "$E2E_TMP/build.out"; then fail "the unused stage ran"; fi
assert_eq "the result" built "$(run_in corpus/multi)"
assert_eq "COPY --from=0 dir/" "second" "$(run_in corpus/multi cat /out-copy/other)"
assert_eq "scratch: only what was copied" "bin out-copy result" "$(run_in corpus/multi ls / | grep -v -e dev -e etc -e proc -e sys | tr '\n' ' ' | sed 's/ $//')"
log "--target builds only what the target needs"
build --target builder -t corpus/builder "$CORPUS/multistage"
assert_eq "target stage" built "$(run_in corpus/builder cat /out/result)"
if grep -q "test \"\$(cat" "$E2E_TMP/build.out"; then fail "--target builder ran the tester stage"; fi
expect_error 1 'target stage "nope" could not be found' b build --target nope "$CORPUS/multistage"

log "every instruction: config as docker writes it"
build -t corpus/every --build-arg VERSION=2.5 "$CORPUS/every"
assert_eq "Env" '["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","APP_HOME=/app","APP_VERSION=2.5","OLD_STYLE=value with spaces"]' "$(cfg corpus/every .Env)"
assert_eq "Labels" '{"org.example.version":"2.5","two words":"a b"}' "$(cfg corpus/every .Labels)"
assert_eq "ExposedPorts" '["443/tcp","53/udp","80/tcp","8000/tcp","8001/tcp","8002/tcp"]' "$(cfg corpus/every '.ExposedPorts | keys')"
assert_eq "Volumes" '["/cache","/data","/logs"]' "$(cfg corpus/every '.Volumes | keys')"
assert_eq "WorkingDir" /app/sub "$(cfg corpus/every .WorkingDir)"
assert_eq "User" root "$(cfg corpus/every .User)"
assert_eq "StopSignal" SIGQUIT "$(cfg corpus/every .StopSignal)"
assert_eq "Healthcheck" '{"Interval":5000000000,"Retries":4,"StartPeriod":1000000000,"Test":["CMD","test","-f","/owned.txt"],"Timeout":2000000000}' "$(cfg corpus/every .Healthcheck)"
assert_eq "OnBuild" '["RUN echo triggered > /onbuild.txt"]' "$(cfg corpus/every .OnBuild)"
assert_eq "Shell" '["/bin/sh","-ec"]' "$(cfg corpus/every .Shell)"
assert_eq "Entrypoint" '["/bin/sh","-c"]' "$(cfg corpus/every .Entrypoint)"
assert_eq "Cmd" '["echo $APP_VERSION"]' "$(cfg corpus/every .Cmd)"
assert_eq "MAINTAINER is the author" "Jane Doe <jane@example.com>" "$(b image inspect corpus/every | jq -r '.[0].Author')"
assert_eq "the image runs its ENTRYPOINT + CMD" 2.5 "$(run_in corpus/every)"
assert_eq "ADD extracts a local tar.gz" packed "$(run_in --entrypoint cat corpus/every /unpacked/inside/file.txt)"
assert_eq "ADD a plain file relative to WORKDIR" plain "$(run_in --entrypoint cat corpus/every /app/sub/relative.txt)"
assert_eq "COPY --chown --chmod" "1234:5678 640" "$(run_in --entrypoint stat corpus/every -c '%u:%g %a' /owned.txt)"
assert_eq "COPY --chown=user:group (from the image's passwd, group)" "65534:65534" "$(run_in --entrypoint stat corpus/every -c '%u:%g' /owned-by-name.txt)"
assert_eq "COPY --chown=user: the group number is the user's" "1:1" "$(run_in --entrypoint stat corpus/every -c '%u:%g' /owned-by-user.txt)"
assert_eq "ARG in RUN, WORKDIR as cwd" "version=2.5 unset=[none] pwd=/app/sub" "$(run_in --entrypoint cat corpus/every /app/sub/run.txt)"
assert_eq "USER for RUN" 65534 "$(run_in --entrypoint cat corpus/every /tmp/uid)"
assert_eq "SHELL for RUN" "shell flags: ehc" "$(run_in --entrypoint cat corpus/every /shell.txt | sed 's/shell flags: .*e.*/shell flags: ehc/')"
assert_eq "ARGs are not in the image's Env" false "$(cfg corpus/every '.Env | any(startswith("VERSION=") or startswith("UNSET_ARG"))')"

log "ONBUILD triggers run in a child build, and are not inherited"
build -t corpus/onbuild-base "$CORPUS/onbuild-base"
build -t corpus/onbuild-child "$CORPUS/onbuild-child"
assert_contains "triggers announced" "$(cat "$E2E_TMP/build.out")" "Executing 2 build triggers"
assert_eq "the triggers' COPY and RUN" "marked child ran" "$(run_in corpus/onbuild-child cat /marker.txt /child.txt | tr '\n' ' ' | sed 's/ $//')"
assert_eq "OnBuild not inherited" null "$(cfg corpus/onbuild-child .OnBuild)"

log "quoting and substitution"
build -t corpus/quoting "$CORPUS/quoting"
assert_eq "ENV values" "hello world
no \$expansion here
\$NOT_A_VAR
a b
fallback
set
[]
say \"hi\"
premid dlepost" "$(run_in corpus/quoting cat /env.txt)"
assert_eq "continuation lines" "a b c" "$(run_in corpus/quoting cat /continued.txt)"
assert_eq "JSON COPY with spaces" spaced "$(run_in corpus/quoting cat '/dest dir/file with spaces.txt')"

log "heredocs"
build -t corpus/heredoc "$CORPUS/heredoc"
assert_contains "the syntax directive is noted" "$(cat "$E2E_TMP/build.out")" "# syntax=docker/dockerfile:1: noted"
assert_eq "RUN <<EOF" "first line heredoc
second" "$(run_in corpus/heredoc cat /script.txt)"
assert_eq "RUN cat <<'END'" "literal \$NAME
tail" "$(run_in corpus/heredoc cat /from-cat.txt)"
assert_eq "COPY <<EOF expands" "name=heredoc" "$(run_in corpus/heredoc cat /expanded.txt)"
assert_eq "COPY <<-\"EOT\" strips tabs, does not expand" "tabs stripped, no \$NAME expansion" "$(run_in corpus/heredoc cat /dir/EOT)"
assert_eq "second heredoc" "second file heredoc" "$(run_in corpus/heredoc cat /dir/EOT2)"

log ".dockerignore (\"*.log\" is the top level only, as docker's)"
build -t corpus/ignore "$CORPUS/ignore"
assert_eq "what COPY . saw" ".
./.dockerignore
./docs
./docs/keep.md
./keep
./keep/a.txt
./secret.pub
./src.c
./sub
./sub/x.log" "$(run_in corpus/ignore cat /listing.txt)"
assert_eq "glob" src.c "$(run_in corpus/ignore ls /globbed)"

log "escape directive"
build -t corpus/escape "$CORPUS/escape"
assert_eq "backtick continuation" "one two" "$(run_in corpus/escape cat /escaped.txt)"
assert_eq "backslashes are plain" 'C:\path\to' "$(run_in corpus/escape cat /win.txt)"

log "a Dockerfile in Latin-1: each byte that is not UTF-8 becomes U+FFFD, as in docker's image config"
lat=$E2E_TMP/latin1; mkdir -p "$lat"
printf 'FROM busybox\nENV GREETING=caf\351\nRUN echo "$GREETING" > /g\n' > "$lat/Dockerfile"
build -t corpus/latin1 "$lat"
assert_eq "ENV in the config" "GREETING=caf$(printf '\357\277\275')" "$(b image inspect -f '{{index .Config.Env 1}}' corpus/latin1)"
assert_eq "what RUN saw" "caf$(printf '\357\277\275')" "$(run_in corpus/latin1 cat /g)"

log "errors name FILE:LINE and leave nothing behind"
bad=$E2E_TMP/bad; mkdir -p "$bad"; echo x > "$bad/x"
containers_before=$(ls "$ROOT/containers" | wc -l)
printf 'FROM busybox\nFROBNICATE x\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:2: unknown instruction: FROBNICATE" "$bad"
printf 'FROM busybox\nCMD ["a", oops]\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:2: bad JSON in the exec form of CMD" "$bad"
printf 'FROM busybox\n\nCOPY ../outside /x\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:3: forbidden path outside the build context: ../outside" "$bad"
# (names on a closed loopback port: a build pulls what the store lacks, and tests never leave the machine)
printf 'FROM busybox\nCOPY --from=127.0.0.1:1/nosuch /x /x\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:2: invalid from flag value 127.0.0.1:1/nosuch: image 127.0.0.1:1/nosuch is not in the store and could not be pulled" "$bad"
# Numbers past their type's range: std::stoul threw ("berth: stoul"), and
# a uid of 2^32 was cast to 0, root.
printf 'FROM busybox\nCOPY --from=99999999999999999999999 /x /x\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:2: invalid from flag value 99999999999999999999999: refers to current or future build stage" "$bad"
printf 'FROM busybox\nRUN --mount=type=bind,from=99999999999999999999999,target=/m true\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:2: --mount from=99999999999999999999999: refers to the current or a later build stage" "$bad"
printf 'FROM busybox\nCOPY --chown=4294967296:0 x /x\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:2: invalid chown parameter: 4294967296:0 (an id is below 4294967295)" "$bad"
# A base image's config is anyone's: an OnBuild trigger that is a number
# threw json's type_error ("berth: [json.exception.type_error.302] ...").
image_with_config hostile:onbuild '.config.OnBuild = [1]'
printf 'FROM hostile:onbuild\nRUN true\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:1: image config: OnBuild is an array, not an array of strings" "$bad"
printf 'FROM busybox\nCOPY --frm=x x /x\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:2: unknown flag: --frm" "$bad"
printf 'FROM 127.0.0.1:1/no-such-image\n' > "$bad/Dockerfile"
expect_build_error "Dockerfile:1: image 127.0.0.1:1/no-such-image is not in the store and could not be pulled: registry 127.0.0.1:1 cannot be reached" "$bad"
printf 'FROM busybox\nRUN echo visible-output; exit 3\n' > "$bad/Dockerfile"
rc=0; b build "$bad" >"$E2E_TMP/fail.out" 2>"$E2E_TMP/fail.err" || rc=$?
assert_eq "failing RUN exit" 1 "$rc"
assert_contains "failing RUN output shown" "$(cat "$E2E_TMP/fail.out")" visible-output
assert_contains "failing RUN names line and code" "$(cat "$E2E_TMP/fail.err")" "Dockerfile:2: RUN echo visible-output; exit 3: the command returned a non-zero code: 3"
assert_eq "no container left by failures" "$containers_before" "$(ls "$ROOT/containers" | wc -l)"
assert_eq "no build container in ps -a" "" "$(b ps -aq)"

log "a context symlink that points outside copies no host file"
sl=$E2E_TMP/symlinks; mkdir -p "$sl"
echo "host secret $E2E_MARK" > "$E2E_TMP/host-secret"
ln -s "$E2E_TMP/host-secret" "$sl/abs-link"
ln -s ../host-secret "$sl/rel-link"
ln -s / "$sl/rootlink"
printf 'FROM busybox\nCOPY . /ctx/\n' > "$sl/Dockerfile"
build -t corpus/links "$sl"
assert_eq "symlinks copied as symlinks" "$E2E_TMP/host-secret ../host-secret" "$(run_in corpus/links sh -c 'readlink /ctx/abs-link; readlink /ctx/rel-link' | tr '\n' ' ' | sed 's/ $//')"
if run_in corpus/links grep -r "$E2E_MARK" /ctx /etc 2>/dev/null; then fail "host content reached the image"; fi
for src in abs-link rel-link rootlink/$E2E_TMP/host-secret; do
  printf 'FROM busybox\nCOPY %s /got\n' "$src" > "$sl/Dockerfile"
  rc=0; b build -t corpus/link-named "$sl" >"$E2E_TMP/ln.out" 2>&1 || rc=$?
  if [[ $rc == 0 ]] && run_in corpus/link-named cat /got 2>/dev/null | grep -q "$E2E_MARK"; then
    fail "COPY $src copied the host's file"
  fi
done

log "ADD from an http server on loopback, with --checksum"
www=$E2E_TMP/www; mkdir -p "$www"; echo "served $E2E_MARK" > "$www/file.txt"
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$www" "$port" >/dev/null 2>&1 &
srv=$!
on_exit "kill $srv"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || fail "http server did not start"
sum=sha256:$(sha256sum "$www/file.txt" | cut -d' ' -f1)
add=$E2E_TMP/add; mkdir -p "$add"
printf 'FROM busybox\nADD --checksum=%s http://127.0.0.1:%s/file.txt /dl/\nADD http://127.0.0.1:%s/file.txt /named.txt\n' "$sum" "$port" "$port" > "$add/Dockerfile"
build -t corpus/add "$add"
assert_eq "ADD URL into a dir" "served $E2E_MARK" "$(run_in corpus/add cat /dl/file.txt)"
assert_eq "ADD URL: mode 600" "600 served $E2E_MARK" "$(run_in corpus/add sh -c 'stat -c %a /named.txt; cat /named.txt' | tr '\n' ' ' | sed 's/ $//')"
printf 'FROM busybox\nADD --checksum=sha256:%064d http://127.0.0.1:%s/file.txt /dl/\n' 0 "$port" > "$add/Dockerfile"
expect_build_error "Dockerfile:2: ADD http://127.0.0.1:$port/file.txt: digest mismatch" "$add"
printf 'FROM busybox\nADD http://127.0.0.1:%s/missing /dl/\n' "$port" > "$add/Dockerfile"
expect_build_error "404" "$add"
# https: tests/e2e/build_remote.sh (a TLS server with a CA of its own)

log "RUN's network: none by default (as berth run), host on request"
net=$E2E_TMP/net; mkdir -p "$net"
printf 'FROM busybox\nRUN grep -c : /proc/net/dev > /default\nRUN --network=host grep -c : /proc/net/dev > /host\nRUN --network=none grep -c : /proc/net/dev > /none\n' > "$net/Dockerfile"
build -t corpus/net "$net"
host_links=$(grep -c : /proc/net/dev)
assert_eq "default and none: loopback only; host: the host's links" "1 $host_links 1" "$(run_in corpus/net sh -c 'echo $(cat /default) $(cat /host) $(cat /none)')"
build --network host --no-cache -t corpus/net-host "$net"
assert_eq "--network host for the whole build" "$host_links" "$(run_in corpus/net-host cat /default)"
printf 'FROM busybox\nRUN --network=bridge true\n' > "$net/Dockerfile"
expect_build_error "Dockerfile:2: RUN --network=bridge: only none, host and default" "$net"

log "cache: a rebuild with nothing changed starts no container and copies nothing"
cp -a "$CORPUS/single" "$E2E_TMP/cache"
build -t corpus/cache "$E2E_TMP/cache"
id1=$(b images -q corpus/cache)
snaps_before=$(b image snapshot ls | wc -l)
build -t corpus/cache "$E2E_TMP/cache"
assert_eq "every step cached" 4 "$(grep -c 'Using cache' "$E2E_TMP/build.out")"
assert_eq "same image" "$id1" "$(b images -q corpus/cache)"
assert_eq "no snapshot made" "$snaps_before" "$(b image snapshot ls | wc -l)"
touch "$E2E_TMP/cache/hello.txt"
build -t corpus/cache "$E2E_TMP/cache"
assert_eq "mtimes do not matter" 4 "$(grep -c 'Using cache' "$E2E_TMP/build.out")"
echo changed > "$E2E_TMP/cache/dir/a.txt"
build -t corpus/cache "$E2E_TMP/cache"
assert_eq "one changed file: steps before it cached" 1 "$(grep -c 'Using cache' "$E2E_TMP/build.out")"
assert_eq "the change is in" changed "$(run_in corpus/cache cat /opt/dir/a.txt)"
build --no-cache -t corpus/cache "$E2E_TMP/cache"
assert_eq "--no-cache" 0 "$(grep -c 'Using cache' "$E2E_TMP/build.out")"

log "flags: -f -, a tar context on stdin, a Dockerfile on stdin, -q, two -t, --label"
out=$(printf 'FROM busybox\nCOPY hello.txt /h\n' | b build -q -t a/one -t a/two:2 --label team=build -f - "$CORPUS/single")
[[ $out =~ ^sha256:[0-9a-f]{64}$ ]] || fail "-q printed [$out]"
assert_eq "-t twice" "$out $out" "$(b image inspect a/one | jq -r '.[0].Id') $(b image inspect a/two:2 | jq -r '.[0].Id')"
assert_eq "--label" build "$(cfg a/one '.Labels.team')"
out=$(tar -C "$CORPUS/single" -cf - . | b build -q -)
assert_eq "tar context on stdin" "hello from the context" "$(run_in "$out")"
out=$(printf 'FROM busybox\nRUN echo nocontext > /n\n' | b build -q -)
assert_eq "Dockerfile on stdin" nocontext "$(run_in "$out" cat /n)"
out=$(b image build -q "$CORPUS/single")
[[ $out == sha256:* ]] || fail "berth image build -q printed [$out]"
[[ -z $(ls "$ROOT/build-tmp" 2>/dev/null) ]] || fail "temporary contexts left: $(ls "$ROOT/build-tmp")"

log "a signal (Ctrl-C, TERM) during a RUN: the build stops and removes its container"
cancel=$E2E_TMP/cancel; mkdir -p "$cancel"
printf 'FROM busybox\nRUN echo started; sleep 60 # %s\n' "$E2E_MARK" > "$cancel/Dockerfile"
"$BERTH" --root "$ROOT" --state "$STATE" build "$cancel" >"$E2E_TMP/cancel.out" 2>"$E2E_TMP/cancel.err" &
bpid=$!
wait_until 20 grep -q started "$E2E_TMP/cancel.out" || fail "the RUN did not start"
kill -TERM "$bpid"  # (a background job of a script ignores SIGINT)
rc=0; wait "$bpid" || rc=$?
assert_eq "cancelled build's exit" 1 "$rc"
assert_contains "cancelled build's error" "$(cat "$E2E_TMP/cancel.err")" "Dockerfile:2: build cancelled during RUN"
[[ -z $(pids_matching "sleep 60 # $E2E_MARK") ]] || fail "the RUN's process outlived the cancelled build"

log "nothing left behind: no mount, snapshot, container or intermediate image"
[[ -z $(awk -v r="$ROOT/" 'index($5, r) == 1' /proc/self/mountinfo) ]] || fail "mounts left under $ROOT: $(awk -v r="$ROOT/" 'index($5, r) == 1 { print $5 }' /proc/self/mountinfo)"
assert_eq "snapshots" "" "$(b image snapshot ls)"
assert_eq "containers" "" "$(b ps -aq)"
untagged=$(b images | awk '$1 == "<none>"' | wc -l)
assert_eq "untagged images: only tags moved by rebuilds and builds without -t, no intermediate" 3 "$untagged"
