// `berth vm ...`: micro-VMs on KVM. Parsing only; the engine (vm_manager)
// owns records, the monitor and the lifecycle.
#include <CLI/CLI.hpp>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "engine/vm_manager.hpp"

namespace {

using berth::cli::Globals;

void add_vm_commands(CLI::App& app, Globals& g) {
  auto* vm = app.add_subcommand("vm", "micro-VMs on KVM");
  vm->require_subcommand(1);

  struct RunArgs {
    std::string kernel, initrd, cmdline = "console=ttyS0", memory = "256M", name, net = "none", mac, channel;
    int cpus = 1;
    std::vector<std::string> disks;
    bool detach = false, no_rng = false;
  };
  auto ra = std::make_shared<RunArgs>();
  auto* run = vm->add_subcommand("run", "boot a kernel in a new micro-VM");
  run->add_option("--kernel", ra->kernel, "bzImage, or ELF kernel with a PVH note, to boot")->required();
  run->add_option("--initrd", ra->initrd, "initial ramdisk");
  run->add_option("--cmdline", ra->cmdline, "kernel command line")->capture_default_str();
  run->add_option("--cpus", ra->cpus, "number of vCPUs")->capture_default_str();
  run->add_option("--memory,-m", ra->memory, "guest RAM (e.g. 256M, 1G)")->capture_default_str();
  run->add_option("--disk", ra->disks, "raw disk image, PATH[,ro] (repeatable)");
  run->add_option("--net", ra->net, "none, tap (a new tap bt-<name>) or tap:NAME")->capture_default_str();
  run->add_option("--mac", ra->mac, "guest MAC address for --net");
  run->add_option("--name", ra->name, "VM name (default: generated)");
  run->add_flag("--no-rng", ra->no_rng, "no virtio-rng device");
  run->add_option("--channel", ra->channel,
                  "virtio-console (guest /dev/hvc0) on a unix socket the VMM listens on: "
                  "unix:PATH, or unix for <state>/vms/<name>/channel.sock");
  run->add_flag("-d,--detach", ra->detach, "run in the background; console goes to a log");
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
    int rc = 0;
    {
      berth::engine::VmManager m(g.root, g.state);
      if (ra->detach) {
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
  });

  auto* ls = vm->add_subcommand("ls", "list micro-VMs");
  ls->alias("list");
  ls->callback([&g] {
    berth::engine::VmManager m(g.root, g.state);
    std::cout << m.format_list();
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

const bool registered = berth::cli::add_commands(add_vm_commands);

}  // namespace
