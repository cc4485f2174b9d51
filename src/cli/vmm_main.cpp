// berth-vmm: the VMM process of one micro-VM (docs/vm.md, "The VMM
// process"). `berth vm run` starts it; it is not meant to be typed:
//
//   berth-vmm --config-fd N [--report-fd M]
//
// reads a LaunchConfig (a JSON line, vmm/launch.hpp) from fd N, builds the
// VM, waits for "go" on fd N, runs the VM and reports on fd M. Linked statically against berth_vmm and the core
// of common/ only: no SQLite, no image or engine code in this process.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "vmm/launch.hpp"
#include "vmm/trace.hpp"
#include "vmm/vmm_process.hpp"

using namespace berth;

namespace {

int parse_fd(const char* flag, const char* v) {
  char* end = nullptr;
  long n = v ? std::strtol(v, &end, 10) : -1;
  if (!v || *end || n < 0 || n > 1 << 20) fail(std::string(flag) + " needs a file descriptor number");
  return static_cast<int>(n);
}

}  // namespace

int main(int argc, char** argv) {
  vmm::trace("V main");
  log::configure("berth-vmm", "", log::Format::Text, log::Level::Warn);
  int config_fd = -1, report_fd = -1;
  vmm::LaunchConfig cfg;
  std::optional<vmm::LaunchChannel> channel;
  std::unique_ptr<vmm::KvmVm> early;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--config-fd") config_fd = parse_fd("--config-fd", i + 1 < argc ? argv[++i] : nullptr);
      else if (a == "--report-fd") report_fd = parse_fd("--report-fd", i + 1 < argc ? argv[++i] : nullptr);
      else fail("unknown argument '" + a + "' (usage: berth-vmm --config-fd N [--report-fd M])");
    }
    if (config_fd < 0) fail("usage: berth-vmm --config-fd N [--report-fd M] (started by 'berth vm run')");
    // Before the config arrives (the CLI is still checking the spec); if
    // it fails, the Machine tries again and says why, naming the VM.
    try {
      early = std::make_unique<vmm::KvmVm>();
    } catch (const Error&) {
    }
    channel.emplace(config_fd);
    vmm::trace("V early vm");
    auto c = channel->read_config();
    vmm::trace("V config");
    if (!c) return 0;  // the starter gave up (e.g. bad input): nothing to do
    cfg = std::move(*c);
  } catch (const Error& e) {
    vmm::send_report(report_fd, vmm::Report::error(e.kind(), e.what()));
    std::fprintf(stderr, "berth-vmm: %s\n", e.what());
    return exit_code_for(e.kind());
  }
  bool committed = false;
  try {
    return vmm::serve_vm(cfg, *channel, report_fd, committed, std::move(early));
  } catch (const Error& e) {
    // The VM never ran. Tell the starter (it prints the error); once the
    // name is ours, leave a record for whoever looks later too.
    std::string msg = "run vm " + cfg.name + ": " + e.what();
    if (committed) {
      try {
        vmm::write_exit_record(cfg.exit_file, {::getpid(), "error", msg, berth::now_rfc3339()});
      } catch (const Error&) {
      }
    }
    vmm::send_report(report_fd, vmm::Report::error(e.kind(), e.what()));
    if (report_fd < 0) std::fprintf(stderr, "berth-vmm: %s\n", msg.c_str());
    return exit_code_for(e.kind());
  }
}
