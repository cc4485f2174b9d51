// A container that could not be started, with the exit code Docker's CLI
// gives for it: 125 (the engine failed), 126 (the command cannot be
// invoked), 127 (the command was not found).
#pragma once

#include "common/error.hpp"

namespace berth::engine {

class StartError : public Error {
 public:
  StartError(std::string message, int exit_code, ErrorKind kind)
      : Error(std::move(message), kind), exit_code_(exit_code) {}
  int exit_code() const noexcept { return exit_code_; }

 private:
  int exit_code_;
};

}  // namespace berth::engine
