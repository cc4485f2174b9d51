#!/usr/bin/env bash
# `berth serve`'s raw Engine API with curl: docker's JSON shapes, headers
# and error codes; bad requests (malformed JSON, a huge body, unknown
# endpoints, a client that goes mid-stream, one that never finishes its
# request) get the right status and leave the server serving others.
# Containers made through the API are on docker's default network (berth's
# bridge): the test runs in a network namespace of its own, so nothing
# touches the machine's.
if [[ -z ${BERTH_NET_TEST_NS:-} ]]; then
  exec env BERTH_NET_TEST_NS=1 E2E_IN_PRIVATE_NET_NS=1 unshare --net bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
e2e_init
require_bin curl
engine_init
source "$(dirname "$0")/api_lib.bash"
ip link set lo up
start_serve

log "listeners: the unix socket is 0660 root:root; tcp only on loopback; a bad -H leaves no socket"
assert_eq "socket mode" "660 root:root" "$(stat -c '%a %U:%G' "$API_SOCK")"
expect_error 1 "needs TLS with client certificates" b serve -H "unix://$E2E_TMP/other.sock" -H tcp://0.0.0.0:1
[[ ! -e $E2E_TMP/other.sock ]] || fail "a refused -H left the socket of an earlier one"
expect_error 1 "another server listens there" b serve -H "unix://$API_SOCK"
port=$((20000 + RANDOM % 20000))
"$BERTH" --root "$ROOT" --state "$STATE" serve -H "tcp://127.0.0.1:$port" >"$E2E_TMP/tcp.log" 2>&1 &
tcp_pid=$!
on_exit kill_pid_bounded "$tcp_pid" 5
wait_until 10 curl -sf "http://127.0.0.1:$port/_ping" || fail "tcp://127.0.0.1:$port: no answer ($(cat "$E2E_TMP/tcp.log"))"
kill_pid_bounded "$tcp_pid" 5

