// Containers as objects users name: `berth run/create/start/stop/kill/rm/
// ps/logs/exec/inspect/wait/...` and, later, the Engine API call the same
// methods. Daemonless: each call works on the records in <root>/berth.db
// and the files the container's monitor (monitor/monitor.hpp) keeps, and
// any number of CLIs may run at once.
//
// Records and reality: a record says what was asked; the monitor's
// status.json says what happened. Every read first folds status.json into
// the record (sync): a monitor that died is noticed (its container is
// killed and marked exited), a CLI killed during create leaves a record in
// "creating" that the next command removes with what it made, a rootfs
// that a killed `start` mounted for no monitor is unmounted, a container
// that a monitor killed early left running in the runtime is ended: the
// container dir is flocked by a start before it mounts, and by the monitor
// it spawns (which inherits the lock) for the monitor's whole life, so a
// mount or runtime state of a container that is not live, whose dir nobody
// has locked, is a leftover.
//
// On disk, per container: <root>/containers/<id>/ holds what outlives a
// reboot: the snapshot (upper, work, merged), status.json and the json-file
// log; <state>/containers/<id>/ (a tmpfs, /run) holds what each start makes
// again: the bundle's config.json, etc/ (hosts, hostname, resolv.conf), the
// monitor's sockets and its monitor.log. The runtime keeps its state in
// <state>/runtime.
//
// Networks (container_network.cpp, docs/networking.md): a container on a
// bridge network holds leases (table leases) from create to rm; each start
// makes its network namespace at <state>/netns/<id> (veths, addresses,
// published ports, through the berth-network helper) before the runtime
// joins it by path, and whoever notices the run is over (stop, rm, or the
// sync of a record whose run ended or whose monitor died) tears it down.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/container_spec.hpp"
#include "engine/container_store.hpp"
#include "engine/networks.hpp"
#include "engine/volumes.hpp"
#include "image/image_store.hpp"
#include "image/registry_request.hpp"

namespace berth::engine {

// What a container asks of the network it is connected to (at create:
// the one of HostConfig.NetworkMode; or at connect).
struct EndpointRequest {
  std::vector<std::string> aliases;  // --network-alias
  std::string ip;                    // --ip
  std::string ip6;                   // --ip6 (a dual-stack network)
};

struct CreateRequest {
  std::string name;  // "" = generated
  ContainerConfig config;
  HostConfig host;
  // The registry, when the store lacks the image ("missing"), every time
  // ("always") or not at all ("never": docker's API create, which 404s and
  // leaves the pull to the client). Progress goes to pull_progress.
  std::string pull = "never";
  image::ProgressFn pull_progress;
  EndpointRequest endpoint;
};

struct ListOptions {
  bool all = false;
  int last = -1;  // -n: the newest N (all states)
  // Rows from the store's listing columns (Container::listing_only): what
  // `ps` shows, without parsing each container's record.
  bool listing = false;
};

struct ExecRequest {
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string user, working_dir;
  bool tty = false, interactive = false, detach = false, privileged = false;
  // The runtime's stdio (-1: this process's), and with a tty the socket
  // the runtime hands the pty master to (runc's --console-socket) instead
  // of proxying it itself: the Engine API's exec.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  std::string console_socket;
};

struct LogOptions {
  bool follow = false;
  bool timestamps = false;
  int64_t tail = -1;     // -1: all
  int64_t since = 0;     // unix seconds; 0: no bound
  int64_t until = 0;
  bool stdout = true, stderr = true;
  int hangup_fd = -1;  // follow ends when this socket's peer hangs up (the API's client)
};

// Where logs() sends each entry (stream 1 stdout, 2 stderr); false stops.
using LogSink = std::function<bool(int stream, std::string_view text)>;

// docker's wait conditions: "not-running" (now, if it is not), "next-exit"
// (the next exit from now), "removed" (the record is gone).
struct WaitResult {
  int exit_code = 0;
  std::string error;
};

// Where a started container's monitor should send its output first (a
// connected socket, attach_frame.hpp): no output is lost before an attach.
struct StartOptions {
  int attach_fd = -1;
};

class ContainerEngine {
 public:
  ContainerEngine(std::string root, std::string state);
  ~ContainerEngine();

