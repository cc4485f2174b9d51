#!/usr/bin/env bash
# The build corpus (tests/build/) built by `berth build` and by a private
# dockerd's classic builder (DOCKER_BUILDKIT=0) from the same image and
# context: the two images' configs and file trees must be the same (names,
# types, modes, owners, sizes, link targets; not times). Cases docker's
# classic builder cannot read (heredocs; COPY --chmod, which it refuses)
# are left out or adapted here.
source "$(dirname "$0")/lib.sh"
require_bin dockerd docker tar python3
e2e_init
engine_init
start_dockerd "$E2E_TMP/docker"
docker_cli load -i "$BUSYBOX_ARCHIVE" >/dev/null

CORPUS=$E2E_TMP/corpus
cp -a "$BERTH_SOURCE_DIR/tests/build" "$CORPUS"
chmod 751 "$CORPUS/single/dir/sub"
chmod 640 "$CORPUS/single/dir/a.txt"
sed -i 's/--chmod=0640 //' "$CORPUS/every/Dockerfile"  # BuildKit only
# the classic builder builds every stage: the failing unused one goes
sed -i '/AS unused/,/exit 1/d' "$CORPUS/multistage/Dockerfile"

# The tree of an image as "type mode uid/gid size name [-> target]" lines,
# from the engine's export of a container made from it (never started).
tree_of() {  # ENGINE IMAGE
  local id
  if [[ $1 == docker ]]; then
    id=$(docker_cli create "$2" true)
    docker_cli export "$id" > "$E2E_TMP/t.tar"
    docker_cli rm "$id" >/dev/null
  else
    id=$(b create "$2" true)
    b export "$id" > "$E2E_TMP/t.tar"
    b rm "$id" >/dev/null
  fi
  /usr/bin/python3 - "$E2E_TMP/t.tar" <<'PY'
import sys, tarfile
skip = {"dev", "proc", "sys", ".dockerenv", "etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab"}
out = []
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        name = m.name.removeprefix("./").removeprefix("/").rstrip("/")
        if not name or name == "." or name in skip or name.split("/")[0] in ("dev", "proc", "sys"):
            continue
        kind = "d" if m.isdir() else "l" if m.issym() else "h" if m.islnk() else "f" if m.isreg() else "o"
        size = m.size if m.isreg() else 0
        extra = " -> " + m.linkname if m.issym() else ""
        out.append(f"{kind} {m.mode & 0o7777:o} {m.uid}/{m.gid} {size} {name}{extra}")
# /etc with nothing of the image in it: docker's export of a scratch
# image has it (its init layer's mount targets), the image does not.
names = [l.split(" ", 4)[4] for l in out]
out = [l for l in out if not (l.split(" ", 4)[4] == "etc" and not any(n.startswith("etc/") for n in names))]
for line in sorted(out):
    print(line)
PY
}

config_of() {  # ENGINE IMAGE: the config fields a Dockerfile sets, normalised
  local j
  if [[ $1 == docker ]]; then j=$(docker_cli image inspect "$2"); else j=$(b image inspect "$2"); fi
  jq -S '.[0] | {Author: (.Author // ""), Config: (.Config | {Env, Cmd: (.Cmd // null), Entrypoint: (.Entrypoint // null),
    WorkingDir: (.WorkingDir // ""), User: (.User // ""), Labels: (.Labels // {}), ExposedPorts: (.ExposedPorts // {}),
    Volumes: (.Volumes // {}), StopSignal: (.StopSignal // ""), Healthcheck: (.Healthcheck // null),
    OnBuild: ((.OnBuild // []) | if . == [] then null else . end), Shell: (.Shell // null)}),
    Layers: (.RootFS.Layers | length)}' <<<"$j"
}

for case in single multistage every quoting ignore escape onbuild-base onbuild-child; do
  log "$case: berth and docker"
  b build -t "corpus/$case" "$CORPUS/$case" >"$E2E_TMP/berth.out" 2>&1 || { cat "$E2E_TMP/berth.out" >&2; fail "berth build $case"; }
  DOCKER_BUILDKIT=0 docker_cli build -t "corpus/$case" "$CORPUS/$case" >"$E2E_TMP/docker.out" 2>&1 \
    || { cat "$E2E_TMP/docker.out" >&2; fail "docker build $case"; }
  tree_of docker "corpus/$case" > "$E2E_TMP/tree.docker"
  tree_of berth "corpus/$case" > "$E2E_TMP/tree.berth"
  diff -u "$E2E_TMP/tree.docker" "$E2E_TMP/tree.berth" >&2 || fail "$case: the file trees differ (- docker, + berth)"
  config_of docker "corpus/$case" > "$E2E_TMP/cfg.docker"
  config_of berth "corpus/$case" > "$E2E_TMP/cfg.berth"
  diff -u "$E2E_TMP/cfg.docker" "$E2E_TMP/cfg.berth" >&2 || fail "$case: the configs differ (- docker, + berth)"
done