log "/_ping answers the headers the docker CLI negotiates with"
hdr=$(curl -sS -I --unix-socket "$API_SOCK" http://berth/_ping | tr -d '\r')
assert_contains "HEAD /_ping" "$hdr" "HTTP/1.1 200"
assert_contains "Api-Version" "$hdr" "Api-Version: 1.43"
assert_contains "Builder-Version" "$hdr" "Builder-Version: 1"
assert_contains "OSType" "$hdr" "Ostype: linux"
assert_eq "GET /_ping" "200 OK" "$(api GET /_ping)"
assert_eq "versioned path" "1.43" "$(curl -sS --unix-socket "$API_SOCK" http://berth/v1.41/version | jq -r .ApiVersion)"

log "error codes and docker's {\"message\"} shape"
assert_eq "no such container" '404 {"message":"No such container: nope"}' "$(api GET /v1.43/containers/nope/json)"
assert_eq "no such image" '404 {"message":"No such image: nope:latest"}' "$(api GET /images/nope:latest/json)"
assert_eq "unknown endpoint" '404 {"message":"page not found"}' "$(api GET /v1.43/no/such/endpoint)"
r=$(api PUT /containers/json)
assert_eq "wrong method" 405 "${r%% *}"
r=$(api GET /v1.99/version)
assert_contains "a too new API version" "$r" '400 {"message":"client version 1.99 is too new'
r=$(api POST /containers/create -H 'Content-Type: application/json' -d '{"Image": "busybox", ')
assert_contains "malformed JSON" "$r" "400 "
assert_contains "malformed JSON says so" "$r" "malformed JSON"
r=$(api POST /containers/create -H 'Content-Type: application/json' -d '{"Image": "busybox", "HostConfig": {"Memory": "lots"}}')
assert_eq "a field of the wrong type" 400 "${r%% *}"
r=$(api POST /containers/create -H 'Content-Type: application/json' -d '{"Cmd": ["true"]}')
assert_contains "no image" "$r" "400 "
r=$(api POST /containers/create -H 'Content-Type: application/json' \
  -d '{"Image": "busybox", "HostConfig": {"LogConfig": {"Type": "json-file", "Config": {"max-size": "1e300"}}}}')
assert_contains "a log max-size out of range" "$r" "400 {\"message\":\"invalid max-size '1e300' for the json-file log"
r=$(api POST /containers/create -H 'Content-Type: application/json' -d '{"Image": "nope:1"}')
assert_eq "create from a missing image" '404 {"message":"No such image: nope:1"}' "$r"
head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' ' ' >"$E2E_TMP/huge.json"
r=$(api POST /containers/create -H 'Content-Type: application/json' --data-binary @"$E2E_TMP/huge.json")
assert_eq "a body over the limit" 413 "${r%% *}"
assert_eq "still serving after the huge body" "200 OK" "$(api GET /_ping)"
r=$(api GET /_ping -H "X-Big: $(head -c 70000 /dev/zero | tr '\0' a)")
assert_eq "headers over the limit" 431 "${r%% *}"
assert_eq "still serving after the huge header" "200 OK" "$(api GET /_ping)"
[[ -z $(b ps -aq) ]] || fail "bad requests left containers: $(b ps -a)"

log "unknown fields are ignored, as dockerd's decoder does"
r=$(api POST '/containers/create?name=c1' -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Cmd":["sh","-c","echo out; echo err >&2; sleep 1000; : '"$E2E_MARK"'"],"NoSuchField":1,
       "HostConfig":{"NetworkMode":"default","Memory":67108864,"RestartPolicy":{"Name":"no"},"Init":true,
                     "CapDrop":["NET_RAW"],"Ulimits":[{"Name":"nofile","Soft":1024,"Hard":1024}],
                     "LogConfig":{"Type":"json-file","Config":{"max-size":"1m"}}},
       "NetworkingConfig":{"EndpointsConfig":{"default":{}}}}')
assert_eq "create" 201 "${r%% *}"
id=$(jq -r .Id "$E2E_TMP/api.body")
r=$(api POST '/containers/create?name=c1' -H 'Content-Type: application/json' -d '{"Image":"busybox"}')
assert_eq "name conflict" 409 "${r%% *}"
assert_contains "name conflict message" "$r" 'Conflict. The container name \"/c1\" is already in use'
assert_eq "start" 204 "$(api POST "/containers/$id/start" | cut -d' ' -f1)"
assert_eq "start of a running one" 304 "$(api POST "/containers/$id/start" | cut -d' ' -f1)"
assert_eq "the limit reached the container" 67108864 "$(b inspect -f '{{.HostConfig.Memory}}' c1)"
assert_eq "NetworkMode default is berth's bridge network" bridge "$(b inspect -f '{{.HostConfig.NetworkMode}}' c1)"
r=$(api POST /containers/create -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"default":{"Aliases":["x"]}}}}')
assert_eq "an alias on the default bridge (docker refuses it too)" 400 "${r%% *}"
assert_contains "an alias on the default bridge says why" "$r" "network-scoped alias is supported only for containers in user defined networks"
r=$(api POST /containers/create -H 'Content-Type: application/json' -d '{"Image":"busybox","HostConfig":{"NetworkMode":"nonet"}}')
assert_eq "create on an unknown network (400, not 404: the docker CLI would take a 404 for a missing image and pull)" \
  '400 {"message":"network nonet not found"}' "$r"

log "JSON shapes"
curl -sS --unix-socket "$API_SOCK" "http://berth/containers/json" >"$E2E_TMP/ps.json"
assert_eq "ps row" "/c1 running busybox" "$(jq -r '.[0] | "\(.Names[0]) \(.State) \(.Image)"' "$E2E_TMP/ps.json")"
jq -e '.[0] | (.Created|type=="number") and (.Ports|type=="array") and (.Labels|type=="object") and (.NetworkSettings.Networks|type=="object")' \
  "$E2E_TMP/ps.json" >/dev/null || fail "ps shape: $(cat "$E2E_TMP/ps.json")"
assert_eq "filters=status exited" "[]" "$(curl -sS --unix-socket "$API_SOCK" -G http://berth/containers/json \
  --data-urlencode 'filters={"status":["exited"]}' | jq -c .)"
