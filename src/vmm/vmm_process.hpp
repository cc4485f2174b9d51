// The body of `berth-vmm`, the one small process per VM: runs the VM of a
// LaunchConfig, routes its serial console (this process's terminal, or a log
// file and a unix socket when detached), turns SIGTERM/SIGINT/SIGHUP into a
// stop, and reports on report_fd (see vmm/launch.hpp).
//
// The end is made short for whoever waits: once the vCPUs stop, the VMM
// closes the disks and the tap (their locks go with them), reports "exit",
// lets go of its stdio and writes the exit record; only then does it leave
// and remove its cgroup and let KVM tear the VM down (tens of ms here), and
// exit.
#pragma once

#include "vmm/launch.hpp"

namespace berth::vmm {

// Builds the VM, waits for "go" on the channel, runs it. Returns the process
// exit code (exit_code() of the reason; 0 if the starter gave up before
// "go"). Throws if the VM could not be started; the caller reports that.
// `committed` turns true at "go": from then on the VM's name is ours, and
// an error must leave an exit record.
int serve_vm(LaunchConfig cfg, LaunchChannel& channel, int report_fd, bool& committed,
             std::unique_ptr<KvmVm> early = nullptr);

// Writes one report line on fd (if fd >= 0); errors are ignored: a starter
// that went away must not stop the VM.
void send_report(int fd, const Report& r);

}  // namespace berth::vmm
