// linux.resources.unified: raw cgroup v2 "file": "value" pairs. The file's
// prefix names the controller to enable ("memory.high" -> memory); "cgroup."
// files are core files. Only plain names are accepted, never paths.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

void plan_v2_unified(const std::map<std::string, std::string>& unified, Plan& out) {
  for (const auto& [key, value] : unified) {
    std::string field = res_field("unified[\"" + key + "\"]");
    auto dot = key.find('.');
    if (key.empty() || key.find('/') != std::string::npos || key[0] == '.' || dot == std::string::npos ||
        dot == 0 || dot + 1 == key.size())
      fail(field + ": not a cgroup v2 control file name (<controller>.<knob>)");
    std::string controller = key.substr(0, dot);
    if (controller == "cgroup") {
      if (key == "cgroup.procs" || key == "cgroup.threads" || key == "cgroup.subtree_control" || key == "cgroup.kill")
        fail(field + ": the runtime manages this file itself", ErrorKind::InvalidArgument);
      controller.clear();
    }
    out.push_back({controller, key, value, field, "", ""});
  }
}

}  // namespace berth::runtime::cgroups
