// cgroup v2 hugetlb controller: hugetlb.<size>.max.
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

void plan_v2_hugetlb(const std::vector<oci::HugepageLimit>& limits, Plan& out) {
  for (size_t i = 0; i < limits.size(); ++i) {
    std::string field = res_field("hugepageLimits[" + std::to_string(i) + "]");
    std::string size = hugepage_size_name(limits[i].page_size, field + ".pageSize");
    out.push_back({"hugetlb", "hugetlb." + size + ".max", std::to_string(limits[i].limit), field + ".limit", "", ""});
  }
}

}  // namespace berth::runtime::cgroups
