// The files of a VM snapshot (docs/vm.md, "Snapshot format"). A snapshot
// is a directory:
//
//   DIR/memory  guest RAM: the machine's memory regions one after another,
//               sparse (pages that were never written are holes). Restore
//               maps it MAP_PRIVATE, so it is checked for size only.
//   DIR/state   everything else, written last (its presence marks a
//               complete snapshot), all integers little-endian:
//                 8 bytes   magic "BERTHSNP"
//                 u32       format version: 1, payloads are JSON text
//                           (kSnapshotFormat, what files hold); 2, the same
//                           with CBOR payloads (kBinaryStateFormat, what a
//                           live migration sends: no text to print or parse)
//                 u16 + ..  the berth version that wrote it (<= 64 bytes)
//                 u32       number of sections (<= kMaxSections)
//                 sections, each:
//                   u16 + ..  name (1..64 bytes, unique)
//                   u32       payload length (<= kMaxSectionBytes)
//                   u32       CRC-32C of the name and the payload
//                   payload   a JSON object (as text, or CBOR)
//               and nothing after the last section.
//
// The reader checks the whole file before anything uses it: its size
// (<= kMaxStateBytes) before reading it, every length against what is left
// and its cap before allocating, every checksum, the version (a format
// other than 1 or 2, or one written by another berth version, is refused:
// state layouts are those of the version that wrote them). Errors say what
// is wrong with which file: ErrorKind::Corrupt for damage, Unsupported for
// a version, NotFound for a directory that holds no snapshot.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace berth::vmm {

inline constexpr uint32_t kSnapshotFormat = 1;
inline constexpr uint32_t kBinaryStateFormat = 2;
inline constexpr uint32_t kMaxSections = 1024;
inline constexpr uint32_t kMaxSectionBytes = 4u << 20;
inline constexpr uint64_t kMaxStateBytes = 64ull << 20;
inline constexpr const char* kSnapshotStateFile = "state";
inline constexpr const char* kSnapshotMemoryFile = "memory";

// The berth version snapshots are stamped with and must match.
const char* berth_version();

// How a state's payloads are encoded: the format version that says so.
enum class StateEncoding : uint32_t { Text = kSnapshotFormat, Binary = kBinaryStateFormat };

class SnapshotWriter {
 public:
  void add(std::string name, const nlohmann::json& payload);
  void add(std::string name, nlohmann::json&& payload);
  // The state's bytes: Text for a file, Binary for the migration stream.
  std::string serialize(StateEncoding enc = StateEncoding::Text) const;
  // The state file, written to path.tmp, fsynced and renamed to path.
  // Returns its size.
  uint64_t write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, nlohmann::json>> sections_;
};

class SnapshotReader {
 public:
  // Reads DIR/state and verifies all of it (see above).
  explicit SnapshotReader(std::string dir);
  // The same checks on a state's bytes that came from elsewhere (a
  // migration stream: Binary); `what` names them in errors. Each source
  // takes one format: a file of format 2 is refused as another version.
  SnapshotReader(const std::string& data, const std::string& what, StateEncoding enc = StateEncoding::Text);
  const std::string& dir() const { return dir_; }
  std::string memory_path() const;
  bool has(const std::string& name) const;
  // The section's JSON object; Corrupt if it is absent or not an object.
  nlohmann::json section(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  void parse(const std::string& data, const std::string& what);
  std::string dir_;
  uint32_t format_;
  std::vector<std::pair<std::string, std::string>> sections_;
};

}  // namespace berth::vmm
