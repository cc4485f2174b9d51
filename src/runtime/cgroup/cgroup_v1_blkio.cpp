// cgroup v1 blkio controller. CFQ's blkio.weight is gone from multiqueue
// kernels; BFQ offers blkio.bfq.weight with the same 1..1000 range, so it is
// the fallback (as in runc). Throttles take one "major:minor value" per write.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

namespace {
std::string dev(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }
}  // namespace

void plan_v1_blkio(const oci::BlockIoResources& b, Plan& out) {
  auto add = [&](std::string file, std::string value, std::string field, std::string fb = "") {
    out.push_back({"blkio", std::move(file), std::move(value), res_field(field), std::move(fb), ""});
  };
  if (b.weight && *b.weight) add("blkio.weight", std::to_string(*b.weight), "blockIO.weight", "blkio.bfq.weight");
  if (b.leaf_weight && *b.leaf_weight) add("blkio.leaf_weight", std::to_string(*b.leaf_weight), "blockIO.leafWeight");
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& w = b.weight_device[i];
    std::string field = "blockIO.weightDevice[" + std::to_string(i) + "]";
    if (w.weight)
      add("blkio.weight_device", dev(w.major, w.minor) + " " + std::to_string(*w.weight), field + ".weight",
          "blkio.bfq.weight_device");
    if (w.leaf_weight && *w.leaf_weight)
      add("blkio.leaf_weight_device", dev(w.major, w.minor) + " " + std::to_string(*w.leaf_weight),
          field + ".leafWeight");
  }
  auto throttles = [&](const std::vector<oci::ThrottleDevice>& list, const char* file, const char* name) {
    for (size_t i = 0; i < list.size(); ++i)
      add(file, dev(list[i].major, list[i].minor) + " " + std::to_string(list[i].rate),
          std::string("blockIO.") + name + "[" + std::to_string(i) + "]");
  };
  throttles(b.throttle_read_bps_device, "blkio.throttle.read_bps_device", "throttleReadBpsDevice");
  throttles(b.throttle_write_bps_device, "blkio.throttle.write_bps_device", "throttleWriteBpsDevice");
  throttles(b.throttle_read_iops_device, "blkio.throttle.read_iops_device", "throttleReadIOPSDevice");
  throttles(b.throttle_write_iops_device, "blkio.throttle.write_iops_device", "throttleWriteIOPSDevice");
}

}  // namespace berth::runtime::cgroups
