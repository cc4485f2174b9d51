#include "vmm/migration_target.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vmm/snapshot_file.hpp"
#include "vmm/trace.hpp"

namespace berth::vmm {

MigrationListener::MigrationListener(const TcpAddress& at) : text_(at.text) {
  fd_.reset(static_cast<int>(check(::socket(at.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0),
                                   "socket for " + at.text)));
  int one = 1;
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&at.addr), at.len) != 0 || ::listen(fd_.get(), 1) != 0)
    throw Error("listen on " + at.text + ": " + std::strerror(errno), ErrorKind::FailedPrecondition, errno);
}

std::optional<MigrationStream> MigrationListener::accept() {
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  UniqueFd c(::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!c) return std::nullopt;
  char host[64] = "?";
  uint16_t port = 0;
  if (peer.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&peer);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (peer.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&peer);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  }
  return MigrationStream(std::move(c), std::string(host) + ":" + std::to_string(port));
}

nlohmann::json receive_machine(MigrationStream& s, const std::string& token) {
  nlohmann::json hello = s.receive_json(Frame::Hello, "a hello");
  // Fields of another type read as absent: value() would throw a json
  // type_error (found by tests/fuzz/migration_stream).
  auto text = [&](const char* key, const char* absent) {
    auto it = hello.find(key);
    return it != hello.end() && it->is_string() ? it->get<std::string>() : std::string(absent);
  };
  auto format = hello.find("format");
  bool same_format = format != hello.end() && format->is_number_unsigned() && *format == kMigrationFormat;
  if (!same_format || text("berth", "") != berth_version())
    fail("the source " + s.peer() + " speaks migration format " + hello.value("format", nlohmann::json()).dump() +
             " of berth " + text("berth", "?") + "; this is format " +
             std::to_string(kMigrationFormat) + " of berth " + berth_version(),
         ErrorKind::Unsupported);
  if (!token.empty() && !same_token(text("token", ""), token))
    fail("the source " + s.peer() + " did not give this receiver's token", ErrorKind::FailedPrecondition);
  s.send_json(Frame::Answer, {{"ok", true}, {"stage", "hello"}});
  return s.receive_json(Frame::Machine, "the machine");
}

void receive_state(MigrationStream& s, Machine& m) {
  receive_state(s, m.memory(), [&](const SnapshotReader& r) { m.load_state(r); });
  m.claim_backends();
}

void receive_state(MigrationStream& s, const GuestMemory& mem,
                   const std::function<void(const SnapshotReader&)>& load) {
  bool have_state = false;
  for (;;) {
    MigrationStream::Header h = s.next("pages, the state or done");
    switch (h.type) {
      case Frame::Pages: {
        uint64_t gpa = 0;
        if (h.length < 8 + 4096 || (h.length - 8) % 4096)
          fail("migration stream from " + s.peer() + " is garbage (a pages frame of " + std::to_string(h.length) +
                   " bytes)",
               ErrorKind::Corrupt);
        s.read(&gpa, 8);
        uint8_t* p = gpa % 4096 ? nullptr : mem.ptr(gpa, h.length - 8);
        if (!p)
          fail("migration stream from " + s.peer() + " is garbage (pages outside guest RAM or not page-aligned)",
               ErrorKind::Corrupt);
        s.read(p, h.length - 8);
        break;
      }
      case Frame::State: {
        trace("T state header");
        std::string state(h.length, '\0');
        s.read(state.data(), state.size());
        trace("T state read");
        load(SnapshotReader(state, "the migration state from " + s.peer(), StateEncoding::Binary));
        trace("T state loaded");
        have_state = true;
        break;
      }
      case Frame::Sync:
        s.send_json(Frame::Answer, {{"ok", true}, {"stage", "sync"}});
        break;
      case Frame::Done:
        trace("T done");
        if (!have_state) fail("migration stream from " + s.peer() + " ended without the state", ErrorKind::Corrupt);
        return;
      default:
        fail("migration stream from " + s.peer() + ": frame type " + std::to_string(static_cast<uint32_t>(h.type)) +
                 " where pages, the state or done were expected",
             ErrorKind::Corrupt);
    }
  }
}

void answer_error(MigrationStream& s, const std::string& message, int kind) {
  try {
    s.set_timeout(1000);
    s.send_json(Frame::Answer, {{"ok", false}, {"error", message}, {"kind", kind}});
  } catch (const Error&) {
    return;
  }
  // Closing with unread bytes would reset the connection and could drop
  // the answer the source is about to read: read on until it closes.
  ::shutdown(s.fd(), SHUT_WR);
  char sink[65536];
  for (int i = 0; i < 2000; ++i) {
    pollfd p{s.fd(), POLLIN, 0};
    if (::poll(&p, 1, 500) <= 0) return;
    ssize_t n = ::recv(s.fd(), sink, sizeof sink, MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return;
  }
}

}  // namespace berth::vmm
