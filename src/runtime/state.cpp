#include "runtime/state.hpp"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <fcntl.h>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <string_view>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "runtime/cgroup/cgroup.hpp"

namespace berth::runtime {

using json = nlohmann::json;

const char* status_name(Status s) {
  switch (s) {
    case Status::Creating: return "creating";
    case Status::Created: return "created";
    case Status::Running: return "running";
    case Status::Paused: return "paused";
    case Status::Stopped: return "stopped";
  }
  return "unknown";
}

static Status status_from(const std::string& s) {
  if (s == "created") return Status::Created;
  if (s == "running") return Status::Running;
  if (s == "paused") return Status::Paused;
  if (s == "stopped") return Status::Stopped;
  return Status::Creating;
}

void validate_id(const std::string& id) {
  if (id.empty()) fail("container id must not be empty");
  if (id.size() > kMaxIdLength)
    fail("invalid container id \"" + id.substr(0, 16) + "...\": id too long (" + std::to_string(id.size()) +
         " characters; at most " + std::to_string(kMaxIdLength) + ", so that the state's file names fit in 255)");
  if (id[0] == '.') fail("invalid container id \"" + id + "\": must not start with '.'");
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '+' || c == '-' || c == '.';
    if (!ok) fail("invalid container id \"" + id + "\": use letters, digits, _ + - .");
  }
}

std::string state_path(const std::string& root, const std::string& id) { return fs::join(root, id); }
std::string exec_fifo_path(const std::string& root, const std::string& id, bool legacy_dir) {
  return legacy_dir ? fs::join(state_path(root, id), "exec.fifo") : fs::join(root, "." + id + ".fifo");
}

namespace {

// One line of JSON, then the container's config.json as it was read.
// Inside the JSON it would be a string, escaped on every start and
// unescaped on every delete (~60 us here). dump() escapes newlines in
// strings, so the first newline ends the JSON.
std::string state_text(const ContainerState& st) {
  json j = {{"id", st.id},
            {"ociVersion", st.oci_version},
            {"pid", st.pid},
            {"pidStartTime", st.pid_start_time},
            {"bundle", st.bundle},
            {"rootfs", st.rootfs},
            {"created", st.created},
            {"owner", st.owner},
            {"annotations", st.annotations},
            {"cgroup", st.cgroup},
            {"status", status_name(st.recorded)},
            {"systemdCgroup", st.systemd_cgroup},
            {"ownCgroupNs", st.own_cgroup_ns}};
  if (st.host_rootfs_mount) j["hostRootfsMount"] = st.host_rootfs_mount;
  std::string data = json_text(j);
  data += '\n';
  data += st.config;
  return data;
}

// Writes all of data to fd (a new file, path for messages).
void write_all(int fd, const std::string& data, const std::string& path) {
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("write " + path, n < 0 ? errno : EIO);
    off += static_cast<size_t>(n);
  }
}

}  // namespace

void save_state(const std::string& root, const ContainerState& st) {
  // Atomic (temp + rename) but not fsync'ed: runtime state does not outlive
  // a reboot (its processes do not), and fsync on a disk-backed --root cost
  // milliseconds per container start. 0600: the stored config may hold
  // secrets (env), and --root may be shared (dockerd's runc root) or made
  // by someone else with a looser mode.
  std::string path = st.legacy_dir ? fs::join(state_path(root, st.id), "state.json") : state_path(root, st.id);
  std::string tmp = st.legacy_dir ? path + ".tmp." + std::to_string(::getpid())
                                   : fs::join(root, "." + st.id + ".tmp." + std::to_string(::getpid()));
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) throw_errno("create " + tmp);
    try {
      write_all(fd.get(), state_text(st), tmp);
    } catch (...) {
      ::unlink(tmp.c_str());
      throw;
    }
  }
  // Exchange, then unlink the old file, rather than rename over it: ext4
  // allocates the blocks of a file renamed over another at once
  // (auto_da_alloc), so the unlink at delete would have to free them, 1-2 ms
  // here (discard); exchanged, a short-lived state file never gets blocks.
  // Readers see the old or the new state, never a mix, either way.
  if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_EXCHANGE) == 0) {
    ::unlink(tmp.c_str());
    return;
  }
  if (errno != ENOENT && errno != EINVAL) {  // ENOENT: no old file; EINVAL: no exchange on this fs
    int e = errno;
    ::unlink(tmp.c_str());
    throw_errno("exchange " + tmp + " with " + path, e);
  }
  if (::rename(tmp.c_str(), path.c_str()) < 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    throw_errno("rename " + tmp + " to " + path, e);
  }
}

void reserve_state(const std::string& root, const ContainerState& st) {
  fs::mkdir_p(root, 0700);
  std::string path = state_path(root, st.id);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    if (errno == EEXIST) throw Error("container " + st.id + " already exists", ErrorKind::AlreadyExists);
    throw_errno("create state file " + path);
  }
  // Killed half-way, this is still an empty file: read as "creating" with
  // nothing made yet (the config names the cgroup first thing after this).
  write_all(fd.get(), state_text(st), path);
}

void remove_state(const std::string& root, const std::string& id, bool legacy_dir) {
  if (legacy_dir) {
    fs::remove_all(state_path(root, id));
    return;
  }
  for (const std::string& p : {exec_fifo_path(root, id), state_path(root, id)})
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) throw_errno("remove " + p);
  // save_state's ".<id>.tmp.<pid>" of a writer killed before its rename.
  // The pid is not known, so the dir is listed: one getdents on a dir of
  // one file per container.
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(root.c_str()), ::closedir);
  if (!d) return;
  const std::string prefix = "." + id + ".tmp.";
  while (struct dirent* e = ::readdir(d.get()))
    if (std::string_view(e->d_name).starts_with(prefix) && ::unlinkat(::dirfd(d.get()), e->d_name, 0) < 0 &&
        errno != ENOENT)
      throw_errno("remove " + fs::join(root, e->d_name));
}

