#include "cli/commands/run_flags.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <tuple>

#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/mount_spec.hpp"
#include "engine/user_namespace.hpp"
#include "net/ip6_address.hpp"

namespace berth::cli {

namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& why) {
  throw Error("invalid argument \"" + value + "\" for \"" + flag + "\" flag: " + why, ErrorKind::InvalidArgument);
}

std::vector<std::string> read_env_file(const std::string& path) {
  std::string text;
  try {
    text = fs::read_file(path);
  } catch (Error& e) {
    throw e.wrap("--env-file");
  }
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    size_t s = line.find_first_not_of(" \t");
    if (s == std::string::npos || line[s] == '#') continue;
    line = line.substr(s);
    if (line.find('=') == std::string::npos) {
      // "VAR" alone takes the value from our environment, as docker does
      if (const char* v = std::getenv(line.c_str())) out.push_back(line + "=" + v);
      continue;
    }
    out.push_back(line);
  }
  return out;
}

std::string env_entry(const std::string& e) {
  if (e.empty() || e[0] == '=') bad("--env", e, "variable name is empty");
  if (e.find('=') != std::string::npos) return e;
  const char* v = std::getenv(e.c_str());
  return v ? e + "=" + v : std::string();
}

engine::MountRequest parse_volume(const std::string& spec) { return engine::parse_bind_spec(spec); }

// --mount type=bind,source=/a,target=/b,readonly
engine::MountRequest parse_mount(const std::string& spec) {
  engine::MountRequest m;
  m.type = "volume";
  std::istringstream in(spec);
  std::string kv;
  std::string tmpfs_opts;
  while (std::getline(in, kv, ',')) {
    auto eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "type") m.type = v;
    else if (k == "source" || k == "src") m.source = v;
    else if (k == "target" || k == "destination" || k == "dst") m.target = v;
    else if (k == "readonly" || k == "ro") m.read_only = v.empty() || v == "true" || v == "1";
    else if (k == "tmpfs-size") tmpfs_opts += (tmpfs_opts.empty() ? "" : ",") + std::string("size=") + v;
    else if (k == "tmpfs-mode") tmpfs_opts += (tmpfs_opts.empty() ? "" : ",") + std::string("mode=") + v;
    else if (k == "bind-propagation" || k == "consistency" || k == "volume-nocopy") continue;
    else throw Error("invalid field '" + k + "' must be a key=value pair (in --mount " + spec + ")", ErrorKind::InvalidArgument);
  }
  if (m.target.empty()) throw Error("invalid argument \"" + spec + "\" for \"--mount\" flag: target is required", ErrorKind::InvalidArgument);
  if (m.type == "tmpfs") m.options = tmpfs_opts;
  if (m.type == "bind" && m.source.empty())
    throw Error("invalid argument \"" + spec + "\" for \"--mount\" flag: source is required for bind mounts", ErrorKind::InvalidArgument);
  return m;
}

engine::Ulimit parse_ulimit(const std::string& spec) {
  auto eq = spec.find('=');
  if (eq == std::string::npos) bad("--ulimit", spec, "invalid ulimit argument (want NAME=SOFT[:HARD])");
  engine::Ulimit u;
  u.name = spec.substr(0, eq);
  std::string v = spec.substr(eq + 1);
  auto colon = v.find(':');
  try {
    u.soft = std::stoll(v.substr(0, colon));
    u.hard = colon == std::string::npos ? u.soft : std::stoll(v.substr(colon + 1));
  } catch (const std::exception&) {
    bad("--ulimit", spec, "invalid ulimit argument (want NAME=SOFT[:HARD])");
  }
  if (u.soft > u.hard) bad("--ulimit", spec, "ulimit soft limit must be less than or equal to hard limit");
  return u;
}

}  // namespace

int64_t parse_size(const std::string& text, const std::string& flag) {
  if (text.empty()) bad(flag, text, "invalid size: ''");
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || v < 0 || std::isnan(v)) bad(flag, text, "invalid size: '" + text + "'");
  std::string unit = end;
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double mul = 0;
  if (unit.empty() || unit == "b") mul = 1;
  else if (unit == "k" || unit == "kb" || unit == "kib") mul = 1024;
  else if (unit == "m" || unit == "mb" || unit == "mib") mul = 1024.0 * 1024;
  else if (unit == "g" || unit == "gb" || unit == "gib") mul = 1024.0 * 1024 * 1024;
  else if (unit == "t" || unit == "tb" || unit == "tib") mul = 1024.0 * 1024 * 1024 * 1024;
  else bad(flag, text, "invalid size: '" + text + "'");
  // Below 2^62: the cast of a larger double is undefined behaviour.
  if (!(v * mul < 4.6e18)) bad(flag, text, "invalid size: '" + text + "': too large");
  return static_cast<int64_t>(v * mul);
}

