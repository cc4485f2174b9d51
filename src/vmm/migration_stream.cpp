#include "vmm/migration_stream.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "vmm/snapshot_file.hpp"

namespace berth::vmm {

namespace {

struct WireHeader {
  uint32_t type, reserved;
  uint64_t length;
};

constexpr uint64_t kMaxJson = 1 << 20;
constexpr uint64_t kMaxPagesFrame = 8 + (4ull << 20);

uint64_t cap_of(Frame t) {
  switch (t) {
    case Frame::Hello:
    case Frame::Machine:
    case Frame::Answer:
      return kMaxJson;
    case Frame::Pages:
      return kMaxPagesFrame;
    case Frame::State:
      return kMaxStateBytes;
    case Frame::Done:
    case Frame::Sync:
      return 0;
  }
  return 0;
}

void wait_for(int fd, short events, int timeout_ms, const std::string& what) {
  pollfd p{fd, events, 0};
  for (;;) {
    int r = ::poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    check(r, what);
    if (r == 0) fail(what + ": no progress in " + std::to_string(timeout_ms / 1000) + " s", ErrorKind::Internal);
    return;
  }
}

}  // namespace

TcpAddress parse_tcp_address(const std::string& text, const std::string& option) {
  auto bad = [&](const std::string& why) -> TcpAddress {
    fail(option + " " + text + ": " + why + " (use tcp:HOST:PORT)");
  };
  if (text.rfind("tcp:", 0) != 0) return bad("not a tcp: address");
  std::string rest = text.substr(4);
  auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size()) return bad("no HOST:PORT");
  std::string host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (*end || p < 1 || p > 65535) return bad("port " + port + " is not 1 to 65535");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || !res) return bad(std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc));
  TcpAddress a;
  std::memcpy(&a.addr, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  ::freeaddrinfo(res);
  if (a.addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&a.addr);
    a.loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  } else if (a.addr.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
    a.loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
  }
  a.text = text;
  return a;
}

MigrationStream::MigrationStream(UniqueFd fd, std::string peer) : fd_(std::move(fd)), peer_(std::move(peer)) {
  int one = 1;
  ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

MigrationStream MigrationStream::connect(const TcpAddress& to, int timeout_ms) {
  UniqueFd s(static_cast<int>(check(::socket(to.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
                                    "socket for " + to.text)));
  if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&to.addr), to.len) != 0) {
    if (errno != EINPROGRESS)
      throw Error("connect to " + to.text + ": " + std::strerror(errno) + " (is a receiver listening there?)",
                  ErrorKind::FailedPrecondition, errno);
    wait_for(s.get(), POLLOUT, timeout_ms, "connect to " + to.text);
    int err = 0;
    socklen_t l = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &l);
    if (err)
      throw Error("connect to " + to.text + ": " + std::strerror(err) + " (is a receiver listening there?)",
                  ErrorKind::FailedPrecondition, err);
  }
  return MigrationStream(std::move(s), to.text);
}

namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void MigrationStream::limit_rate(uint64_t bytes_per_s) {
  rate_ = bytes_per_s;
  rate_start_ns_ = now_ns() - static_cast<int64_t>(sent_ * 1000000000.0 / std::max<uint64_t>(rate_, 1));
}

// Sleeps until what was sent fits the rate since limit_rate().
void MigrationStream::pace() {
  if (!rate_) return;
  auto due = rate_start_ns_ + static_cast<int64_t>(static_cast<double>(sent_) * 1e9 / static_cast<double>(rate_));
  int64_t wait = due - now_ns();
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(std::min<int64_t>(wait, 100000000)));
}

void MigrationStream::fail_with_peer_answer(const std::string& send_error, int err) {
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, 1000) > 0) {
    try {
      int saved = timeout_ms_;
      timeout_ms_ = 1000;
      Header h = next("an answer");
      timeout_ms_ = saved;
      if (h.type == Frame::Answer) {
        std::string s(h.length, '\0');
        read(s.data(), s.size());
        nlohmann::json a = nlohmann::json::parse(s, nullptr, false);
        // The peer's bytes: members of another type read as absent (value()
        // would throw json's type_error, or convert a float such as 1e300
        // to int: undefined behaviour).
        if (a.is_object() && a.contains("ok") && a["ok"] == false) {
          auto k = a.find("kind");
          int64_t kind = k != a.end() && k->is_number_integer() ? k->get<int64_t>() : 0;
          if (kind < 0 || kind > static_cast<int>(ErrorKind::Corrupt)) kind = 0;
          auto e = a.find("error");
          throw Error("the receiver at " + peer_ + " refused: " +
                          (e != a.end() && e->is_string() ? e->get<std::string>() : std::string("no reason given")),
                      static_cast<ErrorKind>(kind));
        }
      }
    } catch (const Error& e) {
      if (std::string(e.what()).find("refused: ") != std::string::npos) throw;
    }
  }
  throw Error(send_error, ErrorKind::FailedPrecondition, err);
}

