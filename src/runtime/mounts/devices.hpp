// Device nodes in the container's /dev: the default set every container
// gets (null, zero, full, random, urandom, tty) plus linux.devices, made with
// mknod, or bind-mounted from the same host path in a user namespace (where
// mknod is not allowed). Then the /dev symlinks (fd, stdin, stdout, stderr,
// ptmx -> pts/ptmx, core -> /proc/kcore).
#pragma once

#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// The devices every container gets (runc's list); same paths in linux.devices
// override them.
std::vector<oci::Device> default_devices();

// Creates the devices under `root` (host path of the rootfs, before pivot).
// `what` prefixes errors ("linux.devices").
void create_devices(const std::string& root, const std::vector<oci::Device>& devices,
                    bool bind_from_host);

// /dev/fd, /dev/std{in,out,err}, /dev/core, and /dev/ptmx -> pts/ptmx when
// `devpts` (a devpts mount at /dev/pts).
void create_dev_symlinks(const std::string& root, bool devpts);

}  // namespace berth::runtime
