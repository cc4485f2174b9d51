// ContainerEngine: cp, diff, export, commit. Paths in the container are
// resolved inside its root (openat2 RESOLVE_IN_ROOT), so a symlink the
// container made ("/x -> /etc") can never make us read or write the host.
// A running container is reached through /proc/<pid>/root (its volumes
// included, as docker cp sees them); a stopped one through its rootfs,
// mounted for the call.
#include <fcntl.h>
#include <linux/openat2.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"
#include "common/userns.hpp"
#include "engine/in_root.hpp"
#include "engine/container_engine.hpp"
#include "image/layer_commit.hpp"
#include "image/layer_unpack.hpp"
#include "image/overlay_snapshotter.hpp"

namespace berth::engine {

namespace {

namespace stdfs = std::filesystem;

// The container's root for the duration of a call.
class ContainerRoot {
 public:
  ContainerRoot(const Container& c, const std::string& merged, image::ImageStore& store) : merged_(merged) {
    if (c.state.running() && c.state.pid > 0) {
      std::string proc = "/proc/" + std::to_string(c.state.pid);
      fd_.reset(::open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (fd_ && !c.host.uid_maps.empty()) {
        userns_.reset(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
        if (!userns_) throw_errno("open the user namespace of container " + c.id.substr(0, 12));
      }
      if (fd_) return;
    }
    if (!image::is_mount_point(merged_)) {
      image::OverlaySnapshotter snap(store);
      image::mount_all(snap.mounts(c.id), merged_);
      mounted_ = true;
    }
    fd_.reset(::open(merged_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd_) throw_errno("open the rootfs of container " + c.id.substr(0, 12));
  }
  ~ContainerRoot() {
    fd_.reset();
    if (mounted_) image::unmount(merged_);
  }
  int fd() const { return fd_.get(); }
  // The user namespace of a running container that has one (else -1):
  // its files are read and written from inside it, as the container sees
  // them (an idmapped rootfs refuses ids outside the mapping).
  int userns() const { return userns_.get(); }

  // An O_PATH fd of `path` inside the root; -1 with errno if missing.
  UniqueFd open(const std::string& path, bool directory) const {
    return open_in_root(fd_.get(), path, O_PATH | (directory ? O_DIRECTORY : 0));
  }

 private:
  std::string merged_;
  UniqueFd fd_, userns_;
  bool mounted_ = false;
};

// tar run in directory `dir_fd` (given to it as fd 3).
int run_tar(const std::vector<std::string>& args, int dir_fd, int in_fd, int out_fd) {
  std::vector<std::string> argv = {"tar", "-C", "/proc/self/fd/3"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnFds fds{in_fd, out_fd, STDERR_FILENO, dir_fd};
  fds.search_path = true;
  return run_process(argv, fds);
}

std::string dirname_of(const std::string& p) {
  auto s = p.find_last_of('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

std::string basename_of(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

bool ContainerEngine::path_kind(const std::string& ref, const std::string& path, bool* exists) {
  Container c = inspect(ref);
  ContainerRoot root(c, container_dir(c.id) + "/merged", *images_);
  UniqueFd fd = root.open(path, false);
  *exists = static_cast<bool>(fd);
  if (!fd) return false;
  struct stat st{};
  return ::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode);
}

void ContainerEngine::copy_out(const std::string& ref, const std::string& path, int out_fd) {
  Container c = inspect(ref);
  ContainerRoot root(c, container_dir(c.id) + "/merged", *images_);
  std::string p = path.empty() ? "/" : path;
  if (p[0] != '/') p = "/" + p;
  bool contents = p.size() >= 2 && p.compare(p.size() - 2, 2, "/.") == 0;  // "dir/." copies what is in dir
  while (p.size() > 1 && (p.back() == '/' || (contents && p.back() == '.'))) p.pop_back();
  std::string parent = contents || p == "/" ? p : dirname_of(p);
  std::string name = contents || p == "/" ? "." : basename_of(p);
  UniqueFd dir = root.open(parent, true);
  struct stat st{};
  if (!dir || ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0)
    throw Error("Could not find the file " + path + " in container " + ref, ErrorKind::NotFound);
  auto tar = [&] {
    if (run_tar({"--numeric-owner", "-cf", "-", "--", name}, dir.get(), -1, out_fd) != 0)
      throw Error("copy " + path + " out of container " + ref + ": tar failed");
  };
  if (root.userns() >= 0)
    run_as_userns_root(root.userns(), {dir.get(), out_fd}, tar);
  else
    tar();
}

void ContainerEngine::copy_in(const std::string& ref, int in_fd, const std::string& dir_path) {
  Container c = inspect(ref);
  ContainerRoot root(c, container_dir(c.id) + "/merged", *images_);
  UniqueFd dir = root.open(dir_path, true);
  if (!dir) {
    if (errno == ENOTDIR) throw Error("extraction point is not a directory: " + dir_path, ErrorKind::InvalidArgument);
    throw Error("Could not find the file " + dir_path + " in container " + ref, ErrorKind::NotFound);
  }
  // The unpacker resolves every entry beneath `dir` and refuses symlinked
  // parents, "..", absolute names and hardlinks out of it.
  auto unpack = [&] { image::unpack_layer(in_fd, "/proc/self/fd/" + std::to_string(dir.get())); };
  if (root.userns() >= 0)
    run_as_userns_root(root.userns(), {dir.get(), in_fd}, unpack);
  else
    unpack();
}

std::vector<std::pair<std::string, std::string>> ContainerEngine::diff(const std::string& ref) {
  Container c = inspect(ref);
  std::string upper = container_dir(c.id) + "/upper";
  std::vector<std::string> lowers;
  for (auto& chain : images_->chain_ids(images_->resolve(c.image_id))) lowers.push_back(images_->layer_dir(chain));
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  for (auto it = stdfs::recursive_directory_iterator(upper, ec); !ec && it != stdfs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string rel = "/" + stdfs::relative(it->path(), upper).string();
    // Docker leaves out the files it manages itself (mount points of ours).
    if (rel == "/etc/hosts" || rel == "/etc/hostname" || rel == "/etc/resolv.conf") continue;
    struct stat st{};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      out.push_back({"D", rel});
      continue;
    }
    bool in_lower = std::any_of(lowers.begin(), lowers.end(), [&](const std::string& l) {
      struct stat ls{};
      return ::lstat((l + rel).c_str(), &ls) == 0;
    });
    out.push_back({in_lower ? "C" : "A", rel});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second < b.second; });
  return out;
}

void ContainerEngine::export_rootfs(const std::string& ref, int out_fd) {
  Container c = inspect(ref);
  std::string merged = container_dir(c.id) + "/merged";
  bool mounted = false;
  if (!image::is_mount_point(merged)) {
    image::OverlaySnapshotter snap(*images_);
    image::mount_all(snap.mounts(c.id), merged);
    mounted = true;
  }
  UniqueFd dir(::open(merged.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  int rc = dir ? run_tar({"--numeric-owner", "--one-file-system", "-cf", "-", "."}, dir.get(), -1, out_fd) : -1;
  dir.reset();
  if (mounted) image::unmount(merged);
  if (rc != 0) throw Error("export container " + ref + ": tar failed");
}

std::string ContainerEngine::commit(const std::string& ref, const std::string& repo_tag, const std::string& author,
                                   const std::string& message, bool pause_it, const std::vector<std::string>& changes) {
  Container c = inspect(ref);
  bool paused_here = false;
  if (pause_it && c.state.status == "running") {
    pause(c.id);
    paused_here = true;
  }
  image::CommitOptions o;
  if (!repo_tag.empty()) o.refs.push_back(repo_tag);
  o.author = author;
  o.comment = message;
  std::string cmd = c.path;
  for (auto& a : c.args) cmd += " " + a;
  o.created_by = cmd;
  nlohmann::json& cfg = o.config_changes;
  if (c.config.cmd) cfg["Cmd"] = *c.config.cmd;
  if (c.config.entrypoint) cfg["Entrypoint"] = *c.config.entrypoint;
  if (!c.config.env.empty()) cfg["Env"] = c.config.env;
  if (!c.config.working_dir.empty()) cfg["WorkingDir"] = c.config.working_dir;
  if (!c.config.user.empty()) cfg["User"] = c.config.user;
  if (!c.config.labels.empty()) cfg["Labels"] = c.config.labels;
  // --change: the Dockerfile instructions docker commit takes.
  for (const auto& ch : changes) {
    auto sp = ch.find(' ');
    std::string ins = ch.substr(0, sp), arg = sp == std::string::npos ? "" : ch.substr(sp + 1);
    for (auto& x : ins) x = static_cast<char>(std::toupper(static_cast<unsigned char>(x)));
    auto words = [&]() -> nlohmann::json {
      auto j = nlohmann::json::parse(arg, nullptr, false);
      if (!j.is_discarded() && j.is_array()) return j;
      return nlohmann::json::array({"/bin/sh", "-c", arg});
    };
    if (ins == "CMD") cfg["Cmd"] = words();
    else if (ins == "ENTRYPOINT") cfg["Entrypoint"] = words();
    else if (ins == "WORKDIR") cfg["WorkingDir"] = arg;
    else if (ins == "USER") cfg["User"] = arg;
    else if (ins == "STOPSIGNAL") cfg["StopSignal"] = arg;
    else if (ins == "ENV") {
      auto eq = arg.find_first_of("= ");
      std::string k = arg.substr(0, eq), v = eq == std::string::npos ? "" : arg.substr(eq + 1);
      nlohmann::json env = cfg.value("Env", nlohmann::json::array());
      env.push_back(k + "=" + v);
      cfg["Env"] = env;
    } else if (ins == "LABEL") {
      auto eq = arg.find('=');
      cfg["Labels"][arg.substr(0, eq)] = eq == std::string::npos ? "" : arg.substr(eq + 1);
    } else if (ins == "EXPOSE") {
      cfg["ExposedPorts"][arg.find('/') == std::string::npos ? arg + "/tcp" : arg] = nlohmann::json::object();
    } else if (ins == "VOLUME") {
      cfg["Volumes"][arg] = nlohmann::json::object();
    } else {
      if (paused_here) unpause(c.id);
      throw Error(ins + " is not a valid change command", ErrorKind::InvalidArgument);
    }
  }
  try {
    auto img = image::commit_snapshot(*images_, c.id, o);
    if (paused_here) unpause(c.id);
    return img.id;
  } catch (...) {
    if (paused_here) unpause(c.id);
    throw;
  }
}

}  // namespace berth::engine
