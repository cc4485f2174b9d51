#include "build/run_step.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "build/run_mounts.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "engine/container_engine.hpp"
#include "image/layer_commit.hpp"
#include "image/overlay_snapshotter.hpp"
#include "monitor/attach_frame.hpp"

namespace berth::build {

namespace {

// A build container goes when the step ends, whatever happened.
struct ContainerGuard {
  engine::ContainerEngine& eng;
  std::string id;
  ~ContainerGuard() {
    try {
      eng.remove(id, true, true);
    } catch (...) {
    }
  }
};

// Files the runtime made in the upper dir only as mount targets (the
// engine binds /etc/hostname, /etc/hosts and /etc/resolv.conf over them):
// empty, and not the command's doing, so not part of the layer.
// When that leaves /etc empty in the upper dir, the dir was only copied up
// for them and goes too.
void drop_mount_targets(const std::string& upper) {
  bool dropped = false;
  for (const char* f : {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}) {
    std::string p = upper + f;
    struct stat st;
    if (::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 && ::unlink(p.c_str()) == 0)
      dropped = true;
  }
  if (dropped) ::rmdir((upper + "/etc").c_str());  // fails, as it should, if anything else is there
}

bool empty_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) throw_errno("open " + dir);
  bool empty = true;
  while (auto* de = ::readdir(d))
    if (std::strcmp(de->d_name, ".") && std::strcmp(de->d_name, "..")) empty = false;
  ::closedir(d);
  return empty;
}

}  // namespace

std::optional<oci::Descriptor> run_in_container(engine::ContainerEngine& eng, const ImageState& parent, const RunSpec& spec,
                                 const std::function<void(const std::string&)>& output, int* exit_code,
                                 std::vector<std::string>* made) {
  auto rec = materialize(eng.images(), parent, {}, made);
  engine::CreateRequest cr;
  auto& cfg = parent.config.at("config");
  cr.config.image = rec.id;
  cr.config.cmd = spec.argv;
  cr.config.entrypoint = std::vector<std::string>{};  // RUN ignores ENTRYPOINT
  cr.config.env = spec.env;
  cr.config.user = cfg.value("User", std::string());
  cr.config.working_dir = cfg.value("WorkingDir", std::string());
  if (!spec.network.empty()) cr.host.network_mode = spec.network;
  cr.host.mounts = spec.mounts;
  std::string id = eng.create(cr);
  ContainerGuard guard{eng, id};

  int sv[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  eng.start(id, {theirs.get()});
  theirs.reset();
  // Non-blocking: a wait happens only in poll, where a cancel is seen.
  ::fcntl(ours.get(), F_SETFL, ::fcntl(ours.get(), F_GETFL) | O_NONBLOCK);
  monitor::FrameReader reader;
  int code = -1;
  char buf[65536];
  for (;;) {
    pollfd p[2] = {{ours.get(), POLLIN, 0}, {spec.cancel_fd, POLLIN, 0}};
    if (::poll(p, spec.cancel_fd >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("wait for the RUN container");
    }
    if (spec.cancel_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      try {
        eng.kill(id, "KILL");
      } catch (...) {
      }
      throw Error("build cancelled during RUN", ErrorKind::FailedPrecondition);
    }
    ssize_t n = ::read(ours.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    reader.feed(buf, static_cast<size_t>(n));
    monitor::Frame type;
    std::string payload;
    while (reader.next(&type, &payload)) {
      if (type == monitor::Frame::Stdout || type == monitor::Frame::Stderr) output(payload);
      else if (type == monitor::Frame::Exit) code = std::atoi(payload.c_str());
    }
  }
  if (code < 0) code = eng.wait(id);
  *exit_code = code;
  if (code != 0) throw Error("exit code " + std::to_string(code), ErrorKind::FailedPrecondition);
  std::string upper = image::OverlaySnapshotter(eng.images()).upper(id);
  drop_mount_points(upper, spec.mount_targets);
  drop_mount_targets(upper);
  if (empty_dir(upper)) return std::nullopt;  // no change: no layer (docker's empty_layer)
  auto [digest, size] = image::write_diff_layer(eng.images().content(), upper);
  return oci::Descriptor{oci::media::kOciLayer, digest, size, {}, {}};
}

}  // namespace berth::build
