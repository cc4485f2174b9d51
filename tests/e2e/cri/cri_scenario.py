#!/usr/bin/python3
"""A pod through containerd's CRI, as the kubelet drives it, for
tests/e2e/runtime_cri.sh (cgroupfs) and runtime_cri_systemd.sh (systemd).

Debian 12 has no crictl: this speaks the CRI gRPC API (runtime.v1) with
python3-grpcio, its messages encoded by hand from the field numbers of
the CRI specification (k8s.io/cri-api, pkg/apis/runtime/v1/api.proto);
only the fields used here are declared. Exec's stream is read over the
websocket protocol (v4.channel.k8s.io) of containerd's streaming server.

Every check raises with a message saying what differed; the exit code is
0 only when the whole scenario passed and nothing was left.
"""
import argparse
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.parse

import grpc

# ---- protobuf wire format (only what the CRI messages here use) ----------


def _varint(n):
    if n < 0:
        n += 1 << 64  # int64: ten bytes, two's complement
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def enc(fields):
    """fields: list of (number, value); value is str/bytes (length-
    delimited), bool/int (varint), list (a nested message) or dict (a
    map<string,string>: one entry message per key)."""
    out = bytearray()
    for num, val in fields:
        if isinstance(val, dict):
            for k, v in val.items():
                entry = enc([(1, k), (2, v)])
                out += _varint(num << 3 | 2) + _varint(len(entry)) + entry
            continue
        if isinstance(val, list):
            val = enc(val)
        if isinstance(val, str):
            val = val.encode()
        if isinstance(val, (bytes, bytearray)):
            out += _varint(num << 3 | 2) + _varint(len(val)) + val
        else:
            out += _varint(num << 3 | 0) + _varint(int(val))
    return bytes(out)


def dec(data):
    """bytes -> {number: [values]}: varints as int, the rest as bytes."""
    out, i = {}, 0
    while i < len(data):
        key, i = _read_varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = _read_varint(data, i)
        elif wt == 2:
            n, i = _read_varint(data, i)
            val, i = data[i:i + n], i + n
        elif wt == 1:
            val, i = struct.unpack_from("<Q", data, i)[0], i + 8
        elif wt == 5:
            val, i = struct.unpack_from("<I", data, i)[0], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(val)
    return out


def _read_varint(data, i):
    n = shift = 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def one(msg, num, default=None):
    return msg.get(num, [default])[0]


def dec_map(msg, num):
    out = {}
    for entry in msg.get(num, []):
        e = dec(entry)
        out[one(e, 1, b"").decode()] = one(e, 2, b"").decode()
    return out


# ---- the CRI calls -------------------------------------------------------


class Cri:
    def __init__(self, sock):
        self.ch = grpc.insecure_channel("unix://" + sock)

    def call(self, method, fields, timeout=60):
        f = self.ch.unary_unary("/runtime.v1.RuntimeService/" + method,
                                request_serializer=lambda b: b,
                                response_deserializer=lambda b: b)
        try:
            return dec(f(enc(fields), timeout=timeout))
        except grpc.RpcError as e:
            raise AssertionError("CRI %s failed: %s: %s" % (method, e.code(), e.details()))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what.split(" (")[0], flush=True)


