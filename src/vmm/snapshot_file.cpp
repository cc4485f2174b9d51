#include "vmm/snapshot_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "vmm/crc32c.hpp"
#include "vmm/device_state.hpp"

#ifndef BERTH_VERSION
#error "BERTH_VERSION must be defined for the VMM library (CMakeLists.txt)"
#endif

namespace berth::vmm {

namespace {

constexpr char kMagic[8] = {'B', 'E', 'R', 'T', 'H', 'S', 'N', 'P'};
constexpr size_t kMaxName = 64;

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

uint32_t section_sum(const std::string& name, const std::string& payload) {
  return crc32c(crc32c(0, name.data(), name.size()), payload.data(), payload.size());
}

void put_string(std::string& out, const std::string& s) {
  put<uint16_t>(out, static_cast<uint16_t>(s.size()));
  out += s;
}

// Reads the state file front to back; every read is bounded by what is left.
class Cursor {
 public:
  Cursor(const std::string& data, const std::string& path) : data_(data), path_(path) {}

  template <class T>
  T get(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_.data() + at_, sizeof v);
    at_ += sizeof v;
    return v;
  }
  std::string bytes(size_t n, const char* what) {
    need(n, what);
    std::string s = data_.substr(at_, n);
    at_ += n;
    return s;
  }
  std::string string(size_t max, const char* what) {
    auto n = get<uint16_t>(what);
    if (n > max) corrupt(std::string(what) + " is " + std::to_string(n) + " bytes long, at most " + std::to_string(max));
    return bytes(n, what);
  }
  size_t left() const { return data_.size() - at_; }
  [[noreturn]] void corrupt(const std::string& what) const {
    throw Error("snapshot " + path_ + " is damaged: " + what, ErrorKind::Corrupt);
  }

 private:
  void need(size_t n, const char* what) const {
    if (n > left()) corrupt(std::string("truncated in ") + what);
  }
  const std::string& data_;
  const std::string& path_;
  size_t at_ = 0;
};

std::string read_capped(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) throw Error("no snapshot at " + path.substr(0, path.rfind('/')) + " (it has no " +
                                     kSnapshotStateFile + " file)", ErrorKind::NotFound, e);
    throw_errno("open snapshot " + path, e);
  }
  UniqueFd f(fd);
  struct stat st{};
  check(::fstat(fd, &st), "stat snapshot " + path);
  if (!S_ISREG(st.st_mode)) fail("snapshot " + path + " is not a regular file", ErrorKind::Corrupt);
  if (static_cast<uint64_t>(st.st_size) > kMaxStateBytes)
    fail("snapshot " + path + " is " + std::to_string(st.st_size >> 20) + " MiB, more than a state file can be (" +
             std::to_string(kMaxStateBytes >> 20) + " MiB)",
         ErrorKind::Corrupt);
  return fs::read_all(fd, "snapshot " + path);
}

}  // namespace

const char* berth_version() { return BERTH_VERSION; }

void SnapshotWriter::add(std::string name, const nlohmann::json& payload) {
  sections_.emplace_back(std::move(name), payload);
}

void SnapshotWriter::add(std::string name, nlohmann::json&& payload) {
  sections_.emplace_back(std::move(name), std::move(payload));
}

std::string SnapshotWriter::serialize(StateEncoding enc) const {
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, static_cast<uint32_t>(enc));
  put_string(out, berth_version());
  put<uint32_t>(out, static_cast<uint32_t>(sections_.size()));
  std::vector<uint8_t> cbor;
  for (const auto& [name, tree] : sections_) {
    std::string payload;
    if (enc == StateEncoding::Binary) {
      cbor.clear();
      nlohmann::json::to_cbor(tree, cbor);
      payload.assign(cbor.begin(), cbor.end());
    } else {
      payload = json_text(state_text(tree));
    }
    if (name.empty() || name.size() > kMaxName || payload.size() > kMaxSectionBytes)
      fail("snapshot section " + name + " is too large (" + std::to_string(payload.size()) + " bytes)",
           ErrorKind::Internal);
    put_string(out, name);
    put<uint32_t>(out, static_cast<uint32_t>(payload.size()));
    put<uint32_t>(out, section_sum(name, payload));
    out += payload;
  }
  return out;
}

