#include "common/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.hpp"

extern char** environ;

namespace berth {

pid_t spawn_process(const std::vector<std::string>& argv, const SpawnFds& fds) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  int null_fd = -1;
  if (fds.in < 0 || fds.out < 0 || fds.err < 0) null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  int slots[3] = {fds.in, fds.out, fds.err};
  for (int i = 0; i < 3; ++i) posix_spawn_file_actions_adddup2(&fa, slots[i] >= 0 ? slots[i] : null_fd, i);
  int next = 3;
  if (fds.fd3 >= 0) posix_spawn_file_actions_adddup2(&fa, fds.fd3, next++);
  for (int fd : fds.more_fds) posix_spawn_file_actions_adddup2(&fa, fd, next++);
  posix_spawn_file_actions_addclosefrom_np(&fa, next);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigfillset(&defaults);
  short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
  if (fds.new_session) flags |= POSIX_SPAWN_SETSID;
  posix_spawnattr_setflags(&attr, flags);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const std::string& file = fds.executable.empty() ? argv[0] : fds.executable;
  int rc = fds.search_path ? ::posix_spawnp(&pid, file.c_str(), &fa, &attr, args.data(), environ)
                           : ::posix_spawn(&pid, file.c_str(), &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (null_fd >= 0) ::close(null_fd);
  if (rc != 0) throw_errno("run " + file, rc);
  return pid;
}

int wait_process(pid_t pid) {
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
}

int run_process(const std::vector<std::string>& argv, const SpawnFds& fds) {
  return wait_process(spawn_process(argv, fds));
}

}  // namespace berth
