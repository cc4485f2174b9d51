// process.rlimits -> setrlimit. Raising a hard limit needs CAP_SYS_RESOURCE
// (absent from this host's bounding set), so that failure names the rlimit,
// the current and the wanted values.
#include <sys/resource.h>

#include <array>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "runtime/process_setup.hpp"

namespace berth::runtime {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 16> kRlimits = {{
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
}};

std::string limit_str(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

}  // namespace

int rlimit_resource(const std::string& name) {
  for (auto& [n, r] : kRlimits)
    if (n == name) return r;
  return -1;
}

void apply_rlimits(const std::vector<oci::Rlimit>& rlimits) {
  for (size_t i = 0; i < rlimits.size(); ++i) {
    const auto& rl = rlimits[i];
    const std::string field = "process.rlimits[" + std::to_string(i) + "] (" + rl.type + ")";
    int res = rlimit_resource(rl.type);
    if (res < 0) fail(field + ": unknown rlimit type");
    if (rl.soft > rl.hard)
      fail(field + ": soft limit " + std::to_string(rl.soft) + " exceeds hard limit " +
           std::to_string(rl.hard));
    // OCI uses UINT64_MAX for unlimited, which is RLIM_INFINITY on Linux.
    struct rlimit want {static_cast<rlim_t>(rl.soft), static_cast<rlim_t>(rl.hard)};
    if (prlimit(0, static_cast<__rlimit_resource>(res), &want, nullptr) == 0) continue;
    int err = errno;
    struct rlimit cur {};
    prlimit(0, static_cast<__rlimit_resource>(res), nullptr, &cur);
    if (err == EPERM && want.rlim_max > cur.rlim_max)
      throw_errno(field + ": raising the hard limit from " + limit_str(cur.rlim_max) + " to " +
                      limit_str(want.rlim_max) + " needs CAP_SYS_RESOURCE",
                  err);
    throw_errno(field + ": set soft " + limit_str(want.rlim_cur) + " hard " +
                    limit_str(want.rlim_max),
                err);
  }
}

}  // namespace berth::runtime
