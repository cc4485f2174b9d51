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
#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// A compiled filter: the classic-BPF program libseccomp generates, plus
// the seccomp(2) flags. Generating the program is the expensive part
// (~10 ms for Docker's default profile on three architectures), so it is
// done once, ideally in the parent before clone, or taken from the on-disk
// cache; load() is then a single seccomp(2) call.
class SeccompFilter {
 public:
  explicit SeccompFilter(const oci::Seccomp& config);
  // Same, through a cache directory (root-owned, e.g. <state root>/seccomp):
  // <FNV-1a of the key>.bpf, the key being the profile, libseccomp version
  // and arch, stored whole in the file and compared on load. A cache file
  // that fails its checksum, size or key checks is ignored and rewritten.
  static SeccompFilter cached(const oci::Seccomp& config, const std::string& cache_dir);

  // Loads into the calling thread (needs no_new_privs or CAP_SYS_ADMIN).
  // Returns the notify listener fd (owned by the caller) if the filter has
  // SCMP_ACT_NOTIFY rules, else -1.
  int load() const;
  bool has_notify() const { return has_notify_; }
  // Number of rules added (skipped unknown syscalls excluded); for tests.
  size_t rule_count() const { return rules_; }
  size_t bpf_instructions() const { return bpf_.size(); }
  // The program and flags load() hands to seccomp(2) (berth-init-wait loads
  // them itself: init_wait.hpp). Without a notify listener only.
  const std::vector<uint64_t>& program() const { return bpf_; }
  unsigned flags() const { return flags_; }
  // True if this object came from the cache (for tests).
  bool from_cache() const { return from_cache_; }

 private:
  SeccompFilter() = default;
  std::vector<uint64_t> bpf_;  // struct sock_filter, 8 bytes each
  unsigned flags_ = 0;         // SECCOMP_FILTER_FLAG_*
  bool has_notify_ = false;
  size_t rules_ = 0;
  bool from_cache_ = false;
};

// Action name -> libseccomp action (SCMP_ACT_ERRNO uses errno_ret or EPERM).
uint32_t seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret,
                        const std::string& field);
// Architecture name ("SCMP_ARCH_X86_64") -> libseccomp arch token.
uint32_t seccomp_arch(const std::string& name, const std::string& field);

}  // namespace berth::runtime