curl -sS --unix-socket "$API_SOCK" "http://berth/containers/c1/json" >"$E2E_TMP/inspect.json"
jq -e '(.State.Running==true) and (.State.Pid>0) and (.HostConfig.Init==true) and (.NetworkSettings.Networks|type=="object") and (.Config.Image=="busybox")' \
  "$E2E_TMP/inspect.json" >/dev/null || fail "inspect shape: $(head -c 2000 "$E2E_TMP/inspect.json")"
curl -sS --unix-socket "$API_SOCK" "http://berth/info" | jq -e '(.ContainersRunning==1) and (.OSType=="linux") and (.NCPU>0)' >/dev/null ||
  fail "info shape"
curl -sS --unix-socket "$API_SOCK" "http://berth/images/json" | jq -e '.[0].RepoTags|index("busybox:latest")' >/dev/null ||
  fail "images shape"
curl -sS --unix-socket "$API_SOCK" "http://berth/system/df" | jq -e '(.Containers|length==1) and (.Images|length==1)' >/dev/null ||
  fail "system/df shape"
curl -sS --unix-socket "$API_SOCK" "http://berth/containers/c1/stats?stream=false" >"$E2E_TMP/stats.json"
jq -e '(.cpu_stats.cpu_usage.total_usage>0) and (.memory_stats.usage>0) and (.pids_stats.current>=1) and (.name=="/c1")' \
  "$E2E_TMP/stats.json" >/dev/null || fail "stats shape: $(cat "$E2E_TMP/stats.json")"

log "size=1: SizeRw is the writable layer's bytes, SizeRootFs adds the image's"
b exec c1 sh -c 'head -c 100000 /dev/zero > /big; ln /big /big.link'
curl -sS --unix-socket "$API_SOCK" "http://berth/containers/c1/json?size=1" >"$E2E_TMP/size.json"
jq -e '(.SizeRw >= 100000) and (.SizeRw < 150000) and (.SizeRootFs > .SizeRw + 1000000)' "$E2E_TMP/size.json" >/dev/null ||
  fail "inspect size=1: $(jq -c '{SizeRw, SizeRootFs}' "$E2E_TMP/size.json")"
assert_eq "ps size=1 agrees with inspect" "$(jq -r .SizeRw "$E2E_TMP/size.json")" \
  "$(curl -sS --unix-socket "$API_SOCK" "http://berth/containers/json?size=1" | jq -r '.[] | select(.Names[0]=="/c1") | .SizeRw')"
b exec c1 rm /big /big.link

log "NetworkSettings of a container on the default bridge"
jq -e '.NetworkSettings.Networks.bridge | (.IPAddress|startswith("10.88.")) and (.Gateway=="10.88.0.1") and (.MacAddress|test("^02:42:")) and (.IPPrefixLen==16) and (.NetworkID|length==64)' \
  "$E2E_TMP/inspect.json" >/dev/null || fail "inspect .NetworkSettings: $(jq -c .NetworkSettings "$E2E_TMP/inspect.json")"
jq -e '(.NetworkSettings.IPAddress|startswith("10.88.")) and (.NetworkSettings.Gateway=="10.88.0.1")' "$E2E_TMP/inspect.json" >/dev/null ||
  fail "inspect top-level NetworkSettings.IPAddress: $(jq -c .NetworkSettings "$E2E_TMP/inspect.json")"

log "/networks: docker's shapes and codes"
r=$(api POST /networks/create -H 'Content-Type: application/json' \
  -d '{"Name":"rawnet","CheckDuplicate":true,"Driver":"bridge","Internal":true,"Labels":{"k":"v"},"IPAM":{"Driver":"default","Config":[{"Subnet":"10.77.9.0/24","Gateway":"10.77.9.254"}]}}')
