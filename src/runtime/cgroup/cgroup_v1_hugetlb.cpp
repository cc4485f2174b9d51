// cgroup v1 hugetlb controller: hugetlb.<size>.limit_in_bytes.
#include <cctype>

#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

std::string hugepage_size_name(const std::string& page_size, const std::string& field) {
  size_t i = 0;
  while (i < page_size.size() && std::isdigit(static_cast<unsigned char>(page_size[i]))) ++i;
  std::string unit = page_size.substr(i);
  if (i == 0 || (unit != "KB" && unit != "MB" && unit != "GB"))
    fail(field + ": page size \"" + page_size + "\" is not <number>KB|MB|GB (e.g. \"2MB\")");
  return page_size;
}

void plan_v1_hugetlb(const std::vector<oci::HugepageLimit>& limits, Plan& out) {
  for (size_t i = 0; i < limits.size(); ++i) {
    std::string field = res_field("hugepageLimits[" + std::to_string(i) + "]");
    std::string size = hugepage_size_name(limits[i].page_size, field + ".pageSize");
    out.push_back({"hugetlb", "hugetlb." + size + ".limit_in_bytes", std::to_string(limits[i].limit),
                   field + ".limit", "", ""});
  }
}

}  // namespace berth::runtime::cgroups
