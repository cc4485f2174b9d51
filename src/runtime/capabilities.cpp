#include "runtime/capabilities.hpp"

#include <fcntl.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "runtime/process_setup.hpp"

namespace berth::runtime {
namespace {

// Index = capability number (linux/capability.h).
constexpr std::array<std::string_view, 41> kNames = {
    "CAP_CHOWN",           "CAP_DAC_OVERRIDE",    "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
    "CAP_FSETID",          "CAP_KILL",            "CAP_SETGID",          "CAP_SETUID",
    "CAP_SETPCAP",         "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",       "CAP_NET_RAW",         "CAP_IPC_LOCK",        "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",      "CAP_SYS_RAWIO",       "CAP_SYS_CHROOT",      "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",       "CAP_SYS_ADMIN",       "CAP_SYS_BOOT",        "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",    "CAP_SYS_TIME",        "CAP_SYS_TTY_CONFIG",  "CAP_MKNOD",
    "CAP_LEASE",           "CAP_AUDIT_WRITE",     "CAP_AUDIT_CONTROL",   "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",    "CAP_MAC_ADMIN",       "CAP_SYSLOG",          "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",   "CAP_AUDIT_READ",      "CAP_PERFMON",         "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(a[i])) != b[i]) return false;
  return true;
}

int read_cap_last_cap() {
  // A plain read, not an ifstream: the first stream of a process builds the
  // C++ locale, tens of microseconds of every container start.
  int n = -1;
  if (UniqueFd fd{::open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC)}) {
    char buf[16] = {};
    if (::read(fd.get(), buf, sizeof buf - 1) > 0) n = std::atoi(buf);
  }
  if (n >= 0 && n < 64) return n;
  // No /proc (unusual): trust libcap's compile-time knowledge.
  return CAP_LAST_CAP;
}

// Names that cannot be granted (unknown to berth-runtime, or beyond the
// kernel's cap_last_cap) go to `skipped`: the spec wants them warned about,
// not fatal, and leaving one out can only take a privilege away.
uint64_t resolve_set(const std::vector<std::string>& names, std::set<std::string>& skipped) {
  uint64_t mask = 0;
  const int last = kernel_last_capability();
  for (const auto& n : names) {
    auto cap = capability_from_name(n);
    if (!cap || *cap > last) {
      skipped.insert(n);
      continue;
    }
    mask |= uint64_t{1} << *cap;
  }
  return mask;
}

struct CapFree {
  void operator()(cap_t c) const { cap_free(c); }
};

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (iequals(name, kNames[i]) || iequals(name, kNames[i].substr(4)))
      return static_cast<int>(i);
  }
  return std::nullopt;
}

std::string capability_name(int cap) {
  if (cap >= 0 && static_cast<size_t>(cap) < kNames.size()) return std::string(kNames[cap]);
  return "CAP_" + std::to_string(cap);
}

int last_known_capability() { return static_cast<int>(kNames.size()) - 1; }

int kernel_last_capability() {
  static const int last = read_cap_last_cap();  // a host fact, fixed per boot
  return last;
}

CapSets resolve_capabilities(const oci::Capabilities& caps) {
  CapSets s;
  std::set<std::string> skipped;
  s.bounding = resolve_set(caps.bounding, skipped);
  s.effective = resolve_set(caps.effective, skipped);
  s.inheritable = resolve_set(caps.inheritable, skipped);
  s.permitted = resolve_set(caps.permitted, skipped);
  s.ambient = resolve_set(caps.ambient, skipped);
  if (!skipped.empty()) {
    std::string names;
    for (const auto& n : skipped) names += (names.empty() ? "" : ", ") + n;
    log::warn("process.capabilities: ignored, unknown to berth-runtime or to this kernel (cap_last_cap " +
              std::to_string(kernel_last_capability()) + "): " + names);
  }
  return s;
}

void drop_bounding(const CapSets& sets) {
  const int last = kernel_last_capability();
  for (int c = 0; c <= last; ++c) {
    if (sets.bounding & (uint64_t{1} << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) == 0) continue;
    // Without CAP_SETPCAP a drop fails even for a cap already gone (e.g.
    // CAP_SYS_RESOURCE on this host): that one is fine.
    int err = errno;
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 0) continue;
    throw_errno("process.capabilities.bounding: drop " + capability_name(c), err);
  }
}

void set_capabilities(const CapSets& sets) {
  std::unique_ptr<_cap_struct, CapFree> c(cap_init());
  if (!c) throw_errno("process.capabilities: cap_init");
  const int last = kernel_last_capability();
  for (int i = 0; i <= last; ++i) {
    cap_value_t v = i;
    uint64_t bit = uint64_t{1} << i;
    if (sets.effective & bit) cap_set_flag(c.get(), CAP_EFFECTIVE, 1, &v, CAP_SET);
    if (sets.permitted & bit) cap_set_flag(c.get(), CAP_PERMITTED, 1, &v, CAP_SET);
    if (sets.inheritable & bit) cap_set_flag(c.get(), CAP_INHERITABLE, 1, &v, CAP_SET);
  }
  if (cap_set_proc(c.get()) != 0)
    throw_errno("process.capabilities: set effective/permitted/inheritable "
                "(effective must be a subset of permitted)");
  // Ambient needs the cap in both permitted and inheritable (kernel rule).
  if (sets.ambient == 0) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
      throw_errno("process.capabilities.ambient: clear");
    return;
  }
  for (int i = 0; i <= last; ++i) {
    if (!(sets.ambient & (uint64_t{1} << i))) continue;
    // The kernel only raises an ambient cap that is permitted and
    // inheritable. runc's own default config lists ambient caps without
    // inheritable ones and runc only warns, so this is skipped, not fatal.
    uint64_t bit = uint64_t{1} << i;
    if (!(sets.permitted & bit) || !(sets.inheritable & bit)) {
      log::debug("process.capabilities.ambient: " + capability_name(i) +
                 " is not both permitted and inheritable; not raised");
      continue;
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) != 0)
      throw_errno("process.capabilities.ambient: raise " + capability_name(i));
  }
}

void apply_capabilities(const oci::Capabilities& caps) {
  CapSets s = resolve_capabilities(caps);
  drop_bounding(s);
  set_capabilities(s);
}

}  // namespace berth::runtime
