#include "runtime/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <string.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace berth::runtime {

namespace {

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by signal ") + sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

}  // namespace

void run_hook(const oci::Hook& hook, const std::string& state, const std::string& what) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) < 0) throw_errno(what + ": pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) < 0) throw_errno(what + ": pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);

  std::vector<char*> argv, envp;
  std::vector<std::string> args = hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = hook.env;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) throw_errno(what + ": fork");
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, nullptr);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    std::string m = "exec " + hook.path + ": " + strerror(errno) + "\n";
    [[maybe_unused]] ssize_t n = ::write(2, m.data(), m.size());
    _exit(127);
  }
  in_r.reset();
  out_w.reset();
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  // Feed the state; a hook that does not read it may close stdin early.
  struct sigaction ign{}, old{};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old);
  for (size_t off = 0; off < state.size();) {
    ssize_t n = ::write(in_w.get(), state.data() + off, state.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    off += static_cast<size_t>(n);
  }
  ::sigaction(SIGPIPE, &old, nullptr);
  in_w.reset();

  using clock = std::chrono::steady_clock;
  auto deadline = hook.timeout ? clock::now() + std::chrono::seconds(*hook.timeout) : clock::time_point::max();
  std::string output;
  bool timed_out = false;
  bool out_open = true;
  for (;;) {
    struct pollfd fds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
    int timeout_ms = -1;
    if (hook.timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      timeout_ms = left < 0 ? 0 : static_cast<int>(left);
    }
    int r = ::poll(fds, 2, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (out_open && (fds[0].revents & (POLLIN | POLLHUP))) {
      char buf[4096];
      ssize_t n = ::read(out_r.get(), buf, sizeof buf);
      if (n <= 0) out_open = false;
      else if (output.size() < 65536) output.append(buf, static_cast<size_t>(n));
    }
    // The hook exited: stop even if it left a daemon holding the output pipe.
    if (fds[1].revents & POLLIN) break;
    if (!pidfd && !out_open) break;
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  if (timed_out)
    throw Error(what + " (" + hook.path + "): timed out after " + std::to_string(*hook.timeout) + "s, killed",
                ErrorKind::Internal);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(what + " (" + hook.path + "): " + describe_status(status) + (output.empty() ? "" : ": " + output),
                ErrorKind::FailedPrecondition);
}

void run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state, const char* kind) {
  for (size_t i = 0; i < hooks.size(); ++i)
    run_hook(hooks[i], state, std::string(kind) + " hook #" + std::to_string(i));
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, const std::string& state, const char* kind) {
  for (size_t i = 0; i < hooks.size(); ++i) {
    try {
      run_hook(hooks[i], state, std::string(kind) + " hook #" + std::to_string(i));
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }
}

}  // namespace berth::runtime
