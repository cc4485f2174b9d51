// linux.seccomp -> a libseccomp filter. Compile once (build it in the parent,
// or right before use), load it in the container process last before execve.
//
// Rules (docs/security.md):
// - unknown syscall names are skipped with a debug line (runc does the same:
//   profiles name syscalls newer or older than the running kernel/libseccomp);
// - unknown action, operator, architecture or flag names are InvalidArgument
//   errors naming the config field;
// - SCMP_ACT_ERRNO / SCMP_ACT_TRACE without errnoRet use EPERM;
// - rules whose action equals the default action are skipped (no-ops);
// - conditions on the same argument index become one rule per condition
//   (OR), otherwise all conditions of an entry form one rule (AND), like runc;
// - no_new_privs is never set by the filter load itself: it is
//   process.noNewPrivileges' business.
#pragma once

#include <cstdint>
#include <optional>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

class SeccompFilter {
 public:
  explicit SeccompFilter(const oci::Seccomp& config);
  SeccompFilter(SeccompFilter&& o) noexcept;
  SeccompFilter& operator=(SeccompFilter&& o) noexcept;
  SeccompFilter(const SeccompFilter&) = delete;
  SeccompFilter& operator=(const SeccompFilter&) = delete;
  ~SeccompFilter();

  // Loads into the calling thread. Returns the notify listener fd (owned by
  // the caller) if the filter has SCMP_ACT_NOTIFY rules, else -1.
  int load() const;
  bool has_notify() const { return has_notify_; }
  // Number of rules added (skipped unknown syscalls excluded); for tests.
  size_t rule_count() const { return rules_; }
  // BPF program size in instructions (exports the filter; tests/benchmarks).
  size_t bpf_instructions() const;

 private:
  void* ctx_ = nullptr;  // scmp_filter_ctx
  bool has_notify_ = false;
  size_t rules_ = 0;
};

// Action name -> libseccomp action (SCMP_ACT_ERRNO uses errno_ret or EPERM).
uint32_t seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret,
                        const std::string& field);
// Architecture name ("SCMP_ARCH_X86_64") -> libseccomp arch token.
uint32_t seccomp_arch(const std::string& name, const std::string& field);

}  // namespace berth::runtime
