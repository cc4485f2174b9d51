# Helpers of the CRI tests (runtime_cri.sh, runtime_cri_systemd.sh); sourced
# after tests/e2e/lib.sh.

# cri_containerd_config DIR RUNTIME RUNTIME_ROOT SYSTEMD(true|false) : writes
# DIR/config.toml for a containerd whose CRI plugin runs every pod through
# RUNTIME with the runc shim v2 (what a Kubernetes node's containerd does
# with runc), with root, state and sockets under DIR. No CNI: the tests use
# host-network pods. restrict_oom_score_adj: sandboxes ask for -998, which
# needs CAP_SYS_RESOURCE (not in this machine's bounding set).
cri_containerd_config() {
  local dir=$1 rt=$2 rroot=$3 systemd=$4
  mkdir -p "$dir/cni/bin" "$dir/cni/conf"
  cat > "$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
plugin_dir = ""
disabled_plugins = [
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "$dir/c.sock"

[ttrpc]
  address = "$dir/c.sock.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "berth.test/pause:1"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "berth"
    snapshotter = "overlayfs"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.berth.options]
        BinaryName = "$rt"
        Root = "$rroot"
        SystemdCgroup = $systemd
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/conf"
TOML
}

# cri_import_images CTR_ADDRESS : the test's pause image and the bundled
# busybox into containerd's k8s.io namespace (nothing is pulled).
cri_import_images() {
  local addr=$1 out rc
  "$BERTH_SOURCE_DIR/tests/e2e/cri/make_pause_image" "$E2E_TMP/pause.tar" berth.test/pause:1
  run_capture out rc timeout 120 ctr --address "$addr" -n k8s.io images import "$E2E_TMP/pause.tar"
  assert_eq "import the pause image (output: $out)" 0 "$rc"
  run_capture out rc timeout 120 ctr --address "$addr" -n k8s.io images import \
    "$BERTH_BUILD_DIR/images/busybox-docker-archive.tar"
  assert_eq "import busybox (output: $out)" 0 "$rc"
}
