// `berth vm ...`: micro-VMs on KVM. Parsing only; the engine (vm_manager)
// owns records, the monitor and the lifecycle.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "engine/vm_manager.hpp"
#include "vmm/machine.hpp"

namespace {

using berth::cli::Globals;

// Runs a VM (booted or restored) in the foreground or detached, as `vm run`
// and `vm restore` do.
void run_vm(const berth::engine::VmSpec& s, bool detach, Globals& g) {
  int rc = 0;
  {
    berth::engine::VmManager m(g.root, g.state);
    if (detach) {
      std::cout << m.run_detached(s) << "\n";
      return;
    }
    rc = m.run_foreground(s);
  }
  // The VM has ended and its record is written (the database is closed):
  // nothing is left but memory, so skip the static destructors of this
  // large process on the way out. A crashed guest is not a CLI error: the
  // reason is already printed.
  std::cout.flush();
  std::cerr.flush();
  ::_exit(rc);
}

void print_list(const std::vector<berth::engine::VmRecord>& vms) {
  std::printf("%-20s %-18s %-5s %-8s %-8s %-25s %s\n", "NAME", "STATE", "CPUS", "MEMORY", "PID", "CREATED", "ADDRESS");
  for (const auto& v : vms)
    std::printf("%-20s %-18s %-5d %-8s %-8s %-25s %s\n", v.name.c_str(), v.state.c_str(), v.cpus,
                (std::to_string(v.memory >> 20) + "M").c_str(), v.pid ? std::to_string(v.pid).c_str() : "-",
                v.created.c_str(), v.address.empty() ? "-" : v.address.c_str());
}

// "50ms", "0.2s" or plain milliseconds.
double parse_ms(const std::string& s) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(s, &used);
  } catch (...) {
  }
  std::string unit = s.substr(used);
  if (v >= 0 && (unit.empty() || unit == "ms")) return v;
  if (v >= 0 && unit == "s") return v * 1000;
  berth::fail("--max-downtime " + s + ": not a duration (e.g. 50ms, 0.2s)");
}

std::string mib(uint64_t bytes) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return b;
}