ContainerState load_state(const std::string& root, const std::string& id) {
  validate_id(id);
  std::string path = state_path(root, id);
  struct stat sb;
  if (::lstat(path.c_str(), &sb) < 0) {
    if (errno == ENOENT) throw Error("container " + id + " does not exist", ErrorKind::NotFound);
    throw_errno("state of container " + id + ": stat " + path);
  }
  ContainerState st;
  st.id = id;
  st.legacy_dir = S_ISDIR(sb.st_mode);
  if (st.legacy_dir) {
    path = fs::join(path, "state.json");
    if (!fs::exists(path)) return st;  // still being created (or a create died)
  } else if (!S_ISREG(sb.st_mode)) {
    throw Error("state of container " + id + " (" + path + "): not a regular file", ErrorKind::Corrupt);
  }
  std::string text = fs::read_file(path);
  if (text.empty()) return st;  // reserved: still being created (or a create died)
  try {
    // One JSON line, then the config (save_state); older files are one JSON
    // document (maybe spread over lines) with the config inside, as "config".
    size_t newline = text.find('\n');
    json j = json::parse(std::string_view(text).substr(0, newline), nullptr, false);
    if (j.is_discarded()) {
      j = json::parse(text);
      newline = std::string::npos;
    }
    st.oci_version = j.value("ociVersion", "");
    st.pid = j.value("pid", 0);
    st.pid_start_time = j.value("pidStartTime", uint64_t{0});
    st.bundle = j.value("bundle", "");
    st.rootfs = j.value("rootfs", "");
    st.created = j.value("created", "");
    st.owner = j.value("owner", "");
    st.annotations = j.value("annotations", std::map<std::string, std::string>{});
    st.cgroup = j.value("cgroup", "");
    st.config = newline == std::string::npos ? j.value("config", "") : text.substr(newline + 1);
    st.recorded = status_from(j.value("status", ""));
    st.systemd_cgroup = j.value("systemdCgroup", false);
    st.own_cgroup_ns = j.value("ownCgroupNs", false);
    st.host_rootfs_mount = j.value("hostRootfsMount", uint64_t{0});
  } catch (const json::exception& e) {
    throw Error("state of container " + id + " (" + path + "): " + e.what(), ErrorKind::Corrupt);
  }
  return st;
}

std::vector<std::string> list_ids(const std::string& root) {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root.c_str());
  if (!d) {
    if (errno == ENOENT) return ids;
    throw_errno("open state root " + root);
  }
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    // Dot entries are ours (.seccomp-cache, .<id>.fifo, temp files), never an id.
    if (name.empty() || name[0] == '.') continue;
    unsigned char type = e->d_type;
    if (type == DT_UNKNOWN) {
      struct stat sb;
      if (::fstatat(::dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0) continue;
      type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG : DT_UNKNOWN;
    }
    if (type == DT_REG || type == DT_DIR) ids.push_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::optional<uint64_t> process_start_time(pid_t pid, bool allow_zombie) {
  if (pid <= 0) return std::nullopt;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n <= 0) return std::nullopt;
  buf[n] = 0;
  // comm may contain spaces and parentheses: parse after the last ')'.
  char* p = std::strrchr(buf, ')');
  if (!p) return std::nullopt;
  ++p;
  char state = 0;
  unsigned long long start = 0;
  // fields 3 (state) .. 22 (starttime)
  int fieldno = 2;
  char* save = nullptr;
  for (char* tok = strtok_r(p, " ", &save); tok; tok = strtok_r(nullptr, " ", &save)) {
    ++fieldno;
    if (fieldno == 3) state = tok[0];
    if (fieldno == 22) {
      start = std::strtoull(tok, nullptr, 10);
      break;
    }
  }
  if (!allow_zombie && (state == 'Z' || state == 'X' || state == 'x')) return std::nullopt;
  return start;
}

bool init_alive(const ContainerState& st) {
  auto t = process_start_time(st.pid);
  return t && *t == st.pid_start_time;
}

Status current_status(const std::string& root, const ContainerState& st) {
  if (st.recorded == Status::Creating && st.pid == 0) return Status::Creating;
  if (!init_alive(st)) return Status::Stopped;
  if (st.recorded == Status::Creating) return Status::Creating;
  if (fs::exists(exec_fifo_path(root, st.id, st.legacy_dir))) return Status::Created;
  if (!st.cgroup.empty()) {
    try {
      if (Cgroup::from_json(st.cgroup)->frozen()) return Status::Paused;
    } catch (const Error&) {
      // A cgroup we cannot read does not change whether the init runs.
    }
  }
  return Status::Running;
}

std::string state_json(const ContainerState& st, Status status, bool pretty) {
  nlohmann::ordered_json j = {{"ociVersion", st.oci_version.empty() ? "1.2.0" : st.oci_version},
            {"id", st.id},
            {"pid", status == Status::Stopped ? 0 : st.pid},
            {"status", status_name(status)},
            {"bundle", st.bundle},
            {"rootfs", st.rootfs},
            {"created", st.created},
            {"owner", st.owner},
            {"annotations", st.annotations.empty() ? nlohmann::ordered_json::object() : nlohmann::ordered_json(st.annotations)}};
  return pretty ? json_text(j, 2) : json_text(j);
}

}  // namespace berth::runtime
