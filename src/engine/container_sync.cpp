// ContainerEngine::sync: folds what the monitor recorded (status.json) into
// the container's record, and settles what a crash left behind: a record
// still "creating" whose CLI is gone, a "running" container whose monitor
// is gone (killed, or a reboot).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "engine/container_engine.hpp"
#include "engine/process_identity.hpp"
#include "image/overlay_snapshotter.hpp"
#include "runtime/cgroup/cgroup.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

// status.json files as last parsed, by path, with what stat said of them:
// the monitor writes a new file and renames it over the old (a new inode),
// so an unchanged (inode, size, mtime, ctime) is an unchanged file. Shared
// by the engines of one process (`berth serve` lists from many threads);
// reading and parsing every container's file was a good part of a list.
struct StatusMemo {
  ino_t ino;
  off_t size;
  timespec mtime, ctime;
  std::shared_ptr<const json> j;  // shared, not copied, with each caller
};
std::mutex status_memo_mu;
std::unordered_map<std::string, StatusMemo> status_memo;

bool same_stat(const StatusMemo& m, const struct stat& st) {
  return m.ino == st.st_ino && m.size == st.st_size && m.mtime.tv_sec == st.st_mtim.tv_sec &&
         m.mtime.tv_nsec == st.st_mtim.tv_nsec && m.ctime.tv_sec == st.st_ctim.tv_sec &&
         m.ctime.tv_nsec == st.st_ctim.tv_nsec;
}

std::shared_ptr<const json> read_status(const std::string& path) {
  struct stat st {};
  bool there = ::stat(path.c_str(), &st) == 0;  // one syscall when unchanged, or missing
  if (there) {
    std::lock_guard lock(status_memo_mu);
    auto it = status_memo.find(path);
    if (it != status_memo.end() && same_stat(it->second, st)) return it->second.j;
  }
  UniqueFd fd(there ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC) : -1);
  if (!fd) {  // most containers that never started have none
    std::lock_guard lock(status_memo_mu);
    status_memo.erase(path);
    return nullptr;
  }
  // The monitor replaces the file whole (rename), so what is read is one
  // version of it; the stat above may be of the one before, which only
  // means a read again next time. One read when the size was right.
  std::string text(static_cast<size_t>(st.st_size) + 1, '\0');
  ssize_t n = ::read(fd.get(), text.data(), text.size());
  if (n < 0) return nullptr;
  text.resize(static_cast<size_t>(n));
  if (static_cast<size_t>(n) == static_cast<size_t>(st.st_size) + 1) {
    try {
      text += fs::read_all(fd.get(), path);
    } catch (const Error&) {
      return nullptr;
    }
  }
  auto j = std::make_shared<const json>(json::parse(text, nullptr, false));
  if (j->is_discarded() || !j->is_object()) return nullptr;
  std::lock_guard lock(status_memo_mu);
  if (status_memo.size() > 4096) status_memo.clear();  // removed containers' entries go some time
  status_memo[path] = StatusMemo{st.st_ino, st.st_size, st.st_mtim, st.st_ctim, j};
  return j;
}

// Whether a start or a monitor holds the container dir's lock
// (container_engine.hpp). A dir that is gone is nobody's.
bool owned(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  return fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0;
}

// What `delete --force` cannot reach once the runtime's state is gone (a
// state dir lost with its containers still running): the processes in the
// container's cgroup (thawed first: a frozen task would not die), then the
// cgroup dirs.
void kill_cgroup(const std::string& rel) {
  std::vector<std::string> dirs;
  for (const auto& m : runtime::cgroup_mounts())
    if (fs::exists(m.mountpoint + rel)) dirs.push_back(m.mountpoint + rel);
  for (int round = 0; round < 100 && !dirs.empty(); ++round) {
    bool left = false;
    for (const auto& d : dirs) {
      if (fs::exists(d + "/freezer.state")) {
        try {
          fs::write_file(d + "/freezer.state", "THAWED");
        } catch (const Error&) {
        }
      }
      std::string procs;
      try {
        procs = fs::read_file(d + "/cgroup.procs");
      } catch (const Error&) {
        continue;
      }
      for (char* p = procs.data(); *p;) {
        char* end = nullptr;
        long pid = std::strtol(p, &end, 10);
        if (end == p) break;
        if (pid > 0) {
          ::kill(static_cast<pid_t>(pid), SIGKILL);
          left = true;
        }
        p = end;
      }
    }
    if (!left) break;
    ::usleep(20000);
  }
  for (const auto& d : dirs) ::rmdir(d.c_str());
}

}  // namespace

std::optional<MonitorIdentity> monitor_of(const std::string& status_path) {
  auto s = read_status(status_path);
  if (!s) return std::nullopt;
  MonitorIdentity m{s->value("monitorPid", 0), s->value("monitorStart", std::string())};
  if (m.pid <= 0) return std::nullopt;
  return m;
}