void add_vm_commands(CLI::App& app, Globals& g) {
  auto* vm = app.add_subcommand("vm", "micro-VMs on KVM");
  vm->require_subcommand(1);
  if (!berth::cli::named_on_command_line({"vm"})) return;  // the verbs' options only for a vm command line

  struct RunArgs {
    std::string kernel, initrd, cmdline = "console=ttyS0", memory = "256M", name, net = "none", mac, channel;
    int cpus = 1;
    std::vector<std::string> disks;
    bool detach = false, no_rng = false, remove = false;
  };
  auto ra = std::make_shared<RunArgs>();
  auto* run = vm->add_subcommand("run", "boot a kernel in a new micro-VM");
  run->add_option("--kernel", ra->kernel, "bzImage, or ELF kernel with a PVH note, to boot")->required();
  run->add_option("--initrd", ra->initrd, "initial ramdisk");
  run->add_option("--cmdline", ra->cmdline, "kernel command line")->capture_default_str();
  run->add_option("--cpus", ra->cpus, "number of vCPUs")->capture_default_str();
  run->add_option("--memory,-m", ra->memory, "guest RAM (e.g. 256M, 1G)")->capture_default_str();
  run->add_option("--disk", ra->disks, "raw disk image, PATH[,ro] (repeatable)");
  run->add_option("--net", ra->net,
                  "none, tap (a new tap bt-<name>), tap:NAME, or a network (its bridge and an address of it)")->capture_default_str();
  run->add_option("--mac", ra->mac, "guest MAC address for --net (on a network: 02:42 + the address)");
  run->add_option("--name", ra->name, "VM name (default: generated)");
  run->add_flag("--no-rng", ra->no_rng, "no virtio-rng device");
  run->add_option("--channel", ra->channel,
                  "virtio-console (guest /dev/hvc0) on a unix socket the VMM listens on: "
                  "unix:PATH, or unix for <state>/vms/<name>/channel.sock");
  run->add_flag("-d,--detach", ra->detach, "run in the background; console goes to a log");
  run->add_flag("--rm", ra->remove, "remove the VM's record when it ends");
  run->callback([ra, &g] {
    berth::engine::VmSpec s;
    s.name = ra->name;
    s.kernel = ra->kernel;
    s.initrd = ra->initrd;
    s.cmdline = ra->cmdline;
    s.cpus = ra->cpus;
    s.memory = ra->memory;
    s.disks = ra->disks;
    s.net = ra->net;
    s.mac = ra->mac;
    s.rng = !ra->no_rng;
    s.channel = ra->channel;
    s.remove = ra->remove;
    run_vm(s, ra->detach, g);
  });

  struct RestoreArgs {
    std::string dir, name;
    bool detach = false;
  };
  auto rsa = std::make_shared<RestoreArgs>();
  auto* restore = vm->add_subcommand("restore", "start a VM that carries on from a snapshot");
  restore->add_option("dir", rsa->dir, "snapshot directory (from 'berth vm snapshot')")->required();
  restore->add_option("--name", rsa->name, "VM name (default: the name it had)");
  restore->add_flag("-d,--detach", rsa->detach, "run in the background; console goes to a log");
  restore->callback([rsa, &g] {
    berth::engine::VmSpec s;
    s.name = rsa->name;
    s.restore_from = rsa->dir;
    run_vm(s, rsa->detach, g);
  });

  struct SnapshotArgs {
    std::string name, dir;
    bool stop = false;
  };
  auto sa = std::make_shared<SnapshotArgs>();
  auto* snapshot = vm->add_subcommand("snapshot", "write a running VM to a directory (it pauses meanwhile)");
  snapshot->add_option("name", sa->name, "VM name")->required();
  snapshot->add_option("dir", sa->dir, "directory to write (must not exist, or be empty)")->required();
  snapshot->add_flag("--stop", sa->stop, "end the VM once the snapshot is written (reason: snapshotted)");
  snapshot->callback([sa, &g] {
    berth::engine::VmManager m(g.root, g.state);
    auto r = m.snapshot(sa->name, sa->dir, sa->stop);
    std::printf("%s: state %s, memory %s written; guest paused %.1f ms\n", r.dir.c_str(), mib(r.state_bytes).c_str(),
                mib(r.memory_bytes).c_str(), r.pause_ms);
  });

  struct ReceiveArgs {
    std::string listen, name, token_file;
    bool detach = false;
  };
  auto rva = std::make_shared<ReceiveArgs>();
  auto* receive = vm->add_subcommand("receive", "wait for a VM migrated here by 'berth vm migrate', and run it");
  receive->add_option("--listen", rva->listen, "tcp:HOST:PORT to listen on")->required();
  receive->add_option("--name", rva->name, "VM name (default: generated)");
  receive->add_option("--token-file", rva->token_file,
                      "file whose first line the source must give (required unless HOST is loopback)");
  receive->add_flag("-d,--detach", rva->detach, "return once listening; the VM runs in the background");
  receive->callback([rva, &g] {
    berth::engine::VmSpec s;
    s.name = rva->name;
    s.incoming = rva->listen;
    s.token_file = rva->token_file;
    run_vm(s, rva->detach, g);
  });

  struct MigrateArgs {
    std::string name, to, token_file, max_downtime = "50ms", max_bandwidth;
    int max_rounds = 30;
    bool abort = false;
  };
  auto ma = std::make_shared<MigrateArgs>();
  auto* migrate = vm->add_subcommand("migrate", "move a running VM to a 'berth vm receive' while it runs");
  migrate->add_option("name", ma->name, "VM name")->required();
  migrate->add_option("--to", ma->to, "tcp:HOST:PORT of the receiver");
  migrate->add_option("--token-file", ma->token_file, "file whose first line is the receiver's token");
  migrate->add_option("--max-downtime", ma->max_downtime, "how long the VM may stop at the switch-over")
      ->capture_default_str();
  migrate->add_option("--max-rounds", ma->max_rounds, "rounds of copying while it runs, at most")
      ->capture_default_str();
  migrate->add_option("--max-bandwidth", ma->max_bandwidth, "bytes per second to send at most (e.g. 100M)");
  migrate->add_flag("--abort", ma->abort, "abort the migration of NAME in progress (it runs on here)");
  migrate->callback([ma, &g] {
    berth::engine::VmManager m(g.root, g.state);
    if (ma->abort) {
      m.cancel_migration(ma->name);
      std::cout << ma->name << "\n";
      return;
    }
    if (ma->to.empty()) berth::fail("--to tcp:HOST:PORT is required (or --abort)");
    berth::engine::VmMigrateOptions o{ma->to, ma->token_file, parse_ms(ma->max_downtime), ma->max_rounds,
                                      ma->max_bandwidth.empty() ? 0 : berth::vmm::parse_size(ma->max_bandwidth)};
    auto r = m.migrate(ma->name, o);
    std::printf("migrated vm %s to %s: total %.1f ms, downtime %.1f ms, %s sent in %d rounds "
                "(receiver ready after %.1f ms; last byte sent %.1f ms into the downtime; \"running\" heard "
                "%.1f ms after the pause)\n",
                ma->name.c_str(), ma->to.c_str(), r.total_ms, r.downtime_ms, mib(r.bytes).c_str(), r.rounds,
                r.setup_ms, r.sent_ms, r.heard_ms);
  });

  struct LogsArgs {
    std::string name;
    bool follow = false;
  };
  auto la = std::make_shared<LogsArgs>();
  auto* logs = vm->add_subcommand("logs", "print a detached VM's console log");
  logs->add_option("name", la->name, "VM name")->required();
  logs->add_flag("-f,--follow", la->follow, "keep printing until the VM ends");
  logs->callback([la, &g] {
    berth::engine::VmManager m(g.root, g.state);
    m.logs(la->name, la->follow, [](std::string_view chunk) {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
      std::fflush(stdout);
    });
  });

  auto* ls = vm->add_subcommand("ls", "list micro-VMs");
  ls->alias("list");
  ls->callback([&g] {
    berth::engine::VmManager m(g.root, g.state);
    print_list(m.list());
  });

  auto name_cmd = [&](const char* verb, const char* help, auto fn) {
    auto* c = vm->add_subcommand(verb, help);
    auto names = std::make_shared<std::vector<std::string>>();
    c->add_option("name", *names, "VM name")->required();
    c->callback([names, fn, &g] {
      berth::engine::VmManager m(g.root, g.state);
      for (const auto& n : *names) fn(m, n);
    });
    return c;
  };
  name_cmd("stop", "power a VM off (SIGTERM to its VMM)", [](auto& m, const std::string& n) { m.stop(n, false); std::cout << n << "\n"; });
  name_cmd("kill", "kill a VM's VMM at once (SIGKILL)", [](auto& m, const std::string& n) { m.stop(n, true); std::cout << n << "\n"; });
  name_cmd("rm", "remove a stopped VM's record", [](auto& m, const std::string& n) { m.remove(n); std::cout << n << "\n"; });
  name_cmd("inspect", "show a VM's record as JSON", [](auto& m, const std::string& n) { std::cout << m.inspect(n) << "\n"; });
  name_cmd("pause", "pause a running VM (its vCPUs and devices stop)", [](auto& m, const std::string& n) { m.pause(n); std::cout << n << "\n"; });
  name_cmd("resume", "resume a paused VM", [](auto& m, const std::string& n) { m.resume(n); std::cout << n << "\n"; });
  name_cmd("console", "attach to a VM's serial console (Ctrl-] detaches)", [](auto& m, const std::string& n) { m.console(n); });

  auto* disk = vm->add_subcommand("disk", "disk images for VMs");
  disk->require_subcommand(1);
  auto* create = disk->add_subcommand("create", "make an ext4 disk holding an image's filesystem");
  auto da = std::make_shared<std::array<std::string, 3>>();
  create->add_option("--from", (*da)[0], "container image or a directory (rootfs)")->required();
  create->add_option("--size", (*da)[1], "disk size (e.g. 1G)")->required();
  create->add_option("out", (*da)[2], "output image path")->required();
  create->callback([da, &g] {
    berth::engine::VmManager m(g.root, g.state);
    m.create_disk((*da)[0], (*da)[1], (*da)[2]);
    std::cout << (*da)[2] << "\n";
  });
}

const bool registered = berth::cli::add_commands({"vm"}, add_vm_commands);

}  // namespace
