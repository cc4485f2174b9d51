// ContainerEngine: construction, create, and the helpers every verb shares.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "engine/events.hpp"
#include "engine/image_config_use.hpp"
#include "engine/in_root.hpp"
#include "engine/names.hpp"
#include "engine/oci_config.hpp"
#include "engine/process_identity.hpp"
#include "engine/registry_ops.hpp"
#include "engine/user_namespace.hpp"
#include "image/overlay_snapshotter.hpp"
#include "monitor/restart_policy.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

bool is_executable(const std::string& p) { return ::access(p.c_str(), X_OK) == 0; }

std::string clean_target(const std::string& t, const std::string& what) {
  if (t.empty() || t[0] != '/')
    throw Error("invalid mount config for type \"" + what + "\": invalid mount path: '" + t + "' mount path must be absolute",
                ErrorKind::InvalidArgument);
  std::string out = t;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out == "/") throw Error("invalid specification: destination can't be '/'", ErrorKind::InvalidArgument);
  return out;
}

}  // namespace

ContainerEngine::ContainerEngine(std::string root, std::string state)
    : root_(std::move(root)), state_(std::move(state)) {
  fs::mkdir_p(root_, 0711);
  images_ = std::make_unique<image::ImageStore>(root_);
  store_ = std::make_unique<ContainerStore>(images_->db());
  volumes_ = std::make_unique<Volumes>(images_->db(), root_);
  networks_ = std::make_unique<Networks>(images_->db());
}

ContainerEngine::~ContainerEngine() = default;

std::string ContainerEngine::container_dir(const std::string& id) const { return root_ + "/containers/" + id; }
std::string ContainerEngine::state_dir(const std::string& id) const { return state_ + "/containers/" + id; }
std::string ContainerEngine::log_path(const std::string& id) const {
  return container_dir(id) + "/" + id + "-json.log";
}

std::string ContainerEngine::runtime_path(const std::string& runtime) const {
  if (runtime.empty() || runtime == "berth-runtime") {
    std::string p = executable_dir() + "/berth-runtime";
    if (!is_executable(p)) throw Error("runtime " + p + " not found (build it: ninja berth-runtime)", ErrorKind::NotFound);
    return p;
  }
  if (runtime.find('/') != std::string::npos) {
    if (!is_executable(runtime)) throw Error("runtime " + runtime + " is not an executable file", ErrorKind::NotFound);
    return runtime;
  }
  for (const char* dir : {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}) {
    std::string p = std::string(dir) + "/" + runtime;
    if (is_executable(p)) return p;
  }
  throw Error("unknown or invalid runtime name: " + runtime, ErrorKind::InvalidArgument);
}

std::vector<std::string> ContainerEngine::runtime_argv(const Container& c) const {
  return {c.runtime_path, "--root", state_ + "/runtime"};
}

