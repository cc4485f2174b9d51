// Container names as Docker makes and checks them.
#pragma once

#include <string>

namespace berth::engine {

// "[a-zA-Z0-9][a-zA-Z0-9_.-]+" (a leading "/" is dropped), or
// InvalidArgument in Docker's words.
std::string check_container_name(const std::string& name);
// "adjective_surname", Docker-style.
std::string random_name();
// 64 lowercase hex digits from the kernel's random source.
std::string random_id();

}  // namespace berth::engine
