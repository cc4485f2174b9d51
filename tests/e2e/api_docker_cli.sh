#!/usr/bin/env bash
# `berth serve` (issue 14) driven by the real docker CLI: DOCKER_HOST points
# at a server on this test's own store, and each verb's effect is asserted
# (output, exit code, what `berth` itself then sees). The raw API and its
# error answers are checked with curl in api_raw.sh; the Python SDK in
# api_sdk.sh.
# Containers made through the API are on docker's default network (berth's
# bridge): the test runs in a network namespace of its own, so nothing
# touches the machine's.
if [[ -z ${BERTH_NET_TEST_NS:-} ]]; then
  exec env BERTH_NET_TEST_NS=1 E2E_IN_PRIVATE_NET_NS=1 unshare --net bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin docker script
engine_init
source "$(dirname "$0")/api_lib.bash"
ip link set lo up
# fails_with PATTERN CMD... : CMD fails, and its output says PATTERN.
fails_with() {
  local pat=$1 rc=0; shift
  "$@" >"$E2E_TMP/fails.out" 2>&1 || rc=$?
  [[ $rc != 0 ]] || fail "$*: succeeded, want a failure saying [$pat]"
  [[ $(cat "$E2E_TMP/fails.out") == *"$pat"* ]] || fail "$*: output lacks [$pat]: $(cat "$E2E_TMP/fails.out")"
}
start_serve

log "version, info"
assert_eq "server version" "$("$BERTH" --version | awk '{print $3}')" "$(d version --format '{{.Server.Version}}')"
assert_eq "server API version" "1.43" "$(d version --format '{{.Server.APIVersion}}')"
assert_eq "info" "overlay2 linux 1" "$(d info --format '{{.Driver}} {{.OSType}} {{.Images}}')"

log "images"
assert_contains "docker images" "$(d images --format '{{.Repository}}:{{.Tag}}')" "busybox:latest"

log "run --rm: output, stderr and exit code; the container is gone after"
assert_run_rm_streams d
wait_until 10 test -z "$(b ps -aq)" || fail "run --rm left a container: $(b ps -a)"
assert_eq "run --rm, stdin piped (-i)" "piped" "$(echo piped | d run --rm -i busybox cat)"
# More than the pipes hold: the monitor keeps reading cat's output while
# cat's stdin is full (a blocking stdin write there deadlocked, then
# dropped input after 5 s).
head -c 3000000 /dev/urandom | base64 -w 0 >"$E2E_TMP/big"
for i in 1 2 3; do
  assert_eq "run -i of 4 MB both ways ($i)" "$(md5sum <"$E2E_TMP/big")" "$(d run --rm -i busybox cat <"$E2E_TMP/big" | md5sum)"
done

log "run -d --name; ps; berth sees it"
id=$(d run -d --name web busybox sh -c "i=0; while true; do echo tick \$i; i=\$((i+1)); sleep 0.2; done; : $E2E_MARK")
[[ $id =~ ^[0-9a-f]{64}$ ]] || fail "run -d printed [$id], want an id"
assert_contains "docker ps" "$(d ps --format '{{.Names}} {{.Status}}')" "web Up"
assert_contains "berth ps sees the API's container" "$(b ps --format '{{.Names}}')" "web"

log "logs, logs -f (8-byte framing decoded by the CLI)"
wait_until 10 sh -c "$(declare -f d); d logs web | grep -q 'tick 2'" || fail "no log lines: $(d logs web 2>&1 | head)"
got=$(timeout 10 docker logs -f web | head -n 5 | tail -n 1) || true
[[ $got =~ ^tick\ [0-9]+$ ]] || fail "logs -f: got [$got]"
assert_eq "logs --tail 1" 1 "$(d logs --tail 1 web | wc -l)"

