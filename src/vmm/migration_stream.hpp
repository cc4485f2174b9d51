// The byte stream of a live migration (docs/vm.md, "Live migration"): one
// TCP connection from the source VMM to the target VMM, carrying frames
//
//   u32 type, u32 reserved (0), u64 payload length, payload
//
//   Hello    source -> target  JSON {"format":2,"berth":VERSION,"token":T}
//   Answer   target -> source  {"ok":true,"stage":"hello"}
//   Machine  source -> target  JSON, the machine section (machine_section.hpp)
//   Answer   target -> source  {"ok":true,"stage":"ready"}: its VM is built
//   Pages    source -> target  u64 guest-physical address, then whole pages
//   Sync     source -> target  empty, after each pre-copy round
//   Answer   target -> source  {"ok":true,"stage":"sync"}: it has read all
//                              before (so the source measures the rate the
//                              target takes pages at, not its socket buffer's)
//   State    source -> target  a state in format 2 (snapshot_file.hpp: CBOR
//                              payloads), then the last dirty pages
//   Done     source -> target  empty: the source has let go of its disks
//   Answer   target -> source  {"ok":true,"stage":"running","boot_id":ID,
//                              "resumed_ns":T}: its first vCPU entered
//                              KVM_RUN at T (CLOCK_MONOTONIC of boot ID)
//
// A target that gives up answers {"ok":false,"error":...,"kind":N} at
// once and reads on until the source closes, so the source, still
// sending, gets the reason rather than a broken pipe.
//
// Every length is capped by its type before anything is allocated or read
// into guest RAM, and pages must lie in guest RAM: a peer that sends
// garbage gets one error naming it (ErrorKind::Corrupt), never a crash or
// a write outside the VM. Reads and writes time out, so a peer that
// vanishes without closing is noticed too.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/fd.hpp"

namespace berth::vmm {

// 2: the state frame's payloads are CBOR (snapshot_file.hpp's format 2),
// the state comes before the last pages, and rounds end with a sync.
inline constexpr uint32_t kMigrationFormat = 2;

enum class Frame : uint32_t { Hello = 1, Machine = 2, Pages = 3, State = 4, Done = 5, Answer = 6, Sync = 7 };

// "tcp:HOST:PORT" (HOST a name, an IPv4 address or [IPv6]).
struct TcpAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
  bool loopback = false;
  std::string text;  // as given
};
// InvalidArgument naming `option` if it is not tcp:HOST:PORT or HOST does
// not resolve.
TcpAddress parse_tcp_address(const std::string& text, const std::string& option);

class MigrationStream {
 public:
  struct Header {
    Frame type;
    uint64_t length;
  };
  MigrationStream(UniqueFd fd, std::string peer);
  // Connects (up to timeout_ms); FailedPrecondition naming the address if
  // nobody listens there.
  static MigrationStream connect(const TcpAddress& to, int timeout_ms);

  const std::string& peer() const { return peer_; }
  int fd() const { return fd_.get(); }
  uint64_t bytes_sent() const { return sent_; }
  void set_timeout(int ms) { timeout_ms_ = ms; }

  // Sending paces itself to bytes_per_s (0: as fast as it goes).
  void limit_rate(uint64_t bytes_per_s);
  void send(Frame type, const void* data, uint64_t len);
  void send_json(Frame type, const nlohmann::json& j);
  void send_pages(uint64_t gpa, const uint8_t* host, uint64_t len);
  // The next frame's header; Corrupt for an unknown type or a length above
  // the type's cap (`expected` names what was awaited, for the message).
  Header next(const char* expected);
  void read(void* dst, uint64_t len);
  // A whole JSON frame of type `want`; anything else is Corrupt.
  nlohmann::json receive_json(Frame want, const char* what);
  // Throws the error an {"ok":false} answer carries.
  nlohmann::json receive_answer(const char* stage);

 private:
  void write_all(const void* data, uint64_t len);
  void pace();
  // The peer's {"ok":false} answer if one is waiting (after a send failed).
  [[noreturn]] void fail_with_peer_answer(const std::string& send_error, int err);
  UniqueFd fd_;
  std::string peer_;
  uint64_t sent_ = 0;
  int timeout_ms_ = 30000;
  uint64_t rate_ = 0;
  int64_t rate_start_ns_ = 0;
};

// This boot of this host (/proc/sys/kernel/random/boot_id; "" if it
// cannot be read): two VMMs that see the same one share CLOCK_MONOTONIC.
const std::string& host_boot_id();
// CLOCK_MONOTONIC (steady_clock) in nanoseconds.
uint64_t monotonic_ns();

// Constant-time comparison of tokens, so a wrong one tells nothing by its timing.
bool same_token(const std::string& a, const std::string& b);

}  // namespace berth::vmm
