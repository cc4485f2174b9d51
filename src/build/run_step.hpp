// RUN: one command in a container of the engine (create, start, wait:
// the same runtime, monitor and isolation as `berth run`), whose upper dir
// then becomes a layer. Output is passed on as it comes.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "build/image_state.hpp"
#include "engine/container_spec.hpp"

namespace berth::engine {
class ContainerEngine;
}

namespace berth::build {

struct RunSpec {
  std::vector<std::string> argv;  // the whole command (SHELL + script, or the exec form)
  std::vector<std::string> env;   // NAME=value, the ARGs in scope; the image's ENV wins
  std::string network;            // "" = the engine's default
  int cancel_fd = -1;             // BuildRequest::cancel_fd
  std::vector<engine::MountRequest> mounts;  // RUN --mount (run_mounts.hpp), prepared
  std::vector<std::string> mount_targets;    // their mount points, kept out of the layer
};

// The layer's descriptor (none if the command changed no file); throws FailedPrecondition ("exit code N") when
// the command fails, after passing on its output.
std::optional<oci::Descriptor> run_in_container(engine::ContainerEngine& eng, const ImageState& parent, const RunSpec& spec,
                                 const std::function<void(const std::string&)>& output, int* exit_code,
                                 std::vector<std::string>* made);

}  // namespace berth::build
