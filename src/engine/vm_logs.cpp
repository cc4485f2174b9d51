// `berth vm logs NAME [-f]`: the console log of a detached VM. Following
// waits on inotify for the log to grow, and ends once the VM has ended and
// the log is read to its end.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "engine/vm_manager.hpp"

namespace berth::engine {

void VmManager::logs(const std::string& name, bool follow, const std::function<void(std::string_view)>& out) {
  reconcile(name);
  std::string path;
  {
    auto st = db().prepare("SELECT console_log FROM vms WHERE name = ?");
    st.bind(1, name);
    if (!st.step()) throw Error("vm " + name + " not found", ErrorKind::NotFound);
    path = st.is_null(0) ? "" : st.text(0);
  }
  if (path.empty())
    throw Error("vm " + name + " ran in the foreground: its console was that terminal, and there is no log",
                ErrorKind::FailedPrecondition);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return;  // nothing written yet
    throw_errno("open console log of vm " + name);
  }
  UniqueFd log(fd);
  UniqueFd watch;
  if (follow) {
    watch.reset(static_cast<int>(check(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK), "inotify_init1")));
    check(::inotify_add_watch(watch.get(), path.c_str(), IN_MODIFY), "watch console log of vm " + name);
  }
  char b[65536];
  for (;;) {
    ssize_t n = ::read(fd, b, sizeof b);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read console log of vm " + name);
    if (n > 0) {
      out(std::string_view(b, static_cast<size_t>(n)));
      continue;
    }
    if (!follow) return;
    // At the end of the log: once the VM has ended, so have its writes.
    if (!monitor_alive(name)) {
      while ((n = ::read(fd, b, sizeof b)) > 0) out(std::string_view(b, static_cast<size_t>(n)));
      return;
    }
    pollfd p{watch.get(), POLLIN, 0};
    if (::poll(&p, 1, 500) > 0) {
      char ev[4096];
      while (::read(watch.get(), ev, sizeof ev) > 0) {
      }
    }
  }
}

}  // namespace berth::engine