log "exec: output, exit code, env, -it under a pty"
assert_eq "exec output" "hi there" "$(d exec web echo hi there)"
rc=0; d exec web sh -c 'exit 5' || rc=$?
assert_eq "exec exit code" 5 "$rc"
assert_eq "exec -e" "bar" "$(d exec -e FOO=bar web sh -c 'echo $FOO')"
assert_eq "exec -i stdin" "to-exec" "$(echo to-exec | d exec -i web cat)"
assert_eq "exec -i of 4 MB both ways" "$(md5sum <"$E2E_TMP/big")" "$(d exec -i web cat <"$E2E_TMP/big" | md5sum)"
out=$(timeout 30 script -qec "docker exec -it web sh -c 'tty; stty size'" /dev/null | tr -d '\r')
assert_contains "exec -it has a terminal" "$out" "/dev/pts/"
rc=0; d exec web /no/such/thing 2>"$E2E_TMP/err" || rc=$?
assert_eq "exec of a missing command" 127 "$rc"

log "run -it under a pty"
rc=0
out=$(timeout 30 script -qec "docker run --rm -it busybox sh -c 'tty; exit 4'" /dev/null | tr -d '\r') || rc=$?
assert_contains "run -it has a terminal" "$out" "/dev/pts/0"
assert_eq "run -it exit code (through script -e)" 4 "$rc"

log "inspect, stats --no-stream, top"
assert_eq "inspect" "true /web busybox" "$(d inspect -f '{{.State.Running}} {{.Name}} {{.Config.Image}}' web)"
assert_eq "inspect .State.Health is absent without a healthcheck" "<nil>" "$(d inspect -f '{{.State.Health}}' web)"
assert_eq "stats --no-stream" "web" "$(d stats --no-stream --format '{{.Name}}' web)"
[[ $(d stats --no-stream --format '{{.PIDs}}' web) -ge 1 ]] || fail "stats shows no pids"
assert_contains "top" "$(d top web)" "sleep"

log "cp both ways"
echo "into the container" >"$E2E_TMP/in.txt"
d cp "$E2E_TMP/in.txt" web:/tmp/in.txt
assert_eq "cp in" "into the container" "$(d exec web cat /tmp/in.txt)"
d exec web sh -c 'mkdir -p /tmp/out && echo out1 > /tmp/out/a'
d cp web:/tmp/out "$E2E_TMP/out"
assert_eq "cp out (a directory)" out1 "$(cat "$E2E_TMP/out/a")"

log "stop, start, restart, kill, wait, rm -f"
d stop -t 1 web >/dev/null
assert_eq "stopped" "false" "$(d inspect -f '{{.State.Running}}' web)"
assert_eq "stopped, as berth sees it" exited "$(b inspect -f '{{.State.Status}}' web)"
d start web >/dev/null
assert_eq "started again" "true" "$(d inspect -f '{{.State.Running}}' web)"
d kill web >/dev/null
assert_eq "killed: docker wait says 137" 137 "$(d wait web)"
w=$(d run -d busybox sh -c "sleep 0.5; exit 7; : $E2E_MARK")
assert_eq "wait answers when the container exits" 7 "$(d wait "$w")"
d start web >/dev/null
d rm -f web >/dev/null
[[ -z $(b ps -aq --filter name=web) ]] || fail "rm -f left web"

log "a container made by berth run is visible to docker, and docker's to berth"
b run -d --name from-berth busybox sh -c "sleep 1000; : $E2E_MARK" >/dev/null
assert_contains "docker ps sees berth's" "$(d ps --format '{{.Names}}')" "from-berth"
assert_eq "docker exec in berth's" ok "$(d exec from-berth echo ok)"
d rm -f from-berth >/dev/null

log "events"
since=$(date +%s)
d run --rm --name evt busybox true
evts=$(d events --since "$since" --until "$(($(date +%s) + 1))" --filter container=evt --format '{{.Action}}' | tr '\n' ' ')
for a in create start die destroy; do assert_contains "events" "$evts" "$a"; done

log "volumes"
d volume create apivol >/dev/null
assert_contains "volume ls" "$(d volume ls --format '{{.Name}}')" apivol
assert_eq "a volume written through docker run" "v-data" \
  "$(d run --rm -v apivol:/data busybox sh -c 'echo v-data > /data/f; cat /data/f')"
assert_eq "berth sees the volume's data" v-data "$(cat "$ROOT/volumes/apivol/_data/f")"
d volume rm apivol >/dev/null
[[ -z $(b volume ls -q) ]] || fail "volume rm left: $(b volume ls -q)"