assert_eq "network create" 201 "${r%% *}"
nid=$(jq -r .Id "$E2E_TMP/api.body")
[[ $nid =~ ^[0-9a-f]{64}$ ]] || fail "network create Id: $r"
jq -e '.Warning=="" ' "$E2E_TMP/api.body" >/dev/null || fail "network create shape: $r"
r=$(api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"rawnet"}')
assert_eq "a network name taken" '409 {"message":"network with name rawnet already exists"}' "$r"
r=$(api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"ov","Driver":"overlay"}')
assert_eq "an unknown driver" '404 {"message":"plugin \"overlay\" not found"}' "$r"
r=$(api POST /networks/create -H 'Content-Type: application/json' -d '{"Name":"bad","IPAM":{"Config":[{"Subnet":"10.77.9.0/33"}]}}')
assert_eq "a bad subnet" 400 "${r%% *}"
r=$(api POST /networks/create -H 'Content-Type: application/json' -d '{"Driver":"bridge"}')
assert_eq "no name" 400 "${r%% *}"
r=$(api POST /networks/create -H 'Content-Type: application/json' \
  -d '{"Name":"dual","EnableIPv6":true,"IPAM":{"Config":[{"Subnet":"10.77.8.0/24"},{"Subnet":"fd00:77:8::/64","Gateway":"fd00:77:8::1"}]}}')
assert_eq "dual-stack create (one IPAM config per family)" 201 "${r%% *}"
curl -sS --unix-socket "$API_SOCK" http://berth/networks/dual >"$E2E_TMP/dual.json"
jq -e '(.EnableIPv6==true) and ([.IPAM.Config[].Subnet]|sort==["10.77.8.0/24","fd00:77:8::/64"])' "$E2E_TMP/dual.json" >/dev/null ||
  fail "dual-stack network inspect: $(cat "$E2E_TMP/dual.json")"
assert_eq "dual-stack rm" 204 "$(api DELETE /networks/dual | cut -d' ' -f1)"
r=$(api POST /networks/create -H 'Content-Type: application/json' \
  -d '{"Name":"two4","IPAM":{"Config":[{"Subnet":"10.77.6.0/24"},{"Subnet":"10.77.7.0/24"}]}}')
assert_eq "two IPv4 configs" 501 "${r%% *}"
curl -sS --unix-socket "$API_SOCK" http://berth/networks/rawnet >"$E2E_TMP/net.json"
jq -e '(.Name=="rawnet") and (.Driver=="bridge") and (.Internal==true) and (.Labels.k=="v") and (.Scope=="local")
       and (.IPAM.Config[0].Subnet=="10.77.9.0/24") and (.IPAM.Config[0].Gateway=="10.77.9.254") and (.Containers=={})' \
  "$E2E_TMP/net.json" >/dev/null || fail "network inspect shape: $(cat "$E2E_TMP/net.json")"
assert_eq "inspect by id prefix" rawnet "$(curl -sS --unix-socket "$API_SOCK" "http://berth/networks/${nid:0:12}" | jq -r .Name)"
assert_eq "no such network" '404 {"message":"network nonet not found"}' "$(api GET /networks/nonet)"
assert_eq "list" "bridge host none rawnet" "$(curl -sS --unix-socket "$API_SOCK" http://berth/networks | jq -r '[.[].Name]|sort|join(" ")')"
assert_eq "list filters=name" "rawnet" "$(curl -sS --unix-socket "$API_SOCK" -G http://berth/networks \
  --data-urlencode 'filters={"name":["rawn"]}' | jq -r '[.[].Name]|join(" ")')"
assert_eq "list filters=type=custom" "rawnet" "$(curl -sS --unix-socket "$API_SOCK" -G http://berth/networks \
  --data-urlencode 'filters={"type":["custom"]}' | jq -r '[.[].Name]|join(" ")')"
r=$(api GET /networks -G --data-urlencode 'filters={"bogus":["x"]}')
assert_eq "an unknown filter" 400 "${r%% *}"
# update: integers only (a float such as 1e300 was undefined behaviour)
r=$(api POST /containers/c1/update -H 'Content-Type: application/json' -d '{"Memory":1e300}')
assert_eq "update with a float Memory" "400" "${r%% *}"
assert_contains "update with a float Memory: message" "$r" "Memory: want an integer"
r=$(api POST /containers/c1/update -H 'Content-Type: application/json' \
  -d '{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":1e300}}')
