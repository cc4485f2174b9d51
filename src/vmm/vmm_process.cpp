#include "vmm/vmm_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "common/raw_terminal.hpp"
#include "common/subprocess.hpp"
#include "common/unix_listener.hpp"
#include "vmm/control.hpp"
#include "vmm/machine_section.hpp"
#include "vmm/migration_target.hpp"
#include "vmm/snapshot_file.hpp"
#include "vmm/trace.hpp"
#include "vmm/vm_cgroup.hpp"

namespace berth::vmm {

namespace {

void write_all(int fd, const uint8_t* d, size_t n) {
  while (n) {
    ssize_t w = ::write(fd, d, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    d += w;
    n -= static_cast<size_t>(w);
  }
}

// stdin may be a file or /dev/null, which epoll refuses: then no input.
bool pollable_stdin() {
  struct stat st{};
  if (::fstat(0, &st) != 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) return false;
  return !(S_ISCHR(st.st_mode) && !::isatty(0) && major(st.st_rdev) == 1);
}

// The detached console: a log file plus any clients of a unix socket.
class ConsoleSocket {
 public:
  ConsoleSocket(const LaunchConfig& cfg, Machine*& machine)
      : path_(cfg.console_socket), log_path_(cfg.console_log), machine_(machine) {}
  ~ConsoleSocket() { close(); }

  void output(const uint8_t* d, size_t n) {
    write_all(log_.get(), d, n);
    for (size_t i = 0; i < clients_.size();) {
      if (::send(clients_[i], d, n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 && errno != EAGAIN) {
        ::close(clients_[i]);
        clients_.erase(clients_.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
  }

  // Opens the log and listens on the socket.
  void open() {
    log_.reset(static_cast<int>(check(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600),
                                      "open console log " + log_path_)));
    fs::mkdir_p(path_.substr(0, path_.rfind('/')), 0700);
    // A stale socket of an earlier VM of this name is replaced.
    listener_.emplace(path_, "console socket");
    machine_->loop().add(listener_->fd(), [this] { accept(); });
  }

  void close() {
    for (int c : clients_) ::close(c);
    clients_.clear();
    listener_.reset();  // removes the socket file
  }

 private:
  void accept() {
    int c = listener_->accept().release();
    if (c < 0) return;
    clients_.push_back(c);
    machine_->loop().add(c, [this, c] {
      char b[256];
      ssize_t n = ::read(c, b, sizeof b);
      if (n > 0) {
        machine_->console_input(std::string_view(b, static_cast<size_t>(n)));
        return;
      }
      machine_->loop().remove(c);
      std::erase(clients_, c);
      ::close(c);
    });
  }

  std::string path_, log_path_;
  Machine*& machine_;
  UniqueFd log_;
  std::optional<UnixListener> listener_;
  std::vector<int> clients_;
};

// The exit command runs in a session of its own, with no stdio of ours, and
// is not waited for: init reaps it.
void run_exit_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return;
  SpawnFds fds;
  fds.new_session = true;
  try {
    spawn_process(argv, fds);
  } catch (const Error& e) {
    log::warn(std::string("exit command: ") + e.what());
  }
}

std::string dir_of(const std::string& path) { return path.substr(0, path.rfind('/')); }

// As the exit record (write_exit_record): renamed into place so that no
// reader sees half of it, but not synced: after a host crash the VM is gone
// anyway, and the two fsyncs cost milliseconds of the receiver's set-up on
// a disk (the source waits for it).
void write_unsynced(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  {
    UniqueFd f(static_cast<int>(check(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
                                      "create " + tmp)));
    if (::write(f.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) throw_errno("write " + tmp);
  }
  check(::rename(tmp.c_str(), path.c_str()), "rename " + tmp + " to " + path);
}

// Waits for the source of a live migration on the listener (nullptr if a
// signal comes first), then builds the machine it describes, named and
// bound as this VM, and answers "ready": the source streams RAM into it
// from then on (receive_incoming()). The record config of that machine
// goes to <vm dir>/machine.json, which the engine folds into the VM's
// record. A failure is told to the source too.
std::unique_ptr<Machine> accept_vm(LaunchConfig& cfg, MigrationListener& listener, int sfd,
                                   std::optional<MigrationStream>& stream, std::unique_ptr<KvmVm> early) {
  for (;;) {
    pollfd p[2] = {{listener.fd(), POLLIN, 0}, {sfd, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0 && errno != EINTR) throw_errno("wait for a migration on " + listener.address());
    if (p[1].revents) return nullptr;
    if (p[0].revents && (stream = listener.accept())) break;
  }
  try {
    MachineSection ms = parse_machine_section(receive_machine(*stream, cfg.token), "the migration from " + stream->peer());
    rebind(ms, cfg.name, dir_of(cfg.control_socket));
    uint64_t host = host_ram();
    if (host && ms.vm.memory > host)
      fail("the migrating VM has " + std::to_string(ms.vm.memory >> 20) + " MiB of RAM, more than this host's " +
           std::to_string(host >> 20) + " MiB");
    ms.vm.console_out = cfg.vm.console_out;
    cfg.vm = ms.vm;
    if (!cfg.vm.channel.empty()) fs::mkdir_p(dir_of(cfg.vm.channel), 0700);
    auto m = std::make_unique<Machine>(cfg.vm, Origin::Incoming, "", std::move(early));
    write_unsynced(fs::join(dir_of(cfg.exit_file), "machine.json"), json_text(record_config(ms)));
    stream->send_json(Frame::Answer, {{"ok", true}, {"stage", "ready"}});
    return m;
  } catch (Error& e) {
    answer_error(*stream, e.what(), static_cast<int>(e.kind()));
    throw e.wrap("from " + stream->peer());
  }
}

// Fills the accepted machine with the RAM and state the source sends.
void receive_incoming(MigrationStream& stream, Machine& m) {
  try {
    receive_state(stream, m);
  } catch (Error& e) {
    answer_error(stream, e.what(), static_cast<int>(e.kind()));
    throw e.wrap("from " + stream.peer());
  }
}

void detach_stdio() {
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
  ::close(null);
}

}  // namespace

void send_report(int fd, const Report& r) {
  if (fd < 0) return;
  std::string line = to_json(r) + "\n";
  write_all(fd, reinterpret_cast<const uint8_t*>(line.data()), line.size());
}

int serve_vm(LaunchConfig cfg, LaunchChannel& channel, int report_fd, bool& committed,
             std::unique_ptr<KvmVm> early) {
  // Signals become events on the I/O loop, in every thread.
  sigset_t sigs;
  sigemptyset(&sigs);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&sigs, s);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);
  UniqueFd sfd(static_cast<int>(check(::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK), "signalfd")));

  Machine* machine = nullptr;
  std::unique_ptr<ConsoleSocket> console;
  if (cfg.detached) {
    console = std::make_unique<ConsoleSocket>(cfg, machine);
    cfg.vm.console_out = [c = console.get()](const uint8_t* d, size_t n) { c->output(d, n); };
  } else {
    cfg.vm.console_out = [](const uint8_t* d, size_t n) { write_all(1, d, n); };
  }

  std::unique_ptr<Machine> m;
  std::optional<MigrationListener> listener;
  std::optional<MigrationStream> incoming;
  if (!cfg.incoming.empty()) {
    listener.emplace(parse_tcp_address(cfg.incoming, "--listen"));
  } else if (cfg.restore.empty()) {
    m = std::make_unique<Machine>(cfg.vm, Origin::Boot, "", std::move(early));
  } else {
    try {
      SnapshotReader snap(cfg.restore);
      m = std::make_unique<Machine>(cfg.vm, Origin::Snapshot, snap.memory_path(), std::move(early));
      trace("M vcpus");
      m->load_state(snap);
    } catch (Error& e) {
      throw e.wrap("from snapshot " + cfg.restore);
    }
  }
  machine = m.get();
  trace("V built");
  // Their ~50 us while the CLI claims the name (a receiver: below).
  if (m) m->spawn_vcpus();
  if (!channel.wait_go()) return 0;
  trace("V go");
  committed = true;
  if (!cfg.vmm_log.empty()) {
    // Until now stderr was the starter's; never keep it (a caller reading
    // it to EOF would wait for the VM's end).
    int log = ::open(cfg.vmm_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) log = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (log >= 0) {
      ::dup2(log, 2);
      ::close(log);
    }
  }
  std::optional<VmCgroup> cgroup;
  auto make_cgroup = [&] {
    if (!cfg.cgroup.empty())
      cgroup.emplace(cfg.cgroup, cfg.vm.memory, cfg.vm.cpus, [&m](const std::string& why) { m->fail(why); });
  };
  if (listener) {
    send_report(report_fd, Report::listening());
    m = accept_vm(cfg, *listener, sfd.get(), incoming, std::move(early));
    listener.reset();
    if (!m) {  // stopped before a source came
      write_exit_record(cfg.exit_file, {::getpid(), "stopped", "stopped while waiting for a migration", now_rfc3339()});
      send_report(report_fd, Report::exit("stopped", "stopped while waiting for a migration"));
      return 0;
    }
    machine = m.get();
    // While the pre-copy streams in, not in the source's downtime. (The
    // control socket waits: a client would hang on it until the VM runs.)
    m->spawn_vcpus();
    make_cgroup();
    if (console) console->open();
    try {
      receive_incoming(*incoming, *m);
      // The source's guest is stopped until a vCPU runs here (its
      // downtime), and it ends once it hears "running". Everything is
      // loaded and the disks are locked: the vCPUs go (their threads were
      // made and wait), then the answer, with the moment the first entered
      // KVM_RUN by a clock the source shares on one host (host_boot_id()):
      // a woken vCPU thread of a busy guest can take the CPU from this
      // thread, or the source's thread wait for one, for a scheduler slice
      // (~3-4 ms were seen here) while the guest already runs; the
      // downtime is not that wait. Then all else (the control socket,
      // reports).
      m->start_vcpus();
      uint64_t resumed = m->first_run_ns(1000);
      if (!resumed) resumed = monotonic_ns();
      trace("T started");
      try {
        incoming->send_json(Frame::Answer, {{"ok", true},
                                            {"stage", "running"},
                                            {"boot_id", host_boot_id()},
                                            {"resumed_ns", resumed}});
      } catch (const Error& e) {  // a source gone by now is gone
        log::warn(e.what());
      }
      trace("T answered");
      incoming.reset();
    } catch (...) {
      if (cgroup) {  // out of it and removed, as after a VM's end
        try {
          cgroup->join();
        } catch (const Error&) {
        }
        cgroup->leave();
        cgroup.reset();
      }
      throw;
    }
  }

  std::unique_ptr<RawTerminal> raw;
  if (console) {
    if (cfg.incoming.empty()) console->open();  // a receiver opened it earlier
  } else {
    raw = std::make_unique<RawTerminal>(0);
    if (pollable_stdin())
      m->loop().add(0, [&m, tty = raw->active()] {
        char b[256];
        ssize_t n = ::read(0, b, sizeof b);
        if (n <= 0) {
          m->loop().remove(0);
          return;
        }
        std::string_view in(b, static_cast<size_t>(n));
        if (tty && in.find(kConsoleEscapeKey) != std::string_view::npos) {
          m->stop("stopped from the console (Ctrl-])");
          return;
        }
        m->console_input(in);
      });
  }
  std::optional<ControlServer> control;
  if (!cfg.control_socket.empty()) {
    fs::mkdir_p(cfg.control_socket.substr(0, cfg.control_socket.rfind('/')), 0700);
    control.emplace(cfg.control_socket, cfg.name, *m);
  }
  m->loop().add(sfd.get(), [&] {
    signalfd_siginfo si{};
    if (::read(sfd.get(), &si, sizeof si) == sizeof si)
      m->stop(std::string("stopped by signal ") + strsignal(static_cast<int>(si.ssi_signo)));
  });

  ExitReason r = m->run([&] {
    send_report(report_fd, Report::ready());
    trace("V ready");
    // The cgroup's helper thread starts once the vCPU runs and the starter
    // knows: creating a thread and a memory cgroup costs ~0.5 ms here,
    // which neither the guest nor `vm run`/`vm restore` need wait for.
    if (cfg.incoming.empty()) make_cgroup();
  });

  // The VM has ended: free what another VM or the user may want next
  // (disk locks, the tap, the console socket, the terminal), report and
  // record the end, and only then pay for the teardown.
  std::string reason = exit_reason_name(r), detail = m->exit_detail();
  m->release_backends();
  control.reset();
  raw.reset();
  if (console) console->close();
  std::string line = "berth: vm " + cfg.name + " ended: " + reason + " (" + detail + ")\n";
  write_all(2, reinterpret_cast<const uint8_t*>(line.data()), line.size());
  send_report(report_fd, Report::exit(reason, detail));
  if (report_fd >= 0) ::close(report_fd);
  if (!cfg.detached) detach_stdio();  // whoever reads our output sees EOF now
  // For whoever looks later (a detached VM, or a starter that died); the
  // starter that got the report has recorded the end already.
  try {
    write_exit_record(cfg.exit_file, {::getpid(), reason, detail, now_rfc3339()});
  } catch (const Error& e) {
    log::warn(e.what());
  }
  run_exit_command(cfg.exit_command);

  if (cgroup) {
    try {
      cgroup->join();
    } catch (const Error& e) {
      log::warn(e.what());
    }
    cgroup->leave();  // runs while KVM tears the VM down
  }
  m.reset();
  cgroup.reset();
  return exit_code(r);
}

}  // namespace berth::vmm