log "save, tag, rmi, load"
d tag busybox:latest mybox:1
assert_contains "tag" "$(d images --format '{{.Repository}}:{{.Tag}}')" "mybox:1"
d save -o "$E2E_TMP/saved.tar" mybox:1
[[ $(tar -tf "$E2E_TMP/saved.tar") == *manifest.json* ]] || fail "save wrote no docker archive"
d rmi mybox:1 >/dev/null
[[ $(d images --format '{{.Repository}}:{{.Tag}}') != *mybox:1* ]] || fail "rmi left mybox:1"
assert_contains "load" "$(d load -i "$E2E_TMP/saved.tar")" "Loaded image: mybox:1"
assert_eq "a loaded image runs" ok "$(d run --rm mybox:1 echo ok)"

log "run on docker's default network: berth's bridge, in this test's namespace"
assert_eq "run --rm has eth0 on 10.88.0.0/16" 1 "$(d run --rm busybox ip -o -4 addr show eth0 | grep -c 'inet 10\.88\.')"
d run -d --name onbridge busybox sh -c "sleep 1000; : $E2E_MARK" >/dev/null
ip=$(d inspect -f '{{.NetworkSettings.Networks.bridge.IPAddress}}' onbridge)
[[ $ip == 10.88.* ]] || fail "inspect .NetworkSettings.Networks.bridge.IPAddress: [$ip]"
assert_eq "inspect Gateway" 10.88.0.1 "$(d inspect -f '{{.NetworkSettings.Networks.bridge.Gateway}}' onbridge)"
[[ $(d inspect -f '{{.NetworkSettings.Networks.bridge.MacAddress}}' onbridge) == 02:42:* ]] || fail "no MacAddress"
d run --rm busybox ping -c1 -W3 "$ip" >/dev/null || fail "a container on the bridge cannot reach $ip"
d rm -f onbridge >/dev/null

log "networks: create, ls, inspect, run on one (names resolve), connect, disconnect, rm"
nid=$(d network create --subnet 10.77.5.0/24 --label team=a apinet)
[[ $nid =~ ^[0-9a-f]{64}$ ]] || fail "network create printed [$nid]"
assert_eq "network ls" "apinet bridge host none" "$(d network ls --format '{{.Name}}' | sort | tr '\n' ' ' | sed 's/ $//')"
assert_eq "network ls -q --filter" "${nid:0:12}" "$(d network ls -q --filter name=apinet)"
assert_eq "network inspect" "10.77.5.0/24 a bridge" \
  "$(d network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}} {{.Labels.team}} {{.Driver}}' apinet)"
d run -d --name netc --network apinet --network-alias db busybox sh -c "sleep 1000; : $E2E_MARK" >/dev/null
nip=$(d inspect -f '{{.NetworkSettings.Networks.apinet.IPAddress}}' netc)
[[ $nip == 10.77.5.* ]] || fail "inspect on apinet: [$nip]"
assert_eq "network inspect .Containers" netc "$(d network inspect -f '{{range .Containers}}{{.Name}}{{end}}' apinet)"
assert_eq "a name on a user network resolves" "$nip" \
  "$(d run --rm --network apinet busybox sh -c 'ping -c1 -W3 db >/dev/null && nslookup db 2>/dev/null | awk "/^Address/ {a=\$NF} END {print a}"')"
d network create apinet2 >/dev/null
d network connect --alias second apinet2 netc
assert_eq "connect: two networks" "apinet apinet2" \
  "$(d inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' netc | sed 's/ $//')"
assert_eq "connect: a second interface inside" 1 "$(d exec netc ip -o -4 addr show eth1 | grep -c inet)"
rc=0; d network rm apinet >"$E2E_TMP/err" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "network rm of a network in use succeeded"
assert_contains "network rm of a network in use" "$(cat "$E2E_TMP/err")" "has active endpoints"
d network disconnect apinet2 netc
assert_eq "disconnect" "apinet" "$(d inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' netc | sed 's/ $//')"
d rm -f netc >/dev/null
d network rm apinet apinet2 >/dev/null
assert_eq "network rm" "bridge host none" "$(d network ls --format '{{.Name}}' | sort | tr '\n' ' ' | sed 's/ $//')"
fails_with "network nonet not found" d network inspect nonet
fails_with "network nonet not found" d network rm nonet
fails_with 'plugin "overlay" not found' d network create -d overlay ov
d network create dup >/dev/null
fails_with "network with name dup already exists" d network create dup
d network rm dup >/dev/null
before=$(b ps -aq | wc -l)
fails_with "network nonet not found" d run --rm --network nonet busybox true
assert_eq "a refused run leaves no container" "$before" "$(b ps -aq | wc -l)"

