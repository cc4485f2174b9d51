// Snapshots without /dev/kvm: the state file format against damage of every
// kind (each truncation, each flipped byte, lying lengths, other versions),
// guest memory saved sparse and mapped back privately, and device state
// carried from one device to a fresh one through its registers.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "fake_virtio_driver.hpp"
#include "test_support.hpp"
#include "vmm/crc32c.hpp"
#include "vmm/device_state.hpp"
#include "vmm/devices/virtio_pci.hpp"
#include "vmm/machine_section.hpp"
#include "vmm/snapshot_file.hpp"

namespace berth::vmm {
namespace {

using nlohmann::json;

std::string slurp(const std::string& path) { return fs::read_file(path); }
void spit(const std::string& path, const std::string& data) { std::ofstream(path, std::ios::binary) << data; }

// The error a read of dir gives, as "<kind>: <message>"; "" if it reads.
std::string read_error(const std::string& dir) {
  try {
    SnapshotReader r(dir);
    return "";
  } catch (const Error& e) {
    return std::string(kind_name(e.kind())) + ": " + e.what();
  }
}

TEST(Crc32c, KnownVectorAndChaining) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xe3069283u);
  EXPECT_EQ(crc32c(crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
  std::string big(100000, 'x');
  EXPECT_EQ(crc32c(crc32c(0, big.data(), 77777), big.data() + 77777, big.size() - 77777),
            crc32c(0, big.data(), big.size()));
}

class SnapshotFileTest : public ::testing::Test {
 protected:
  testing::TempDir dir;
  std::string state = dir / "state";
  void SetUp() override {
    SnapshotWriter w;
    w.add("machine", {{"cpus", 2}, {"name", "vm1"}});
    w.add("device/x", {{"bytes", "00ff"}});
    w.write(state);
  }
};

TEST_F(SnapshotFileTest, RoundTrips) {
  SnapshotReader r(dir.path());
  EXPECT_EQ(r.names(), (std::vector<std::string>{"machine", "device/x"}));
  EXPECT_EQ(r.section("machine")["cpus"], 2);
  EXPECT_TRUE(r.has("device/x"));
  EXPECT_FALSE(r.has("device/y"));
  try {
    r.section("device/y");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find("has no section device/y"), std::string::npos) << e.what();
  }
}

// A migration sends the state as CBOR (format 2): blobs stay bytes there,
// and become hex strings in a file (format 1). Each side takes its own
// format only, and garbage in a checksummed CBOR payload is still damage.
TEST(StateEncoding, BinaryCarriesBlobsAndFilesHoldHex) {
  const uint8_t raw[] = {0x00, 0xff, 0x10};
  auto build = [&] {
    SnapshotWriter w;
    w.add("machine", {{"cpus", 1}});
    w.add("device/x", {{"blob", state_blob(raw, sizeof raw)}, {"list", {1, 2}}});
    return w;
  };
  std::string bin = build().serialize(StateEncoding::Binary);
  SnapshotReader r(bin, "the stream", StateEncoding::Binary);
  json x = r.section("device/x");
  ASSERT_TRUE(x["blob"].is_binary());
  EXPECT_EQ(state_bytes(x, "blob", "x", 16), std::vector<uint8_t>(raw, raw + sizeof raw));
  EXPECT_EQ(x["list"], json({1, 2}));

  std::string text = build().serialize();
  SnapshotReader t(text, "a file");
  EXPECT_EQ(t.section("device/x")["blob"], "00ff10");
  EXPECT_EQ(state_bytes(t.section("device/x"), "blob", "x", 16), std::vector<uint8_t>(raw, raw + sizeof raw));
  EXPECT_EQ(state_text(x), t.section("device/x"));

  // Each reader takes one format.
  auto error_of = [](const std::function<void()>& f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return std::string(kind_name(e.kind())) + ": " + e.what();
    }
    return "";
  };
  EXPECT_NE(error_of([&] { SnapshotReader(bin, "a file"); }).find("unsupported: snapshot a file has format version 2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { SnapshotReader(text, "s", StateEncoding::Binary); }).find("has format version 1"),
            std::string::npos);
  // A blob longer than its field allows, and CBOR that is no object.
  EXPECT_NE(error_of([&] { state_bytes(x, "blob", "x", 2); }).find("field blob is longer than 2 bytes"),
            std::string::npos);
  SnapshotWriter w;
  w.add("machine", json::array({1}));
  std::string not_object = w.serialize(StateEncoding::Binary);
  EXPECT_NE(error_of([&] { SnapshotReader(not_object, "s", StateEncoding::Binary).section("machine"); })
                .find("corrupt: snapshot s is damaged: section machine is not a JSON object"),
            std::string::npos);
}

// Every truncation of a CBOR payload (its checksum made to match, as a
// peer that lies would) is damage, never a crash.
TEST(StateEncoding, TruncatedCborIsDamage) {
  const uint8_t raw[64] = {1, 2, 3};
  json tree = {{"blob", state_blob(raw, sizeof raw)}, {"n", 12345678901ull}, {"s", "text"}};
  std::vector<uint8_t> cbor = json::to_cbor(tree);
  for (size_t n = 0; n < cbor.size(); ++n) {
    std::string payload(cbor.begin(), cbor.begin() + static_cast<long>(n));
    std::string data = std::string("BERTHSNP");
    auto put32 = [&](uint32_t v) { data.append(reinterpret_cast<const char*>(&v), 4); };
    auto put16 = [&](uint16_t v) { data.append(reinterpret_cast<const char*>(&v), 2); };
    put32(kBinaryStateFormat);
    put16(static_cast<uint16_t>(std::strlen(berth_version())));
    data += berth_version();
    put32(1);
    put16(1);
    data += "x";
    put32(static_cast<uint32_t>(payload.size()));
    put32(crc32c(crc32c(0, "x", 1), payload.data(), payload.size()));
    data += payload;
    SnapshotReader r(data, "s", StateEncoding::Binary);
    try {
      r.section("x");
      ADD_FAILURE() << "a payload of " << n << " of " << cbor.size() << " bytes was taken";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Corrupt) << e.what();
    }
  }
}

