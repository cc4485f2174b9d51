#include "engine/process_identity.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <string_view>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace berth::engine {

namespace {

// Fields 3 (state) and 22 (start time), counted after the ")" that ends
// the command name (which may itself hold spaces and parentheses).
bool stat_fields(int pid, char* state, std::string* start) {
  // One read: the file is made whole at each read and is far shorter than
  // the buffer (`ps` asks this of every running container's monitor).
  char buf[2048];
  UniqueFd fd(::open(("/proc/" + std::to_string(pid) + "/stat").c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) == sizeof buf) return false;
  std::string_view s(buf, static_cast<size_t>(n));
  auto p = s.rfind(')');
  if (p == std::string::npos || p + 2 >= s.size()) return false;
  *state = s[p + 2];
  int field = 3;
  size_t i = p + 2;
  while (i < s.size() && field < 22) {
    if (s[i] == ' ') ++field;
    ++i;
  }
  *start = std::string(s.substr(i, s.find(' ', i) - i));
  return true;
}

}  // namespace

std::string process_start_time(int pid) {
  char state;
  std::string start;
  return pid > 0 && stat_fields(pid, &state, &start) ? start : "";
}

namespace {

// (pid, start) -> a pidfd of that process, found alive when opened. A
// pidfd is readable once its process has exited (a zombie included), and
// stays that process's whatever happens to the pid after.
std::mutex live_mu;
size_t live_max = 0;
std::map<std::pair<int, std::string>, int> live;

}  // namespace

void remember_live_processes(size_t max) {
  std::lock_guard lock(live_mu);
  live_max = max;
}

bool process_alive(const MonitorIdentity& p) {
  if (p.pid <= 0) return false;
  std::pair<int, std::string> key{p.pid, p.start};
  {
    std::lock_guard lock(live_mu);
    if (auto it = live.find(key); it != live.end()) {
      pollfd f{it->second, POLLIN, 0};
      if (::poll(&f, 1, 0) == 0) return true;
      ::close(it->second);  // it has exited
      live.erase(it);
      return false;
    }
  }
  char state;
  std::string start;
  if (!stat_fields(p.pid, &state, &start)) return false;
  bool alive = start == p.start && state != 'Z' && state != 'X';
  std::lock_guard lock(live_mu);
  if (alive && live.size() >= live_max && live_max > 0)
    std::erase_if(live, [](const auto& kv) {  // processes nobody asked about since they ended
      pollfd f{kv.second, POLLIN, 0};
      if (::poll(&f, 1, 0) == 0) return false;
      ::close(kv.second);
      return true;
    });
  if (alive && live.size() < live_max) {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
    // Opened after the check: the same process unless the pid was freed
    // and reused in between, so the start time is checked once more.
    if (fd >= 0) {
      char st2;
      std::string start2;
      if (stat_fields(p.pid, &st2, &start2) && start2 == p.start && ::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0)
        live.emplace(key, fd);
      else
        ::close(fd);
    }
  }
  return alive;
}

}  // namespace berth::engine