assert_eq "update with a float MaximumRetryCount" "400" "${r%% *}"
r=$(api POST /containers/c1/update -H 'Content-Type: application/json' -d '{"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":2}}')
assert_eq "update with an integer MaximumRetryCount" "200" "${r%% *}"
assert_eq "update: the policy taken" "on-failure 2" \
  "$(curl -sS --unix-socket "$API_SOCK" http://berth/containers/c1/json | jq -r '.HostConfig.RestartPolicy | "\(.Name) \(.MaximumRetryCount)"')"
r=$(api POST /networks/rawnet/connect -H 'Content-Type: application/json' -d '{"Container":"c1","EndpointConfig":{"IPAMConfig":{"IPv4Address":"10.77.9.7"},"Aliases":["cee"]}}')
assert_eq "connect" 200 "${r%% *}"
curl -sS --unix-socket "$API_SOCK" http://berth/containers/c1/json >"$E2E_TMP/inspect2.json"
assert_eq "connected: inspect shows the address asked for" 10.77.9.7 "$(jq -r .NetworkSettings.Networks.rawnet.IPAddress "$E2E_TMP/inspect2.json")"
assert_eq "connected: aliases" cee "$(jq -r '.NetworkSettings.Networks.rawnet.Aliases|join(" ")' "$E2E_TMP/inspect2.json")"
assert_eq "network inspect lists the container" "c1 10.77.9.7/24" \
  "$(curl -sS --unix-socket "$API_SOCK" http://berth/networks/rawnet | jq -r '.Containers[] | "\(.Name) \(.IPv4Address)"')"
r=$(api POST /networks/rawnet/connect -H 'Content-Type: application/json' -d '{"Container":"nope"}')
assert_eq "connect an unknown container" '404 {"message":"No such container: nope"}' "$r"
r=$(api POST /networks/nonet/connect -H 'Content-Type: application/json' -d '{"Container":"c1"}')
assert_eq "connect to an unknown network" 404 "${r%% *}"
r=$(api DELETE /networks/rawnet)
assert_eq "rm of a network in use" 403 "${r%% *}"
assert_contains "rm of a network in use says why" "$r" "has active endpoints"
assert_eq "disconnect" 200 "$(api POST /networks/rawnet/disconnect -H 'Content-Type: application/json' -d '{"Container":"c1"}' | cut -d' ' -f1)"
r=$(api POST /networks/rawnet/disconnect -H 'Content-Type: application/json' -d '{"Container":"c1"}')
assert_eq "disconnect of a container not on it" 404 "${r%% *}"
assert_eq "rm of a predefined network" 403 "$(api DELETE /networks/bridge | cut -d' ' -f1)"
assert_eq "rm of host" 403 "$(api DELETE /networks/host | cut -d' ' -f1)"
assert_eq "prune removes the unused user network" '{"NetworksDeleted":["rawnet"]}' \
  "$(curl -sS --unix-socket "$API_SOCK" -X POST http://berth/networks/prune | jq -c .)"
assert_eq "rm of an unknown network" 404 "$(api DELETE /networks/rawnet | cut -d' ' -f1)"

