// `berth vm run --channel`: where a VM's virtio-console socket goes.
#pragma once

#include <string>

namespace berth::engine {

// "" (no channel) -> "", "unix" -> default_path (its directory is created),
// "unix:PATH" -> PATH made absolute. Anything else, or a PATH whose
// directory does not exist, is a one-line Error naming the option.
std::string resolve_channel(const std::string& option, const std::string& default_path);

}  // namespace berth::engine
