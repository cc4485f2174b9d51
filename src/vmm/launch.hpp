// The contract between whoever starts a VM (the engine, `berth vm run`) and
// the VMM process (`berth-vmm`, one per VM, see docs/vm.md):
//
// - LaunchConfig: what to boot and where its console, cgroup and exit record
//   go; one JSON line on a file descriptor (--config-fd). The VMM builds the
//   VM at once, but touches nothing named after the VM (console socket and
//   log, cgroup, exit record) until a second line, "go", arrives on that fd:
//   meanwhile the starter claims the name (EOF instead of "go": the VMM
//   exits quietly). So the KVM set-up overlaps the starter's bookkeeping.
// - Reports: one JSON line per event on --report-fd, in this order:
//     {"event":"listening"}                               (receive) it listens
//     {"event":"ready"}                                   the vCPUs run
//     {"event":"exit","reason":"poweroff","detail":...}   the VM ended
//   or {"event":"error","kind":N,"message":...} if the VM never ran.
// - ExitRecord: <root>/vms/<name>/exit.json, written (atomically) right
//   after the "exit" report, so the end of a VM is known even when nobody
//   listened (the starter that did has recorded it already).
//
// This header knows nothing of records or images: the starter owns those.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "vmm/machine.hpp"

namespace berth::vmm {

struct LaunchConfig {
  std::string name;  // the VM's name, for messages
  // The VM itself (console_out is set by the VMM process).
  VmConfig vm;
  // berth/vm-<cgroup> in the memory and cpu hierarchies; empty: no cgroup.
  std::string cgroup;
  // Detached: the console goes to console_log and to clients of
  // console_socket; otherwise it is the VMM's stdin/stdout.
  bool detached = false;
  std::string console_log, console_socket;
  std::string vmm_log;    // detached: stderr goes here from "go" on
  std::string exit_file;  // where the ExitRecord goes (required)
  // The control socket (vmm/control.hpp); empty: none.
  std::string control_socket;
  // A snapshot directory to carry on from instead of booting vm.boot; vm
  // then describes the snapshot's machine, bound to this VM's host files.
  std::string restore;
  // tcp:HOST:PORT to receive a live migration on instead of booting: vm
  // then comes from the source (bound to this VM's name), and the token,
  // if set, must be what the source gives.
  std::string incoming, token;
  // Run (detached, not waited for) once the exit record is written: as
  // conmon's --exit-command, what a daemonless `vm run -d --rm` uses to
  // remove the record when the VM ends.
  std::vector<std::string> exit_command;
};

std::string to_json(const LaunchConfig& c);

// Lines from a pipe, for both ends of the contract: the next one without
// its newline; nullopt at EOF (a last line without newline comes first).
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}
  std::optional<std::string> next();

 private:
  int fd_;
  std::string buf_;
};

// The VMM's end of the config fd (which it owns and closes).
class LaunchChannel {
 public:
  explicit LaunchChannel(int fd) : fd_(fd), lines_(fd) {}
  // nullopt on EOF: the starter gave up before sending one.
  std::optional<LaunchConfig> read_config();
  // True on "go", false on EOF (the starter gave up).
  bool wait_go();

 private:
  UniqueFd fd_;
  LineReader lines_;
};
// InvalidArgument naming the bad field.
LaunchConfig launch_config_from_json(std::string_view text);

struct ExitRecord {
  pid_t pid = 0;
  std::string reason;  // exit_reason_name(): poweroff, reset, crash, stopped, error
  std::string detail;
  std::string finished;  // RFC 3339
};

// temp + rename: a reader sees the whole record or none.
void write_exit_record(const std::string& path, const ExitRecord& r);
// nullopt if there is none (or it is unreadable: a VMM killed mid-write).
std::optional<ExitRecord> read_exit_record(const std::string& path);

// One report line (without the newline) and its parse.
struct Report {
  std::string event;  // ready | exit | error
  std::string reason, detail;  // exit
  ErrorKind kind = ErrorKind::Internal;  // error
  std::string message;  // error

  static Report ready() { return make("ready"); }
  static Report listening() { return make("listening"); }
  static Report exit(std::string reason, std::string detail) {
    Report r = make("exit");
    r.reason = std::move(reason);
    r.detail = std::move(detail);
    return r;
  }
  static Report error(ErrorKind kind, std::string message) {
    Report r = make("error");
    r.kind = kind;
    r.message = std::move(message);
    return r;
  }

 private:
  static Report make(std::string event) {
    Report r;
    r.event = std::move(event);
    return r;
  }
};
std::string to_json(const Report& r);
// nullopt for a line that is not a report.
std::optional<Report> parse_report(std::string_view line);
// The starter's end of the report fd: the next report (lines that are not
// reports are skipped); nullopt at EOF, i.e. the VMM is gone.
std::optional<Report> next_report(LineReader& lines);

// 0 for poweroff, reset and stop; 1 for a crash or an error.
int exit_code(ExitReason r);
int exit_code(std::string_view reason);

}  // namespace berth::vmm