void ContainerEngine::mark_dead_monitor(Container& c) {
  // Its container may still run (a monitor killed with -9): nobody holds
  // its stdio or would record its end, so it goes too.
  run_runtime(c, {"delete", "--force", c.id});
  kill_cgroup("/berth/" + c.id);
  image::unmount(container_dir(c.id) + "/merged");
  try {
    teardown_network(c);
  } catch (const Error&) {
  }
  c.state.status = "exited";
  c.state.pid = 0;
  if (c.state.exit_code == 0) c.state.exit_code = 137;
  c.state.error = "berth-monitor of the container exited unexpectedly";
  c.state.finished_at = now_rfc3339();
  if (c.state.health) c.state.health->status = "unhealthy";
  // status.json says so too, so this is done once.
  auto old = read_status(container_dir(c.id) + "/status.json");
  json j = old ? *old : json::object();
  j["status"] = "exited";
  j["pid"] = 0;
  j["exitCode"] = c.state.exit_code;
  j["error"] = c.state.error;
  j["finishedAt"] = c.state.finished_at;
  try {
    fs::write_file_atomic(container_dir(c.id) + "/status.json", json_text(j) + "\n");
  } catch (const Error&) {
  }
}

// A container that is not live and that nobody owns (no start, no
// monitor) has nothing on the host but its files. What a start killed
// after it mounted the rootfs, or a monitor killed while it started the
// container through the runtime, left there is ended: the container in the
// runtime (and its cgroup), the rootfs mount (an overlay has a device of
// its own). Two lstats when there is nothing.
void ContainerEngine::release_unowned(const Container& c) {
  std::string dir = container_dir(c.id);
  struct stat m, d, r;
  bool mounted =
      ::lstat((dir + "/merged").c_str(), &m) == 0 && ::lstat(dir.c_str(), &d) == 0 && m.st_dev != d.st_dev;
  bool in_runtime = ::lstat((state_ + "/runtime/" + c.id).c_str(), &r) == 0;
  bool has_netns = !c.networks.empty() && ::lstat(netns_path(c.id).c_str(), &r) == 0;
  if ((!mounted && !in_runtime && !has_netns) || owned(dir)) return;
  if (c.listing_only) return release_unowned(store_->get(c.id));  // teardown needs the whole record
  if (has_netns) {
    try {
      teardown_network(c);
    } catch (const Error&) {
    }
  }
  if (in_runtime) {
    run_runtime(c, {"delete", "--force", c.id});
    kill_cgroup("/berth/" + c.id);
  }
  if (mounted) image::unmount(dir + "/merged");
}

void ContainerEngine::sync(Container& c) {
  // What sync may change: compared as structs, not as JSON (serialising
  // every record twice was a fifth of `ps`).
  const ContainerState before = c.state;
  const int restarts_before = c.restart_count;
  // A listing row (`ps`) is folded as it is while nothing needs writing or
  // settling, which is nearly always; otherwise the record is read and
  // synced instead.
  auto on_record = [&] {
    c = store_->get(c.id);
    sync(c);
  };
  if (c.state.status == "creating") {
    // Still being made, unless its CLI is gone (a zombie is gone: a killed
    // CLI whose parent died may never be reaped).
    if (process_alive({c.creator_pid, c.creator_start})) return;
    if (c.listing_only) return on_record();
    release_resources(c);
    remove_anonymous_volumes(c);
    store_->remove(c.id);
    throw Error("No such container: " + c.id + " (its create was interrupted)", ErrorKind::NotFound);
  }
  auto s = read_status(container_dir(c.id) + "/status.json");
  if (!s) {
    if (!c.state.running()) {  // never started
      release_unowned(c);
    } else if (!owned(container_dir(c.id))) {
      // Running, says the record, but no monitor wrote or holds anything:
      // its files went with an rm that was killed before the record did.
      if (c.listing_only) return on_record();
      mark_dead_monitor(c);
      store_->update(c);
    }
    return;
  }
  std::string status = s->value("status", std::string());
  bool was_paused = c.state.status == "paused";
  c.state.pid = s->value("pid", 0);
  c.state.exit_code = s->value("exitCode", 0);
  c.state.oom_killed = s->value("oomKilled", false);
  c.state.error = s->value("error", std::string());
  if (!s->value("startedAt", std::string()).empty()) c.state.started_at = s->value("startedAt", std::string());
  if (!s->value("finishedAt", std::string()).empty()) c.state.finished_at = s->value("finishedAt", std::string());
  c.restart_count = s->value("restartCount", c.restart_count);
  if (s->contains("health")) {
    HealthState h;
    h.status = s->value("health", std::string());
    h.failing_streak = s->value("healthFailing", 0);
    h.log_json = (*s)["healthLog"].dump();
    c.state.health = h;
  }
  c.state.status = status == "running" && was_paused ? "paused" : status;
  bool live = status == "running" || status == "restarting" || status == "starting";
  bool changed = !(c.state == before) || c.restart_count != restarts_before;
  bool dead_monitor =
      live && !process_alive({s->value("monitorPid", 0), s->value("monitorStart", std::string())});
  if (c.listing_only && (changed || dead_monitor)) return on_record();
  if (dead_monitor)
    mark_dead_monitor(c);
  else if (!live)
    release_unowned(c);
  if (!(c.state == before) || c.restart_count != restarts_before) store_->update(c);
}

}  // namespace berth::engine