  image::ImageStore& images() { return *images_; }
  Volumes& volumes() { return *volumes_; }
  const std::string& root() const { return root_; }

  // Creates the record, the rootfs snapshot and the volumes; returns the id.
  // Bad input is an error before anything is made; a failure later undoes
  // what was made.
  std::string create(const CreateRequest& req, std::vector<std::string>* warnings = nullptr);
  // Mounts the rootfs and starts the container under a new monitor; returns
  // once the process runs (or throws with the reason it could not).
  void start(const std::string& ref, const StartOptions& o = {});
  // Stop signal, then SIGKILL after `timeout` seconds (-1: the container's own).
  void stop(const std::string& ref, int timeout = -1);
  void restart(const std::string& ref, int timeout = -1);
  void kill(const std::string& ref, const std::string& signal = "KILL");
  // Removes the container; a running one only with `force` (killed first).
  // `volumes`: its anonymous volumes too.
  void remove(const std::string& ref, bool force, bool volumes);
  void pause(const std::string& ref);
  void unpause(const std::string& ref);
  void rename(const std::string& ref, const std::string& new_name);
  // Blocks until the container is not running; returns its exit code.
  int wait(const std::string& ref);
  // Waits for `condition` (container_wait.cpp) by following the event log,
  // so an exit between two looks is never missed (`run --rm`'s container
  // may be gone before anyone looks). Gives up, returning nullopt, when
  // `hangup_fd`'s peer hangs up.
  std::optional<WaitResult> wait_for(const std::string& ref, const std::string& condition, int hangup_fd = -1);

  Container inspect(const std::string& ref);
  std::vector<Container> list(const ListOptions& o);
  // Streams the log to `out_fd`/`err_fd` (raw, or with timestamps).
  void logs(const std::string& ref, const LogOptions& o, int out_fd, int err_fd);
  void logs(const std::string& ref, const LogOptions& o, const LogSink& sink);
  // Runs a process in a running container with this process's stdio (a tty
  // is proxied by the runtime); returns its exit code (126/127 if it cannot
  // be started, as Docker).
  int exec(const std::string& ref, const ExecRequest& r);
  // `top`: the runtime's `ps` of the container.
  std::string top(const std::string& ref, const std::vector<std::string>& ps_args);

  // Connects to a running container's monitor (attach_frame.hpp).
  int attach_socket(const std::string& ref);

  // --- files (container_files.cpp): `cp`, `diff`, `export`, `commit`
  // A tar of `path` in the container (docker cp's copy-out) to `out_fd`.
  void copy_out(const std::string& ref, const std::string& path, int out_fd);
  // Extracts the tar on `in_fd` into directory `dir` of the container.
  void copy_in(const std::string& ref, int in_fd, const std::string& dir);
  // What the container changed: {"A"|"C"|"D", path}, sorted by path.
  std::vector<std::pair<std::string, std::string>> diff(const std::string& ref);
  // The container's whole filesystem as a tar to `out_fd`.
  void export_rootfs(const std::string& ref, int out_fd);
  // Its changes as a new image; returns the image id.
  std::string commit(const std::string& ref, const std::string& repo_tag, const std::string& author,
                     const std::string& message, bool pause, const std::vector<std::string>& changes);
  // Resolves `path` to an existing directory or file of the container;
  // true if it is a directory (copy-in/out decisions, as docker cp).
  bool path_kind(const std::string& ref, const std::string& path, bool* exists);

  // --- stats (container_stats.cpp)
  struct Stats {
    std::string id, name;
    double cpu_percent = 0;
    int64_t mem_usage = 0, mem_limit = 0;
    int64_t net_rx = 0, net_tx = 0, blk_read = 0, blk_write = 0;
    int64_t pids = 0;
    // The raw counters docker's API reports (cpu_stats / precpu_stats):
    // the container's CPU time and the host's, at the start and end.
    int64_t cpu_ns = 0, precpu_ns = 0, system_ns = 0, presystem_ns = 0;
    int online_cpus = 1;
  };
  // One sample per running container in `refs` (all running if empty),
  // CPU over `interval_ms`.
  std::vector<Stats> stats(const std::vector<std::string>& refs, int interval_ms);

