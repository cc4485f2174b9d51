// How `create` uses an image's `config` object (Entrypoint, Cmd, Env, User,
// WorkingDir, Labels, StopSignal, Healthcheck, ExposedPorts, Volumes).
//
// The config comes with an image anyone may have built, and the image
// store's parse_config() checks only what the store itself needs (os,
// architecture, rootfs). Docker refuses an image whose config has a field
// of the wrong type when it unmarshals it ("cannot unmarshal number into
// Go struct field"); berth checks the fields create reads here, once,
// before anything reads them, and names the one that is wrong. null reads
// as absent (as in Go); Entrypoint and Cmd may be one string (docker's
// StrSlice).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "engine/container_spec.hpp"

namespace berth::engine {

// InvalidArgument "image config: Cmd is a number, not an array of strings".
// Returns the config with null as {} and a one-string Entrypoint/Cmd as an
// array, so its readers need no type checks of their own.
nlohmann::json checked_image_config(const nlohmann::json& config);

// The image's part of a create on a checked config: the process args
// (process_args: InvalidArgument "No command specified" when there are
// none), then merge_image_config, StopSignal (checked by parse_signal),
// Healthcheck and ExposedPorts. Returns the args (at least one).
std::vector<std::string> apply_image_config(ContainerConfig& c, const nlohmann::json& checked);

}  // namespace berth::engine
