#include "engine/vm_manager.hpp"
#include "engine/process_identity.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <climits>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/raw_terminal.hpp"
#include "engine/vm_channel.hpp"
#include "engine/vm_network.hpp"
#include "image/image_store.hpp"
#include "image/overlay_snapshotter.hpp"
#include "vmm/launch.hpp"
#include "vmm/trace.hpp"
#include "vmm/vm_cgroup.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

void validate_name(const std::string& n) {
  bool ok = !n.empty() && n.size() <= 63 && std::isalnum(static_cast<unsigned char>(n[0]));
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') ok = false;
  if (!ok) fail("invalid VM name '" + n + "' (letters, digits, - _ . ; at most 63)");
}

}  // namespace


std::string VmManager::random_name() {
  std::random_device rd;
  char b[16];
  snprintf(b, sizeof b, "vm-%06x", rd() & 0xffffff);
  return b;
}

// VM names are unique per root; two roots (parallel tests) may reuse one, so
// the cgroup carries a tag of the root too.
std::string VmManager::cgroup_name(const std::string& name) const {
  char tag[16];
  snprintf(tag, sizeof tag, "%08zx", std::hash<std::string>{}(root_) & 0xffffffff);
  return name + "." + tag;
}

std::string VmManager::exit_file(const std::string& name) const {
  return fs::join(vm_dir(name), "exit.json");
}

std::string VmManager::vm_dir(const std::string& name) const { return fs::join(fs::join(root_, "vms"), name); }

std::string VmManager::vm_state_dir(const std::string& name) const {
  return fs::join(fs::join(state_, "vms"), name);
}

void VmManager::remove_dirs(const std::string& name) const {
  fs::remove_all(vm_dir(name));
  fs::remove_all(vm_state_dir(name));
}

// Opened on first use: `vm run` starts the VMM first, so that its start
// overlaps this (~1 ms).
Database& VmManager::db() {
  if (db_) return *db_;
  fs::mkdir_p(root_, 0700);
  db_ = std::make_unique<Database>(fs::join(root_, "berth.db"));
  // (Its WAL is kept short by Database: common/sqlite.cpp.)
  db_->exec(
      "CREATE TABLE IF NOT EXISTS vms ("
      " name TEXT PRIMARY KEY, config TEXT NOT NULL, state TEXT NOT NULL,"
      " pid INTEGER, pid_start TEXT, created TEXT, started TEXT, finished TEXT,"
      " exit_reason TEXT, exit_detail TEXT, console_log TEXT, console_sock TEXT)");
  return *db_;
}

VmManager::VmManager(std::string root, std::string state)
    : root_(std::move(root)), state_(std::move(state)) {}

VmManager::~VmManager() = default;

void VmManager::check_fits(int cpus, uint64_t memory, const std::string& memory_text, const std::string& snapshot) {
  // What is named: the options of `vm run`, or the snapshot being restored.
  std::string c = snapshot.empty() ? "--cpus " + std::to_string(cpus) : snapshot + " has " + std::to_string(cpus) + " CPUs, which";
  std::string m = snapshot.empty() ? "--memory " + memory_text
                                   : snapshot + " has " + std::to_string(memory >> 20) + " MiB of RAM, which";
  if (cpus < 1 || cpus > 64)
    fail(snapshot.empty() ? "--cpus must be between 1 and 64, not " + std::to_string(cpus)
                          : c + " is not between 1 and 64", snapshot.empty() ? ErrorKind::InvalidArgument : ErrorKind::Corrupt);
  unsigned host_cpus = std::thread::hardware_concurrency();
  if (host_cpus && static_cast<unsigned>(cpus) > 4 * host_cpus)
    fail(c + " is more than 4x this host's " + std::to_string(host_cpus) + " CPUs");
  if (memory < 16 * vmm::kMiB) fail(m + " is too small (at least 16M)");
  uint64_t host = vmm::host_ram();
  if (host && memory > host)
    fail(m + " is larger than this host's RAM (" + std::to_string(host >> 20) + " MiB)");
}

