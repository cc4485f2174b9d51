#include "api/tls.hpp"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"

namespace berth::api {

namespace {

// OpenSSL's queued errors as one line (and the queue emptied, so a later
// connection's message is its own).
std::string ssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    // "error:0A000412:SSL routines::ssl/tls alert bad certificate": the
    // reason is what a reader wants.
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

void readable_or_fail(const std::string& flag, const std::string& path) {
  if (path.empty()) fail(flag + " is required with --tls/--tlsverify");
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) fail(flag + " " + path + ": " + std::strerror(errno));
}

std::string peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
    port = ntohs(a->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
};

// A client that connects and never finishes its handshake holds only its
// own thread, and only this long.
constexpr int kHandshakeMs = 30000;

// Waits for the handshake's first byte: a TLS record begins with 22
// (handshake). Letters are a plain HTTP request, answered as Go's
// net/http answers it (so the docker CLI prints dockerd's words).
// False when the connection is to be dropped.
bool looks_like_tls(int fd, const std::string& peer) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, kHandshakeMs) <= 0) {
    log::warn("tls: " + peer + ": no handshake within " + std::to_string(kHandshakeMs / 1000) + " s");
    return false;
  }
  unsigned char c = 0;
  ssize_t n;
  do n = ::recv(fd, &c, 1, MSG_PEEK);
  while (n < 0 && errno == EINTR);
  if (n <= 0) return false;
  if (c == 22) return true;
  if (c >= 'A' && c <= 'Z') {
    static const char answer[] = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    [[maybe_unused]] auto w = ::send(fd, answer, sizeof answer - 1, MSG_NOSIGNAL);
    log::warn("tls: " + peer + ": plain HTTP on a TLS port, refused");
  } else {
    log::warn("tls: " + peer + ": not a TLS handshake, refused");
  }
  return false;
}

// SSL_accept on a non-blocking socket, bounded by kHandshakeMs.
bool handshake(SSL* ssl, int fd, const std::string& peer) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kHandshakeMs);
  for (;;) {
    ERR_clear_error();
    int r = SSL_accept(ssl);
    if (r == 1) return true;
    int e = SSL_get_error(ssl, r);
    short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (!ev) {
      std::string why = e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0
                            ? std::string("connection closed during the handshake")
                            : ssl_errors();
      log::warn("tls: " + peer + ": handshake refused: " + why);
      return false;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, ev, 0};
    int r2 = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (r2 < 0 && errno == EINTR) continue;
    if (r2 <= 0) {
      log::warn("tls: " + peer + ": handshake not finished within " + std::to_string(kHandshakeMs / 1000) + " s");
      return false;
    }
  }
}

// Moves bytes between the TLS connection (net) and the plain end of the
// socket pair (app) until both directions are done. One thread, both
// sockets non-blocking: an SSL object must not be read and written from
// two threads, and a TLS 1.3 read may need to write.
void pump(SSL* ssl, int net, int app) {
  constexpr size_t kMax = 64 * 1024;  // per direction: a slow reader stops the other side
  std::string to_app, to_net;
  bool net_in = true;    // the client may still send
  bool app_out = true;   // the app end still takes bytes
  bool app_in = true;    // the app may still send
  bool app_shut = false; // the client's end of stream passed on to the app
  bool closed_net = false;
  bool app_hup = false;   // the app closed its end (poll would report it at once, every time)
  char buf[16384];
  for (;;) {
    bool want_net_read = false, want_net_write = false;
    // client -> to_app
    while (net_in && app_out && to_app.size() < kMax) {
      ERR_clear_error();
      int n = SSL_read(ssl, buf, sizeof buf);
      if (n > 0) {
        to_app.append(buf, static_cast<size_t>(n));
        continue;
      }
      int e = SSL_get_error(ssl, n);
      if (e == SSL_ERROR_WANT_READ) want_net_read = true;
      else if (e == SSL_ERROR_WANT_WRITE) want_net_write = true;
      else if (e == SSL_ERROR_ZERO_RETURN) net_in = false;  // close_notify or EOF: the client's half-close
      else return;  // reset, or a broken record: the connection is gone
      break;
    }
    // to_app -> app, until it is empty or the app end is full (then
    // POLLOUT below)
    while (!to_app.empty() && app_out) {
      ssize_t n = ::send(app, to_app.data(), to_app.size(), MSG_NOSIGNAL);
      if (n > 0) {
        to_app.erase(0, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN) app_out = false;
      break;
    }
    if (!app_out) to_app.clear();
    if (!net_in && to_app.empty() && !app_shut) {
      ::shutdown(app, SHUT_WR);
      app_shut = true;
    }
    // app -> to_net
    while (app_in && to_net.size() < kMax) {
      ssize_t n = ::recv(app, buf, sizeof buf, 0);
      if (n > 0) {
        to_net.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0 || (errno != EAGAIN && errno != EINTR)) app_in = false;
      break;
    }
    // to_net -> client, until it is empty or OpenSSL waits for the socket:
    // a partial write that left bytes here without a WANT_* would have
    // nothing to wake this loop for them.
    while (!to_net.empty()) {
      ERR_clear_error();
      int n = SSL_write(ssl, to_net.data(), static_cast<int>(to_net.size()));
      if (n > 0) {
        to_net.erase(0, static_cast<size_t>(n));
        continue;
      }
      int e = SSL_get_error(ssl, n);
      if (e == SSL_ERROR_WANT_WRITE) want_net_write = true;
      else if (e == SSL_ERROR_WANT_READ) want_net_read = true;
      else return;
      break;
    }
    if (!app_in && to_net.empty() && !closed_net) {
      // The answer is complete: close_notify, then FIN (the client reads
      // a stream's end from it).
      SSL_shutdown(ssl);
      ::shutdown(net, SHUT_WR);
      closed_net = true;
    }
    if (closed_net && (!net_in || !app_out)) return;

    pollfd p[2] = {{net, 0, 0}, {app_hup ? -1 : app, 0, 0}};
    if (want_net_read) p[0].events |= POLLIN;
    if (want_net_write) p[0].events |= POLLOUT;
    if (app_in && to_net.size() < kMax) p[1].events |= POLLIN;
    if (app_out && !to_app.empty()) p[1].events |= POLLOUT;
    if (p[1].events & POLLIN) p[1].fd = app;  // a hung-up end still gives its last bytes, then EOF
    if (::poll(p, 2, -1) < 0 && errno != EINTR) return;
    // The app closed its end altogether (not only its write side): nothing
    // the client still sends has a reader.
    if (p[1].revents & POLLHUP) {
      app_out = false;
      app_hup = true;
    }
    // Reset, or both directions down: once the client has stopped sending
    // too, nothing more can pass (while it still sends, SSL_read says so).
    if ((p[0].revents & (POLLERR | POLLHUP)) && !net_in) return;
  }
}

}  // namespace