uint64_t SnapshotWriter::write(const std::string& path) const {
  std::string out = serialize();
  fs::write_file_atomic(path, out, 0600);
  return out.size();
}

SnapshotReader::SnapshotReader(std::string dir) : dir_(std::move(dir)), format_(kSnapshotFormat) {
  std::string path = fs::join(dir_, kSnapshotStateFile);
  parse(read_capped(path), path);
}

SnapshotReader::SnapshotReader(const std::string& data, const std::string& what, StateEncoding enc)
    : dir_(what), format_(static_cast<uint32_t>(enc)) {
  if (data.size() > kMaxStateBytes) fail(what + " is larger than a state can be", ErrorKind::Corrupt);
  parse(data, what);
}

void SnapshotReader::parse(const std::string& data, const std::string& path) {
  Cursor c(data, path);
  if (c.left() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    fail(path + " is not a berth snapshot (bad magic)", ErrorKind::Corrupt);
  c.bytes(sizeof kMagic, "magic");
  auto format = c.get<uint32_t>("format version");
  std::string version = c.string(kMaxName, "berth version");
  if (format != format_)
    fail("snapshot " + dir_ + " has format version " + std::to_string(format) + " (berth " + version +
             "); this berth (" + berth_version() + ") reads format " + std::to_string(format_),
         ErrorKind::Unsupported);
  if (version != berth_version())
    fail("snapshot " + dir_ + " was taken by berth " + version + "; this is berth " + berth_version() +
             ": restore it with the version that took it",
         ErrorKind::Unsupported);
  auto n = c.get<uint32_t>("section count");
  if (n == 0 || n > kMaxSections)
    c.corrupt(std::to_string(n) + " sections (1 to " + std::to_string(kMaxSections) + " expected)");
  for (uint32_t i = 0; i < n; ++i) {
    std::string name = c.string(kMaxName, "section name");
    if (name.empty()) c.corrupt("section " + std::to_string(i) + " has an empty name");
    if (has(name)) c.corrupt("section " + name + " appears twice");
    auto len = c.get<uint32_t>("section length");
    if (len > kMaxSectionBytes)
      c.corrupt("section " + name + " claims " + std::to_string(len) + " bytes, at most " +
                std::to_string(kMaxSectionBytes));
    auto sum = c.get<uint32_t>("section checksum");
    std::string payload = c.bytes(len, "a section's payload");
    if (section_sum(name, payload) != sum) c.corrupt("checksum mismatch in section " + name);
    sections_.emplace_back(std::move(name), std::move(payload));
  }
  if (c.left()) c.corrupt(std::to_string(c.left()) + " bytes after the last section");
}

std::string SnapshotReader::memory_path() const { return fs::join(dir_, kSnapshotMemoryFile); }

bool SnapshotReader::has(const std::string& name) const {
  for (const auto& s : sections_)
    if (s.first == name) return true;
  return false;
}

nlohmann::json SnapshotReader::section(const std::string& name) const {
  for (const auto& [n, payload] : sections_) {
    if (n != name) continue;
    nlohmann::json j;
    try {  // a declared length beyond max_size() throws even so
      j = format_ == kBinaryStateFormat ? nlohmann::json::from_cbor(payload, true, false)
                                        : nlohmann::json::parse(payload, nullptr, false);
    } catch (const nlohmann::json::exception&) {
      j = nlohmann::json();
    }
    if (!j.is_object())
      fail("snapshot " + dir_ + " is damaged: section " + name + " is not a JSON object", ErrorKind::Corrupt);
    return j;
  }
  fail("snapshot " + dir_ + " is damaged: it has no section " + name, ErrorKind::Corrupt);
}

std::vector<std::string> SnapshotReader::names() const {
  std::vector<std::string> out;
  for (const auto& s : sections_) out.push_back(s.first);
  return out;
}

}  // namespace berth::vmm
