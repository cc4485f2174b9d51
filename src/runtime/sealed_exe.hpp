// The runc CVE-2019-5736 class, past PR_SET_DUMPABLE: a container process
// with CAP_SYS_PTRACE (and no user namespace) may open /proc/<pid>/exe of a
// runtime process that is inside the container's pid namespace before its
// execve -- and through it, write the runtime binary on the host.
//
// Defence (runc 1.2's, without a copy): such a runtime process runs from a
// read-only overlayfs view of its own binary. seal_self_exe() re-executes the
// runtime from `overlay(lowerdir=<binary's dir>:<empty tmpfs>)`, a detached
// mount (fsopen/fsmount, attached nowhere) made read-only, so
// /proc/<pid>/exe of it and of everything it clones is that overlay file:
// opening it for writing fails with EROFS, and O_PATH-then-reopen tricks land
// on the same read-only file. Nothing is copied (a memfd copy of this binary
// is tens of MB with debug info) and the mount vanishes with the last
// process using it. Where the overlay cannot be made, a copy in a memfd
// sealed against writes (runc's original defence) takes its place.
#pragma once

#include <string>

#include "oci/runtime_spec.hpp"

namespace berth::runtime {

// True when the container's init can be seen by container processes while
// it still runs this binary: in a pid namespace joined by path or in none
// (the host's); after a `create` whose init waits for `start` in this
// binary (`exec` can enter meanwhile); or when createContainer/
// startContainer hooks run inside. Out of reach: `run` into a new pid
// namespace without such hooks (nothing else is in that namespace until the
// init's execve), and a `create` whose init waits in berth-init-wait
// (init_wait.hpp).
bool init_visible_to_container(const oci::Spec& spec, bool start_now);

// Returns at once if /proc/self/exe is already on a read-only mount (crun's
// rule: a read-only binary cannot be overwritten; this is also the state
// after the re-exec). Otherwise re-executes this program with the same argv
// and environment from the sealed view; never returns then. Throws an Error
// when the view cannot be built (e.g. no overlayfs): a start that cannot be
// protected does not go ahead.
void seal_self_exe();

}  // namespace berth::runtime