log "build (the classic builder, DOCKER_BUILDKIT=0): tags, build args, labels, target, -f, -q"
mkdir -p "$E2E_TMP/ctx"
echo from-context >"$E2E_TMP/ctx/f.txt"
cat >"$E2E_TMP/ctx/Dockerfile" <<'DF'
FROM busybox AS base
ARG X=default
LABEL stage=base
COPY f.txt /f.txt
RUN echo "built-$X" > /g.txt
CMD ["sh", "-c", "cat /f.txt /g.txt"]
FROM base AS final
RUN echo final > /final.txt
DF
out=$(DOCKER_BUILDKIT=0 d build -t apibuilt:1 --build-arg X=arg --label team=b --target base "$E2E_TMP/ctx" 2>&1) ||
  fail "docker build failed: $out"
assert_contains "build output: steps" "$out" "Step 5/7 : RUN echo"
assert_contains "build output: tagged" "$out" "Successfully tagged apibuilt:1"
assert_eq "the built image runs" "from-context built-arg" "$(d run --rm apibuilt:1 | tr '\n' ' ' | sed 's/ $//')"
assert_eq "labels" "base b" "$(d image inspect -f '{{.Config.Labels.stage}} {{.Config.Labels.team}}' apibuilt:1)"
fails_with "No such file" d run --rm apibuilt:1 cat /final.txt
assert_contains "berth sees the image" "$(b images)" "apibuilt"
out=$(DOCKER_BUILDKIT=0 d build -t apibuilt:1 --build-arg X=arg --label team=b --target base "$E2E_TMP/ctx" 2>&1)
assert_contains "a rebuild uses the cache" "$out" "Using cache"
qid=$(DOCKER_BUILDKIT=0 d build -q "$E2E_TMP/ctx")
[[ $qid =~ ^sha256:[0-9a-f]{64}$ ]] || fail "build -q printed [$qid]"
cp "$E2E_TMP/ctx/Dockerfile" "$E2E_TMP/Other.df"
assert_contains "build -f outside the context" "$(DOCKER_BUILDKIT=0 d build -f "$E2E_TMP/Other.df" -t apibuilt:2 "$E2E_TMP/ctx" 2>&1)" \
  "Successfully tagged apibuilt:2"
mkdir -p "$E2E_TMP/bad"
printf 'FROM busybox\nFROMM busybox\n' >"$E2E_TMP/bad/Dockerfile"
fails_with "unknown instruction: FROMM" env DOCKER_BUILDKIT=0 timeout 60 docker build "$E2E_TMP/bad"
printf 'FROM busybox\nRUN echo failing; exit 3\n' >"$E2E_TMP/bad/Dockerfile"
rc=0; DOCKER_BUILDKIT=0 d build "$E2E_TMP/bad" >"$E2E_TMP/err" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "a failing RUN built"
assert_contains "a failing RUN: its output" "$(cat "$E2E_TMP/err")" "failing"
assert_contains "a failing RUN: its code" "$(cat "$E2E_TMP/err")" "returned a non-zero code: 3"
printf 'FROM nope-no-such-image\n' >"$E2E_TMP/bad/Dockerfile"
rc=0; DOCKER_BUILDKIT=0 d build "$E2E_TMP/bad" >"$E2E_TMP/err" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "a build from an unknown image succeeded"
assert_contains "a build from an unknown image" "$(cat "$E2E_TMP/err")" "nope-no-such-image"
assert_eq "builds leave no container" "$before" "$(b ps -aq | wc -l)"
[[ -z $(ls -A "$ROOT/build-tmp" 2>/dev/null) ]] || fail "builds left contexts: $(ls "$ROOT/build-tmp")"
d rmi apibuilt:1 apibuilt:2 >/dev/null

