#include "runtime/sealed_exe.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "runtime/init.hpp"

extern char** environ;

namespace berth::runtime {

namespace {

// Set across the re-exec: a second pass that still finds a writable exe
// means the view did not take; fail instead of re-executing forever.
constexpr const char* kSealedEnv = "_BERTH_RUNTIME_SEALED";
// "memfd": skip the overlay view and use the memfd copy (both are equally
// unwritable; this exercises the fallback in tests).
constexpr const char* kSealMethodEnv = "BERTH_RUNTIME_SEAL";

UniqueFd fs_open(const char* type) {
  UniqueFd fd(::fsopen(type, FSOPEN_CLOEXEC));
  if (!fd) throw_errno(std::string("seal the runtime binary: fsopen ") + type);
  return fd;
}

void fs_set(int fsfd, const char* key, const std::string& value) {
  if (::fsconfig(fsfd, FSCONFIG_SET_STRING, key, value.c_str(), 0) < 0)
    throw_errno(std::string("seal the runtime binary: overlay option ") + key + "=" + value);
}

// Creates the superblock and returns a detached, read-only mount of it.
UniqueFd fs_mount(int fsfd, const std::string& what) {
  if (::fsconfig(fsfd, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0)
    throw_errno("seal the runtime binary: create " + what);
  UniqueFd m(::fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
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

// Already safe: on a read-only mount (the overlay view, or installed so), or
// a write-sealed memfd (the fallback copy).
bool exe_unwritable() {
  struct statvfs sv;
  if (::statvfs("/proc/self/exe", &sv) == 0 && (sv.f_flag & ST_RDONLY)) return true;
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  int seals = self ? ::fcntl(self.get(), F_GET_SEALS) : -1;
  return seals >= 0 && (seals & F_SEAL_WRITE);
}

// The read-only overlay view of `exe` (see sealed_exe.hpp), as an O_PATH fd.
UniqueFd overlay_view(const std::string& exe) {
  size_t slash = exe.rfind('/');
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
  return bin;
}

// Fallback where overlayfs cannot serve (no overlay module, the binary on a
// filesystem overlay refuses as a layer, stacking too deep): runc's
// original defence, a copy in a memfd sealed against every write. Costs a
// copy of the binary per use.
UniqueFd sealed_copy() {
  UniqueFd src(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!src) throw_errno("seal the runtime binary: open /proc/self/exe");
  UniqueFd mem(::memfd_create("berth-runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mem) throw_errno("seal the runtime binary: memfd_create");
  for (;;) {
    ssize_t n = ::sendfile(mem.get(), src.get(), nullptr, 1 << 30);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) throw_errno("seal the runtime binary: copy into a memfd");
  }
  if (::fcntl(mem.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    throw_errno("seal the runtime binary: seal the memfd copy");
  return mem;
}

}  // namespace

bool init_visible_to_container(const oci::Spec& spec, bool start_now) {
  if (!spec.linux) return true;
  if (spec.hooks && (!spec.hooks->create_container.empty() || !spec.hooks->start_container.empty())) return true;
  bool own_pid_ns = false;
  for (const auto& ns : spec.linux->namespaces)
    if (ns.type == "pid") own_pid_ns = ns.path.empty();
  if (!own_pid_ns) return true;
  // Alone in its pid namespace until it execs: `run`'s init, and a
  // `create` init that waits for `start` in berth-init-wait. Any other
  // `create` init waits running this binary, where `exec` can reach it.
  return !start_now && !init_waits_in_helper(spec, false);
}

void seal_self_exe() {
  if (exe_unwritable()) {
    ::unsetenv(kSealedEnv);
    return;
  }
  if (::getenv(kSealedEnv))
    fail("seal the runtime binary: re-executed from a sealed view, but /proc/self/exe is still writable",
         ErrorKind::Internal);
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) throw_errno("seal the runtime binary: readlink /proc/self/exe");
  std::string exe(buf, static_cast<size_t>(n));
  size_t slash = exe.rfind('/');
  if (exe.empty() || exe[0] != '/' || slash == std::string::npos || exe.ends_with(" (deleted)"))
    fail("seal the runtime binary: /proc/self/exe is \"" + exe + "\", not a file path", ErrorKind::Internal);

  UniqueFd bin;
  const char* how = ::getenv(kSealMethodEnv);
  if (!how || std::string_view(how) != "memfd") {
    try {
      bin = overlay_view(exe);
    } catch (const Error&) {
      // the memfd copy below
    }
  }
  if (!bin) bin = sealed_copy();

  std::vector<std::string> args = own_argv();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::setenv(kSealedEnv, "1", 1);
  ::syscall(SYS_execveat, bin.get(), "", argv.data(), environ, AT_EMPTY_PATH);
  int err = errno;
  ::unsetenv(kSealedEnv);
  errno = err;
  throw_errno("seal the runtime binary: execute " + exe + " from its sealed view");
}

}  // namespace berth::runtime