struct TlsContext::Impl {
  SSL_CTX* ctx = nullptr;
  ~Impl() { SSL_CTX_free(ctx); }
};

TlsContext::TlsContext(const TlsOptions& o) : impl_(std::make_unique<Impl>()) {
  readable_or_fail("--tlscert", o.cert);
  readable_or_fail("--tlskey", o.key);
  if (o.verify) readable_or_fail("--tlscacert", o.ca);
  impl_->ctx = SSL_CTX_new(TLS_server_method());
  if (!impl_->ctx) fail("TLS: " + ssl_errors());
  SSL_CTX* ctx = impl_->ctx;
  // dockerd's floor: TLS 1.2.
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // A client that ends its stream without close_notify (a plain shutdown
  // of its socket) has half-closed, not broken the connection.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  // No resumption: a session ticket is one more write after the handshake
  // for nothing (each docker command makes fresh connections anyway).
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_use_certificate_chain_file(ctx, o.cert.c_str()) != 1)
    fail("--tlscert " + o.cert + ": not a PEM certificate: " + ssl_errors());
  if (SSL_CTX_use_PrivateKey_file(ctx, o.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate as it loads it.
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      ERR_clear_error();
      fail("--tlskey " + o.key + ": does not match the certificate " + o.cert);
    }
    fail("--tlskey " + o.key + ": not a PEM private key: " + ssl_errors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1)
    fail("--tlskey " + o.key + ": does not match the certificate " + o.cert + ": " + ssl_errors());
  if (o.verify) {
    if (SSL_CTX_load_verify_locations(ctx, o.ca.c_str(), nullptr) != 1)
      fail("--tlscacert " + o.ca + ": not a PEM CA certificate: " + ssl_errors());
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(o.ca.c_str());
    if (!names) fail("--tlscacert " + o.ca + ": no CA certificate in it: " + ssl_errors());
    SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
}

TlsContext::~TlsContext() = default;

void TlsContext::serve(int tcp_fd, const std::function<void(int plain_fd)>& serve_plain) const {
  UniqueFd net(tcp_fd);
  std::string peer = peer_of(tcp_fd);
  if (!looks_like_tls(tcp_fd, peer)) return;
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(impl_->ctx));
  if (!ssl || SSL_set_fd(ssl.get(), tcp_fd) != 1) {
    log::warn("tls: " + peer + ": " + ssl_errors());
    return;
  }
  set_nonblocking(tcp_fd);
  if (!handshake(ssl.get(), tcp_fd, peer)) return;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
    log::warn("tls: " + peer + ": socketpair: " + std::strerror(errno));
    return;
  }
  UniqueFd app(sv[1]);
  int plain = sv[0];
  std::thread t([&serve_plain, plain] { serve_plain(plain); });
  set_nonblocking(app.get());
  pump(ssl.get(), tcp_fd, app.get());
  // The plain side sees its client gone (EOF, or EPIPE on its next write).
  app.reset();
  t.join();
}

}  // namespace berth::api
