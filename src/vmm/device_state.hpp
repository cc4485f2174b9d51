// The contract every device of a machine implements for pause, snapshot,
// restore and live migration, which are one path: a migration is a snapshot
// sent over a socket while the guest runs (docs/vm.md, "Snapshots").
//
// BusDevice (bus.hpp) and PciDevice (devices/pci.hpp) derive from Migratable,
// and save/load are pure virtual down to each concrete device, so a new
// device does not compile until it says what its state is. The Machine
// stores each device's state in a section of its own, named after where the
// device sits (port, PCI slot and ids); a restore with a section too many or
// too few fails, naming the device.
//
// State is a JSON tree: device state is small, and named fields let a loader
// check each one. It is written as JSON text to snapshot files and as CBOR
// to the migration stream (snapshot_file.hpp). Snapshots are input like any other: load() validates every field
// (type, range) and throws ErrorKind::Corrupt naming the device and field,
// before anything of it takes effect where it could hurt the VMM (sizes,
// indices); addresses of guest memory need no check, GuestMemory::ptr does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace berth::vmm {

using StateJson = nlohmann::json;

class Migratable {
 public:
  virtual ~Migratable() = default;
  // Stop (and start again) acting on guest memory or interrupts on events
  // of the device's own: a tap, a socket, a queue notify. The vCPUs are
  // parked before pause() and run again after resume(), so a device that
  // only answers vCPU exits has nothing to do here.
  virtual void pause() {}
  virtual void resume() {}
  // The device's state, while paused.
  virtual void save(StateJson& out) = 0;
  // Into a device built from the same config, before any vCPU runs.
  virtual void load(const StateJson& in) = 0;
};

// Field readers for load(): Corrupt "snapshot: <who>: field <key> ..." if
// the field is missing, of another type or above max.
uint64_t state_uint(const StateJson& s, const char* key, const std::string& who, uint64_t max = UINT64_MAX);
bool state_bool(const StateJson& s, const char* key, const std::string& who);
std::string state_string(const StateJson& s, const char* key, const std::string& who, size_t max_len = 4096);
const StateJson& state_object(const StateJson& s, const char* key, const std::string& who);
const StateJson& state_array(const StateJson& s, const char* key, const std::string& who, size_t max_len);

// A JSON integer >= 0 (parsed ones are unsigned, built ones may be signed).
bool state_is_uint(const StateJson& v);

// Binary state (KVM structs, a UART FIFO, a console backlog) is a JSON
// binary value: a state file holds it as a hex string (state_text()), the
// migration stream's binary encoding as raw bytes. state_bytes() reads
// either.
StateJson state_blob(const void* data, size_t len);
std::string to_hex(const void* data, size_t len);
// j with every binary value turned into its hex string, for JSON text.
StateJson state_text(const StateJson& j);
std::vector<uint8_t> state_bytes(const StateJson& s, const char* key, const std::string& who, size_t max_len);
// A fixed-size struct, which must have exactly sizeof(T) bytes.
void state_exact(const StateJson& s, const char* key, const std::string& who, void* out, size_t len);
template <class T>
void state_struct(const StateJson& s, const char* key, const std::string& who, T* out) {
  state_exact(s, key, who, out, sizeof(T));
}

// Corrupt: "snapshot: <who>: <what>".
[[noreturn]] void state_error(const std::string& who, const std::string& what);

}  // namespace berth::vmm