void VmManager::place(Prepared& p, bool detached) {
  validate_name(p.name);
  p.state_dir = vm_state_dir(p.name);
  p.made_state_dir = !fs::exists(p.state_dir);
  p.dir = vm_dir(p.name);
  p.log_path = fs::join(p.dir, "console.log");
  p.sock_path = fs::join(p.state_dir, "console.sock");
  p.launch.name = p.name;
  p.launch.cgroup = cgroup_name(p.name);
  p.launch.detached = detached;
  if (detached) {
    p.launch.console_log = p.log_path;
    p.launch.console_socket = p.sock_path;
    p.launch.vmm_log = fs::join(p.dir, "vmm.log");
  }
  p.launch.exit_file = exit_file(p.name);
  p.launch.control_socket = control_socket(p.name);
}

VmManager::Prepared VmManager::prepare(const VmSpec& s, bool detached) {
  if (!s.restore_from.empty()) return prepare_restore(s, detached);
  if (!s.incoming.empty()) return prepare_incoming(s, detached);
  Prepared p;
  p.name = s.name.empty() ? random_name() : s.name;
  place(p, detached);
  vmm::VmConfig& vm = p.launch.vm;
  if (s.kernel.empty()) fail("--kernel is required");
  if (!fs::exists(s.kernel)) throw Error("kernel " + s.kernel + " not found", ErrorKind::NotFound, ENOENT);
  vm.boot.kernel = fs::absolute(s.kernel);
  if (!s.initrd.empty()) {
    if (!fs::exists(s.initrd)) throw Error("initrd " + s.initrd + " not found", ErrorKind::NotFound, ENOENT);
    vm.boot.initrd = fs::absolute(s.initrd);
  }
  vm.boot.cmdline = s.cmdline;
  vm.cpus = s.cpus;
  vm.memory = vmm::parse_size(s.memory);
  check_fits(vm.cpus, vm.memory, s.memory, "");
  json disks = json::array();
  for (const auto& d : s.disks) {
    std::string path = d;
    bool ro = false;
    if (auto c = d.rfind(','); c != std::string::npos) {
      std::string opt = d.substr(c + 1);
      if (opt == "ro") ro = true;
      else if (opt != "rw") fail("--disk " + d + ": unknown option '" + opt + "' (ro or rw)");
      path = d.substr(0, c);
    }
    if (!fs::exists(path)) throw Error("disk " + path + " not found", ErrorKind::NotFound, ENOENT);
    vm.disks.push_back({fs::absolute(path), ro});
    disks.push_back({{"path", vm.disks.back().path}, {"readonly", ro}});
  }
  if (s.net == "tap") vm.tap = ("bt-" + p.name).substr(0, 15);
  else if (s.net.rfind("tap:", 0) == 0) vm.tap = s.net.substr(4);
  else if (s.net != "none" && !s.net.empty()) p.network = s.net;  // a network: attach_network()
  if (s.net == "tap:") fail("--net tap: needs a tap name (tap:NAME)");
  vm.mac = s.mac;
  p.mac = s.mac;
  vm.rng = s.rng;
  vm.channel = resolve_channel(s.channel, fs::join(p.state_dir, "channel.sock"));
  p.config = {{"kernel", vm.boot.kernel}, {"initrd", vm.boot.initrd},
              {"cmdline", s.cmdline},     {"cpus", s.cpus},
              {"memory", vm.memory},      {"disks", disks},
              {"net", s.net},             {"tap", vm.tap},
              {"rng", s.rng},             {"channel", vm.channel},
              {"rm", s.remove}};
  // Detached, nobody is there when the VM ends: the VMM runs `berth vm rm`
  // (conmon's --exit-command, for a daemonless --rm).
  if (s.remove && detached)
    p.launch.exit_command = {berth_executable(), "--root", root_, "--state", state_, "vm", "rm", p.name};
  return p;
}

