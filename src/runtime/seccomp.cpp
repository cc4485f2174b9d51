#include "runtime/seccomp.hpp"

#include <errno.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <array>
#include <cctype>
#include <map>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "runtime/process_setup.hpp"

namespace berth::runtime {
namespace {

[[noreturn]] void throw_scmp(int rc, const std::string& what) { throw_errno(what, -rc); }

scmp_compare compare_op(const std::string& op, const std::string& field) {
  static constexpr std::array<std::pair<std::string_view, scmp_compare>, 7> kOps = {{
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  }};
  for (auto& [name, v] : kOps)
    if (name == op) return v;
  fail(field + ": unknown seccomp operator \"" + op + "\"");
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

uint32_t seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret,
                        const std::string& field) {
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  fail(field + ": unknown seccomp action \"" + name + "\"");
}

uint32_t seccomp_arch(const std::string& name, const std::string& field) {
  constexpr std::string_view prefix = "SCMP_ARCH_";
  if (name.starts_with(prefix) && name.size() > prefix.size()) {
    uint32_t a = seccomp_arch_resolve_name(lower(name.substr(prefix.size())).c_str());
    if (a != 0) return a;
  }
  fail(field + ": unknown seccomp architecture \"" + name + "\"");
}

SeccompFilter::SeccompFilter(const oci::Seccomp& config) {
  if (config.default_action.empty()) fail("linux.seccomp.defaultAction: missing");
  const uint32_t def = seccomp_action(config.default_action, config.default_errno_ret,
                                      "linux.seccomp.defaultAction");
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) fail("linux.seccomp: seccomp_init failed", ErrorKind::Internal);
  ctx_ = ctx;  // owned from here: the destructor releases it if we throw

  auto attr = [&](scmp_filter_attr a, uint32_t v, const std::string& what) {
    int rc = seccomp_attr_set(ctx, a, v);
    if (rc < 0) throw_scmp(rc, "linux.seccomp: " + what);
  };
  // noNewPrivileges is the process config's decision, not the filter's.
  attr(SCMP_FLTATR_CTL_NNP, 0, "clear no_new_privs attribute");
  // Real kernel errno values from seccomp_load (not a generic -ECANCELED).
  attr(SCMP_FLTATR_API_SYSRAWRC, 1, "enable raw return codes");

  for (size_t i = 0; i < config.flags.size(); ++i) {
    const auto& f = config.flags[i];
    const std::string field = "linux.seccomp.flags[" + std::to_string(i) + "]";
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") {
      attr(SCMP_FLTATR_CTL_TSYNC, 1, f);
    } else if (f == "SECCOMP_FILTER_FLAG_LOG") {
      attr(SCMP_FLTATR_CTL_LOG, 1, f);
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      attr(SCMP_FLTATR_CTL_SSB, 1, f);
    } else if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
      fail(field + ": " + f + " is not supported by this libseccomp (2.5)",
           ErrorKind::Unsupported);
    } else {
      fail(field + ": unknown seccomp flag \"" + f + "\"");
    }
  }

  for (size_t i = 0; i < config.architectures.size(); ++i) {
    const std::string field = "linux.seccomp.architectures[" + std::to_string(i) + "]";
    uint32_t arch = seccomp_arch(config.architectures[i], field);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) throw_scmp(rc, field + ": add " + config.architectures[i]);
  }

  for (size_t i = 0; i < config.syscalls.size(); ++i) {
    const auto& sc = config.syscalls[i];
    const std::string field = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
    if (sc.action.empty()) fail(field + ".action: missing");
    const uint32_t action = seccomp_action(sc.action, sc.errno_ret, field + ".action");
    if (sc.args.size() > 6) fail(field + ".args: at most 6 conditions");
    std::vector<scmp_arg_cmp> conds;
    std::map<uint32_t, int> per_index;
    for (size_t j = 0; j < sc.args.size(); ++j) {
      const auto& a = sc.args[j];
      const std::string afield = field + ".args[" + std::to_string(j) + "]";
      if (a.index > 5) fail(afield + ".index: " + std::to_string(a.index) + " is not 0..5");
      scmp_compare op = compare_op(a.op, afield + ".op");
      conds.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
      ++per_index[a.index];
    }
    if (action == def) continue;  // a no-op, and libseccomp refuses it
    if (action == SCMP_ACT_NOTIFY) has_notify_ = true;
    bool split = false;  // same index twice: conditions are alternatives (runc)
    for (auto& [idx, n] : per_index) split |= n > 1;

    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug(field + ": unknown syscall \"" + name + "\" skipped");
        continue;
      }
      auto add = [&](unsigned count, const scmp_arg_cmp* c) {
        int rc = seccomp_rule_add_array(ctx, action, nr, count, c);
        if (rc < 0) throw_scmp(rc, field + ": add rule for " + name);
        ++rules_;
      };
      if (!split) {
        add(static_cast<unsigned>(conds.size()), conds.data());
      } else {
        for (const auto& c : conds) add(1, &c);
      }
    }
  }
}

SeccompFilter::SeccompFilter(SeccompFilter&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), has_notify_(o.has_notify_), rules_(o.rules_) {}

SeccompFilter& SeccompFilter::operator=(SeccompFilter&& o) noexcept {
  if (this != &o) {
    if (ctx_) seccomp_release(ctx_);
    ctx_ = std::exchange(o.ctx_, nullptr);
    has_notify_ = o.has_notify_;
    rules_ = o.rules_;
  }
  return *this;
}

SeccompFilter::~SeccompFilter() {
  if (ctx_) seccomp_release(ctx_);
}

int SeccompFilter::load() const {
  int rc = seccomp_load(ctx_);
  if (rc < 0) throw_scmp(rc, "linux.seccomp: load filter");
  if (!has_notify_) return -1;
  int fd = seccomp_notify_fd(ctx_);
  if (fd < 0) throw_scmp(fd, "linux.seccomp: get notify listener fd");
  return fd;
}

size_t SeccompFilter::bpf_instructions() const {
  UniqueFd fd(memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
  if (!fd) throw_errno("memfd_create for seccomp export");
  int rc = seccomp_export_bpf(ctx_, fd.get());
  if (rc < 0) throw_scmp(rc, "linux.seccomp: export BPF");
  struct stat st {};
  check(fstat(fd.get(), &st), "fstat seccomp BPF memfd");
  return static_cast<size_t>(st.st_size) / 8;
}

void apply_seccomp(const oci::Seccomp& seccomp, int* listener_fd) {
  SeccompFilter f(seccomp);
  int fd = f.load();
  if (listener_fd) {
    *listener_fd = fd;
  } else if (fd >= 0) {
    ::close(fd);
  }
}

}  // namespace berth::runtime
