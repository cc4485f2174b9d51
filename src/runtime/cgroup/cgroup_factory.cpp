// Cgroup::create / from_json / to_json, and cgroupsPath handling.
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime {

namespace cgroups {

CgroupPath parse_cgroups_path(const std::string& path, const std::string& container_id) {
  const std::string field = "linux.cgroupsPath";
  CgroupPath out;
  if (path.empty()) {
    if (container_id.empty() || container_id.find('/') != std::string::npos || container_id == "." ||
        container_id == "..")
      fail(field + ": cannot derive a cgroup from container id \"" + container_id + "\"");
    out.components = {"berth", container_id};
    return out;
  }
  if (path[0] != '/' && std::count(path.begin(), path.end(), ':') == 2)
    fail(field + " \"" + path + "\": a systemd path (slice:prefix:name) needs --systemd-cgroup");
  out.relative = path[0] != '/';
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string c = path.substr(start, end - start);
    start = end + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") fail(field + " \"" + path + "\": \"..\" is not allowed in a cgroup path");
    out.components.push_back(std::move(c));
  }
  if (out.components.empty()) fail(field + " \"" + path + "\": must name a cgroup below the hierarchy root");
  return out;
}

}  // namespace cgroups

using cgroups::FsCgroup;

namespace {

// The object for cgroupsPath `path`, no directory made or found yet.
std::unique_ptr<FsCgroup> new_fs_cgroup(const cgroups::HostCgroups& host, const std::string& path,
                                        const std::string& container_id) {
  auto p = cgroups::parse_cgroups_path(path, container_id);
  auto cg = std::make_unique<FsCgroup>();
  if (&host != &cgroups::host_cgroups()) cg->host = &host;
  cg->layout = host.layout;
  cg->path = path.empty() ? "/berth/" + container_id : path;
  cg->relative = p.relative;
  cg->default_path = path.empty();
  cg->components = std::move(p.components);
  return cg;
}

}  // namespace

std::unique_ptr<Cgroup> Cgroup::create(const std::string& path, const std::string& container_id,
                                       const oci::LinuxResources* resources) {
  return cgroups::create_on(cgroups::host_cgroups(), path, container_id, resources);
}

std::unique_ptr<Cgroup> Cgroup::find(const std::string& path, const std::string& container_id) {
  auto cg = new_fs_cgroup(cgroups::host_cgroups(), path, container_id);
  cg->find_leaves();
  return cg;
}

bool Cgroup::has_v2_dir(const oci::LinuxResources* resources) {
  static const oci::LinuxResources kNone;
  const auto& host = cgroups::host_cgroups();
  auto plan = cgroups::plan_resources(host, resources ? *resources : kNone, UINT64_MAX);
  return cgroups::wants_v2_dir(host, plan, true);
}

std::unique_ptr<Cgroup> cgroups::create_on(const HostCgroups& host, const std::string& path,
                                           const std::string& container_id, const oci::LinuxResources* resources) {
  auto cg = new_fs_cgroup(host, path, container_id);
  if (host.v1.empty() && !host.v2)
    fail("create cgroup " + cg->path + ": no cgroup hierarchy is mounted on this host", ErrorKind::Unsupported);
  try {
    cg->apply(resources, true);
  } catch (...) {
    // Undo: the dirs we made, deepest first; nothing has joined them yet.
    for (auto it = cg->created.rbegin(); it != cg->created.rend(); ++it) ::rmdir(it->c_str());
    throw;
  }
  return cg;
}

std::string FsCgroup::to_json() const {
  nlohmann::json j;
  j["layout"] = layout_name(layout);
  j["path"] = path;
  j["relative"] = relative;
  j["components"] = components;
  j["dirs"] = dirs;
  j["v2Controllers"] = v2_controllers;
  j["created"] = created;
  j["v2Devices"] = v2_devices;
  j["defaultPath"] = default_path;
  return j.dump();
}

std::unique_ptr<Cgroup> Cgroup::from_json(const std::string& json) {
  auto cg = std::make_unique<FsCgroup>();
  try {
    auto j = nlohmann::json::parse(json);
    std::string layout = j.at("layout").get<std::string>();
    if (layout == "v1") cg->layout = CgroupLayout::V1;
    else if (layout == "v2") cg->layout = CgroupLayout::V2;
    else if (layout == "hybrid") cg->layout = CgroupLayout::Hybrid;
    else throw Error("unknown layout \"" + layout + "\"", ErrorKind::Corrupt);
    cg->path = j.at("path").get<std::string>();
    cg->relative = j.value("relative", false);
    cg->components = j.value("components", std::vector<std::string>{});
    cg->dirs = j.at("dirs").get<std::map<std::string, std::string>>();
    cg->v2_controllers = j.value("v2Controllers", std::set<std::string>{});
    cg->created = j.value("created", std::vector<std::string>{});
    cg->v2_devices = j.value("v2Devices", false);
    cg->default_path = j.value("defaultPath", false);
  } catch (const nlohmann::json::exception& e) {
    throw Error(std::string("cgroup state: ") + e.what(), ErrorKind::Corrupt);
  }
  for (const auto& [c, d] : cg->dirs)
    if (d.empty() || d[0] != '/' || d.find("/../") != std::string::npos)
      throw Error("cgroup state: bad dir \"" + d + "\" for controller \"" + c + "\"", ErrorKind::Corrupt);
  if (json.find("\"systemdUnit\"") != std::string::npos) return cgroups::systemd_from_json(json, std::move(cg));
  return cg;
}

}  // namespace berth::runtime