void add_run_flags(CLI::App* c, RunFlags& f) {
  c->set_help_flag("--help", "Print usage");  // -h is --hostname, as in docker
  c->add_flag("-d,--detach", f.detach, "Run container in background and print container ID");
  c->add_flag("-i,--interactive", f.interactive, "Keep STDIN open even if not attached");
  c->add_flag("-t,--tty", f.tty, "Allocate a pseudo-TTY");
  c->add_flag("--rm", f.rm, "Automatically remove the container when it exits");
  c->add_option("--name", f.name, "Assign a name to the container");
  c->add_option("-e,--env", f.env, "Set environment variables");
  c->add_option("--env-file", f.env_files, "Read in a file of environment variables");
  c->add_option("-w,--workdir", f.workdir, "Working directory inside the container");
  c->add_option("-u,--user", f.user, "Username or UID (format: <name|uid>[:<group|gid>])");
  c->add_option("-h,--hostname", f.hostname, "Container host name");
  c->add_option("--entrypoint", f.entrypoint, "Overwrite the default ENTRYPOINT of the image")
      ->each([&f](const std::string&) { f.entrypoint_set = true; });
  c->add_option("-v,--volume", f.volumes, "Bind mount a volume");
  c->add_option("--mount", f.mounts, "Attach a filesystem mount to the container");
  c->add_option("--tmpfs", f.tmpfs, "Mount a tmpfs directory");
  c->add_flag("--read-only", f.read_only, "Mount the container's root filesystem as read only");
  c->add_option("-m,--memory", f.memory, "Memory limit");
  c->add_option("--memory-swap", f.memory_swap, "Swap limit equal to memory plus swap: '-1' to enable unlimited swap");
  c->add_option("--cpus", f.cpus, "Number of CPUs");
  c->add_option("-c,--cpu-shares", f.cpu_shares, "CPU shares (relative weight)");
  c->add_option("--pids-limit", f.pids_limit, "Tune container pids limit (set -1 for unlimited)");
  c->add_option("--cap-add", f.cap_add, "Add Linux capabilities");
  c->add_option("--cap-drop", f.cap_drop, "Drop Linux capabilities");
  c->add_flag("--privileged", f.privileged, "Give extended privileges to this container");
  c->add_option("--security-opt", f.security_opts, "Security Options");
  c->add_option("--restart", f.restart, "Restart policy to apply when a container exits")->capture_default_str();
  c->add_flag("--init", f.init, "Run an init inside the container that forwards signals and reaps processes");
  c->add_option("--stop-signal", f.stop_signal, "Signal to stop the container");
  c->add_option("--stop-timeout", f.stop_timeout, "Timeout (in seconds) to stop a container");
  c->add_option("-l,--label", f.labels, "Set meta data on a container");
  c->add_option("--ulimit", f.ulimits, "Ulimit options");
  c->add_option("--sig-proxy", f.sig_proxy, "Proxy received signals to the process")->capture_default_str();
  c->add_option("--health-cmd", f.health_cmd, "Command to run to check health");
  c->add_option("--health-interval", f.health_interval, "Time between running the check (ms|s|m|h)");
  c->add_option("--health-retries", f.health_retries, "Consecutive failures needed to report unhealthy");
  c->add_option("--health-timeout", f.health_timeout, "Maximum time to allow one check to run (ms|s|m|h)");
  c->add_option("--health-start-period", f.health_start_period, "Start period for the container to initialize");
  c->add_flag("--no-healthcheck", f.no_healthcheck, "Disable any container-specified HEALTHCHECK");
  c->add_option("--network,--net", f.network, "Connect a container to a network (NAME, bridge, none, host, container:NAME)")
      ->capture_default_str();
  c->add_option("-p,--publish", f.publish, "Publish a container's port(s) to the host ([ip:]host:container[/proto])");
  c->add_flag("-P,--publish-all", f.publish_all, "Publish all exposed ports to random ports");
  c->add_option("--ip", f.ip, "IPv4 address (e.g., 172.30.100.104)");
  c->add_option("--ip6", f.ip6, "IPv6 address (e.g., 2001:db8::33)");
  c->add_option("--mac-address", f.mac_address, "Container MAC address (e.g., 92:d0:c6:0a:29:33)");
  c->add_option("--add-host", f.add_hosts, "Add a custom host-to-IP mapping (host:ip)");
  c->add_option("--dns", f.dns, "Set custom DNS servers");
  c->add_option("--dns-search", f.dns_search, "Set custom DNS search domains");
  c->add_option("--dns-option,--dns-opt", f.dns_options, "Set DNS options");
  c->add_option("--network-alias,--net-alias", f.network_aliases, "Add network-scoped alias for the container");
  c->add_option("--userns,--user-ns", f.userns,
                "User namespace: host (none, the default), auto[:size=N] (root in the container is an unprivileged "
                "host uid from berth's own range)");
  c->add_option("--uidmap", f.uid_maps, "UID map for a user namespace: CONTAINER_UID:HOST_UID:SIZE (repeatable)");
  c->add_option("--gidmap", f.gid_maps, "GID map for a user namespace: CONTAINER_GID:HOST_GID:SIZE (repeatable)");
  c->add_option("--pull", f.pull, "Pull image before running (\"missing\"|\"always\"|\"never\")");
  c->add_option("--runtime", f.runtime, "Runtime to use for this container (berth-runtime, runc, crun or a path)");
  c->add_option("--log-opt", f.log_opts, "Log driver options (max-size, max-file)");
  c->add_option("--detach-keys", f.detach_keys, "Override the key sequence for detaching a container");
  c->footer("Usage: run [OPTIONS] IMAGE [COMMAND] [ARG...]");
  stop_at_first_positional(c);
}