log "builder prune (POST /build/prune): the step cache and the layers only it held go"
cached=$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM build_cache')
[[ $cached -gt 0 ]] || fail "the builds left no step cache"
r=$(api POST '/build/prune?keep-storage=1000')
assert_eq "build prune with keep-storage" \
  '400 {"message":"build prune: keep-storage is not supported by berth (it prunes the whole step cache)"}' "$r"
r=$(api POST '/build/prune?filters=%7B%22until%22%3A%5B%2224h%22%5D%7D')
assert_eq "build prune with a filter" 400 "${r%% *}"
r=$(api POST '/build/prune?all=1')
assert_eq "build prune" 200 "${r%% *}"
assert_eq "build prune: the entries deleted" "$cached" "$(jq '.CachesDeleted | length' <<<"${r#* }")"
[[ $(jq '.CachesDeleted[0]' <<<"${r#* }") =~ ^\"sha256:[0-9a-f]{64}\"$ ]] || fail "build prune: odd cache ids: $r"
# (rmi collected the built layers already: the GC after it finds what is left, maybe nothing.)
[[ $(jq .SpaceReclaimed <<<"${r#* }") =~ ^[0-9]+$ ]] || fail "build prune: SpaceReclaimed: $r"
assert_eq "no step cache left" 0 "$(sqlite3 "$ROOT/berth.db" 'SELECT count(*) FROM build_cache')"
out=$(d builder prune -f 2>&1) || fail "docker builder prune: $out"
assert_contains "docker builder prune" "$out" "Total reclaimed space: 0B"
out=$(DOCKER_BUILDKIT=0 d build -t apibuilt:1 --build-arg X=arg --label team=b --target base "$E2E_TMP/ctx" 2>&1) ||
  fail "a build after prune: $out"
[[ $out != *"Using cache"* ]] || fail "a build after prune used a cache: $out"
assert_eq "the rebuilt image runs" "from-context built-arg" "$(d run --rm apibuilt:1 | tr '\n' ' ' | sed 's/ $//')"
d rmi apibuilt:1 >/dev/null

log "push and pull through Debian's docker-registry on loopback (this namespace's)"
source "$(dirname "$0")/registry_env.bash"
command -v docker-registry >/dev/null || fail "docker-registry not installed (scripts/install-deps)"
port=$(free_port)
registry_start "$E2E_TMP/registry" "$port"
on_exit "kill $REG_PID"
R=127.0.0.1:$port
d tag busybox:latest "$R/apitest/bb:1"
out=$(d push "$R/apitest/bb:1" 2>&1) || fail "docker push failed: $out"
assert_contains "push: the repository" "$out" "The push refers to repository [$R/apitest/bb]"
[[ $out =~ 1:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+ ]] || fail "push printed no digest: $out"
pushed=${BASH_REMATCH[1]}
assert_eq "the registry has it" "$pushed" \
  "$(curl -sS -I -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/apitest/bb/manifests/1" | tr -d '\r' | awk -F': ' 'tolower($1)=="docker-content-digest" {print $2}')"
d rmi "$R/apitest/bb:1" >/dev/null

log "GET /distribution/{name}/json: the manifest's descriptor and platforms, nothing pulled"
r=$(api GET "/distribution/$R/apitest/bb:1/json")
assert_eq "distribution inspect" 200 "${r%% *}"
j=${r#* }
assert_eq "its digest is the pushed one" "$pushed" "$(jq -r .Descriptor.digest <<<"$j")"
[[ $(jq -r .Descriptor.mediaType <<<"$j") == application/vnd.*manifest* ]] || fail "distribution inspect: mediaType: $j"
assert_eq "its size is the manifest's" \
  "$(curl -sS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$R/v2/apitest/bb/manifests/1" | wc -c)" \
  "$(jq .Descriptor.size <<<"$j")"
assert_eq "its platform" '[{"architecture":"amd64","os":"linux"}]' "$(jq -c .Platforms <<<"$j")"
assert_eq "by digest" "$pushed" "$(api GET "/distribution/$R/apitest/bb@$pushed/json" | cut -d' ' -f2- | jq -r .Descriptor.digest)"
[[ -z $(d images -q "$R/apitest/bb") ]] || fail "distribution inspect pulled the image"
r=$(api GET "/distribution/$R/apitest/bb:nope/json")
assert_eq "an unknown tag" 404 "${r%% *}"
assert_contains "an unknown tag says so" "$r" "nope"
r=$(api GET "/distribution/$R/Bad:x:y/json")
assert_eq "a malformed name" 400 "${r%% *}"

log "docker login (POST /auth), then push and pull with X-Registry-Auth, to a registry with TLS and basic auth"
tport=$(free_port)
registry_start "$E2E_TMP/treg" "$tport" tls
on_exit "kill $REG_PID"
T=127.0.0.1:$tport
# The server's certificates: the default cert dir (as registry_tls.sh).
certs=/etc/berth/certs.d/$T
mkdir -p "$certs"
on_exit "rm -rf '$certs'; rmdir /etc/berth/certs.d /etc/berth 2>/dev/null"
cp "$E2E_TMP/treg/ca/ca.crt" "$certs/ca.crt"
auth_dirs() { find /tmp -maxdepth 1 -name 'berth-api-auth-*' | wc -l; }
dirs_before=$(auth_dirs)
r=$(curl -sS --unix-socket "$API_SOCK" -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
  -d "{\"username\":\"alice\",\"password\":\"wrong\",\"serveraddress\":\"$T\"}" http://berth/auth)
assert_eq "POST /auth with a wrong password" 401 "$r"
fails_with "wrong user name or password" sh -c "echo wrong | DOCKER_HOST=$DOCKER_HOST DOCKER_CONFIG=$DOCKER_CONFIG timeout 60 docker login -u alice --password-stdin $T"
assert_contains "docker login" "$(echo s3cret | d login -u alice --password-stdin "$T" 2>&1)" "Login Succeeded"
d tag busybox:latest "$T/priv/bb:1"
out=$(d push "$T/priv/bb:1" 2>&1) || fail "push with credentials failed: $out"
assert_contains "push with credentials" "$out" "1: digest: sha256:"
d rmi "$T/priv/bb:1" >/dev/null
assert_eq "pull with credentials, and run" private "$(d pull -q "$T/priv/bb:1" >/dev/null && d run --rm "$T/priv/bb:1" echo private)"
d rmi "$T/priv/bb:1" >/dev/null
xauth=$(printf '{"username":"alice","password":"s3cret","serveraddress":"%s"}' "$T" | base64 -w0 | tr '+/' '-_')
r=$(api GET "/distribution/$T/priv/bb:1/json" -H "X-Registry-Auth: $xauth")
assert_eq "distribution inspect with X-Registry-Auth" "200 linux" "${r%% *} $(jq -r '.Platforms[0].os' <<<"${r#* }")"
r=$(api GET "/distribution/$T/priv/bb:1/json")
[[ ${r%% *} == 4* ]] || fail "distribution inspect without credentials: $r"
d logout "$T" >/dev/null
fails_with "authentication required" d pull "$T/priv/bb:1"
assert_eq "no request's credentials are left behind" "$dirs_before" "$(auth_dirs)"
out=$(d pull "$R/apitest/bb:1" 2>&1) || fail "docker pull failed: $out"
assert_contains "pull: digest" "$out" "Digest: $pushed"
assert_contains "pull: status" "$out" "$R/apitest/bb:1"
assert_eq "the pulled image runs" pulled "$(d run --rm "$R/apitest/bb:1" echo pulled)"
assert_contains "pull of what is here" "$(d pull "$R/apitest/bb:1" 2>&1)" "Image is up to date"
fails_with "apitest/nope" d pull "$R/apitest/nope:1"
fails_with "An image does not exist locally with the tag: $R/apitest/none" d push "$R/apitest/none:1"
fails_with "invalid reference format" d pull "$R/Bad:x:y"
d rmi "$R/apitest/bb:1" >/dev/null

rc=0; d inspect no-such-thing >"$E2E_TMP/inspect.out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "inspect of nothing succeeded"
assert_contains "inspect of nothing" "$(cat "$E2E_TMP/inspect.out")" "No such object: no-such-thing"

stop_serve
log "ok"
