// `berth build`: a Dockerfile and a context become an image in the store.
//
// The entry point takes plain structs and reports through a callback, so
// the CLI and the Engine API (`POST /build`, whose `{"stream": ...}` lines
// are the Progress texts) are two faces of one call; no flag parsing here.
//
// How it works (docs/build.md): the Dockerfile is parsed (dockerfile/), the
// stages the target needs are run in order, and each instruction turns the
// stage's ImageState (an image config and its layers) into the next one.
// RUN runs in a real container of the engine (the same runtime and
// isolation as `berth run`) whose upper dir becomes a layer; COPY and ADD
// write into an overlay snapshot of the current state, confined to it and
// to the context with openat2(RESOLVE_IN_ROOT). The other instructions
// change the config only. Every step is cached under a key made of the
// parent state's id, the instruction with its resolved arguments and, for
// COPY and ADD, a digest of the sources' names, modes and contents (not
// their times): a rebuild with nothing changed starts no container and
// copies nothing.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "image/registry_request.hpp"

namespace berth::engine {
class ContainerEngine;
}

namespace berth::build {

struct BuildRequest {
  std::string context_dir;      // the build context (a tar context is unpacked here first by the caller)
  std::string dockerfile;       // path of the Dockerfile; relative to context_dir; "" = Dockerfile
  std::optional<std::string> dockerfile_text;  // `-f -`: the Dockerfile itself
  std::vector<std::string> tags;
  std::map<std::string, std::string> build_args;
  std::map<std::string, std::string> labels;
  std::string target;           // stage name; "" = the last stage
  bool no_cache = false;
  // RUN's network: "" = the default of `berth run` (HostConfig's), or none / host.
  std::string network;
  std::string platform;         // "" or linux/amd64
  // FROM and COPY --from of an image: pull it even when the store has it
  // (docker's `build --pull`). Without it, only an image the store lacks
  // is pulled.
  bool pull = false;
  // `--secret id=ID,src=FILE`: what RUN --mount=type=secret,id=ID shows
  // (id -> the host file). Never in a layer, a cache key or the history.
  std::map<std::string, std::string> secrets;
  // For those pulls: cert dir, config dir (credentials, mirrors), token dir.
  image::RegistryAccess registry_access;
  // Readable (or hung up) = stop: the CLI's signalfd for Ctrl-C, the API's
  // client connection. The build then ends with an error, after removing
  // its running container and whatever the step had made. -1: none.
  int cancel_fd = -1;
};

struct Progress {
  enum class Kind { Step, Output, Status, Warning };
  Kind kind;
  std::string text;  // ends with "\n" (Output: as the process wrote it)
};
using ProgressFn = std::function<void(const Progress&)>;

struct BuildResult {
  std::string image_id;  // sha256:...
  std::vector<std::string> tags;  // normalised
};

BuildResult build_image(engine::ContainerEngine& engine, const BuildRequest& req, const ProgressFn& progress);

}  // namespace berth::build