engine::CreateRequest to_create_request(const RunFlags& f) {
  engine::CreateRequest r;
  if (f.rest.empty()) throw Error("\"run\" requires at least 1 argument: IMAGE [COMMAND] [ARG...]", ErrorKind::InvalidArgument);
  r.name = f.name;
  r.pull = f.pull;
  auto& c = r.config;
  auto& h = r.host;
  c.image = f.rest[0];
  if (f.rest.size() > 1) c.cmd = std::vector<std::string>(f.rest.begin() + 1, f.rest.end());
  if (f.entrypoint_set) c.entrypoint = std::vector<std::string>{f.entrypoint};
  c.tty = f.tty;
  c.open_stdin = f.interactive;
  c.stdin_once = f.interactive && !f.detach;
  c.attach_stdin = f.interactive && !f.detach;
  c.attach_stdout = c.attach_stderr = !f.detach;
  c.user = f.user;
  c.working_dir = f.workdir;
  if (!c.working_dir.empty() && c.working_dir[0] != '/')
    throw Error("the working directory '" + c.working_dir + "' is invalid, it needs to be an absolute path",
                ErrorKind::InvalidArgument);
  c.hostname = f.hostname;
  for (const auto& file : f.env_files)
    for (auto& e : read_env_file(file)) c.env.push_back(e);
  for (const auto& e : f.env)
    if (auto v = env_entry(e); !v.empty()) c.env.push_back(v);
  for (const auto& l : f.labels) {
    auto eq = l.find('=');
    c.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
  }
  c.stop_signal = f.stop_signal;
  if (f.stop_timeout >= 0) c.stop_timeout = f.stop_timeout;
  if (f.no_healthcheck) {
    c.healthcheck = engine::HealthConfig{{"NONE"}, 0, 0, 0, 0};
  } else if (!f.health_cmd.empty() || !f.health_interval.empty() || !f.health_timeout.empty() || f.health_retries) {
    engine::HealthConfig hc;
    if (!f.health_cmd.empty()) hc.test = {"CMD-SHELL", f.health_cmd};
    if (!f.health_interval.empty()) hc.interval_ns = engine::parse_duration_ns(f.health_interval, "--health-interval");
    if (!f.health_timeout.empty()) hc.timeout_ns = engine::parse_duration_ns(f.health_timeout, "--health-timeout");
    if (!f.health_start_period.empty())
      hc.start_period_ns = engine::parse_duration_ns(f.health_start_period, "--health-start-period");
    if (f.health_retries < 0) bad("--health-retries", std::to_string(f.health_retries), "must not be negative");
    hc.retries = f.health_retries;
    if (hc.interval_ns && hc.interval_ns < 1000000) bad("--health-interval", f.health_interval, "must be at least 1ms");
    c.healthcheck = hc;
  }
  for (const auto& v : f.volumes) h.mounts.push_back(parse_volume(v));
  for (const auto& m : f.mounts) h.mounts.push_back(parse_mount(m));
  for (const auto& t : f.tmpfs) {
    auto colon = t.find(':');
    h.mounts.push_back({"tmpfs", "", t.substr(0, colon), false, colon == std::string::npos ? "" : t.substr(colon + 1)});
  }
  h.readonly_rootfs = f.read_only;
  if (!f.memory.empty()) h.memory = parse_size(f.memory, "--memory");
  if (!f.memory_swap.empty()) h.memory_swap = f.memory_swap == "-1" ? -1 : parse_size(f.memory_swap, "--memory-swap");
  if (!f.cpus.empty()) {
    char* end = nullptr;
    double v = std::strtod(f.cpus.c_str(), &end);
    if (*end || end == f.cpus.c_str() || std::isnan(v)) bad("--cpus", f.cpus, "failed to parse " + f.cpus + " as a rational number");
    if (v < 0) bad("--cpus", f.cpus, "invalid CPU count: it must be positive");
    h.nano_cpus = static_cast<int64_t>(std::llround(v * 1e9));
  }
  if (f.cpu_shares < 0) bad("--cpu-shares", std::to_string(f.cpu_shares), "must not be negative");
  h.cpu_shares = f.cpu_shares;
  h.pids_limit = f.pids_limit;
  h.cap_add = f.cap_add;
  h.cap_drop = f.cap_drop;
  h.privileged = f.privileged;
  h.init = f.init;
  h.auto_remove = f.rm;
  h.security_opt = f.security_opts;
  for (const auto& o : f.security_opts) {
    auto eq = o.find_first_of("=:");
    std::string k = o.substr(0, eq), v = eq == std::string::npos ? "" : o.substr(eq + 1);
    if (k == "seccomp") {
      if (v.empty()) bad("--security-opt", o, "seccomp needs a profile file or \"unconfined\"");
      if (v != "unconfined") {
        try {
          h.seccomp_profile_json = fs::read_file(v);
        } catch (Error& e) {
          throw e.wrap("opening seccomp profile (" + v + ") failed");
        }
      }
    } else if (k == "no-new-privileges") {
      if (!v.empty() && v != "true" && v != "false") bad("--security-opt", o, "no-new-privileges takes true or false");
    } else if (k == "label" || k == "apparmor") {
      // No SELinux nor AppArmor on this host: nothing to apply, as docker without them.
    } else {
      throw Error("Invalid --security-opt: \"" + o + "\"", ErrorKind::InvalidArgument);
    }
  }
  auto colon = f.restart.find(':');
  h.restart_policy.name = f.restart.substr(0, colon);
  if (colon != std::string::npos) {
    char* end = nullptr;
    long n = std::strtol(f.restart.c_str() + colon + 1, &end, 10);
    if (*end || n < 0) bad("--restart", f.restart, "maximum retry count must be a non-negative number");
    h.restart_policy.maximum_retry_count = static_cast<int>(n);
  }
  for (const auto& u : f.ulimits) h.ulimits.push_back(parse_ulimit(u));
  // docker's default: the bridge network (made on first use).
  h.network_mode = f.network == "default" || f.network.empty() ? "bridge" : f.network;
  for (const auto& p : f.publish) {
    // [ip:][hostPort:]containerPort[/proto]; either port may be a range
    // (8000-8005), expanded here into one binding per port, as docker's
    // CLI does: the engine and the API see single ports only.
    auto slash = p.find('/');
    std::string proto = slash == std::string::npos ? "tcp" : p.substr(slash + 1);
    std::string rest = p.substr(0, slash);
    std::vector<std::string> parts;
    size_t start = 0;
    // An IPv6 host address is bracketed, as docker's: [fd00::1]:8080:80.
    if (!rest.empty() && rest[0] == '[') {
      auto close = rest.find(']');
      if (close == std::string::npos) bad("--publish", p, "no ] after the IPv6 address: want [IPv6]:hostPort:containerPort");
      std::string ip6 = rest.substr(1, close - 1);
      if (!net::is_ipv6(ip6)) bad("--publish", p, "[" + ip6 + "] is not an IPv6 address");
      if (rest.compare(close + 1, 1, ":") != 0)
        bad("--publish", p, "want [IPv6]:hostPort:containerPort (a : and the ports after the ])");
      parts.push_back(ip6);
      start = close + 2;
      if (rest.find(':', start) == std::string::npos)
        bad("--publish", p, "want [IPv6]:hostPort:containerPort, or [IPv6]::containerPort for a free host port");
    } else if (std::count(rest.begin(), rest.end(), ':') > 2) {
      bad("--publish", p, "an IPv6 host address goes in brackets: [IPv6]:hostPort:containerPort");
    }
    for (size_t colon; (colon = rest.find(':', start)) != std::string::npos; start = colon + 1)
      parts.push_back(rest.substr(start, colon - start));
    parts.push_back(rest.substr(start));
    if (parts.size() > 3 || parts.back().empty()) bad("--publish", p, "want [ip:][hostPort:]containerPort[/tcp|udp]");
    if (proto != "tcp" && proto != "udp") bad("--publish", p, "the protocol must be tcp or udp");
    auto range = [&](const std::string& text, const char* what) -> std::pair<int, int> {
      auto dash = text.find('-');
      auto num = [&](const std::string& n) {
        if (n.empty() || n.size() > 5 || n.find_first_not_of("0123456789") != std::string::npos || std::stoi(n) < 1 ||
            std::stoi(n) > 65535)
          bad("--publish", p, std::string("invalid ") + what + " \"" + text + "\": want 1..65535 or a range like 8000-8005");
        return std::stoi(n);
      };
      if (dash == std::string::npos) return {num(text), num(text)};
      int lo = num(text.substr(0, dash)), hi = num(text.substr(dash + 1));
      if (lo > hi) bad("--publish", p, std::string("invalid ") + what + " range " + text + ": the first port is above the last");
      return {lo, hi};
    };
    auto [clo, chi] = range(parts.back(), "container port");
    std::string host = parts.size() >= 2 ? parts[parts.size() - 2] : "";
    int hlo = 0, hhi = 0;
    if (!host.empty()) std::tie(hlo, hhi) = range(host, "host port");
    if (!host.empty() && hhi - hlo != chi - clo)
      bad("--publish", p,
          "the host port range " + host + " and the container port range " + parts.back() + " differ in length (" +
              std::to_string(hhi - hlo + 1) + " and " + std::to_string(chi - clo + 1) + " ports)");
    for (int k = 0; k <= chi - clo; ++k) {
      engine::PortBinding b;
      b.container_port = std::to_string(clo + k) + "/" + proto;
      if (!host.empty()) b.host_port = std::to_string(hlo + k);
      if (parts.size() == 3) b.host_ip = parts[0];
      h.port_bindings.push_back(b);
      if (std::find(r.config.exposed_ports.begin(), r.config.exposed_ports.end(), b.container_port) ==
          r.config.exposed_ports.end())
        r.config.exposed_ports.push_back(b.container_port);
    }
  }
  h.publish_all = f.publish_all;
  h.extra_hosts = f.add_hosts;
  h.dns = f.dns;
  h.dns_search = f.dns_search;
  h.dns_options = f.dns_options;
  r.config.mac_address = f.mac_address;
  r.endpoint.ip = f.ip;
  r.endpoint.ip6 = f.ip6;
  r.endpoint.aliases = f.network_aliases;
  h.userns_mode = f.userns;
  h.uid_maps = engine::parse_id_maps(f.uid_maps, "--uidmap");
  h.gid_maps = engine::parse_id_maps(f.gid_maps, "--gidmap");
  h.runtime = f.runtime;
  if (f.pull != "missing" && f.pull != "never" && f.pull != "always")
    bad("--pull", f.pull, "must be one of: missing, never, always");
  for (const auto& o : f.log_opts) {
    auto eq = o.find('=');
    if (eq == std::string::npos) bad("--log-opt", o, "want KEY=VALUE");
    h.log_opts[o.substr(0, eq)] = o.substr(eq + 1);  // checked by the engine's create
  }
  return r;
}

}  // namespace berth::cli
