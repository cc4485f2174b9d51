// `update` (runc's): new resource limits written to a container's live
// cgroup. Only the fields given are written (the cgroup plan skips unset
// ones), so successive updates compose, as in runc.
#include "common/error.hpp"
#include "runtime/cgroup/cgroup.hpp"
#include "runtime/container.hpp"
#include "runtime/ignored_fields.hpp"

namespace berth::runtime {

void update_container(const GlobalOptions& g, const std::string& id, const oci::LinuxResources& resources) {
  ContainerState st = load_state(g.root, id);
  Status s = current_status(g.root, st);
  if (s == Status::Stopped || s == Status::Creating)
    throw Error("cannot update container " + id + ": it is " + status_name(s), ErrorKind::FailedPrecondition);
  if (st.cgroup.empty())
    throw Error("cannot update container " + id + ": it has no cgroup", ErrorKind::FailedPrecondition);
  std::unique_ptr<Cgroup> cg = Cgroup::from_json(st.cgroup);
  accept_ignored_resources(resources, "update: ");
  try {
    cg->update(resources);
  } catch (Error& e) {
    e.wrap("update container " + id);
    throw;
  }
  // A resource of a hierarchy the container had no dir in yet made one.
  st.cgroup = cg->to_json();
  save_state(g.root, st);
}

}  // namespace berth::runtime
