# Sourced by bench/runtime-start/run and .../interleaved: the bundle, the two
# mount namespaces and the wrapper every runtime is started through.
#
# runtime_start_setup WORK ROOTFS: makes
#   WORK/bundle        a copy of ROOTFS + `runc spec` (/bin/true, no terminal, read-only root)
#   WORK/ns/plain      a private copy of the host mount namespace (berth, runc)
#   WORK/ns/crun       the same without /sys/fs/cgroup/unified (crun 1.8 refuses
#                      this host's hybrid layout otherwise)
#   WORK/start         `start NS RUNTIME ROOT`: nsenter --mount=NS RUNTIME --root ROOT
#                      run --bundle WORK/bundle b<pid>
# runtime_start_cleanup WORK: unmounts and removes all of it.

runtime_start_setup() {
  local work=$1 rootfs=$2 bundle=$1/bundle
  mkdir -p "$bundle" "$work/ns"
  cp -a "$rootfs" "$bundle/rootfs"
  (cd "$bundle" && runc spec)
  jq '.process.args = ["/bin/true"] | .process.terminal = false | .root.readonly = true' \
    "$bundle/config.json" > "$bundle/config.json.new"
  mv "$bundle/config.json.new" "$bundle/config.json"

  # Two persistent mount namespaces (bind-mounted on files in a private mount).
  mount --bind "$work/ns" "$work/ns"
  mount --make-private "$work/ns"
  touch "$work/ns/plain" "$work/ns/crun"
  unshare --mount="$work/ns/plain" --propagation private true
  unshare --mount="$work/ns/crun" --propagation private true
  if nsenter --mount="$work/ns/crun" mountpoint -q /sys/fs/cgroup/unified; then
    nsenter --mount="$work/ns/crun" umount /sys/fs/cgroup/unified
  fi

  cat > "$work/start" <<W
#!/bin/sh
# \$1 mount ns, \$2 runtime, \$3 its --root
exec nsenter --mount="\$1" "\$2" --root "\$3" run --bundle "$bundle" "b\$\$"
W
  chmod 755 "$work/start"
}

runtime_start_cleanup() {
  local work=$1 ns
  set +e
  for ns in plain crun; do
    [[ -e $work/ns/$ns ]] && umount "$work/ns/$ns" 2>/dev/null
  done
  mountpoint -q "$work/ns" && umount "$work/ns"
  rm -rf "$work"
}
