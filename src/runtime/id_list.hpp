// The kernel's list format for CPU and NUMA node ids ("0-3,7", as in
// cpuset.cpus or Cpus_allowed_list), which process.execCPUAffinity and
// linux.memoryPolicy.nodes use.
#pragma once

#include <string_view>
#include <vector>

namespace berth::runtime {

// The ids, ascending, without repeats. Throws InvalidArgument naming
// `field` for anything else (an empty list included) or an id above 65535.
std::vector<unsigned> parse_id_list(std::string_view list, std::string_view field);

}  // namespace berth::runtime
