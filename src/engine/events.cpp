#include "engine/events.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "monitor/event_log.hpp"

namespace berth::engine {

void container_event(const std::string& root, const Container& c, const std::string& action,
                     std::map<std::string, std::string> extra) {
  extra["name"] = c.name;
  extra["image"] = c.config.image;
  for (const auto& [k, v] : c.config.labels) extra.emplace(k, v);
  monitor::append_event(root, "container", action, c.id, extra);
}

void read_events(const std::string& root, const EventQuery& q, const std::function<bool(const nlohmann::json&)>& each) {
  std::string path = root + "/events.log";
  auto in_range = [&](const nlohmann::json& e) {
    int64_t t = e.value("time", int64_t{0});
    return (!q.since || t >= q.since) && (!q.until || t <= q.until);
  };
  auto emit_lines = [&](std::string& buf) {
    size_t start = 0, nl;
    while ((nl = buf.find('\n', start)) != std::string::npos) {
      auto e = nlohmann::json::parse(buf.substr(start, nl - start), nullptr, false);
      start = nl + 1;
      if (!e.is_discarded() && in_range(e) && !each(e)) return false;
    }
    buf.erase(0, start);
    return true;
  };
  UniqueFd ino;
  if (q.follow) {
    ino.reset(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
    ::inotify_add_watch(ino.get(), root.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO);
  }
  std::string old;
  try {
    old = fs::read_file(path + ".1");
  } catch (const Error&) {
  }
  if (!emit_lines(old)) return;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string buf;
  auto drain = [&] {
    char chunk[65536];
    ssize_t n;
    while (fd && (n = ::read(fd.get(), chunk, sizeof chunk)) > 0) buf.append(chunk, static_cast<size_t>(n));
    return emit_lines(buf);
  };
  if (!drain() || !q.follow) return;
  for (;;) {
    if (q.until && ::time(nullptr) > q.until) return;
    pollfd p[2] = {{ino.get(), POLLIN, 0}, {q.hangup_fd, POLLRDHUP, 0}};
    ::poll(p, q.hangup_fd >= 0 ? 2 : 1, 1000);
    if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR)) return;
    char evbuf[4096];
    while (::read(ino.get(), evbuf, sizeof evbuf) > 0) {
    }
    if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!drain()) return;
  }
}

}  // namespace berth::engine
