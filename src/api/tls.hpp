// TLS on `berth serve`'s tcp listeners, as dockerd's --tls/--tlsverify.
//
// The TLS session ends in the server process, in front of the HTTP layer:
// each TLS connection is decrypted onto one end of a unix socket pair and
// the ordinary plain connection (server.cpp's Connection, every handler)
// is served on the other end. So the hijacked attach/exec streams, the
// streaming answers (logs -f, events, stats, build, pull), half-close
// (the client's close_notify becomes a shutdown of the pair) and
// "client gone" polls behave over TLS exactly as over a plain socket,
// and no handler has to know about TLS records (poll on a TLS socket
// says nothing of the bytes OpenSSL already holds). The price is one
// copy and one more thread per TLS connection; plain connections pay
// nothing. OpenSSL is included only in tls.cpp.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace berth::api {

struct TlsOptions {
  bool tls = false;     // --tls: serve TLS on tcp
  bool verify = false;  // --tlsverify: and require a client certificate signed by ca
  std::string ca, cert, key;
  bool enabled() const { return tls || verify; }
};

class TlsContext {
 public:
  // Loads the server's certificate and key (and the CA for client
  // certificates); a missing or unreadable file, a key that does not match
  // the certificate: one line naming the flag and the file.
  explicit TlsContext(const TlsOptions& o);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // Serves one accepted tcp connection (owned: closed on return): the TLS
  // handshake (a refused one is logged with the peer's address and
  // dropped; plain HTTP gets Go's "400 Client sent an HTTP request to an
  // HTTPS server."), then `serve(fd)` in a thread of its own on the plain
  // end of a socket pair (it owns that fd) while this thread moves the
  // bytes both ways. Returns when both sides are done.
  void serve(int tcp_fd, const std::function<void(int plain_fd)>& serve_plain) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api