  // --- update (container_update.cpp): new limits on a live container and
  // its record (applied again at each start); restart policy.
  struct Update {
    std::optional<int64_t> memory, memory_swap, nano_cpus, cpu_shares, pids_limit;
    std::optional<RestartPolicy> restart;
  };
  void update(const std::string& ref, const Update& u);

  // The boot-time pass (`berth system boot`): restarts containers whose
  // policy is always, or unless-stopped and not stopped by a user.
  std::vector<std::string> boot();
  // Folds status.json into a record (see above); public for `cleanup`.
  void cleanup(const std::string& ref);

  // --- networks (container_network.cpp): bridge networks, their leases,
  // and a container's endpoints on them (see docs/networking.md).
  Networks& networks() { return *networks_; }
  Network network_create(const NetworkCreateRequest& r);
  // Refused (FailedPrecondition) while a container is on it.
  void network_remove(const std::string& ref);
  // Removes the user networks no container is on; returns their names.
  std::vector<std::string> network_prune();
  // The containers on network `n` (any state).
  std::vector<Container> network_containers(const Network& n);
  void network_connect(const std::string& network, const std::string& container, const EndpointRequest& r);
  void network_disconnect(const std::string& network, const std::string& container, bool force);
  // A running container's published ports ("80/tcp" -> host ip, port).
  std::vector<PortBinding> ports(const std::string& ref);

  std::string container_dir(const std::string& id) const;
  std::string state_dir(const std::string& id) const;
  std::string log_path(const std::string& id) const;

 private:
  void sync(Container& c);
  void release_resources(const Container& c);
  void remove_anonymous_volumes(const Container& c);
  void mark_dead_monitor(Container& c);
  void release_unowned(const Container& c);
  std::string runtime_path(const std::string& runtime) const;
  std::vector<std::string> runtime_argv(const Container& c) const;
  int run_runtime(const Container& c, const std::vector<std::string>& args, bool quiet = true) const;
  void prepare_rootfs(Container& c, const std::string& netns);
  void write_etc_files(const Container& c);
  void fill_new_volumes(Container& c);
  pid_t spawn_monitor(const Container& c, int sync_fd, int attach_fd, int owner_fd);
  void wait_monitor_gone(const Container& c, int timeout_ms);
  void remove_files(const Container& c);
  // Network mode and endpoints checked and leased at create.
  void plan_network(Container& c, const EndpointRequest& r);
  EndpointSettings lease_endpoint(const Container& c, const Network& n, const EndpointRequest& r, size_t index);
  // At start: the endpoints made (published ports resolved); returns the
  // netns to join ("" for none/host).
  std::string setup_network(Container& c);
  // Undoes setup_network (no-op when nothing is set up).
  void teardown_network(const Container& c);
  std::string netns_path(const std::string& id) const;
  void write_dns_hosts(const std::string& network_id, const Container* adding, const std::string& removing);
  void run_network_helper(const std::string& verb, const std::string& request) const;

  std::string root_, state_;
  std::unique_ptr<image::ImageStore> images_;
  std::unique_ptr<ContainerStore> store_;
  std::unique_ptr<Volumes> volumes_;
  std::unique_ptr<Networks> networks_;
};

// A Docker duration ("10s", "1m30s", "500ms", "1h") in nanoseconds;
// InvalidArgument naming `flag` otherwise.
int64_t parse_duration_ns(const std::string& text, const std::string& flag);
// docker's --since/--until: RFC 3339, unix seconds, or a duration back
// from now ("10m"); unix seconds, 0 for "".
int64_t parse_time_bound(const std::string& text, const std::string& flag);
// A signal by name or number ("KILL", "SIGKILL", "9"); InvalidArgument otherwise.
int parse_signal(const std::string& text);

// The json-file log's rotation (HostConfig.LogConfig.Config, --log-opt):
// docker's max-size (a positive decimal size: "10m", "1.5g", "100k") and
// max-file (1 to kMaxLogFiles; logs reads no further). Defaults: 10 MB x 3,
// not docker's unbounded log: a chatty container must not fill the disk.
// Any other key, or a bad value: InvalidArgument naming it.
constexpr int kMaxLogFiles = 20;
struct LogLimits {
  int64_t max_size = 10 * 1000 * 1000;
  int max_files = 3;
};
LogLimits parse_log_opts(const std::map<std::string, std::string>& opts);

}  // namespace berth::engine
