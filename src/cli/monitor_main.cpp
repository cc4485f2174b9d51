// berth-monitor: the watcher of one container (monitor/monitor.hpp). The
// engine starts it; it is not meant to be typed. Linked statically against
// berth_monitor and the core of common/ only, to stay under 1 MiB of
// memory: no SQLite, no image or engine code, no iostreams.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/error.hpp"
#include "monitor/monitor.hpp"

// The default terminate handler demangles the exception's type name, which
// links the demangler: ~100 KiB of text, paged in for nothing.
namespace __gnu_cxx {
void __verbose_terminate_handler() { std::abort(); }
}  // namespace __gnu_cxx

int main(int argc, char** argv) {
  using namespace berth;
  monitor::Options o;
  try {
    o = monitor::parse(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  }
  try {
    return monitor::run_monitor(o);
  } catch (const Error& e) {
    if (o.sync_fd >= 0) {
      std::string line = std::string("error 125 berth-monitor: ") + e.what() + "\n";
      [[maybe_unused]] ssize_t w = ::write(o.sync_fd, line.data(), line.size());
    }
    std::fprintf(stderr, "berth-monitor: %s\n", e.what());
    return 1;
  }
}
