// ContainerEngine::exec: `RUNTIME exec` with this process's stdio. A tty is
// made and proxied by the runtime itself (runc's and berth-runtime's exec
// -t do that without a console socket), so exec costs one runtime start.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "engine/start_error.hpp"
#include "engine/user_lookup.hpp"
#include "monitor/runtime_call.hpp"

extern char** environ;

namespace berth::engine {

int ContainerEngine::exec(const std::string& ref, const ExecRequest& r) {
  Container c = inspect(ref);
  if (c.state.status == "paused")
    throw Error("Container " + c.id + " is paused, unpause the container before exec", ErrorKind::FailedPrecondition);
  if (c.state.status != "running")
    throw Error("Container " + c.id + " is not running", ErrorKind::FailedPrecondition);
  if (r.cmd.empty()) fail("exec: no command given");
  std::vector<std::string> argv = runtime_argv(c);
  // One log per exec in flight: `berth serve` runs many at once.
  std::string log = state_dir(c.id) + "/exec-" + std::to_string(::getpid()) + "-" + std::to_string(::gettid()) + ".log";
  argv.insert(argv.end(), {"--log", log, "--log-format", "json", "exec"});
  if (r.tty) argv.push_back("--tty");
  if (!r.console_socket.empty()) argv.insert(argv.end(), {"--console-socket", r.console_socket});
  if (r.detach) argv.push_back("--detach");
  std::string user = r.user.empty() ? c.config.user : r.user;
  if (!user.empty()) {
    ResolvedUser u = resolve_user(container_dir(c.id) + "/merged", user);
    argv.insert(argv.end(), {"--user", std::to_string(u.uid) + ":" + std::to_string(u.gid)});
    for (auto g : u.additional_gids) argv.insert(argv.end(), {"--additional-gids", std::to_string(g)});
  }
  if (!r.working_dir.empty()) argv.insert(argv.end(), {"--cwd", r.working_dir});
  for (const auto& e : r.env) argv.insert(argv.end(), {"--env", e});
  if (r.privileged)
    for (const char* cap : {"CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_MODULE", "CAP_SYS_RAWIO"})
      argv.insert(argv.end(), {"--cap", cap});
  argv.push_back(c.id);
  argv.insert(argv.end(), r.cmd.begin(), r.cmd.end());

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int i = 0; i < 3; ++i) {
    int fd = i == 0 ? r.stdin_fd : i == 1 ? r.stdout_fd : r.stderr_fd;
    if (fd >= 0) posix_spawn_file_actions_adddup2(&fa, fd, i);
  }
  if ((!r.interactive || r.detach) && r.stdin_fd < 0) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (r.detach) {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // The runtime forwards signals to the process; we only wait for it.
  sigset_t block, old;
  sigemptyset(&block);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&block, s);
  ::sigprocmask(SIG_BLOCK, &block, &old);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Dispositions back to default: a server that ignores SIGPIPE (`berth
  // serve`) must not pass that on to the process in the container.
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setsigmask(&attr, &old);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    ::sigprocmask(SIG_SETMASK, &old, nullptr);
    throw_errno("run " + argv[0], rc);
  }
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  ::sigprocmask(SIG_SETMASK, &old, nullptr);
  int code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  std::string log_text;
  try {
    log_text = fs::read_file(log);
  } catch (const Error&) {
  }
  ::unlink(log.c_str());
  // An error in the runtime's log means the process never ran: Docker's
  // 126/127, with the runtime's reason.
  std::string msg = monitor::last_log_message(log_text);
  if (code != 0 && log_text.find("\"level\":\"error\"") != std::string::npos && !msg.empty()) {
    int docker_code = monitor::start_error_code(msg);
    // Docker's 127 is for the command itself not found, not for any ENOENT
    // (a missing -w dir is 126, as every other exec that cannot start).
    if (docker_code == 127 && msg.find(r.cmd[0]) == std::string::npos) docker_code = 126;
    throw StartError("exec failed: " + msg, docker_code == 125 ? 126 : docker_code,
                     docker_code == 127 ? ErrorKind::NotFound : ErrorKind::FailedPrecondition);
  }
  return code;
}

}  // namespace berth::engine
