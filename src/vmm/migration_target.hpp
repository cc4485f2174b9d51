// The target side of a live migration (docs/vm.md, "Live migration"): a
// listener for one source, the checks of what it sends first (format,
// berth version, token), and the filling of a Machine built from the
// machine it describes (Origin::Incoming) with its pages and state. The
// VMM process then runs the VM and answers "running".
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <functional>
#include <optional>
#include <string>

#include "common/fd.hpp"
#include "vmm/machine.hpp"
#include "vmm/migration_stream.hpp"

namespace berth::vmm {

class MigrationListener {
 public:
  // FailedPrecondition naming the address if it cannot be bound.
  explicit MigrationListener(const TcpAddress& at);
  int fd() const { return fd_.get(); }
  const std::string& address() const { return text_; }
  // The next connection, or nullopt if none is pending.
  std::optional<MigrationStream> accept();

 private:
  UniqueFd fd_;
  std::string text_;
};

// Checks the source's Hello (Unsupported for another format or berth
// version, FailedPrecondition for a wrong token) and returns its Machine.
nlohmann::json receive_machine(MigrationStream& s, const std::string& token);
// Pages and state up to Done: the state is loaded into m and its disks
// taken. Corrupt for a page outside guest RAM or frames out of order.
void receive_state(MigrationStream& s, Machine& m);
// The same on guest RAM alone, with `load` taking each state frame: what
// the Machine version runs, and what tests/fuzz/migration_stream feeds a
// hostile stream without /dev/kvm.
void receive_state(MigrationStream& s, const GuestMemory& mem,
                   const std::function<void(const SnapshotReader&)>& load);
// Best effort: tells the source why the target gave up.
void answer_error(MigrationStream& s, const std::string& message, int kind);

}  // namespace berth::vmm