std::string ContainerEngine::create(const CreateRequest& req, std::vector<std::string>* warnings) {
  Container c;
  c.config = req.config;
  c.host = req.host;
  // --- everything that can be refused is checked before anything is made
  if (!monitor::RestartPolicy::valid(c.host.restart_policy.name))
    fail("invalid restart policy: unknown policy '" + c.host.restart_policy.name +
         "'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'");
  if (c.host.restart_policy.maximum_retry_count && c.host.restart_policy.name != "on-failure")
    fail("invalid restart policy: maximum retry count can only be used with 'on-failure'");
  if (c.host.auto_remove && c.host.restart_policy.name != "no" && !c.host.restart_policy.name.empty())
    fail("conflicting options: cannot specify both --restart and --rm");
  plan_network(c, req.endpoint);
  if (c.host.memory < 0) fail("invalid memory limit: a negative size");
  if (c.host.memory > 0 && c.host.memory < 6 * 1024 * 1024)
    fail("Minimum memory limit allowed is 6MB");
  if (c.host.memory_swap > 0 && c.host.memory > 0 && c.host.memory_swap < c.host.memory)
    fail("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (c.host.memory_swap > 0 && c.host.memory == 0)
    fail("You should always set the Memory limit when using Memoryswap limit, see usage");
  if (c.host.nano_cpus < 0) fail("invalid CPU count: it must be positive");
  check_userns(c.host);
  effective_caps(c.host);  // names checked now, not at start
  check_ulimits(c.host);
  parse_log_opts(c.host.log_opts);
  c.runtime_path = runtime_path(c.host.runtime);
  if (!req.name.empty()) c.name = check_container_name(req.name);

  image::ImageRecord img;
  try {
    // The one registry touch of create: engine/registry_ops.cpp.
    pull_for_create(*images_, c.config.image, req.pull, req.pull_progress);
    img = images_->resolve(c.config.image);
  } catch (Error& e) {
    if (e.kind() == ErrorKind::NotFound && !e.message().starts_with("No such image"))
      throw Error("No such image: " + c.config.image, ErrorKind::NotFound);
    throw;
  }
  // Its types checked first (image_config_use.hpp): an image is anyone's.
  json image_config = checked_image_config(images_->config(img).raw.value("config", json::object()));
  std::vector<std::string> args = apply_image_config(c.config, image_config);
  c.path = args[0];
  c.args.assign(args.begin() + 1, args.end());
  c.image_id = img.id;

  // Mounts: resolve sources now; a bind source must exist (Docker's -v
  // makes it, but --mount does not; we refuse both rather than create host dirs).
  std::vector<std::string> targets;
  auto claim_target = [&](const std::string& t) {
    if (std::find(targets.begin(), targets.end(), t) != targets.end())
      throw Error("Duplicate mount point: " + t, ErrorKind::InvalidArgument);
    targets.push_back(t);
  };
  std::vector<MountPoint> mounts;
  for (const auto& m : c.host.mounts) {
    MountPoint mp;
    mp.type = m.type;
    mp.destination = clean_target(m.target, m.type);
    mp.rw = !m.read_only;
    mp.mode = m.read_only ? "ro" : "";
    claim_target(mp.destination);
    if (m.type == "bind") {
      if (m.source.empty() || m.source[0] != '/')
        fail("invalid mount config for type \"bind\": invalid mount path: '" + m.source + "' mount path must be absolute");
      struct stat st{};
      if (::stat(m.source.c_str(), &st) != 0)
        throw Error("invalid mount config for type \"bind\": bind source path does not exist: " + m.source,
                    ErrorKind::InvalidArgument);
      mp.source = m.source;
    } else if (m.type == "volume") {
      if (!m.source.empty()) Volumes::check_name(m.source);
      mp.name = m.source;
      mp.anonymous = m.source.empty();
    } else if (m.type == "tmpfs") {
      mp.source = "";
      mp.mode = m.options;
      mp.rw = true;
    } else {
      fail("invalid mount config: unknown mount type \"" + m.type + "\" (bind, volume or tmpfs)");
    }
    mounts.push_back(mp);
  }
  // The image's VOLUMEs not covered by a mount become anonymous volumes.
  if (image_config.contains("Volumes") && image_config["Volumes"].is_object())
    for (auto& [t, v] : image_config["Volumes"].items()) {
      std::string target = clean_target(t, "volume");
      if (std::find(targets.begin(), targets.end(), target) != targets.end()) continue;
      targets.push_back(target);
      MountPoint mp;
      mp.type = "volume";
      mp.destination = target;
      mp.anonymous = true;
      mounts.push_back(mp);
    }
  if (c.host.memory > 0 && c.host.memory_swap == 0 && warnings && !fs::exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes") &&
      fs::exists("/sys/fs/cgroup/memory"))
    warnings->push_back(
        "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.");

  // --- claim the name and record the container as "creating"
  c.id = random_id();
  c.created = now_rfc3339();
  c.state.status = "creating";
  // Anonymous volumes are named now and recorded with "creating": a create
  // that is killed leaves their names to whoever reconciles it.
  for (auto& mp : mounts)
    if (mp.type == "volume" && mp.anonymous) mp.name = random_id();
  c.mounts = mounts;
  c.creator_pid = static_cast<int>(::getpid());
  c.creator_start = process_start_time(c.creator_pid);
  if (c.name.empty()) {
    for (int i = 0; i < 20 && (c.name.empty() || store_->id_of_name(c.name)); ++i) c.name = random_name();
    if (store_->id_of_name(c.name)) c.name = c.name + "_" + c.id.substr(0, 6);
  }
  store_->insert(c);
  try {
    if (wants_userns_range(c.host)) {
      UsernsRanges ranges(images_->db());
      assign_userns_range(c.host, ranges, c.id);
    }
    if (c.host.network_mode != "none" && c.host.network_mode != "host" && c.host.network_mode.rfind("container:", 0) != 0) {
      networks_->reconcile();
      c.networks.push_back(lease_endpoint(c, networks_->get(c.host.network_mode), req.endpoint, 0));
      store_->update(c);
    }
    image::OverlaySnapshotter snap(*images_);
    snap.prepare(c.id, img.id);
    for (auto& mp : mounts) {
      if (mp.type != "volume") continue;
      bool made = false;
      Volume v = volumes_->create(mp.name, {}, mp.anonymous, &made);
      mp.name = v.name;
      mp.source = v.mountpoint;
      // A new volume is filled with the image's content at start (Docker's copy-up).
      mp.copy_up = made;
    }
    c.mounts = mounts;
    c.state.status = "created";
    c.creator_pid = 0;
    c.creator_start.clear();
    store_->update(c);
    container_event(root_, c, "create");
  } catch (...) {
    try {
      release_resources(c);
      remove_anonymous_volumes(c);
      store_->remove(c.id);
    } catch (...) {
    }
    throw;
  }
  return c.id;
}

void ContainerEngine::write_etc_files(const Container& c) {
  std::string etc = state_dir(c.id) + "/etc";
  fs::mkdir_p(etc, 0755);
  std::string host = c.config.hostname.empty() ? c.id.substr(0, 12) : c.config.hostname;
  fs::write_file(etc + "/hostname", host + "\n");
  std::string hosts =
      "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
      "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";
  if (c.host.network_mode == "host") {
    try {
      hosts = fs::read_file("/etc/hosts");
    } catch (const Error&) {
    }
  } else if (c.networks.empty()) {
    hosts += "127.0.1.1\t" + host + "\n";
  } else {
    for (const auto& e : c.networks) {
      hosts += e.ip_address + "\t" + host + "\n";
      if (!e.ipv6_address.empty()) hosts += e.ipv6_address + "\t" + host + "\n";
    }
  }
  for (const auto& h : c.host.extra_hosts) {
    auto colon = h.find(':');
    hosts += h.substr(colon + 1) + "\t" + h.substr(0, colon) + "\n";
  }
  fs::write_file(etc + "/hosts", hosts);
  std::string resolv;
  try {
    resolv = fs::read_file("/etc/resolv.conf");
  } catch (const Error&) {
  }
  // On a user network the network's responder (on its gateway) answers,
  // and forwards what it does not know to the host's resolvers.
  std::vector<std::string> dns = c.host.dns;
  if (dns.empty() && !c.networks.empty() && c.networks[0].network != Networks::kDefault)
    dns.push_back(c.networks[0].gateway);
  if (!dns.empty() || !c.host.dns_search.empty() || !c.host.dns_options.empty()) {
    // docker: --dns replaces the nameservers, --dns-search the search list,
    // --dns-option the options; what is not given stays the host's.
    std::string ns, search, options, line;
    size_t start = 0;
    while (start < resolv.size()) {
      size_t nl = resolv.find('\n', start);
      line = resolv.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      start = nl == std::string::npos ? resolv.size() : nl + 1;
      if (line.rfind("nameserver", 0) == 0) ns += line + "\n";
      if (line.rfind("search", 0) == 0) search += line + "\n";
      if (line.rfind("options", 0) == 0) options += line + "\n";
    }
    auto joined = [](const char* key, const std::vector<std::string>& v) {
      std::string out = key;
      for (const auto& x : v) out += " " + x;
      return out + "\n";
    };
    if (!dns.empty()) {
      ns.clear();
      for (const auto& d : dns) ns += "nameserver " + d + "\n";
    }
    if (!c.host.dns_search.empty()) search = joined("search", c.host.dns_search);
    if (!c.host.dns_options.empty()) options = joined("options", c.host.dns_options);
    resolv = search + ns + options;
  }
  // A host resolver on loopback is unreachable from a network namespace
  // of the container's own (Docker drops those lines too).
  if (c.host.network_mode != "host") {
    std::string kept, line;
    size_t start = 0;
    while (start < resolv.size()) {
      size_t nl = resolv.find('\n', start);
      line = resolv.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      start = nl == std::string::npos ? resolv.size() : nl + 1;
      if (line.rfind("nameserver 127.", 0) == 0 || line.rfind("nameserver ::1", 0) == 0) continue;
      kept += line + "\n";
    }
    resolv = kept;
  }
  fs::write_file(etc + "/resolv.conf", resolv);
}

// What a container holds besides its record: the snapshot (and its mount),
// its state dir; its anonymous volumes are the caller's business
// (remove_anonymous_volumes).
void ContainerEngine::release_resources(const Container& c) {
  try {
    teardown_network(c);
  } catch (const Error&) {
    // The next sync tries again: a namespace file is still there.
  }
  networks_->release(c.id);
  image::OverlaySnapshotter snap(*images_);
  try {
    snap.remove(c.id);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
  }
  fs::remove_all(container_dir(c.id));
  fs::remove_all(state_dir(c.id));
  if (wants_userns_range(c.host)) UsernsRanges(images_->db()).release(c.id);
}

// Its anonymous volumes that no other container uses. A dir with no volume
// record is removed too: a create killed inside Volumes::create leaves one.
void ContainerEngine::remove_anonymous_volumes(const Container& c) {
  for (const auto& mp : c.mounts) {
    if (mp.type != "volume" || !mp.anonymous || mp.name.empty()) continue;
    std::vector<std::string> users;
    for (const auto& other : store_->list())
      for (const auto& om : other.mounts)
        if (other.id != c.id && om.type == "volume" && om.name == mp.name) users.push_back(other.id);
    if (!users.empty()) continue;
    volumes_->remove(mp.name, {}, true);
    Volumes::check_name(mp.name);
    fs::remove_all(root_ + "/volumes/" + mp.name);
  }
}

}  // namespace berth::engine