void MigrationStream::write_all(const void* data, uint64_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (len) {
    ssize_t n = ::send(fd_.get(), p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      wait_for(fd_.get(), POLLOUT, timeout_ms_, "send to " + peer_);
      continue;
    }
    if (n < 0) {
      int e = errno;
      fail_with_peer_answer("send to " + peer_ + ": " + std::strerror(e) + " (the peer went away)", e);
    }
    p += n;
    len -= static_cast<uint64_t>(n);
    sent_ += static_cast<uint64_t>(n);
    pace();
  }
}

void MigrationStream::send(Frame type, const void* data, uint64_t len) {
  WireHeader h{static_cast<uint32_t>(type), 0, len};
  write_all(&h, sizeof h);
  if (len) write_all(data, len);
}

void MigrationStream::send_json(Frame type, const nlohmann::json& j) {
  std::string s = json_text(j);
  send(type, s.data(), s.size());
}

void MigrationStream::send_pages(uint64_t gpa, const uint8_t* host, uint64_t len) {
  WireHeader h{static_cast<uint32_t>(Frame::Pages), 0, 8 + len};
  write_all(&h, sizeof h);
  write_all(&gpa, 8);
  write_all(host, len);
}

void MigrationStream::read(void* dst, uint64_t len) {
  auto* p = static_cast<uint8_t*>(dst);
  while (len) {
    ssize_t n = ::recv(fd_.get(), p, len, MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      wait_for(fd_.get(), POLLIN, timeout_ms_, "receive from " + peer_);
      continue;
    }
    if (n < 0) throw Error("receive from " + peer_ + ": " + std::strerror(errno), ErrorKind::FailedPrecondition, errno);
    if (n == 0) fail(peer_ + " closed the migration stream midway", ErrorKind::FailedPrecondition);
    p += n;
    len -= static_cast<uint64_t>(n);
  }
}

MigrationStream::Header MigrationStream::next(const char* expected) {
  WireHeader h{};
  read(&h, sizeof h);
  auto t = static_cast<Frame>(h.type);
  if (h.type < 1 || h.type > 7 || h.reserved != 0)
    fail("migration stream from " + peer_ + " is garbage (frame type " + std::to_string(h.type) + " where " +
             expected + " was expected)",
         ErrorKind::Corrupt);
  if (h.length > cap_of(t))
    fail("migration stream from " + peer_ + " is garbage (a frame of " + std::to_string(h.length) +
             " bytes, more than its type allows)",
         ErrorKind::Corrupt);
  return {t, h.length};
}

nlohmann::json MigrationStream::receive_json(Frame want, const char* what) {
  Header h = next(what);
  if (h.type != want)
    fail("migration stream from " + peer_ + ": " + what + " expected, frame type " +
             std::to_string(static_cast<uint32_t>(h.type)) + " came",
         ErrorKind::Corrupt);
  std::string s(h.length, '\0');
  read(s.data(), s.size());
  nlohmann::json j = nlohmann::json::parse(s, nullptr, false);
  if (!j.is_object()) fail("migration stream from " + peer_ + ": " + what + " is not a JSON object", ErrorKind::Corrupt);
  return j;
}

nlohmann::json MigrationStream::receive_answer(const char* stage) {
  nlohmann::json a = receive_json(Frame::Answer, stage);
  // A field of another type reads as absent (value() would throw a json
  // type_error): the peer is not trusted to get types right.
  auto ok = a.find("ok");
  if (ok != a.end() && ok->is_boolean() && ok->get<bool>()) return a;
  auto k = a.find("kind");
  int64_t kind = k != a.end() && k->is_number_integer() ? k->get<int64_t>() : 0;
  if (kind < 0 || kind > static_cast<int64_t>(ErrorKind::Corrupt)) kind = 0;
  auto e = a.find("error");
  throw Error("the receiver at " + peer_ + " refused: " +
                  (e != a.end() && e->is_string() ? e->get<std::string>() : std::string("no reason given")),
              static_cast<ErrorKind>(kind));
}

const std::string& host_boot_id() {
  static const std::string id = [] {
    try {
      std::string s = fs::read_file("/proc/sys/kernel/random/boot_id");
      return s.substr(0, s.find('\n'));
    } catch (const Error&) {
      return std::string();
    }
  }();
  return id;
}

uint64_t monotonic_ns() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

bool same_token(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

}  // namespace berth::vmm
