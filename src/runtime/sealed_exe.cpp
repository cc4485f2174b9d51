#include "runtime/sealed_exe.hpp"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

extern char** environ;

namespace berth::runtime {

namespace {

// Set across the re-exec: a second pass that still finds a writable exe
// means the view did not take; fail instead of re-executing forever.
constexpr const char* kSealedEnv = "_BERTH_RUNTIME_SEALED";

UniqueFd fs_open(const char* type) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_fsopen, type, FSOPEN_CLOEXEC)));
  if (!fd) throw_errno(std::string("seal the runtime binary: fsopen ") + type);
  return fd;
}

void fs_set(int fsfd, const char* key, const std::string& value) {
  if (::syscall(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0)
    throw_errno(std::string("seal the runtime binary: overlay option ") + key + "=" + value);
}

// Creates the superblock and returns a detached, read-only mount of it.
UniqueFd fs_mount(int fsfd, const std::string& what) {
  if (::syscall(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    throw_errno("seal the runtime binary: create " + what);
  UniqueFd m(static_cast<int>(::syscall(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC,
                                        MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)));
  if (!m) throw_errno("seal the runtime binary: mount " + what);
  return m;
}

// overlayfs lowerdir syntax: ':' separates layers, '\' escapes.
std::string escape_layer(const std::string& dir) {
  std::string out;
  for (char c : dir) {
    if (c == ':' || c == '\\' || c == ',') out += '\\';
    out += c;
  }
  return out;
}

std::vector<std::string> own_argv() {
  std::string raw = fs::read_file("/proc/self/cmdline");
  std::vector<std::string> args;
  size_t start = 0;
  for (size_t i = 0; i < raw.size(); ++i)
    if (raw[i] == '\0') {
      args.push_back(raw.substr(start, i - start));
      start = i + 1;
    }
  return args;
}

bool exe_on_readonly_mount() {
  struct statvfs sv;
  return ::statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY);
}

}  // namespace

bool init_visible_to_container(const oci::Spec& spec, bool start_now) {
  if (!start_now || !spec.linux) return true;
  if (spec.hooks && (!spec.hooks->create_container.empty() || !spec.hooks->start_container.empty())) return true;
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == "pid") return !ns.path.empty();
  return true;
}

void seal_self_exe() {
  if (exe_on_readonly_mount()) {
    ::unsetenv(kSealedEnv);
    return;
  }
  if (::getenv(kSealedEnv))
    fail("seal the runtime binary: re-executed from a read-only overlay, but /proc/self/exe is still writable",
         ErrorKind::Internal);
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) throw_errno("seal the runtime binary: readlink /proc/self/exe");
  std::string exe(buf, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  if (exe.empty() || exe[0] != '/' || slash == std::string::npos || exe.ends_with(" (deleted)"))
    fail("seal the runtime binary: /proc/self/exe is \"" + exe + "\", not a file path", ErrorKind::Internal);
  std::string dir = slash == 0 ? "/" : exe.substr(0, slash);

  // A read-only overlay needs two lower layers: the binary's directory and
  // an empty tmpfs below it.
  UniqueFd tmpfs_ctx = fs_open("tmpfs");
  UniqueFd empty = fs_mount(tmpfs_ctx.get(), "tmpfs");
  UniqueFd ovl_ctx = fs_open("overlay");
  fs_set(ovl_ctx.get(), "lowerdir", escape_layer(dir) + ":/proc/self/fd/" + std::to_string(empty.get()));
  UniqueFd view = fs_mount(ovl_ctx.get(), "overlay of " + dir);
  UniqueFd bin(::openat(view.get(), exe.c_str() + slash + 1, O_PATH | O_CLOEXEC));
  if (!bin) throw_errno("seal the runtime binary: open " + exe + " in its overlay");

  std::vector<std::string> args = own_argv();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::setenv(kSealedEnv, "1", 1);
  ::syscall(SYS_execveat, bin.get(), "", argv.data(), environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kSealedEnv);
  errno = err;
  throw_errno("seal the runtime binary: execute " + exe + " from its overlay");
}

}  // namespace berth::runtime