// Records the VM as running in VMM `pid`, with the pid's start time (a
// recycled pid is never taken for it). The primary key makes the name
// claim atomic across berth processes.
void VmManager::claim(const Prepared& p, pid_t pid) {
  std::string now = berth::now_rfc3339();
  try {
    db().prepare("INSERT INTO vms (name, config, state, pid, pid_start, created, started, console_log, console_sock) "
                 "VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)")
        .bind(1, p.name).bind(2, json_text(p.config)).bind(3, static_cast<int64_t>(pid))
        .bind(4, process_start_time(pid)).bind(5, now).bind(6, now)
        .bind(7, p.launch.console_log).bind(8, p.launch.console_socket).run();
  } catch (Error& e) {
    auto st = db().prepare("SELECT state FROM vms WHERE name = ?");
    st.bind(1, p.name);
    if (st.step())
      throw Error("vm " + p.name + " already exists (" + st.text(0) + "); remove it with 'berth vm rm'",
                  ErrorKind::AlreadyExists);
    throw;
  }
}

void VmManager::finish(const std::string& name, pid_t pid, const std::string& reason, const std::string& detail,
                       const std::string& finished) {
  db().prepare("UPDATE vms SET state = 'stopped', finished = ?, exit_reason = ?, exit_detail = ?, pid = NULL "
               "WHERE name = ? AND state = 'running' AND pid = ?")
      .bind(1, finished.empty() ? berth::now_rfc3339() : finished).bind(2, reason).bind(3, detail)
      .bind(4, name).bind(5, static_cast<int64_t>(pid)).run();
}

void VmManager::forget(const std::string& name) {
  db().prepare("DELETE FROM vms WHERE name = ?").bind(1, name).run();
}

void VmManager::discard(const std::string& name) {
  detach_network(name, true);
  forget(name);
  vmm::VmCgroup::remove_stale({cgroup_name(name)});
  remove_dirs(name);
}

std::string VmManager::berth_executable() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) throw_errno("find the berth executable (/proc/self/exe)");
  return std::string(self, static_cast<size_t>(n));
}

// The VMM executable sits next to this one (build/bin, or the install dir).
std::string VmManager::vmm_executable() {
  std::string dir = berth_executable();
  std::string exe = dir.substr(0, dir.rfind('/')) + "/berth-vmm";
  if (::access(exe.c_str(), X_OK) != 0)
    throw Error("VMM executable " + exe + " not found (build it: ninja berth-vmm)", ErrorKind::NotFound, errno);
  return exe;
}

// Starts berth-vmm, to get its exec and start-up out of the way while we
// check the spec and claim the name: it reads its launch config (a line,
// send_config()) and then "go" or EOF from fd 3, and reports on fd 4.
VmManager::Spawned VmManager::spawn(bool detached) {
  std::string exe = vmm_executable();
  int cp[2], rp[2];
  check(::pipe2(cp, O_CLOEXEC), "pipe");
  UniqueFd config_rd(cp[0]), config_wr(cp[1]);
  check(::pipe2(rp, O_CLOEXEC), "pipe");
  UniqueFd report_rd(rp[0]), report_wr(rp[1]);
  // posix_spawn (a vfork, not a copy of this large process); the VMM gets
  // fds 0-4 and nothing else of this CLI (e.g. the database).
  UniqueFd cfg_fd(static_cast<int>(check(::fcntl(config_rd.get(), F_DUPFD_CLOEXEC, 10), "dup")));
  UniqueFd rep_fd(static_cast<int>(check(::fcntl(report_wr.get(), F_DUPFD_CLOEXEC, 10), "dup")));
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (detached) {  // stderr goes to vmm.log once the VMM has its name
    flags |= POSIX_SPAWN_SETSID;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDWR, 0);
    posix_spawn_file_actions_adddup2(&fa, 0, 1);
  }
  posix_spawn_file_actions_adddup2(&fa, cfg_fd.get(), 3);
  posix_spawn_file_actions_adddup2(&fa, rep_fd.get(), 4);
  posix_spawn_file_actions_addclosefrom_np(&fa, 5);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) sigaddset(&defaults, sig);
  posix_spawnattr_setflags(&attr, flags);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  const char* argv[] = {"berth-vmm", "--config-fd", "3", "--report-fd", "4", nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exe.c_str(), &fa, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  vmm::trace("C spawned");
  if (rc != 0) throw_errno("start " + exe, rc);
  return {pid, std::move(report_rd), std::move(config_wr)};
}

