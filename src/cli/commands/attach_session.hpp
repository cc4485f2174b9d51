// The terminal side of an attached container (`run` without -d, `start -a`,
// `attach`): copies the monitor's stdout/stderr frames to ours, our stdin to
// the container, our window size to its pty, and (without a tty) the
// signals we get to its process, until the monitor reports the exit.
#pragma once

#include <string>

namespace berth::cli {

struct AttachOptions {
  bool tty = false;
  bool forward_stdin = false;
  bool sig_proxy = true;
  std::string detach_keys = "ctrl-p,ctrl-q";
};

constexpr int kAttachDetached = -2;  // the user pressed the detach keys
constexpr int kAttachLost = -1;      // the stream ended without an exit code

// Runs the session on connected socket `sock`; returns the container's
// exit code, or kAttachDetached / kAttachLost.
int attach_session(int sock, const AttachOptions& o);

}  // namespace berth::cli
