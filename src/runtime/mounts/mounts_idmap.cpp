// Idmapped bind mounts (mounts[].uidMappings/gidMappings, "idmap"/"ridmap").
//
// The kernel only idmaps a detached mount (open_tree(OPEN_TREE_CLONE)) and
// only for a caller privileged over the filesystem's user namespace: for
// host filesystems that is the host's, so this runs in the runtime before
// the container init enters its user namespace (prepare_mounts), and the
// init only attaches the prepared trees (move_mount).
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/userns.hpp"
#include "runtime/mounts/mount_options.hpp"
#include "runtime/mounts/mounts.hpp"
#include "runtime/mounts/rootfs.hpp"

namespace berth::runtime {
namespace {

std::vector<IdMap> id_maps(const std::vector<oci::IdMapping>& m) {
  std::vector<IdMap> out;
  for (const auto& e : m) out.push_back({e.container_id, e.host_id, e.size});
  return out;
}

// A user namespace with the given mappings, held by an fd (common/userns.hpp).
UniqueFd make_userns(const std::vector<oci::IdMapping>& uids, const std::vector<oci::IdMapping>& gids,
                     const std::string& what) {
  return open_userns(id_maps(uids), id_maps(gids), what + ": a user namespace for the id mapping");
}

}  // namespace

PreparedMounts::PreparedMounts() = default;
PreparedMounts::PreparedMounts(PreparedMounts&&) noexcept = default;
PreparedMounts& PreparedMounts::operator=(PreparedMounts&&) noexcept = default;
PreparedMounts::~PreparedMounts() = default;

bool has_idmapped_mounts(const oci::Spec& spec) {
  for (const auto& m : spec.mounts) {
    if (!m.uid_mappings.empty() || !m.gid_mappings.empty()) return true;
    for (const auto& opt : m.options)
      if (opt == "idmap" || opt == "ridmap") return true;
  }
  return false;
}

PreparedMounts prepare_mounts(const oci::Spec& spec, const std::string& bundle,
                              int container_userns_fd) {
  PreparedMounts out;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const auto& m = spec.mounts[i];
    MountOptions o = parse_mount_options(m.options);
    const bool mapped = !m.uid_mappings.empty() || !m.gid_mappings.empty();
    if (!mapped && !o.idmap) continue;
    const std::string field = "mounts[" + std::to_string(i) + "] (" + m.destination + ")";
    if (!(m.type == "bind" || o.is_bind()))
      fail(field + ": idmapped mounts must be bind mounts", ErrorKind::Unsupported);
    if (m.uid_mappings.empty() != m.gid_mappings.empty())
      fail(field + ": uidMappings and gidMappings go together");
    UniqueFd userns;
    int ns_fd = container_userns_fd;
    if (mapped) {
      userns = make_userns(m.uid_mappings, m.gid_mappings, field);
      ns_fd = userns.get();
    } else if (ns_fd < 0) {
      fail(field + ": \"idmap\" without uidMappings needs the container's user namespace");
    }
    std::string src = m.source;
    if (src.empty()) fail(field + ".source: a bind mount needs a source");
    if (src[0] != '/') src = fs::join(bundle, src);
    const bool rec = (o.flags & MS_REC) != 0;
    int fd = open_tree(AT_FDCWD, src.c_str(),
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (rec ? AT_RECURSIVE : 0));
    if (fd < 0) throw_errno(field + ": bind source " + src);
    UniqueFd tree(fd);
    struct mount_attr attr {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(ns_fd);
    if (mount_setattr(tree.get(), "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &attr,
                      sizeof attr) != 0)
      throw_errno(field + ": idmap " + src + " (does its filesystem support idmapped mounts?)");
    out.idmapped.emplace(i, std::move(tree));
  }
  return out;
}

void attach_prepared_tree(int tree_fd, int target_fd, std::string_view what) {
  // The target by fd (T_EMPTY_PATH): a "/proc/self/fd/N" path would name the
  // magic link itself, as move_mount follows no symlink without
  // MOVE_MOUNT_T_SYMLINKS, and fail with EINVAL (a file is not a directory).
  if (move_mount(tree_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    throw_errno(std::string(what));
}

}  // namespace berth::runtime
