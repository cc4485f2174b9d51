#include "common/userns.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth {

std::string id_map_text(const std::vector<IdMap>& maps) {
  std::string s;
  for (const auto& m : maps)
    s += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " + std::to_string(m.size) + "\n";
  return s;
}

int64_t host_id_of(const std::vector<IdMap>& maps, uint32_t id) {
  for (const auto& m : maps)
    if (id >= m.container_id && id - m.container_id < m.size) return int64_t{m.host_id} + (id - m.container_id);
  return -1;
}

namespace {

void wait_for(pid_t pid, int* status) {
  while (::waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

UniqueFd open_userns(const std::vector<IdMap>& uids, const std::vector<IdMap>& gids, const std::string& what) {
  int ready[2], go[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) throw_errno(what + ": pipe");
  if (::pipe2(go, O_CLOEXEC) != 0) {
    ::close(ready[0]);
    ::close(ready[1]);
    throw_errno(what + ": pipe");
  }
  pid_t pid = ::fork();
  if (pid < 0) throw_errno(what + ": fork");
  if (pid == 0) {
    ::close(ready[0]);
    ::close(go[1]);  // else our own copy keeps the read below from seeing EOF
    char c = ::unshare(CLONE_NEWUSER) == 0 ? 1 : 0;
    [[maybe_unused]] ssize_t n = ::write(ready[1], &c, 1);
    n = ::read(go[0], &c, 1);  // until the parent has opened the namespace
    ::_exit(0);
  }
  ::close(ready[1]);
  ::close(go[0]);
  UniqueFd ready_r(ready[0]), go_w(go[1]);
  char c = 0;
  ssize_t n = ::read(ready_r.get(), &c, 1);
  auto reap = [&] {
    go_w.reset();
    int st;
    wait_for(pid, &st);
  };
  if (n != 1 || c != 1) {
    reap();
    fail(what + ": could not create a user namespace", ErrorKind::Internal);
  }
  try {
    const std::string proc = "/proc/" + std::to_string(pid);
    fs::write_file(proc + "/uid_map", id_map_text(uids));
    fs::write_file(proc + "/setgroups", "deny");
    fs::write_file(proc + "/gid_map", id_map_text(gids));
    UniqueFd ns(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) throw_errno("open " + proc + "/ns/user");
    reap();
    return ns;
  } catch (Error& e) {
    reap();
    throw e.wrap(what);
  }
}

namespace {

// Closes every fd from 3 up but those in `keep`.
void close_all_but(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int k : keep) {
    if (k < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(k) > from) ::close_range(from, static_cast<unsigned>(k) - 1, 0);
    from = static_cast<unsigned>(k) + 1;
  }
  ::close_range(from, ~0U, 0);
}

// Runs `fn` in a forked child after `setup`, with only the fds in `keep`
// (and 0-2) open: a pipe's write end that another thread of ours holds
// must not stay open in the child, or its reader never sees EOF. An
// exception in `setup` or `fn` comes back here with its text.
void run_in_child(const std::function<void()>& setup, const std::function<void()>& fn, const std::vector<int>& keep,
                  const std::string& what) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) throw_errno("pipe");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(p[0]);
    ::close(p[1]);
    throw_errno("fork");
  }
  if (pid == 0) {
    ::close(p[0]);
    std::vector<int> kept = keep;
    kept.push_back(p[1]);
    close_all_but(kept);
    std::string err;
    try {
      setup();
      fn();
    } catch (const std::exception& e) {
      err = e.what();
      if (err.empty()) err = "failed";
    }
    if (!err.empty()) {
      [[maybe_unused]] ssize_t n = ::write(p[1], err.data(), err.size());
    }
    ::_exit(err.empty() ? 0 : 1);
  }
  ::close(p[1]);
  UniqueFd r(p[0]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = ::read(r.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) err.append(buf, static_cast<size_t>(n));
  int st = 0;
  wait_for(pid, &st);
  if (!err.empty()) throw Error(err, ErrorKind::Internal);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) throw Error(what + ": the child failed", ErrorKind::Internal);
}

void raise_permitted_caps() {
  __user_cap_header_struct h{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct d[2];
  if (::syscall(SYS_capget, &h, d) != 0) throw_errno("capget");
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  if (::syscall(SYS_capset, &h, d) != 0) throw_errno("capset");
}

}  // namespace

void run_with_fsids(uint32_t uid, uint32_t gid, const std::vector<int>& keep_fds, const std::function<void()>& fn) {
  auto setup = [&] {
    ::setfsgid(gid);
    ::setfsuid(uid);
    if (static_cast<uint32_t>(::setfsuid(static_cast<uid_t>(-1))) != uid)
      throw Error("set the filesystem uid to " + std::to_string(uid), ErrorKind::Internal);
    raise_permitted_caps();
  };
  run_in_child(setup, fn, keep_fds, "work with filesystem ids " + std::to_string(uid) + ":" + std::to_string(gid));
}

void run_as_userns_root(int userns_fd, const std::vector<int>& keep_fds, const std::function<void()>& fn) {
  auto setup = [&] {
    if (::setns(userns_fd, CLONE_NEWUSER) != 0) throw_errno("join the container's user namespace");
    if (::setresgid(0, 0, 0) != 0 || ::setresuid(0, 0, 0) != 0)
      throw_errno("become root of the container's user namespace");
  };
  std::vector<int> keep = keep_fds;
  keep.push_back(userns_fd);
  run_in_child(setup, fn, keep, "work in a container's user namespace");
}

}  // namespace berth
