// berth-vmm: the VMM process of one micro-VM (docs/vm.md, "The VMM
// process"). `berth vm run` starts it; it is not meant to be typed:
//
//   berth-vmm --config-fd N [--report-fd M]
//
// reads a LaunchConfig (JSON, vmm/launch.hpp) from fd N until EOF, runs the
// VM and reports on fd M. Linked statically against berth_vmm and the core
// of common/ only: no SQLite, no image or engine code in this process.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.hpp"
#include "common/log.hpp"
#include "vmm/launch.hpp"
#include "vmm/vmm_process.hpp"

using namespace berth;

namespace {

int parse_fd(const char* flag, const char* v) {
  char* end = nullptr;
  long n = v ? std::strtol(v, &end, 10) : -1;
  if (!v || *end || n < 0 || n > 1 << 20) fail(std::string(flag) + " needs a file descriptor number");
  return static_cast<int>(n);
}

std::string read_fd(int fd) {
  std::string s;
  char b[4096];
  for (;;) {
    ssize_t n = ::read(fd, b, sizeof b);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read the VM config from fd " + std::to_string(fd));
    if (n == 0) break;
    s.append(b, static_cast<size_t>(n));
  }
  ::close(fd);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  log::configure("berth-vmm", "", log::Format::Text, log::Level::Warn);
  int config_fd = -1, report_fd = -1;
  vmm::LaunchConfig cfg;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--config-fd") config_fd = parse_fd("--config-fd", i + 1 < argc ? argv[++i] : nullptr);
      else if (a == "--report-fd") report_fd = parse_fd("--report-fd", i + 1 < argc ? argv[++i] : nullptr);
      else fail("unknown argument '" + a + "' (usage: berth-vmm --config-fd N [--report-fd M])");
    }
    if (config_fd < 0) fail("usage: berth-vmm --config-fd N [--report-fd M] (started by 'berth vm run')");
    cfg = vmm::launch_config_from_json(read_fd(config_fd));
  } catch (const Error& e) {
    std::fprintf(stderr, "berth-vmm: %s\n", e.what());
    return exit_code_for(e.kind());
  }
  try {
    return vmm::serve_vm(cfg, report_fd);
  } catch (const Error& e) {
    // The VM never ran. Tell the starter (it prints the error) and leave a
    // record for whoever looks later; print it ourselves only if no one
    // listens or our stderr is a log.
    std::string msg = "run vm " + cfg.name + ": " + e.what();
    try {
      vmm::write_exit_record(cfg.exit_file, {::getpid(), "error", msg, vmm::now_rfc3339()});
    } catch (const Error&) {
    }
    vmm::send_report(report_fd, vmm::Report::error(e.kind(), e.what()));
    if (report_fd < 0 || cfg.detached) std::fprintf(stderr, "berth-vmm: %s\n", msg.c_str());
    return exit_code_for(e.kind());
  }
}