log "/build, /images/create, /auth: bad input"
printf 'FROMM busybox\n' >"$E2E_TMP/Dockerfile"
tar -C "$E2E_TMP" -cf "$E2E_TMP/ctx.tar" Dockerfile
r=$(api POST '/build?t=broken' -H 'Content-Type: application/x-tar' --data-binary @"$E2E_TMP/ctx.tar")
assert_eq "a broken Dockerfile" 400 "${r%% *}"
assert_contains "a broken Dockerfile says where" "$r" "unknown instruction: FROMM"
r=$(api POST '/build?dockerfile=../etc/passwd' -H 'Content-Type: application/x-tar' --data-binary @"$E2E_TMP/ctx.tar")
assert_eq "a Dockerfile outside the context" 400 "${r%% *}"
r=$(api POST '/build' -H 'Content-Type: application/x-tar' --data-binary 'not a tar at all')
assert_eq "a body that is not a tar" 400 "${r%% *}"
r=$(api POST '/build?buildargs=notjson' -H 'Content-Type: application/x-tar' --data-binary @"$E2E_TMP/ctx.tar")
assert_eq "buildargs that are not JSON" 400 "${r%% *}"
r=$(api POST '/images/create?fromImage=Bad%20Name')
assert_eq "pull of a malformed reference" 400 "${r%% *}"
r=$(api POST '/images/nope-not-here/push')
assert_eq "push of an image not here" '404 {"message":"An image does not exist locally with the tag: nope-not-here"}' "$r"
r=$(api POST /auth -H 'Content-Type: application/json' -d '{"serveraddress":"127.0.0.1:1"}')
assert_eq "auth without credentials" 400 "${r%% *}"
r=$(api POST '/images/create?fromImage=busybox' -H 'X-Registry-Auth: !!!')
assert_eq "an X-Registry-Auth that is not base64" 400 "${r%% *}"

log "logs without a tty: docker's 8-byte frames (1 stdout, 2 stderr)"
wait_until 10 sh -c "curl -sS --unix-socket '$API_SOCK' 'http://berth/containers/c1/logs?stdout=1&stderr=1' | grep -q err"
curl -sS --unix-socket "$API_SOCK" "http://berth/containers/c1/logs?stdout=1&stderr=1" -o "$E2E_TMP/logs.bin"
assert_eq "framed logs" "01000000000000046f75740a02000000000000046572720a" "$(od -An -tx1 "$E2E_TMP/logs.bin" | tr -d ' \n')"

curl -sS --unix-socket "$API_SOCK" -X POST "http://berth/containers/c1/attach?logs=1&stream=0&stdout=1&stderr=1" \
  -o "$E2E_TMP/attach.bin"
assert_eq "attach logs=1 stream=0 replays the log, framed" "01000000000000046f75740a02000000000000046572720a" \
  "$(od -An -tx1 "$E2E_TMP/attach.bin" | tr -d ' \n')"

