// OCI hooks: each runs with the container state JSON on stdin, its own args
// and env, and an optional timeout after which it is killed. A failing hook
// throws an Error naming the hook kind, index and path, with the hook's
// stderr; callers decide whether that aborts (prestart, createRuntime,
// createContainer, startContainer) or is a warning (poststart, poststop).
#pragma once

#include <string>
#include <vector>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

void run_hook(const oci::Hook& hook, const std::string& state_json, const std::string& what);
// Runs hooks in order; stops at the first failure (throws).
void run_hooks(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* kind);
// Runs every hook, logging failures as warnings.
void run_hooks_warn(const std::vector<oci::Hook>& hooks, const std::string& state_json, const char* kind);

}  // namespace berth::runtime