TEST_F(SnapshotFileTest, EveryTruncationIsCorrupt) {
  std::string whole = slurp(state);
  for (size_t n = 0; n < whole.size(); ++n) {
    spit(state, whole.substr(0, n));
    std::string err = read_error(dir.path());
    EXPECT_EQ(err.rfind("corrupt: ", 0), 0u) << "at " << n << ": " << err;
  }
}

TEST_F(SnapshotFileTest, EveryFlippedByteIsCaught) {
  std::string whole = slurp(state);
  for (size_t i = 0; i < whole.size(); ++i) {
    std::string bad = whole;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    spit(state, bad);
    std::string err = read_error(dir.path());
    EXPECT_NE(err, "") << "flip at " << i << " went unnoticed";
  }
}

TEST_F(SnapshotFileTest, LyingLengthsAndOtherVersionsAreRefused) {
  std::string whole = slurp(state);
  // magic 8, format 4, version 2+n, count 4, then the first name's length.
  size_t first = 8 + 4 + 2 + std::strlen(berth_version()) + 4;
  size_t len_at = first + 2 + std::strlen("machine");
  std::string huge = whole;
  uint32_t lie = 0xfffffff0u;
  std::memcpy(&huge[len_at], &lie, 4);
  spit(state, huge);
  EXPECT_NE(read_error(dir.path()).find("claims 4294967280 bytes, at most"), std::string::npos)
      << read_error(dir.path());

  std::string count = whole;
  uint32_t many = 1u << 30;
  std::memcpy(&count[first - 4], &many, 4);
  spit(state, count);
  EXPECT_NE(read_error(dir.path()).find("sections (1 to 1024 expected)"), std::string::npos);

  std::string format = whole;
  format[8] = 9;
  spit(state, format);
  std::string err = read_error(dir.path());
  EXPECT_EQ(err.rfind("unsupported: ", 0), 0u) << err;
  EXPECT_NE(err.find("has format version 9 (berth " + std::string(berth_version()) + "); this berth"),
            std::string::npos)
      << err;

  std::string version = whole;
  version[14] = '7';  // first character of the berth version
  spit(state, version);
  err = read_error(dir.path());
  EXPECT_NE(err.find("was taken by berth 7"), std::string::npos) << err;

  spit(state, std::string(kMaxStateBytes + 1, '\0'));
  EXPECT_NE(read_error(dir.path()).find("more than a state file can be"), std::string::npos);
  ::unlink(state.c_str());
  err = read_error(dir.path());
  EXPECT_EQ(err.rfind("not found: no snapshot at", 0), 0u) << err;
}

