// berth-monitor: one small process per running container, its parent and
// subreaper (the job of Podman's conmon or a containerd shim). It starts the
// container through the runtime (`RUNTIME run --detach`), holds its stdio
// (pipes, or the pty master the runtime hands over a console socket),
// writes the json-file log, serves attached clients on
// <state_dir>/attach.sock (attach_frame.hpp), runs the health check,
// records every change in status.json (status.hpp), deletes the container
// from the runtime when it exits, applies the restart policy, and outlives
// the CLI that started it. It touches no database: the engine folds
// status.json into the container's record whenever it reads it.
//
// Signals: SIGTERM (or SIGINT) asks for a stop: the container gets the stop
// signal, then SIGKILL after the stop timeout (both from <state_dir>/stop,
// "SIGNAL TIMEOUT", when the engine wrote one), and is not restarted.
#pragma once

#include "monitor/options.hpp"

namespace berth::monitor {

// Runs the monitor to the container's final exit; returns the process's
// exit code (0, or 1 when the first start failed).
int run_monitor(const Options& o);

}  // namespace berth::monitor
