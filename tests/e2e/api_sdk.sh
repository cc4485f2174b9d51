#!/usr/bin/env bash
# The Docker SDK for Python (Debian's python3-docker) against `berth
# serve`: run, exec, list, stop, images, volumes.
# Containers made through the API are on docker's default network (berth's
# bridge): the test runs in a network namespace of its own, so nothing
# touches the machine's.
if [[ -z ${BERTH_NET_TEST_NS:-} ]]; then
  exec env BERTH_NET_TEST_NS=1 E2E_IN_PRIVATE_NET_NS=1 unshare --net bash "$0" "$@"
fi
source "$(dirname "$0")/lib.sh"
e2e_init
/usr/bin/python3 -c 'import docker' 2>/dev/null || skip "python3-docker not installed (scripts/install-deps installs it)"
engine_init
source "$(dirname "$0")/api_lib.bash"
ip link set lo up
start_serve
# Bounded, and saying how far it got: it once hung until ctest's 600 s
# timeout with no output (session 9's final clean clone; not seen again).
timeout 240 /usr/bin/python3 - "$API_SOCK" "$E2E_MARK" <<'PY' || fail "the SDK script failed (serve.log: $(tail -5 "$E2E_TMP/serve.log"))"
import sys
import docker

sock, mark = sys.argv[1], sys.argv[2]


def step(what):
    print("step:", what, file=sys.stderr, flush=True)


step("ping")
c = docker.DockerClient(base_url="unix://" + sock, timeout=60)
assert c.ping()
assert c.version()["ApiVersion"] == "1.43"
step("run --rm")
out = c.containers.run("busybox", ["sh", "-c", "echo from-sdk; : " + mark], remove=True)
assert out == b"from-sdk\n", out
step("run -d")
ct = c.containers.run("busybox", ["sh", "-c", "sleep 1000; : " + mark], detach=True, name="sdk1")
ct.reload()
assert ct.status == "running", ct.status
assert "sdk1" in [x.name for x in c.containers.list()]
step("exec")
r = ct.exec_run(["sh", "-c", "echo in-exec; exit 3"])
assert r.exit_code == 3 and r.output == b"in-exec\n", r
step("stop")
ct.stop(timeout=1)
assert ct.wait()["StatusCode"] == 143 or ct.wait()["StatusCode"] == 137, ct.wait()
step("remove")
ct.remove()
assert "busybox:latest" in c.images.get("busybox").tags
step("volumes")
v = c.volumes.create("sdkvol")
assert "sdkvol" in [x.name for x in c.volumes.list()]
v.remove()
try:
    c.containers.get("nope")
    raise SystemExit("get of a missing container succeeded")
except docker.errors.NotFound:
    pass
print("sdk ok")
PY
log "ok"