TEST(GuestMemorySnapshot, SavedSparseAndMappedBackPrivately) {
  testing::TempDir d;
  std::string path = d / "memory";
  GuestMemory m(64 * kMiB);
  m.write<uint64_t>(0x1000, 0x1111);
  m.write<uint64_t>(40 * kMiB + 8, 0x2222);
  std::memset(m.ptr(0x3000, 4096), 0, 4096);  // touched, but all zeros
  {
    UniqueFd f(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    EXPECT_EQ(m.save_to(f.get(), path), 2u * 4096);
  }
  struct stat st{};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), 64 * kMiB);
  EXPECT_LE(st.st_blocks * 512, 64 * 1024);  // holes, not 64 MiB of zeros

  GuestMemory r(64 * kMiB, path);
  EXPECT_EQ(*r.read<uint64_t>(0x1000), 0x1111u);
  EXPECT_EQ(*r.read<uint64_t>(40 * kMiB + 8), 0x2222u);
  EXPECT_EQ(*r.read<uint64_t>(20 * kMiB), 0u);
  // The restored guest's writes stay its own; the file keeps the snapshot.
  r.write<uint64_t>(0x1000, 0x3333);
  r.write<uint64_t>(50 * kMiB, 0x4444);
  EXPECT_EQ(GuestMemory(64 * kMiB, path).read<uint64_t>(0x1000), 0x1111u);
  // A snapshot of the restored memory holds what it got from the file and
  // what the guest wrote since.
  std::string again = d / "memory2";
  {
    UniqueFd f(::open(again.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    r.save_to(f.get(), again);
  }
  GuestMemory r2(64 * kMiB, again);
  EXPECT_EQ(*r2.read<uint64_t>(0x1000), 0x3333u);
  EXPECT_EQ(*r2.read<uint64_t>(40 * kMiB + 8), 0x2222u);
  EXPECT_EQ(*r2.read<uint64_t>(50 * kMiB), 0x4444u);

  spit(path, "short");
  try {
    GuestMemory bad(64 * kMiB, path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
    EXPECT_NE(std::string(e.what()).find("is 5 bytes, not the 67108864 of the VM's RAM"), std::string::npos);
  }
}

// A device's state loaded into a fresh device: the driver carries on with
// the same rings, and the next request is served at the right index.
TEST(DeviceState, VirtioRngCarriesOnInAFreshDevice) {
  GuestMemory mem(16 * kMiB);
  EventLoop loop;
  auto a = make_virtio_rng();
  a->bind(mem, loop);
  FakeVirtioDriver da(*a, mem);
  da.start(1);
  da.submit(0, {{0x100000, 16, true}});
  ASSERT_TRUE(da.used(0));
  a->pause();
  json saved;
  a->save(saved);

  auto b = make_virtio_rng();
  b->bind(mem, loop);
  b->load(saved);
  FakeVirtioDriver db(*b, mem);
  db.adopt(da);
  EXPECT_EQ(db.status(), 0xf);
  uint16_t head = db.submit(0, {{0x100100, 32, true}});
  auto u = db.used(0);
  ASSERT_TRUE(u);
  EXPECT_EQ(u->head, head);
  EXPECT_EQ(u->len, 32u);

  // Hostile state: each bad field is named, nothing is half-loaded into
  // places that could hurt the VMM.
  auto expect_corrupt = [&](json s, const std::string& what) {
    auto c = make_virtio_rng();
    c->bind(mem, loop);
    try {
      c->load(s);
      ADD_FAILURE() << "loaded: " << s.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::Corrupt);
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  json s = saved;
  s["queues"][0]["size"] = 3;
  expect_corrupt(s, "queue size 3 is not a power of two");
  s = saved;
  s["queues"][0]["size"] = 512;
  expect_corrupt(s, "field size is 512, at most 256");
  s = saved;
  s["queues"].push_back(saved["queues"][0]);
  expect_corrupt(s, "field queues has 2 entries, at most 1");
  s = saved;
  s["driver_features"] = ~0ull;
  expect_corrupt(s, "the driver took features the device never offered");
  s = saved;
  s.erase("status");
  expect_corrupt(s, "field status is missing");
  s = saved;
  s["pci"]["bar0"] = "x";
  expect_corrupt(s, "field bar0 is not an unsigned number");
  expect_corrupt(json::array(), "state is not a JSON object");
}

// The console's backlog and a half-sent chain go with its state: the next
// client of the restored device gets what the guest wrote before.
TEST(DeviceState, VirtioConsoleKeepsItsBacklog) {
  testing::TempDir d;
  GuestMemory mem(16 * kMiB);
  EventLoop loop;
  auto a = make_virtio_console(d / "a.sock");
  a->bind(mem, loop);
  FakeVirtioDriver da(*a, mem);
  da.start(2);
  std::memcpy(mem.ptr(0x100000, 11), "hello there", 11);
  da.submit(1, {{0x100000, 11, false}});
  ASSERT_TRUE(da.used(1));
  a->pause();
  json saved;
  a->save(saved);
  a.reset();

  std::string path = d / "b.sock";
  auto b = make_virtio_console(path);
  b->bind(mem, loop);
  b->load(saved);
  b->resume();
  UniqueFd c(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::strcpy(sa.sun_path, path.c_str());
  ASSERT_EQ(::connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  for (int i = 0; i < 3; ++i) loop.run_once(20);
  char buf[64] = {};
  ASSERT_EQ(::recv(c.get(), buf, sizeof buf, MSG_DONTWAIT), 11);
  EXPECT_STREQ(buf, "hello there");

  json bad = saved;
  bad["device"]["tx"] = {{"head", 0}, {"bufs", json::array({json::array({0x7fff00000000ull, 16})})}};
  auto e = make_virtio_console(d / "e.sock");
  e->bind(mem, loop);
  try {
    e->load(bad);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("transmit chain lies outside guest memory"), std::string::npos)
        << err.what();
  }
}

}  // namespace
}  // namespace berth::vmm

// Found by tests/fuzz/snapshot_file: a machine section whose memory is a
// float (2.09e154) was read with get<uint64_t>, undefined behaviour. Counts
// must be whole numbers, and a VM's vCPUs at most 4096.
TEST(MachineSection, CountsMustBeWholeNumbers) {
  nlohmann::json ok = {{"name", "m"},  {"cpus", 2},   {"memory", 268435456}, {"kernel", "/k"}, {"cmdline", ""},
                       {"rng", true},   {"tap", ""},   {"channel", ""},       {"disks", nlohmann::json::array()}};
  EXPECT_EQ(berth::vmm::parse_machine_section(ok, "snapshot s").vm.memory, 268435456u);
  for (auto [key, bad] : {std::pair<const char*, nlohmann::json>{"memory", 2.09e154}, {"memory", -1}, {"memory", "1"},
                          {"cpus", 1.5}, {"cpus", 5000}, {"cpus", 4294967297.0}}) {
    nlohmann::json m = ok;
    m[key] = bad;
    try {
      berth::vmm::parse_machine_section(m, "snapshot s");
      ADD_FAILURE() << key << " " << bad.dump() << " was taken";
    } catch (const berth::Error& e) {
      EXPECT_EQ(e.kind(), berth::ErrorKind::Corrupt);
      EXPECT_NE(std::string(e.what()).find(std::string("machine section's ") + key), std::string::npos) << e.what();
    }
  }
}
