# Sourced by bench/runtime-start/run and .../interleaved: the bundle, the two
# mount namespaces and the wrapper every runtime is started through.
#
# runtime_start_setup WORK ROOTFS: makes
#   WORK/bundle        a copy of ROOTFS + `runc spec` (/bin/true, no terminal, read-only root)
#   WORK/ns/plain      a private copy of the host mount namespace (berth, runc)
#   WORK/ns/crun       the same without /sys/fs/cgroup/unified (crun 1.8 refuses
#                      this host's hybrid layout otherwise)
#   WORK/root          a tmpfs for the runtimes' --root dirs (state lives on
#                      tmpfs on a standard host: /run; here / is one ext4,
#                      where a file create in /tmp took 25-280 us)
#   WORK/launch        `launch NS RUNTIME ROOT BUNDLE`: enter NS, exec RUNTIME
#                      --root ROOT run --bundle BUNDLE b<pid> (launch.c; `-` as
#                      RUNTIME: enter NS and exit, the launcher's own cost)
# runtime_start_cleanup WORK: unmounts and removes all of it.

runtime_start_setup() {
  local work=$1 rootfs=$2 bundle=$1/bundle
  mkdir -p "$bundle" "$work/ns"
  cp -a "$rootfs" "$bundle/rootfs"
  (cd "$bundle" && runc spec)
  jq '.process.args = ["/bin/true"] | .process.terminal = false | .root.readonly = true' \
    "$bundle/config.json" > "$bundle/config.json.new"
  mv "$bundle/config.json.new" "$bundle/config.json"

  mkdir -p "$work/root"
  mount -t tmpfs -o mode=700 berth-bench-roots "$work/root"
  # Two persistent mount namespaces (bind-mounted on files in a private mount),
  # made after the tmpfs so that they see it.
  mount --bind "$work/ns" "$work/ns"
  mount --make-private "$work/ns"
  touch "$work/ns/plain" "$work/ns/crun"
  unshare --mount="$work/ns/plain" --propagation private true
  unshare --mount="$work/ns/crun" --propagation private true
  if nsenter --mount="$work/ns/crun" mountpoint -q /sys/fs/cgroup/unified; then
    nsenter --mount="$work/ns/crun" umount /sys/fs/cgroup/unified
  fi

  # The bundle copy above leaves dirty pages; written back during the first
  # runtime's runs, they would slow that one (berth, first in every pass).
  sync
  cc -O2 -static -nostdlib -ffreestanding -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-pie -no-pie -o "$work/launch" \
    "$(dirname "${BASH_SOURCE[0]}")/launch.c"
}

runtime_start_cleanup() {
  local work=$1 ns
  set +e
  for ns in plain crun; do
    [[ -e $work/ns/$ns ]] && umount "$work/ns/$ns" 2>/dev/null
  done
  mountpoint -q "$work/ns" && umount "$work/ns"
  mountpoint -q "$work/root" && umount "$work/root"
  rm -rf "$work"
}