def host(cmd, prefix):
    """Runs a shell command on the node (through `prefix`, e.g. nsenter
    into the systemd container) and returns its stdout."""
    r = subprocess.run(prefix + ["sh", "-c", cmd], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout.strip(), r.stderr.strip()


def proc_cgroups(pid, prefix):
    rc, out, _ = host("cat /proc/%d/cgroup" % pid, prefix)
    cg = {}
    for line in out.splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in (ctrls.split(",") if ctrls else [""]):
            cg[c] = path
    return cg


def ns_inode(pid, ns, prefix):
    rc, out, _ = host("readlink /proc/%d/ns/%s" % (pid, ns), prefix)
    return out


def cgroup_file(cg, controller, v1_file, v2_file, prefix):
    """The value of a limit file of the cgroup a /proc/pid/cgroup map
    names, v1 hierarchy if it has one, else the v2 dir."""
    if controller in cg and cg[controller] not in ("", "/"):
        path = "/sys/fs/cgroup/%s%s/%s" % (controller, cg[controller], v1_file)
    else:
        base = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
        path = "%s%s/%s" % (base, cg[""], v2_file)
    rc, out, err = host("cat %s" % path, prefix)
    check(rc == 0, "read %s (%s)" % (path, err))
    return out


# ---- Exec's stream: a websocket client of just enough RFC 6455 -----------


def exec_stream(url):
    u = urllib.parse.urlparse(url)
    s = socket.create_connection((u.hostname, u.port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n" % (u.path, u.netloc, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError("exec stream: connection closed during the handshake: %r" % buf)
        buf += chunk
    head, buf = buf.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise AssertionError("exec stream: no websocket upgrade: %r" % head)
    channels = {}

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = s.recv(65536)
            if not chunk:
                return False
            buf += chunk
        return True

    while need(2):
        b0, b1 = buf[0], buf[1]
        op, n, at = b0 & 0x0F, b1 & 0x7F, 2
        if n == 126:
            need(4)
            n, at = struct.unpack(">H", buf[2:4])[0], 4
        elif n == 127:
            need(10)
            n, at = struct.unpack(">Q", buf[2:10])[0], 10
        if not need(at + n):
            break
        payload, buf = buf[at:at + n], buf[at + n:]
        if op == 8:  # close
            break
        if op in (1, 2) and payload:
            channels.setdefault(payload[0], b"")
            channels[payload[0]] += payload[1:]
    s.close()
    return channels


# ---- the scenario ---------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--cgroup-parent", required=True)
    ap.add_argument("--systemd", action="store_true")
    ap.add_argument("--log-dir", required=True)
    ap.add_argument("--prefix", default="", help="command prefix to run node-side checks (JSON list)")
    ap.add_argument("--mark", default="cri-e2e")
    a = ap.parse_args()
    prefix = json.loads(a.prefix) if a.prefix else []
    cri = Cri(a.socket)

    v = cri.call("Version", [(1, "v1")])
    check(one(v, 2, b"").decode() == "containerd", "Version names containerd (%r)" % v)

    uid = "uid-%d" % os.getpid()
    sandbox_config = [
        (1, [(1, "berth-pod"), (2, uid), (3, "default"), (4, 0)]),
        (3, a.log_dir),
        (6, {"e2e": a.mark}),
        (8, [(1, a.cgroup_parent),
             # network NODE (host: no CNI), pid POD, ipc POD
             (2, [(1, [(1, 2), (2, 0), (3, 0)])])]),
    ]
    r = cri.call("RunPodSandbox", [(1, sandbox_config)], timeout=120)
    pod = one(r, 1).decode()
    check(pod, "RunPodSandbox gave an id")
    st = cri.call("PodSandboxStatus", [(1, pod), (2, True)])
    status = dec(one(st, 1))
    check(one(status, 3, 0) == 0, "sandbox is READY")
    info = json.loads(dec_map(st, 2).get("info", "{}"))
    pause_pid = info.get("pid", 0)
    check(pause_pid > 0, "sandbox has a pid (info: %s)" % str(info)[:300])

    limit = 64 << 20
    resources = [(1, 100000), (2, 50000), (3, 512), (4, limit)]
    container_config = [
        (1, [(1, "work"), (2, 0)]),
        (2, [(1, a.image)]),
        (3, "sh"),
        (4, "-c"), (4, ": %s; echo started; while true; do sleep 1; done" % a.mark),
        (11, "work.log"),
        (15, [(1, resources), (2, [(3, [(1, 2), (2, 0), (3, 0)])])]),
    ]
    r = cri.call("CreateContainer", [(1, pod), (2, container_config), (3, sandbox_config)], timeout=120)
    cid = one(r, 1).decode()
    check(cid, "CreateContainer gave an id")
    cri.call("StartContainer", [(1, cid)], timeout=120)
    st = cri.call("ContainerStatus", [(1, cid), (2, True)])
    check(one(dec(one(st, 1)), 3, -1) == 1, "container is RUNNING")
    cpid = json.loads(dec_map(st, 2).get("info", "{}")).get("pid", 0)
    check(cpid > 0, "container has a pid")

    # Namespaces shared with the sandbox by path; the network is the node's.
    for ns in ("ipc", "pid", "uts"):
        a_ino, b_ino = ns_inode(cpid, ns, prefix), ns_inode(pause_pid, ns, prefix)
        check(a_ino and a_ino == b_ino, "container and sandbox share the %s namespace (%s vs %s)" % (ns, a_ino, b_ino))
    node_net = ns_inode(1, "net", prefix) if prefix else os.readlink("/proc/self/ns/net")
    check(ns_inode(cpid, "net", prefix) == node_net, "container is in the node's network namespace")
    check(ns_inode(cpid, "mnt", prefix) != ns_inode(pause_pid, "mnt", prefix), "container has its own mount namespace")

    # The pod's cgroup parent, and the limits.
    cg = proc_cgroups(cpid, prefix)
    key = "name=systemd" if "name=systemd" in cg else ""
    path = cg.get("memory", cg.get(""))
    if a.systemd:
        unit = "cri-containerd-%s.scope" % cid
        check(cg[key].endswith("/" + unit), "container is in scope %s (%s)" % (unit, cg[key]))
        check("/" + a.cgroup_parent + "/" in cg[key] or cg[key].split("/")[-2] == a.cgroup_parent,
              "scope is under the pod slice %s (%s)" % (a.cgroup_parent, cg[key]))
        rc, out, err = host("systemctl status --no-pager %s" % unit, prefix)
        check(rc == 0 and "active (running)" in out, "systemctl status %s: active (%s %s)" % (unit, out[:400], err))
        rc, out, _ = host("systemctl show -p MemoryMax -p MemoryLimit -p CPUQuotaPerSecUSec -p Delegate %s" % unit, prefix)
        props = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
        mem_prop = props.get("MemoryMax") if props.get("MemoryMax") not in (None, "infinity") else props.get("MemoryLimit")
        check(mem_prop == str(limit), "unit's memory limit is %d (%s)" % (limit, props))
        check(props.get("CPUQuotaPerSecUSec") == "500ms", "unit's CPU quota is 50%% (%s)" % props)
        check(props.get("Delegate") == "yes", "unit is delegated (%s)" % props)
    else:
        check(path.startswith(a.cgroup_parent + "/"), "container cgroup %s is under the pod parent %s" % (path, a.cgroup_parent))
    check(cgroup_file(cg, "memory", "memory.limit_in_bytes", "memory.max", prefix) == str(limit),
          "memory limit file is %d" % limit)

    # ExecSync: output and exit code.
    r = cri.call("ExecSync", [(1, cid), (2, "sh"), (2, "-c"), (2, "echo out-$((6*7)); echo err >&2; exit 3"), (3, 30)])
    check(one(r, 1, b"") == b"out-42\n", "ExecSync stdout (%r)" % one(r, 1, b""))
    check(one(r, 2, b"") == b"err\n", "ExecSync stderr (%r)" % one(r, 2, b""))
    check(one(r, 3, 0) == 3, "ExecSync exit code 3 (%r)" % one(r, 3, 0))

    # Exec: a streaming URL, read over a websocket.
    r = cri.call("Exec", [(1, cid), (2, "sh"), (2, "-c"), (2, "echo stream-$((7*6)); cat /proc/1/comm"), (5, True), (6, True)])
    url = one(r, 1, b"").decode()
    check(url.startswith("http://"), "Exec gave a URL (%s)" % url)
    chans = exec_stream(url)
    check(chans.get(1, b"") == b"stream-42\npause\n", "Exec stream stdout (%r)" % chans)
    check(b"Success" in chans.get(3, b""), "Exec stream status (%r)" % chans.get(3))

    # ContainerStats move: cpu time grows with work done in the container.
    def stats():
        s = dec(one(cri.call("ContainerStats", [(1, cid)]), 1))
        cpu = dec(one(s, 2, b""))
        mem = dec(one(s, 3, b""))
        return (one(dec(one(cpu, 2, b"")), 1, 0), one(dec(one(mem, 2, b"")), 1, 0))
    cpu0, mem0 = stats()
    cri.call("ExecSync", [(1, cid), (2, "sh"), (2, "-c"), (2, "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"), (3, 60)])
    cpu1, mem1 = stats()
    check(cpu1 > cpu0 > 0, "ContainerStats cpu moves (%d -> %d ns)" % (cpu0, cpu1))
    check(mem1 > 0, "ContainerStats memory working set > 0 (%d)" % mem1)

    # UpdateContainerResources: the new limit in the files (and the unit).
    new_limit = 96 << 20
    cri.call("UpdateContainerResources", [(1, cid), (2, [(1, 100000), (2, 80000), (3, 512), (4, new_limit)])])
    check(cgroup_file(cg, "memory", "memory.limit_in_bytes", "memory.max", prefix) == str(new_limit),
          "memory limit file is %d after update" % new_limit)
    if a.systemd:
        rc, out, _ = host("systemctl show -p MemoryMax -p MemoryLimit -p CPUQuotaPerSecUSec %s" % unit, prefix)
        props = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)
        mem_prop = props.get("MemoryMax") if props.get("MemoryMax") not in (None, "infinity") else props.get("MemoryLimit")
        check(mem_prop == str(new_limit), "unit's memory limit after update (%s)" % props)
        check(props.get("CPUQuotaPerSecUSec") == "800ms", "unit's CPU quota after update (%s)" % props)

    # Stop, remove; the sandbox too; nothing left.
    cri.call("StopContainer", [(1, cid), (2, 2)], timeout=60)
    check(one(dec(one(cri.call("ContainerStatus", [(1, cid)]), 1)), 3, -1) == 2, "container is EXITED after stop")
    cri.call("RemoveContainer", [(1, cid)])
    cri.call("StopPodSandbox", [(1, pod)], timeout=60)
    cri.call("RemovePodSandbox", [(1, pod)])
    r = cri.call("ListContainers", [])
    check(not r.get(1), "no container listed after removal")
    r = cri.call("ListPodSandbox", [])
    check(not r.get(1), "no sandbox listed after removal")
    for pid in (cpid, pause_pid):
        rc, _, _ = host("test -d /proc/%d" % pid, prefix)
        check(rc != 0, "process %d is gone" % pid)
    for c, p in cg.items():
        if c in ("", "name=systemd") or not p or p == "/":
            continue
        d = "/sys/fs/cgroup/%s%s" % (c, p)
        rc, _, _ = host("test -d %s" % d, prefix)
        check(rc != 0, "cgroup %s is removed" % d)
    if a.systemd:
        rc, out, _ = host("systemctl is-active %s; systemctl list-units --all --no-legend 'cri-containerd-*'" % unit, prefix)
        check(out.split("\n", 1)[0] != "active", "scope %s is gone (%s)" % (unit, out))
        check(cid not in out.split("\n", 1)[-1], "no cri-containerd unit of the container is listed (%s)" % out)
    print("cri scenario passed", flush=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e, file=sys.stderr, flush=True)
        sys.exit(1)
