// CHANGES (security owner, for the runtime core):
// - prepare_process_settings() validates everything in process/linux that
//   apply_process_settings() will use (capability names, rlimit types,
//   ioPriority, seccomp names) and compiles the seccomp filter. Call it in
//   the parent before clone (the child inherits the compiled filter) so a bad
//   config fails `create` with a clean error instead of failing at `start`
//   inside the init, and so `start` does no compile work. Then pass it to
//   apply_process_settings(process, linux, &prepared, &listener_fd).
//   Pass a seccomp cache dir (e.g. "<--root>/seccomp-cache") to skip the
//   ~10 ms BPF generation of a profile already seen.
// - apply_process_settings() gained two optional trailing parameters: the
//   PreparedProcess (null = prepared right there) and listener_fd, which
//   receives the SCMP_ACT_NOTIFY listener fd (or -1) for
//   linux.seccomp.listenerPath. Existing two-argument calls keep working.
// - Order detail: the bounding set is dropped before the uid change (needs
//   CAP_SETPCAP), and without noNewPrivileges the seccomp filter is loaded
//   before capabilities are dropped (loading needs CAP_SYS_ADMIN), as runc.
//
// The last steps before execve of a container process (init or exec): the
// process's credentials and restrictions. Order matters and is fixed here:
//   rlimits -> ioPriority -> scheduler -> personality -> memory policy ->
//   umask -> setgroups/setgid/setuid (keeping caps) ->
//   capabilities (bounding, then effective/permitted/inheritable/ambient) ->
//   no_new_privs -> chdir(cwd) -> seccomp (last: the filter may forbid the
//   syscalls above) -> execvpe(args, env)
// Each step throws berth::Error naming the config field on failure.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

class SeccompFilter;  // runtime/seccomp.hpp

// What apply_process_settings() needs, validated and compiled up front.
struct PreparedProcess {
  PreparedProcess();
  PreparedProcess(PreparedProcess&&) noexcept;
  PreparedProcess& operator=(PreparedProcess&&) noexcept;
  ~PreparedProcess();
  bool has_caps = false;
  uint64_t bounding = 0, effective = 0, inheritable = 0, permitted = 0, ambient = 0;
  std::unique_ptr<SeccompFilter> seccomp;  // null: no linux.seccomp
};

// Throws InvalidArgument/Unsupported naming the config field.
// seccomp_cache_dir: if not empty, generated BPF programs are cached there
// (SeccompFilter::cached; e.g. "<--root>/seccomp-cache"), which saves ~10 ms
// per container with Docker's default profile. SELinux/AppArmor labels are
// warned about or refused (lsm_labels.hpp), named after label_source.
PreparedProcess prepare_process_settings(const oci::Process& process,
                                         const oci::Linux* linux_config,
                                         const std::string& seccomp_cache_dir = "",
                                         std::string_view label_source = "process");

// Resolves process.args[0] with PATH from process.env (like execvpe), checks
// it exists and is executable *before* anything irreversible, so the error
// names the real cause ("exec: \"foo\": executable file not found in $PATH").
std::string resolve_executable(const oci::Process& process);

// Everything in the list above except execve itself. nnp_seccomp_by_caller:
// with noNewPrivileges, the filter (loaded last) is left to the caller
// (berth-init-wait loads it after one more exec: init_wait.hpp).
void apply_process_settings(const oci::Process& process,
                            const oci::Linux* linux_config,
                            const PreparedProcess* prepared = nullptr,
                            int* listener_fd = nullptr,
                            bool nnp_seccomp_by_caller = false);

// Loads the seccomp filter (libseccomp). If listener_fd is not null and the
// profile has SCMP_ACT_NOTIFY rules, the notify fd is returned through it.
void apply_seccomp(const oci::Seccomp& seccomp, int* listener_fd);

// Applies rlimits (first, since raising a hard limit needs CAP_SYS_RESOURCE,
// which this host lacks: error names the rlimit and the values).
void apply_rlimits(const std::vector<oci::Rlimit>& rlimits);
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE; -1 if unknown.
int rlimit_resource(const std::string& name);

// Capability sets (names like "CAP_CHOWN"); unknown names are an error.
void apply_capabilities(const oci::Capabilities& caps);

// The caller's --preserve-fds (3 .. 3+n-1) stay open across the execve,
// every other fd closes there. `ours`: fds in that range that are the
// runtime's own, not the caller's (left close-on-exec).
void keep_only_preserved_fds(unsigned preserve_fds, std::initializer_list<int> ours = {});

// execve of the resolved path; returns only by throwing.
[[noreturn]] void exec_process(const std::string& path, const oci::Process& process);

}  // namespace berth::runtime
