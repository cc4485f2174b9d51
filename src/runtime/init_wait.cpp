#include "runtime/init_wait.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "common/error.hpp"
#include "runtime/seccomp.hpp"

// The program's bytes (CMakeLists.txt: init_wait_blob.c).
extern "C" const char berth_init_wait_start[];
extern "C" const char berth_init_wait_end[];

namespace berth::runtime {

namespace {

UniqueFd sealed_memfd(const char* name, const void* data, size_t size, unsigned extra_flags) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | extra_flags));
  if (!fd && errno == EINVAL && extra_flags) fd.reset(::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) throw_errno(std::string("memfd_create ") + name);
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd.get(), p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_errno(std::string("write ") + name);
    p += n;
    size -= static_cast<size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0)
    throw_errno(std::string("seal ") + name);
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) throw_errno(std::string("rewind ") + name);
  return fd;
}

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux 6.3: executable even under vm.memfd_noexec=1
#endif

}  // namespace

UniqueFd init_wait_program() {
  return sealed_memfd("berth-init-wait", berth_init_wait_start,
                      static_cast<size_t>(berth_init_wait_end - berth_init_wait_start), MFD_EXEC);
}

UniqueFd init_wait_seccomp(const SeccompFilter& filter) {
  const std::vector<uint64_t>& program = filter.program();
  std::vector<char> bytes(8 + program.size() * 8);
  uint32_t header[2] = {filter.flags(), static_cast<uint32_t>(program.size())};
  std::memcpy(bytes.data(), header, sizeof header);
  std::memcpy(bytes.data() + 8, program.data(), program.size() * 8);
  return sealed_memfd("berth-seccomp", bytes.data(), bytes.size(), 0);
}

void exec_init_wait(int program, int exec_fifo, int seccomp, const std::string& exe, const oci::Process& process) {
  for (int fd : {exec_fifo, seccomp})
    if (fd >= 0 && ::fcntl(fd, F_SETFD, 0) < 0) throw_errno("pass the exec fifo to berth-init-wait");
  std::string fifo_arg = std::to_string(exec_fifo);
  std::string seccomp_arg = seccomp >= 0 ? std::to_string(seccomp) : "-";
  std::vector<char*> argv = {const_cast<char*>("berth-init-wait"), fifo_arg.data(), seccomp_arg.data(),
                             const_cast<char*>(exe.c_str())};
  for (const auto& a : process.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : process.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::syscall(SYS_execveat, program, "", argv.data(), envp.data(), AT_EMPTY_PATH);
  // A seccomp profile may allow execve but not execveat: the same memfd
  // through /proc, which the container has mounted by now if at all.
  int err = errno;
  std::string via_proc = "/proc/self/fd/" + std::to_string(program);
  ::execve(via_proc.c_str(), argv.data(), envp.data());
  errno = err;
  throw_errno("exec berth-init-wait to wait for start");
}

}  // namespace berth::runtime
