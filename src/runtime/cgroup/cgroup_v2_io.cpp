// cgroup v2 io controller. Weights go to io.bfq.weight when BFQ offers it
// (same 1..1000 range as blkio), else to io.weight after runc's conversion;
// throttles are io.max "major:minor rbps=N" lines.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup_internal.hpp"

namespace berth::runtime::cgroups {

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  if (weight > 1000) weight = 1000;
  return 1 + (weight - 10) * 9999 / 990;
}

namespace {
std::string dev(int64_t major, int64_t minor) { return std::to_string(major) + ":" + std::to_string(minor); }
}  // namespace

void plan_v2_io(const oci::BlockIoResources& b, Plan& out) {
  auto add = [&](std::string file, std::string value, std::string field, std::string fb = "", std::string fbv = "") {
    out.push_back({"io", std::move(file), std::move(value), res_field(field), std::move(fb), std::move(fbv)});
  };
  if (b.leaf_weight && *b.leaf_weight) fail(res_field("blockIO.leafWeight") + ": not supported on cgroup v2", ErrorKind::Unsupported);
  if (b.weight && *b.weight)
    add("io.bfq.weight", std::to_string(*b.weight), "blockIO.weight", "io.weight",
        "default " + std::to_string(blkio_weight_to_io_weight(*b.weight)));
  for (size_t i = 0; i < b.weight_device.size(); ++i) {
    const auto& w = b.weight_device[i];
    std::string field = "blockIO.weightDevice[" + std::to_string(i) + "]";
    if (w.leaf_weight) fail(res_field(field + ".leafWeight") + ": not supported on cgroup v2", ErrorKind::Unsupported);
    if (w.weight)
      add("io.bfq.weight", dev(w.major, w.minor) + " " + std::to_string(*w.weight), field + ".weight", "io.weight",
          dev(w.major, w.minor) + " " + std::to_string(blkio_weight_to_io_weight(*w.weight)));
  }
  auto throttles = [&](const std::vector<oci::ThrottleDevice>& list, const char* key, const char* name) {
    for (size_t i = 0; i < list.size(); ++i)
      add("io.max", dev(list[i].major, list[i].minor) + " " + key + "=" + std::to_string(list[i].rate),
          std::string("blockIO.") + name + "[" + std::to_string(i) + "]");
  };
  throttles(b.throttle_read_bps_device, "rbps", "throttleReadBpsDevice");
  throttles(b.throttle_write_bps_device, "wbps", "throttleWriteBpsDevice");
  throttles(b.throttle_read_iops_device, "riops", "throttleReadIOPSDevice");
  throttles(b.throttle_write_iops_device, "wiops", "throttleWriteIOPSDevice");
}

}  // namespace berth::runtime::cgroups