log "attach detachKeys: the sequence ends the attach, the container runs on"
r=$(api POST '/containers/create?name=ttyc' -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Tty":true,"OpenStdin":true,"Cmd":["sh"],"HostConfig":{"NetworkMode":"none"}}')
assert_eq "create a tty container" 201 "${r%% *}"
api POST /containers/ttyc/start >/dev/null
r=$(api POST '/containers/ttyc/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-xx')
assert_eq "bad detachKeys" '400 {"message":"Invalid detach keys (ctrl-xx) provided"}' "$r"
/usr/bin/python3 - "$API_SOCK" <<'PY' || fail "detachKeys did not detach"
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
s.sendall(b"POST /containers/ttyc/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-a,x HTTP/1.1\r\nHost: x\r\n"
          b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
buf = b""
while b"\r\n\r\n" not in buf: buf += s.recv(4096)
assert buf.startswith(b"HTTP/1.1 101"), buf
# ctrl-a then y breaks the sequence: both reach the shell; echo proves it reads on
s.sendall(b"\x01y\x15echo mark-$((6*7))\r")
out = buf
while b"mark-42" not in out: out += s.recv(4096)
s.sendall(b"\x01x")
deadline = time.time() + 10
while time.time() < deadline:
    d = s.recv(4096)
    if not d: sys.exit(0)
sys.exit("the stream did not end after the detach keys")
PY
assert_eq "the container runs on after a detach" true "$(curl -sS --unix-socket "$API_SOCK" http://berth/containers/ttyc/json | jq -r .State.Running)"
api DELETE '/containers/ttyc?force=1' >/dev/null

log "conflicts: removing a running container"
r=$(api DELETE "/containers/c1")
assert_eq "rm of a running container" 409 "${r%% *}"

log "exec over the API reports its exit code"
eid=$(curl -sS --unix-socket "$API_SOCK" -H 'Content-Type: application/json' -d '{"Cmd":["sh","-c","exit 9"],"AttachStdout":true}' \
  http://berth/containers/c1/exec | jq -r .Id)
curl -sS --unix-socket "$API_SOCK" -H 'Content-Type: application/json' -d '{"Detach":false}' "http://berth/exec/$eid/start" -o /dev/null
assert_eq "exec json" "9 false" "$(curl -sS --unix-socket "$API_SOCK" "http://berth/exec/$eid/json" | jq -r '"\(.ExitCode) \(.Running)"')"
r=$(api POST "/exec/$eid/start" -H 'Content-Type: application/json' -d '{}')
assert_eq "an exec started twice" 409 "${r%% *}"

log "a client that disconnects mid-stream frees its thread; a slow one blocks nobody"
threads() { ls "/proc/$SERVE_PID/task" | wc -l; }
threads_at_most() { (($(threads) <= $1)); }
base=$(threads)
for i in 1 2; do
  for path in "/containers/c1/logs?stdout=1&follow=1" /events /containers/c1/stats "/containers/c1/wait"; do
    curl -sS --unix-socket "$API_SOCK" --max-time 1 -X "$([[ $path == *wait ]] && echo POST || echo GET)" \
      "http://berth$path" -o /dev/null 2>/dev/null || true
  done
done
wait_until 10 threads_at_most "$base" || fail "streams of gone clients still hold threads: $(threads) > $base"
# Half a request, kept open: the server must go on answering others.
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b"GET /_ping HTTP/1.1\r\nHost: x\r\n"); time.sleep(30)' \
  "$API_SOCK" &
slow=$!
on_exit kill "$slow"
sleep 0.3
lists=()
for i in $(seq 1 20); do curl -sS --unix-socket "$API_SOCK" -o /dev/null http://berth/containers/json & lists+=($!); done
ping_ok() { [[ $(curl -sS --max-time 2 --unix-socket "$API_SOCK" http://berth/_ping) == OK ]]; }
wait_until 5 ping_ok || fail "a slow client blocked others"
kill "$slow" 2>/dev/null || true
wait "${lists[@]}" || fail "a list request failed while a slow client was connected"

log "wait condition=removed answers for an auto-removed container"
r=$(api POST '/containers/create' -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Cmd":["sh","-c","exit 6"],"HostConfig":{"AutoRemove":true}}')
aid=$(jq -r .Id "$E2E_TMP/api.body")
curl -sS --unix-socket "$API_SOCK" -X POST "http://berth/containers/$aid/wait?condition=removed" -o "$E2E_TMP/wait.json" &
waiter=$!
sleep 0.3
api POST "/containers/$aid/start" >/dev/null
wait "$waiter"
assert_eq "wait removed" 6 "$(jq -r .StatusCode "$E2E_TMP/wait.json")"
wait_until 10 sh -c "! '$BERTH' --root '$ROOT' --state '$STATE' inspect $aid >/dev/null 2>&1" || fail "AutoRemove left $aid"

log "since and until: unix seconds with a fraction, or a bad value's 400"
r=$(api GET "/containers/c1/logs?stdout=1&since=$(date +%s).000000000")
assert_eq "logs since now" 200 "${r%% *}"
r=$(api GET "/containers/c1/logs?stdout=1&since=1e300")
assert_contains "logs since 1e300" "$r" '400 {"message":"invalid argument \"1e300\" for \"since\"'
r=$(api GET "/events?since=0&until=1e300")
assert_contains "events until 1e300" "$r" '400 {"message":"invalid argument \"1e300\" for \"until\"'

log "wait counts a die its record does not show yet"
# The monitor logs "die", then records the exit. A wait that came between
# the two once skipped that die as an earlier run's and hung for good: a
# die after the record's StartedAt is this run's, whatever the record says.
cid=$(curl -sS --unix-socket "$API_SOCK" http://berth/containers/c1/json | jq -r .Id)
now=$(date +%s%N)
printf '{"Type":"container","Action":"die","Actor":{"ID":"%s","Attributes":{"exitCode":"7","name":"c1"}},"scope":"local","time":%s,"timeNano":%s}\n' \
  "$cid" "${now:0:10}" "$now" >>"$ROOT/events.log"
sleep 0.2  # the die is older than the wait, as in the race
r=$(curl -sS --max-time 10 --unix-socket "$API_SOCK" -X POST http://berth/containers/c1/wait) || true
assert_eq "wait after a die not yet recorded" 7 "$(jq -r .StatusCode <<<"$r" 2>/dev/null)"

log "stop with a t past int's range: the container's TERM, then its exit"
r=$(api POST '/containers/create?name=bigt' -H 'Content-Type: application/json' \
  -d '{"Image":"busybox","Cmd":["sh","-c","trap \"exit 5\" TERM; echo trapped; sleep 1000 & wait"]}')
assert_eq "create bigt" 201 "${r%% *}"
assert_eq "start bigt" 204 "$(api POST /containers/bigt/start | cut -d' ' -f1)"
wait_until 10 sh -c "curl -sS --unix-socket '$API_SOCK' 'http://berth/containers/bigt/logs?stdout=1' | grep -q trapped" ||
  fail "bigt never set its trap"
r=$(timeout 20 curl -sS --unix-socket "$API_SOCK" -X POST -o /dev/null -w '%{http_code}' \
  "http://berth/containers/bigt/stop?t=99999999999") || true
assert_eq "stop?t=99999999999" 204 "$r"
assert_eq "bigt ended by its TERM trap" "exited 5" \
  "$(curl -sS --unix-socket "$API_SOCK" http://berth/containers/bigt/json | jq -r '"\(.State.Status) \(.State.ExitCode)"')"
assert_eq "rm bigt" 204 "$(api DELETE /containers/bigt | cut -d' ' -f1)"

log "bytes that are not UTF-8 (file names, a RUN's output) answer as U+FFFD, as Go's encoder writes them"
# A plain dump() threw json's type_error: /changes answered 400 and a
# build's stream ended at the RUN step that printed such bytes.
b run -d --name u8 busybox sh -c "touch \$(printf '/tmp/caf\351'); sleep 300" >/dev/null
wait_until 10 b exec u8 test -e "$(printf '/tmp/caf\351')" || fail "the file was not made"
r=$(api GET /containers/u8/changes)
assert_eq "changes status" 200 "${r%% *}"
assert_eq "changes: the name with U+FFFD" "/tmp/caf$(printf '\357\277\275')" "$(jq -r '.[] | select(.Kind == 1) | .Path' "$E2E_TMP/api.body")"
[[ $(curl -sS -o /dev/null -w '%{http_code}' -I --unix-socket "$API_SOCK" "http://berth/containers/u8/archive?path=/tmp/caf%E9") == 200 ]] ||
  fail "HEAD archive of a name that is not UTF-8"
b rm -f u8 >/dev/null
mkdir -p "$E2E_TMP/u8ctx"
printf 'FROM busybox\nRUN printf "bin\\377ary\\n"\nRUN echo after-the-bytes\n' > "$E2E_TMP/u8ctx/Dockerfile"
tar -C "$E2E_TMP/u8ctx" -cf "$E2E_TMP/u8ctx.tar" .
r=$(api POST '/build?t=u8:1' -H 'Content-Type: application/x-tar' --data-binary @"$E2E_TMP/u8ctx.tar")
assert_contains "the build's stream goes on past the bytes" "$r" "after-the-bytes"
assert_contains "and the build ends" "$r" "Successfully tagged u8:1"
jq -e -s 'map(.stream // "") | join("") | contains("bin\ufffdary")' "$E2E_TMP/api.body" >/dev/null || fail "the byte is not U+FFFD: $r"
b rmi u8:1 >/dev/null

log "containers outlive a restart of serve"
stop_serve
start_serve
assert_eq "still running after serve restarted" true "$(curl -sS --unix-socket "$API_SOCK" http://berth/containers/c1/json | jq -r .State.Running)"
assert_eq "rm -f" 204 "$(api DELETE '/containers/c1?force=1' | cut -d' ' -f1)"
log "ok"
