// Which cgroup hierarchies the host has, from /proc/self/mountinfo (read once
// per process: container start time is a headline benchmark).
#include <algorithm>
#include <array>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime {

namespace cgroups {
namespace {

constexpr std::array<std::string_view, 15> kV1Controllers = {
    "cpu",     "cpuacct",  "cpuset",    "memory",  "devices", "freezer", "net_cls", "blkio",
    "perf_event", "net_prio", "hugetlb", "pids", "rdma", "misc", "debug"};

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      auto oct = s.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>((oct[0] - '0') * 64 + (oct[1] - '0') * 8 + (oct[2] - '0')));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

}  // namespace

const Hierarchy* HostCgroups::v1_for(std::string_view controller) const {
  for (const auto& h : v1)
    if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end()) return &h;
  return nullptr;
}

HostCgroups parse_mountinfo(std::string_view text) {
  HostCgroups host;
  std::set<std::string> seen_devices;
  bool v1_controllers = false;
  for (std::string_view line : split(text, '\n')) {
    if (line.empty()) continue;
    // id parent maj:min root mountpoint options [optional...] - fstype source superopts
    auto fields = split(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), std::string_view("-"));
    if (fields.size() < 7 || dash == fields.end() || fields.end() - dash < 4) continue;
    std::string_view fstype = dash[1];
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    std::string dev(fields[2]);
    if (!seen_devices.insert(dev).second) continue;  // a bind mount of a hierarchy already seen
    Hierarchy h;
    h.root = unescape(fields[3]);
    h.mountpoint = unescape(fields[4]);
    if (fstype == "cgroup2") {
      if (host.v2) continue;
      h.v2 = true;
      host.v2 = std::move(h);
      continue;
    }
    for (std::string_view opt : split(dash[3], ',')) {
      if (opt.starts_with("name=")) {
        h.name = std::string(opt.substr(5));
      } else if (std::find(kV1Controllers.begin(), kV1Controllers.end(), opt) != kV1Controllers.end()) {
        h.controllers.emplace_back(opt);
      }
    }
    if (!h.controllers.empty()) v1_controllers = true;
    host.v1.push_back(std::move(h));
  }
  if (host.v2 && !v1_controllers)
    host.layout = CgroupLayout::V2;
  else if (host.v2)
    host.layout = CgroupLayout::Hybrid;
  else
    host.layout = CgroupLayout::V1;
  return host;
}

const HostCgroups& host_cgroups() {
  static const HostCgroups host = [] {
    HostCgroups h = parse_mountinfo(fs::read_file("/proc/self/mountinfo"));
    if (h.v2) {
      try {
        std::string text = fs::read_file(h.v2->mountpoint + "/cgroup.controllers");
        for (std::string_view c : split(text, ' ')) {
          while (!c.empty() && (c.back() == '\n' || c.back() == ' ')) c.remove_suffix(1);
          if (!c.empty()) h.v2_controllers.emplace(c);
        }
      } catch (const Error&) {
        // An unreadable root leaves v2 with no controllers: requests that
        // need one get the Unsupported error naming the field.
      }
    }
    return h;
  }();
  return host;
}

std::map<std::string, std::string> parse_proc_cgroup(std::string_view text) {
  std::map<std::string, std::string> out;
  for (std::string_view line : split(text, '\n')) {
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) continue;
    std::string path(line.substr(b + 1));
    std::string_view ctrls = line.substr(a + 1, b - a - 1);
    if (ctrls.empty()) {
      out[""] = path;
      continue;
    }
    for (std::string_view c : split(ctrls, ',')) out[std::string(c)] = path;
  }
  return out;
}

}  // namespace cgroups

CgroupLayout detect_cgroup_layout() { return cgroups::host_cgroups().layout; }

const std::vector<CgroupMount>& cgroup_mounts() {
  static const std::vector<CgroupMount> mounts = [] {
    const auto& host = cgroups::host_cgroups();
    std::vector<CgroupMount> out;
    for (const auto& h : host.v1) out.push_back({false, h.mountpoint, h.root, h.controllers, h.name});
    if (host.v2) out.push_back({true, host.v2->mountpoint, host.v2->root, {}, ""});
    return out;
  }();
  return mounts;
}

const char* layout_name(CgroupLayout l) {
  switch (l) {
    case CgroupLayout::V1: return "v1";
    case CgroupLayout::V2: return "v2";
    case CgroupLayout::Hybrid: return "hybrid";
  }
  return "v1";
}

}  // namespace berth::runtime
