// The receiving end of a live migration (src/vmm/migration_stream.cpp,
// migration_target.cpp): the bytes a source sends, hello and machine
// first, then pages, state and done, arriving on a real socket. Pages
// must land in guest RAM only; the state goes through the snapshot
// reader and the device loaders (tests/fuzz/vmm_devices.hpp) where a
// Machine would load it into KVM. The same bytes then go to the source's
// side as the target's answers (receive_answer).
//
// BERTH_FUZZ_WRITE_SEED=FILE makes a seed (a well-formed stream) instead.
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "vmm/machine_section.hpp"
#include "vmm/migration_target.hpp"
#include "vmm/snapshot_file.hpp"
#include "vmm_devices.hpp"

using namespace berth;
using namespace berth::vmm;

namespace {

constexpr uint64_t kRam = 2 * kMiB;

std::string frame(Frame type, const std::string& payload) {
  std::string out(16, '\0');
  uint32_t t = static_cast<uint32_t>(type);
  uint64_t n = payload.size();
  std::memcpy(out.data(), &t, 4);
  std::memcpy(out.data() + 8, &n, 8);
  return out + payload;
}

void write_seed(const char* path) {
  std::string s = frame(Frame::Hello, nlohmann::json{{"format", kMigrationFormat}, {"berth", berth_version()}, {"token", "t"}}.dump());
  s += frame(Frame::Machine, R"({"cpus":1,"memory":2097152})");
  std::string pages(8 + 4096, '\x5a');
  uint64_t gpa = 0x10000;
  std::memcpy(pages.data(), &gpa, 8);
  s += frame(Frame::Pages, pages);
  SnapshotWriter w;
  Serial serial([](const uint8_t*, size_t) {}, [](bool) {});
  nlohmann::json j;
  serial.save(j);
  w.add("pio/0x3f8", j);
  s += frame(Frame::State, w.serialize(StateEncoding::Binary));
  s += frame(Frame::Done, "");
  std::ofstream(path, std::ios::binary) << s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static GuestMemory mem(kRam);
  if (const char* seed = std::getenv("BERTH_FUZZ_WRITE_SEED")) {
    write_seed(seed);
    std::exit(0);
  }
  // Checksums of state frames set right (vmm_devices.hpp), so the fuzzer
  // gets past them to the section parsers; the frame lengths are followed
  // as the receiver follows them.
  std::string fixed(reinterpret_cast<const char*>(data), size);
  for (size_t at = 0; fixed.size() - at >= 16;) {
    uint32_t type;
    uint64_t len;
    std::memcpy(&type, fixed.data() + at, 4);
    std::memcpy(&len, fixed.data() + at + 8, 8);
    at += 16;
    if (len > fixed.size() - at) break;
    if (type == static_cast<uint32_t>(Frame::State)) {
      std::string state = fixed.substr(at, len);
      if (fuzz::fix_snapshot_checksums(state)) fixed.replace(at, len, state);
    }
    at += len;
  }
  data = reinterpret_cast<const uint8_t*>(fixed.data());
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fuzz::die("socketpair", "");
  int buf = 4 << 20;
  ::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  // The source's bytes, all sent up front, then its end closes for writing.
  for (size_t at = 0; at < size;) {
    ssize_t n = ::send(sv[1], data + at, size - at, MSG_NOSIGNAL);
    if (n <= 0) break;  // more than the socket holds: the rest is cut off
    at += static_cast<size_t>(n);
  }
  ::shutdown(sv[1], SHUT_WR);
  fuzz::reject([&] {
    MigrationStream s(UniqueFd(sv[0]), "fuzz source");
    s.set_timeout(1000);
    fuzz::reject([&] {
      nlohmann::json machine = receive_machine(s, "t");
      fuzz::reject([&] { parse_machine_section(machine, "the fuzz migration"); });  // as vmm_process does
      receive_state(s, mem, [&](const SnapshotReader& r) {
        for (const auto& name : r.names()) {
          nlohmann::json sec;
          fuzz::reject([&] { sec = r.section(name); });
          if (sec.is_object()) fuzz::load_into_devices(sec, mem);
        }
      });
    });
  });
  ::close(sv[1]);

  // The source's side: the same bytes as the target's answers.
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) fuzz::die("socketpair", "");
  ::setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  ::setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  [[maybe_unused]] ssize_t sent = ::send(sv[1], data, size, MSG_NOSIGNAL);
  ::shutdown(sv[1], SHUT_WR);
  fuzz::reject([&] {
    MigrationStream s(UniqueFd(sv[0]), "fuzz target");
    s.set_timeout(1000);
    for (const char* stage : {"hello", "ready", "running"}) s.receive_answer(stage);
  });
  ::close(sv[1]);
  return 0;
}
