// ContainerEngine::update: new limits for a container, written to its live
// cgroups through the runtime's `update` and kept in its record, so the
// next start applies them too; a new restart policy reaches a running
// monitor through <state>/containers/<id>/restart-policy.
#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "monitor/restart_policy.hpp"

namespace berth::engine {

void ContainerEngine::update(const std::string& ref, const Update& u) {
  Container c = inspect(ref);
  HostConfig& h = c.host;
  if (u.memory) h.memory = *u.memory;
  if (u.memory_swap) h.memory_swap = *u.memory_swap;
  if (u.nano_cpus) h.nano_cpus = *u.nano_cpus;
  if (u.cpu_shares) h.cpu_shares = *u.cpu_shares;
  if (u.pids_limit) h.pids_limit = *u.pids_limit;
  if (u.restart) {
    if (!monitor::RestartPolicy::valid(u.restart->name))
      fail("invalid restart policy: unknown policy '" + u.restart->name + "'");
    if (h.auto_remove && u.restart->name != "no")
      fail("Restart policy cannot be updated because AutoRemove is enabled for the container");
    h.restart_policy = *u.restart;
  }
  if (h.memory > 0 && h.memory < 6 * 1024 * 1024) fail("Minimum memory limit allowed is 6MB");
  if (h.memory_swap > 0 && h.memory > 0 && h.memory_swap < h.memory)
    fail("Minimum memoryswap limit should be larger than memory limit, see usage");
  if (c.state.running()) {
    std::vector<std::string> args = {"update"};
    if (u.memory) args.insert(args.end(), {"--memory", std::to_string(h.memory)});
    if (u.memory_swap || (u.memory && h.memory_swap == 0))
      args.insert(args.end(), {"--memory-swap", std::to_string(h.memory_swap ? h.memory_swap : 2 * h.memory)});
    if (u.nano_cpus)
      args.insert(args.end(), {"--cpu-period", "100000", "--cpu-quota",
                               std::to_string(h.nano_cpus ? h.nano_cpus * 100000 / 1000000000 : -1)});
    if (u.cpu_shares) args.insert(args.end(), {"--cpu-shares", std::to_string(h.cpu_shares)});
    if (u.pids_limit) args.insert(args.end(), {"--pids-limit", std::to_string(h.pids_limit > 0 ? h.pids_limit : -1)});
    args.push_back(c.id);
    if (args.size() > 2 && run_runtime(c, args) != 0)
      throw Error("Cannot update container " + c.id + ": the runtime refused the new limits", ErrorKind::FailedPrecondition);
    if (u.restart)
      fs::write_file_atomic(state_dir(c.id) + "/restart-policy",
                            h.restart_policy.name + " " + std::to_string(h.restart_policy.maximum_retry_count) + "\n");
  }
  store_->update(c);
}

}  // namespace berth::engine
