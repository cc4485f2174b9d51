// The files of a VM snapshot (docs/vm.md, "Snapshot format"). A snapshot
// is a directory:
//
//   DIR/memory  guest RAM: the machine's memory regions one after another,
//               sparse (pages that were never written are holes). Restore
//               maps it MAP_PRIVATE, so it is checked for size only.
//   DIR/state   everything else, written last (its presence marks a
//               complete snapshot), all integers little-endian:
//                 8 bytes   magic "BERTHSNP"
//                 u32       format version (kSnapshotFormat)
//                 u16 + ..  the berth version that wrote it (<= 64 bytes)
//                 u32       number of sections (<= kMaxSections)
//                 sections, each:
//                   u16 + ..  name (1..64 bytes, unique)
//                   u32       payload length (<= kMaxSectionBytes)
//                   u32       CRC-32C of the name and the payload
//                   payload   a JSON object
//               and nothing after the last section.
//
// The reader checks the whole file before anything uses it: its size
// (<= kMaxStateBytes) before reading it, every length against what is left
// and its cap before allocating, every checksum, the version (another
// format, or the same format written by another berth version, is refused:
// state layouts are those of the version that wrote them). Errors say what
// is wrong with which file: ErrorKind::Corrupt for damage, Unsupported for
// a version, NotFound for a directory that holds no snapshot.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

namespace berth::vmm {

inline constexpr uint32_t kSnapshotFormat = 1;
inline constexpr uint32_t kMaxSections = 1024;
inline constexpr uint32_t kMaxSectionBytes = 4u << 20;
inline constexpr uint64_t kMaxStateBytes = 64ull << 20;
inline constexpr const char* kSnapshotStateFile = "state";
inline constexpr const char* kSnapshotMemoryFile = "memory";

// The berth version snapshots are stamped with and must match.
const char* berth_version();

class SnapshotWriter {
 public:
  void add(std::string name, const nlohmann::json& payload);
  // The state file's bytes (a migration sends them as they are).
  std::string serialize() const;
  // The state file, written to path.tmp, fsynced and renamed to path.
  // Returns its size.
  uint64_t write(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, std::string>> sections_;
};

class SnapshotReader {
 public:
  // Reads DIR/state and verifies all of it (see above).
  explicit SnapshotReader(std::string dir);
  // The same checks on a state file's bytes that came from elsewhere (a
  // migration stream); `what` names them in errors.
  SnapshotReader(const std::string& data, const std::string& what);
  const std::string& dir() const { return dir_; }
  std::string memory_path() const;
  bool has(const std::string& name) const;
  // The section's JSON object; Corrupt if it is absent or not an object.
  nlohmann::json section(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  void parse(const std::string& data, const std::string& what);
  std::string dir_;
  std::vector<std::pair<std::string, std::string>> sections_;
};

}  // namespace berth::vmm
