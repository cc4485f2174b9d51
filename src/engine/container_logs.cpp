// ContainerEngine::logs: reads the json-file log the monitor writes
// (rotated files oldest first), filters and prints it; -f follows the file
// with inotify until the container's monitor exits.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "engine/process_identity.hpp"
#include "monitor/attach_frame.hpp"

namespace berth::engine {

namespace {

struct Printer {
  const LogOptions& o;
  const LogSink& sink;
  bool open = true;  // the sink still takes entries
  // Returns false for a line outside the filters.
  bool print(const std::string& line) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return false;
    std::string stream = j.value("stream", "stdout");
    if ((stream == "stdout" && !o.stdout) || (stream == "stderr" && !o.stderr)) return false;
    std::string time = j.value("time", "");
    if (o.since || o.until) {
      int64_t t = image::parse_rfc3339(time);
      if (o.since && t < o.since) return false;
      if (o.until && t >= o.until) return false;
    }
    std::string text = (o.timestamps ? time + " " : "") + j.value("log", "");
    if (open && !sink(stream == "stderr" ? 2 : 1, text)) open = false;
    return true;
  }
};

// Whole lines of `fd` from its position; a partial last line stays in `rest`.
void read_lines(int fd, std::string& rest, const std::function<void(const std::string&)>& each) {
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    rest.append(buf, static_cast<size_t>(n));
    size_t start = 0, nl;
    while ((nl = rest.find('\n', start)) != std::string::npos) {
      each(rest.substr(start, nl - start));
      start = nl + 1;
    }
    rest.erase(0, start);
  }
}

}  // namespace

void ContainerEngine::logs(const std::string& ref, const LogOptions& o, int out_fd, int err_fd) {
  logs(ref, o, [&](int stream, std::string_view text) {
    monitor::write_all(stream == 2 ? err_fd : out_fd, text);
    return true;
  });
}

void ContainerEngine::logs(const std::string& ref, const LogOptions& o, const LogSink& sink) {
  Container c = inspect(ref);
  Printer pr{o, sink};
  std::string base = log_path(c.id);
  std::vector<std::string> files;
  for (int i = kMaxLogFiles; i >= 1; --i)
    if (fs::exists(base + "." + std::to_string(i))) files.push_back(base + "." + std::to_string(i));
  // Watch before reading, so nothing written in between is missed.
  UniqueFd ino, pidfd;
  if (o.follow && c.state.running()) {
    ino.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    ::inotify_add_watch(ino.get(), container_dir(c.id).c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO);
    if (auto m = monitor_of(container_dir(c.id) + "/status.json"); m && process_alive(*m))
      pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, m->pid, 0)));
  }
  UniqueFd cur(::open(base.c_str(), O_RDONLY | O_CLOEXEC));
  std::string rest;
  if (o.tail >= 0) {
    std::deque<std::string> last;
    auto keep = [&](const std::string& l) {
      last.push_back(l);
      if (static_cast<int64_t>(last.size()) > o.tail * 2 + 64) last.pop_front();
    };
    for (auto& f : files) {
      UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
      std::string r;
      if (fd) read_lines(fd.get(), r, keep);
    }
    if (cur) read_lines(cur.get(), rest, keep);
    // Filters first, then the last N of what passes them.
    std::vector<std::string> pass;
    for (auto& l : last) {
      auto j = nlohmann::json::parse(l, nullptr, false);
      if (j.is_discarded()) continue;
      std::string s = j.value("stream", "stdout");
      if ((s == "stdout" && !o.stdout) || (s == "stderr" && !o.stderr)) continue;
      pass.push_back(l);
    }
    size_t from = pass.size() > static_cast<size_t>(o.tail) ? pass.size() - static_cast<size_t>(o.tail) : 0;
    for (size_t i = from; i < pass.size(); ++i) pr.print(pass[i]);
  } else {
    auto each = [&](const std::string& l) { pr.print(l); };
    for (auto& f : files) {
      UniqueFd fd(::open(f.c_str(), O_RDONLY | O_CLOEXEC));
      std::string r;
      if (fd) read_lines(fd.get(), r, each);
    }
    if (cur) read_lines(cur.get(), rest, each);
  }
  if (!ino || !pidfd) return;
  auto each = [&](const std::string& l) { pr.print(l); };
  struct stat st{};
  ino_t inode = cur && ::fstat(cur.get(), &st) == 0 ? st.st_ino : 0;
  for (;;) {
    pollfd p[3] = {{ino.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}, {o.hangup_fd, POLLRDHUP, 0}};
    ::poll(p, o.hangup_fd >= 0 ? 3 : 2, 1000);
    if (!pr.open || (p[2].revents & (POLLRDHUP | POLLHUP | POLLERR))) return;
    char evbuf[4096];
    while (::read(ino.get(), evbuf, sizeof evbuf) > 0) {
    }
    // Rotated: finish the old file, then go on in the new one.
    struct stat now{};
    if (::stat(base.c_str(), &now) == 0 && now.st_ino != inode) {
      if (cur) read_lines(cur.get(), rest, each);
      cur.reset(::open(base.c_str(), O_RDONLY | O_CLOEXEC));
      inode = now.st_ino;
      rest.clear();
    }
    if (cur) read_lines(cur.get(), rest, each);
    if (p[1].revents & POLLIN) {
      if (cur) read_lines(cur.get(), rest, each);
      return;
    }
  }
}

}  // namespace berth::engine
