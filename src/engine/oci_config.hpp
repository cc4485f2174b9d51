// The OCI runtime config (config.json) of a container: its record, its
// image's config and Docker's secure defaults (docker's capability set, the
// default seccomp profile of runtime/default_seccomp.cpp, masked and
// read-only /proc paths, read-only /sys, no_new_privs), which --privileged
// and --security-opt lift. Made at each start, once the rootfs is mounted,
// because user names resolve against the container's own /etc/passwd.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/container_spec.hpp"

namespace berth::engine {

struct OciInputs {
  std::string rootfs;        // the mounted rootfs (absolute)
  std::string etc_dir;       // a dir holding hosts, hostname, resolv.conf to bind in
  std::string cgroups_path;  // "/berth/<id>"
  std::string init_path;     // --init: the host binary to bind at /sbin/berth-init
  std::string netns_path;    // a network namespace to join ("" = a new one, or the host's)
};

// Docker's default capabilities (CAP_ names).
const std::vector<std::string>& docker_default_caps();

// Merges --entrypoint / command with the image's Entrypoint and Cmd as
// Docker does; InvalidArgument "No command specified" when nothing is left.
std::vector<std::string> process_args(const ContainerConfig& c, const nlohmann::json& image_config);

// Fills what the user left unset from the image's config (User, WorkingDir,
// Env by key, Cmd and Entrypoint, Labels), as Docker's daemon does at
// create: inspect's Config and commit see the container's whole config.
// After process_args, which needs to know what the user gave.
void merge_image_config(ContainerConfig& c, const nlohmann::json& image_config);

// The capabilities a container gets (CAP_ names): defaults +add -drop,
// "ALL" allowed on either side; InvalidArgument naming an unknown one.
std::vector<std::string> effective_caps(const HostConfig& h);

// InvalidArgument "invalid ulimit type: NAME" for a --ulimit the kernel
// has no rlimit for (checked at create, so no record is made).
void check_ulimits(const HostConfig& h);

// config.json text. Throws InvalidArgument for a bad --user, seccomp file,
// or ulimit, naming it.
std::string build_oci_config(const Container& c, const nlohmann::json& image_config, const OciInputs& in);

}  // namespace berth::engine