// Starts the VMM, checks the spec, hands the VMM its config, claims the
// name and records the VM while the VMM builds it, then lets it go. The VM
// is known (with its VMM's pid) from then on, even if this CLI dies before
// it boots. On any error the VMM gets EOF and exits touching nothing.
VmManager::Started VmManager::start(const VmSpec& spec, bool detached) {
  ::signal(SIGPIPE, SIG_IGN);  // a VMM that failed has closed its end
  Started s;
  bool claimed = false;
  try {
    s.vmm = spawn(detached);
  } catch (Error& e) {
    throw e.wrap(verb(spec) + " vm " + (spec.name.empty() ? std::string("(unnamed)") : spec.name));
  }
  try {
    s.p = prepare(spec, detached);
    if (!spec.restore_from.empty()) find_network_of_restore(s.p);
    s.p.made_dir = !fs::exists(s.p.dir);
    fs::mkdir_p(s.p.dir, 0700);
    // On a network the name is claimed first: the tap is named after the
    // VM, and a start that lost the name must not touch the tap of the VM
    // that has it.
    if (!s.p.network.empty()) {
      claim(s.p, s.vmm.pid);
      claimed = true;
      attach_network(s.p);
    }
    std::string config = vmm::to_json(s.p.launch) + "\n";
    if (::write(s.vmm.go.get(), config.data(), config.size()) != static_cast<ssize_t>(config.size()) &&
        errno != EPIPE)  // EPIPE: the VMM failed; it reports why
      throw_errno("pass the launch config of vm " + s.p.name);
    vmm::trace("C config");
    if (!claimed) claim(s.p, s.vmm.pid);
  } catch (...) {
    s.vmm.go.reset();
    while (::waitpid(s.vmm.pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    if (claimed) {
      try {
        detach_network(s.p.name, true);
      } catch (...) {
      }
      forget(s.p.name);
    }
    // Not ours if the name was taken: only a directory this start made,
    // and only while empty, goes.
    if (s.p.made_state_dir) ::rmdir(s.p.state_dir.c_str());
    if (s.p.made_dir) ::rmdir(s.p.dir.c_str());
    throw;
  }
  ::unlink(s.p.launch.exit_file.c_str());  // of a previous VM of this name
  vmm::trace("C go");
  [[maybe_unused]] ssize_t w = ::write(s.vmm.go.get(), "go\n", 3);
  s.vmm.go.reset();
  return s;
}

namespace {

std::string describe_status(int status) {
  if (WIFSIGNALED(status)) return std::string("VMM killed by signal ") + strsignal(WTERMSIG(status));
  return "VMM exited with status " + std::to_string(WEXITSTATUS(status)) + " without reporting";
}

}  // namespace

// The VMM could not start the VM: no record is left behind.
[[noreturn]] void VmManager::failed_start(const std::string& verb, const std::string& name, pid_t pid,
                                          const std::optional<vmm::Report>& r) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  try {
    detach_network(name, true);
  } catch (...) {  // the start's own error says more
  }
  forget(name);
  remove_dirs(name);
  if (r && r->event == "error") throw Error(verb + " vm " + name + ": " + r->message, r->kind);
  throw Error(verb + " vm " + name + ": the VM did not start (" + describe_status(status) + ")", ErrorKind::Internal);
}

int VmManager::run_foreground(const VmSpec& spec) {
  // The VMM shares this terminal; if it dies without restoring it, we do.
  termios saved{};
  bool tty = ::isatty(0) && ::tcgetattr(0, &saved) == 0;
  // Signals sent to this CLI are passed on to the VMM, which stops the VM.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, s);
  ::sigprocmask(SIG_BLOCK, &sigs, nullptr);
  UniqueFd sfd(static_cast<int>(check(::signalfd(-1, &sigs, SFD_CLOEXEC), "signalfd")));
  auto [p, vmm] = start(spec, false);
  vmm::LineReader reports(vmm.report.get());
  pollfd fds[2] = {{vmm.report.get(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("wait for the VMM of vm " + p.name);
    }
    if (fds[1].revents) {
      signalfd_siginfo si{};
      if (::read(sfd.get(), &si, sizeof si) == sizeof si) ::kill(vmm.pid, static_cast<int>(si.ssi_signo));
    }
    if (!fds[0].revents) continue;
    std::optional<vmm::Report> r = vmm::next_report(reports);
    if (r && r->event == "ready") continue;
    if (r && r->event == "listening") {
      std::cerr << "berth: vm " << p.name << " listening on " << spec.incoming << "\n";
      continue;
    }
    if (r && r->event == "exit") {
      // The VMM tears KVM down and removes its cgroup after this; nobody
      // needs to wait for that (it is reaped as an orphan).
      finish(p.name, vmm.pid, r->reason, r->detail);
      if (spec.remove) discard(p.name);
      else detach_network(p.name, false);
      return vmm::exit_code(r->reason);
    }
    if (r && r->event == "error") failed_start(verb(spec), p.name, vmm.pid, r);
    // EOF: the VMM died without reporting an end.
    int status = 0;
    while (::waitpid(vmm.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (tty) ::tcsetattr(0, TCSANOW, &saved);
    vmm::VmCgroup::remove_stale({cgroup_name(p.name)});  // it could not remove it itself
    std::string reason = WIFSIGNALED(status) ? "killed" : "error", why = describe_status(status);
    finish(p.name, vmm.pid, reason, why);
    if (spec.remove) discard(p.name);
    else detach_network(p.name, false);
    std::cerr << "berth: vm " << p.name << " ended: " << reason << " (" << why << ")\n";
    return 1;
  }
}

std::string VmManager::run_detached(const VmSpec& spec) {
  auto [p, vmm] = start(spec, true);
  // "ready" once the VM runs, "error" if it cannot; EOF if the VMM died.
  vmm::LineReader reports(vmm.report.get());
  std::optional<vmm::Report> r = vmm::next_report(reports);
  vmm::trace("C ready");
  if (r && (r->event == "ready" || r->event == "listening")) return p.name;
  if (r && r->event == "exit") return p.name;  // already over; its record says how
  failed_start(verb(spec), p.name, vmm.pid, r);
}

// A VM whose VMM wrote its exit record is stopped, whether or not a CLI was
// there to hear it end (a detached VM, or a foreground CLI that was killed).
void VmManager::reconcile(const std::string& name) {
  fold_incoming(name);
  // A tap whose VM has ended (nobody saw it end: detached, or its VMM was
  // killed) goes now; its lease stays until rm.
  if (VmNetworks(db(), root_, state_).has_tap(name) && !monitor_alive(name)) detach_network(name, false);
  auto st = db().prepare("SELECT pid FROM vms WHERE name = ? AND state = 'running'");
  st.bind(1, name);
  if (!st.step() || st.is_null(0)) return;
  auto pid = static_cast<pid_t>(st.integer(0));
  auto rec = vmm::read_exit_record(exit_file(name));
  if (rec && rec->pid == pid) finish(name, pid, rec->reason, rec->detail, rec->finished);
}

// A snapshot of a VM that was on a network names its old tap and has its
// address in the ip= it booted with: the restored VM goes back on the
// network holding that address, with that address (the guest has it
// configured), on a tap of its own name.
void VmManager::find_network_of_restore(Prepared& p) {
  const vmm::VmConfig& vm = p.launch.vm;
  if (!VmNetworks::is_network_tap(vm.tap)) return;
  std::string addr = VmNetworks::address_in_cmdline(vm.boot.cmdline);
  std::string net = addr.empty() ? "" : VmNetworks(db(), root_, state_).network_holding(addr);
  if (net.empty())
    throw Error("restore vm " + p.name + ": the snapshot's VM was on a network (tap " + vm.tap + ", address " +
                    (addr.empty() ? "unknown" : addr) + ") and no network of this root holds " +
                    (addr.empty() ? "it" : addr) + " (create one whose subnet does)",
                ErrorKind::FailedPrecondition);
  p.network = net;
  p.address = addr;
  p.mac = vm.mac;
}

void VmManager::attach_network(Prepared& p) {
  VmNetwork n = VmNetworks(db(), root_, state_).attach(p.name, p.network, p.mac, p.address);
  vmm::VmConfig& vm = p.launch.vm;
  vm.tap = n.tap;
  vm.mac = n.mac;
  // Linux's ip= option: a Linux guest configures eth0 from it as is. A
  // restored guest booted with it already.
  if (p.address.empty())
    vm.boot.cmdline += (vm.boot.cmdline.empty() ? "" : " ") + VmNetworks::kernel_ip_arg(n, p.name);
  p.config["tap"] = n.tap;
  p.config["cmdline"] = vm.boot.cmdline;
  p.config["network"] = to_json(n);
  db().prepare("UPDATE vms SET config = ? WHERE name = ?").bind(1, json_text(p.config)).bind(2, p.name).run();
}

void VmManager::detach_network(const std::string& name, bool release) {
  VmNetworks nets(db(), root_, state_);
  bool tap = nets.has_tap(name);
  if (!tap && release) {
    // A lease only if the record says the VM was on a network: a VM
    // without one costs no write to the leases table here.
    auto st = db().prepare("SELECT config FROM vms WHERE name = ?");
    st.bind(1, name);
    json cfg = st.step() ? json::parse(st.text(0), nullptr, false) : json();
    release = cfg.is_object() && cfg.contains("network");
  }
  if (tap || release) nets.detach(name, release);
}

bool VmManager::vmm_alive(pid_t pid, const std::string& start) {
  // the start time guards against a recycled pid, the state against a zombie
  return process_alive({pid, start});
}

bool VmManager::monitor_alive(const std::string& name) {
  auto st = db().prepare("SELECT pid, pid_start FROM vms WHERE name = ? AND state = 'running'");
  st.bind(1, name);
  if (!st.step() || st.is_null(0)) return false;
  return vmm_alive(static_cast<pid_t>(st.integer(0)), st.text(1));
}

std::vector<VmRecord> VmManager::list() {
  std::vector<VmRecord> out;
  std::vector<std::string> names;
  {
    auto st = db().prepare("SELECT name FROM vms ORDER BY created, name");
    while (st.step()) names.push_back(st.text(0));
  }
  std::vector<std::string> ended;
  for (const auto& n : names) {
    reconcile(n);
    auto st = db().prepare("SELECT state, config, pid, created, exit_reason, pid_start FROM vms WHERE name = ?");
    st.bind(1, n);
    if (!st.step()) continue;
    json cfg = json::parse(st.text(1), nullptr, false);
    VmRecord rec;
    rec.name = n;
    rec.state = st.text(0);
    if (rec.state == "running" && (st.is_null(2) || !vmm_alive(static_cast<pid_t>(st.integer(2)), st.text(5))))
      rec.state = "dead";
    else if (rec.state == "stopped" && !st.is_null(4)) rec.state = "stopped(" + st.text(4) + ")";
    if (rec.state == "running") {
      rec.pid = static_cast<pid_t>(st.integer(2));
      rec.state = live_state(n);
    } else {
      ended.push_back(cgroup_name(n));
    }
    if (cfg.is_object()) {
      rec.cpus = cfg.value("cpus", 0);
      rec.memory = cfg.value("memory", uint64_t{0});
      if (cfg.contains("network") && cfg["network"].is_object()) rec.address = cfg["network"].value("IPAddress", "");
    }
    rec.created = st.text(3);
    out.push_back(std::move(rec));
  }
  vmm::VmCgroup::remove_stale(ended);
  return out;
}

std::string VmManager::inspect(const std::string& name) {
  reconcile(name);
  auto st = db().prepare(
      "SELECT name, config, state, pid, created, started, finished, exit_reason, exit_detail, console_log, console_sock "
      "FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  auto opt = [&](int c) -> json { return st.is_null(c) ? json(nullptr) : json(st.text(c)); };
  std::string state = st.text(2);
  if (state == "running") state = monitor_alive(name) ? live_state(name) : "dead";
  json j = {{"Name", st.text(0)},
            {"Config", json::parse(st.text(1), nullptr, false)},
            {"State", state},
            {"Pid", st.is_null(3) ? json(nullptr) : json(st.integer(3))},
            {"Created", opt(4)},
            {"Started", opt(5)},
            {"Finished", opt(6)},
            {"ExitReason", opt(7)},
            {"ExitDetail", opt(8)},
            {"ConsoleLog", opt(9)},
            {"ConsoleSocket", opt(10)},
            {"Cgroup", "berth/vm-" + cgroup_name(name)}};
  if (j["Config"].is_object() && j["Config"].contains("network")) j["NetworkSettings"] = j["Config"]["network"];
  return json_text(j, 2);
}

VmManager::Running VmManager::running(const std::string& name) {
  reconcile(name);
  auto st = db().prepare("SELECT state, pid, pid_start FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  if (st.text(0) != "running" || st.is_null(1) || !vmm_alive(static_cast<pid_t>(st.integer(1)), st.text(2)))
    throw Error("vm " + name + " is not running", ErrorKind::FailedPrecondition);
  return {static_cast<pid_t>(st.integer(1)), st.text(2)};
}

// The VM has ended once its VMM wrote the exit record (or died); the VMM
// then removes its cgroup and exits, which we wait for too, so that a
// stopped VM holds nothing. An exited VMM may stay a zombie until init
// reaps it: that holds nothing either.
void VmManager::wait_vmm_gone(const std::string& name, pid_t pid, const std::string& start) {
  auto vmm_gone = [&] { return !process_alive({pid, start}); };
  for (int i = 0; i < 1000 && !vmm_gone(); ++i) ::usleep(10000);
  if (!vmm_gone()) throw Error("vm " + name + ": VMM did not stop within 10 s", ErrorKind::Internal);
  vmm::VmCgroup::remove_stale({cgroup_name(name)});
  reconcile(name);
}

void VmManager::stop(const std::string& name, bool kill) {
  auto [pid, start] = running(name);
  check(::kill(pid, kill ? SIGKILL : SIGTERM), "signal the VMM of vm " + name);
  wait_vmm_gone(name, pid, start);
  // A VMM that died without its exit record (SIGKILL) cannot write its own epitaph.
  if (kill) finish(name, pid, "killed", "VMM killed (SIGKILL)");
  else finish(name, pid, "error", "VMM exited without recording why");
  // Nor run the `vm rm` of --rm.
  auto st = db().prepare("SELECT config FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) return;
  json cfg = json::parse(st.text(0), nullptr, false);
  if (cfg.is_object() && cfg.value("rm", false)) discard(name);
}

void VmManager::remove(const std::string& name) {
  vmm::VmCgroup::leave_if_in(cgroup_name(name));  // as --rm's exit command, started inside them
  reconcile(name);
  auto st = db().prepare("SELECT state FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  if (st.text(0) == "running" && monitor_alive(name))
    throw Error("vm " + name + " is running; stop it first", ErrorKind::FailedPrecondition);
  detach_network(name, true);
  forget(name);
  vmm::VmCgroup::remove_stale({cgroup_name(name)});
  remove_dirs(name);
}

void VmManager::console(const std::string& name) {
  reconcile(name);
  auto st = db().prepare("SELECT console_sock FROM vms WHERE name = ?");
  st.bind(1, name);
  if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
  if (!monitor_alive(name)) throw Error("vm " + name + " is not running", ErrorKind::FailedPrecondition);
  std::string path = st.is_null(0) ? "" : st.text(0);
  if (path.empty()) throw Error("vm " + name + " runs in the foreground; its console is that terminal", ErrorKind::FailedPrecondition);
  UniqueFd s(static_cast<int>(check(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket")));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
  check(::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), "connect to console of vm " + name);
  RawTerminal raw(0);
  if (raw.active()) std::cerr << "[attached to vm " << name << "; Ctrl-] detaches]\r\n";
  pollfd fds[2] = {{0, POLLIN, 0}, {s.get(), POLLIN, 0}};
  bool stdin_open = true;
  for (;;) {
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    check(n, "poll console");
    char b[4096];
    if (fds[1].revents) {
      ssize_t r = ::read(s.get(), b, sizeof b);
      if (r <= 0) break;  // the VM ended
      [[maybe_unused]] ssize_t w = ::write(1, b, static_cast<size_t>(r));
    }
    if (stdin_open && fds[0].revents) {
      ssize_t r = ::read(0, b, sizeof b);
      if (r <= 0) {
        stdin_open = false;
        fds[0].fd = -1;
        continue;
      }
      std::string_view in(b, static_cast<size_t>(r));
      if (raw.active() && in.find(kConsoleEscapeKey) != std::string_view::npos) break;
      [[maybe_unused]] ssize_t w = ::write(s.get(), b, static_cast<size_t>(r));
    }
  }
}

}  // namespace berth::engine

namespace berth::engine {

void VmManager::create_disk(const std::string& from, const std::string& size, const std::string& out) {
  uint64_t bytes = vmm::parse_size(size);
  if (bytes < 8 * vmm::kMiB) fail("--size " + size + " is too small for an ext4 disk (at least 8M)");
  if (fs::exists(out)) throw Error("disk " + out + " already exists", ErrorKind::AlreadyExists);

  // A directory is the rootfs; anything else names an image of the store,
  // whose layers are mounted read-only (in mkfs's own mount namespace) as
  // the rootfs. The image lock keeps GC from deleting them meanwhile.
  std::string rootfs;
  std::vector<image::MountSpec> mounts;
  std::optional<image::ImageStore> store;
  std::optional<image::FileLock> lock;
  if (fs::is_dir(from)) {
    rootfs = fs::absolute(from);
  } else {
    store.emplace(root_);
    std::optional<image::ImageRecord> img;
    try {
      img = store->find(from);
    } catch (const Error&) {  // not even a valid reference
    }
    if (!img)
      throw Error("--from " + from + ": no such directory, nor an image in " + root_ + " (see 'berth images')",
                  ErrorKind::NotFound);
    lock.emplace(store->shared_lock());
    mounts = image::read_only_mounts(*store, store->chain_ids(*img));
  }

  std::string tmp = out + ".tmp";
  std::string mnt;
  auto cleanup = [&] {
    ::unlink(tmp.c_str());
    if (!mnt.empty()) ::rmdir(mnt.c_str());
  };
  {
    UniqueFd f(static_cast<int>(check(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), "create " + tmp)));
    if (::ftruncate(f.get(), static_cast<off_t>(bytes)) != 0) {
      int e = errno;
      cleanup();
      throw_errno("size " + tmp, e);
    }
  }
  if (!mounts.empty()) {
    mnt = tmp + ".root";
    if (::mkdir(mnt.c_str(), 0700) != 0) {
      int e = errno;
      mnt.clear();
      cleanup();
      throw_errno("create mount point " + tmp + ".root", e);
    }
    rootfs = mnt;
  }
  int errpipe[2];
  check(::pipe2(errpipe, O_CLOEXEC), "pipe");
  UniqueFd err_rd(errpipe[0]), err_wr(errpipe[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    cleanup();
    throw_errno("fork mkfs.ext4");
  }
  if (pid == 0) {
    // The image's mount lives in this child's own mount namespace and goes
    // away with it, whatever happens to either process.
    try {
      if (!mounts.empty()) {
        check(::unshare(CLONE_NEWNS), "unshare mount namespace");
        check(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), "make / private");
        image::mount_all(mounts, mnt);
        check(::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr),
              "remount " + mnt + " read-only");
      }
    } catch (const Error& e) {
      std::string m = e.what();
      [[maybe_unused]] ssize_t w = ::write(err_wr.get(), m.data(), m.size());
      ::_exit(126);
    }
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execlp("mkfs.ext4", "mkfs.ext4", "-q", "-F", "-E", "root_owner=0:0", "-L", "berth-root", "-d",
             rootfs.c_str(), tmp.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  err_wr.reset();
  char b[512];
  ssize_t n = ::read(err_rd.get(), b, sizeof b);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    cleanup();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 126 && n > 0) fail("mount image " + from + ": " + std::string(b, static_cast<size_t>(n)), ErrorKind::Internal);
    fail(code == 127 ? "mkfs.ext4 not found (install e2fsprogs)"
                     : "mkfs.ext4 -d " + from + " " + out + " failed (is --size large enough?)",
         ErrorKind::Internal);
  }
  if (!mnt.empty()) ::rmdir(mnt.c_str());
  check(::rename(tmp.c_str(), out.c_str()), "rename " + tmp + " to " + out);
}

}  // namespace berth::engine
