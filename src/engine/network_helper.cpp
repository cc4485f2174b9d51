#include "engine/network_helper.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"
#include "engine/in_root.hpp"

namespace berth::engine {

void run_network_helper(const std::string& verb, const std::string& request) {
  std::string exe = executable_dir() + "/berth-network";
  if (::access(exe.c_str(), X_OK) != 0)
    throw Error("network helper " + exe + " not found (build it: ninja berth-network)", ErrorKind::NotFound);
  // The request is in the pipe before the helper starts: a helper that
  // dies at once cannot make this write raise SIGPIPE (we hold the read
  // end while writing), and the helper needs no writer to wait for.
  int in[2], err[2];
  check(::pipe2(in, O_CLOEXEC), "pipe");
  UniqueFd in_rd(in[0]), in_wr(in[1]);
  if (request.size() >= 65536 && ::fcntl(in_wr.get(), F_SETPIPE_SZ, static_cast<int>(request.size() + 4096)) < 0)
    throw_errno("network request of " + std::to_string(request.size()) + " bytes");
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::write(in_wr.get(), request.data() + off, request.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno("write the network request");
    off += static_cast<size_t>(n);
  }
  in_wr.reset();
  check(::pipe2(err, O_CLOEXEC), "pipe");
  UniqueFd err_rd(err[0]), err_wr(err[1]);
  pid_t pid = spawn_process({exe, verb}, {in_rd.get(), -1, err_wr.get()});
  in_rd.reset();
  err_wr.reset();
  std::string msg = fs::read_all(err_rd.get(), "berth-network's errors");
  int rc = wait_process(pid);
  if (rc != 0) {
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    if (auto nl = msg.rfind('\n'); nl != std::string::npos) msg = msg.substr(nl + 1);
    throw Error(msg.empty() ? "berth-network " + verb + " failed (exit " + std::to_string(rc) + ")" : msg,
                ErrorKind::FailedPrecondition);
  }
}

}  // namespace berth::engine
