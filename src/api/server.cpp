// The HTTP side of `berth serve`: listeners, one thread per connection,
// Boost.Beast's request parser (with its header and body limits), and the
// error convention (berth::Error kinds -> docker's statuses and
// {"message": ...} bodies).
#include "api/server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "common/log.hpp"
#include "engine/container_engine.hpp"
#include "engine/process_identity.hpp"

namespace berth::api {

namespace http = boost::beast::http;
using nlohmann::json;

namespace {

// Beast's sync stream concepts over a plain connected socket.
class FdStream {
 public:
  explicit FdStream(int fd) : fd_(fd) {}
  template <class Buffers>
  size_t read_some(const Buffers& bufs, boost::system::error_code& ec) {
    ec = {};
    for (auto it = boost::asio::buffer_sequence_begin(bufs); it != boost::asio::buffer_sequence_end(bufs); ++it) {
      boost::asio::mutable_buffer b = *it;
      if (b.size() == 0) continue;
      ssize_t n;
      do n = ::recv(fd_, b.data(), b.size(), 0);
      while (n < 0 && errno == EINTR);
      if (n < 0) ec = boost::system::error_code(errno, boost::system::system_category());
      else if (n == 0) ec = boost::asio::error::eof;
      return n > 0 ? static_cast<size_t>(n) : 0;
    }
    return 0;
  }
  template <class Buffers>
  size_t read_some(const Buffers& bufs) {
    boost::system::error_code ec;
    size_t n = read_some(bufs, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class Buffers>
  size_t write_some(const Buffers& bufs, boost::system::error_code& ec) {
    ec = {};
    size_t total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(bufs); it != boost::asio::buffer_sequence_end(bufs); ++it) {
      boost::asio::const_buffer b = *it;
      if (!send_all(static_cast<const char*>(b.data()), b.size())) {
        ec = boost::system::error_code(errno ? errno : EPIPE, boost::system::system_category());
        return total;
      }
      total += b.size();
    }
    return total;
  }
  template <class Buffers>
  size_t write_some(const Buffers& bufs) {
    boost::system::error_code ec;
    size_t n = write_some(bufs, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  bool send_all(const char* p, size_t n) {
    while (n) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      p += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }
  int fd() const { return fd_; }

 private:
  int fd_;
};

class Connection final : public Exchange {
 public:
  Connection(int fd, Server& s) : stream_(fd), fd_(fd) { server = &s; }
  ~Connection() override {
    if (engine_) server->return_engine(std::move(engine_));
  }

  void reply(int status, std::string_view content_type, std::string_view body) override {
    std::string h = status_line(status);
    if (!content_type.empty()) h += "Content-Type: " + std::string(content_type) + "\r\n";
    h += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    if (!keep_alive_) h += "Connection: close\r\n";
    h += "\r\n";
    if (req.method != "HEAD") h += body;
    replied_ = true;
    if (!stream_.send_all(h.data(), h.size())) keep_alive_ = false;
  }

  int stream(int status, std::string_view content_type) override {
    std::string h = status_line(status);
    if (!content_type.empty()) h += "Content-Type: " + std::string(content_type) + "\r\n";
    h += "Connection: close\r\n\r\n";
    replied_ = true;
    keep_alive_ = false;
    stream_.send_all(h.data(), h.size());
    return fd_;
  }

  int hijack(std::string_view content_type, std::string* early) override {
    bool upgrade = false;
    if (auto it = req.headers.find("upgrade"); it != req.headers.end())
      upgrade = it->second.find("tcp") != std::string::npos;
    std::string h = upgrade ? "HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"
                            : "HTTP/1.1 200 OK\r\n";
    h += "Content-Type: " + std::string(content_type) + "\r\n";
    h += "Api-Version: " + std::string(kApiVersion) + "\r\n\r\n";
    replied_ = true;
    keep_alive_ = false;
    stream_.send_all(h.data(), h.size());
    if (early) {
      auto d = buffer_.data();
      early->assign(static_cast<const char*>(d.data()), d.size());
      buffer_.consume(d.size());
    }
    return fd_;
  }

  bool client_gone() override {
    pollfd p{fd_, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
  }

  void run();

 private:
  std::string status_line(int status) {
    std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
    return "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\nApi-Version: " + kApiVersion +
           "\r\nDocker-Experimental: false\r\nOstype: linux\r\nServer: Berth/" + server->options().version + "\r\n" + extra_headers;
  }
  void error(int status, const std::string& message) {
    nlohmann::json j = {{"message", message}};
    if (!replied_) reply(status, "application/json", json_text(j) + "\n");
  }
  bool read_request();
  void dispatch();
  // After refusing a request whose body is still coming: read and drop
  // it for a while, so the client gets to read the answer instead of a
  // reset connection.
  void drain() {
    ::shutdown(fd_, SHUT_WR);
    timeval tv{2, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[65536];
    size_t total = 0;
    ssize_t n;
    while (total < (64u << 20) && (n = ::recv(fd_, buf, sizeof buf, 0)) > 0) total += static_cast<size_t>(n);
  }

  FdStream stream_;
  int fd_;
  boost::beast::flat_buffer buffer_;
  bool replied_ = false, keep_alive_ = true;
  std::unique_ptr<engine::ContainerEngine> engine_;
  UniqueFd upload_;
};

// Reads one request; false when the connection is done.
bool Connection::read_request() {
  req = Request{};
  extra_headers.clear();
  replied_ = false;
  upload_.reset();
  boost::system::error_code ec;
  http::request_parser<http::empty_body> head;
  head.header_limit(kMaxHeader);
  head.body_limit(kMaxUpload);
  http::read_header(stream_, buffer_, head, ec);
  if (ec == http::error::end_of_stream || ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset)
    return false;
  if (ec) {
    keep_alive_ = false;
    req.method = "GET";
    error(ec == http::error::header_limit ? 431 : 400, "bad request: " + ec.message());
    return false;
  }
  auto& h = head.get();
  req.method = std::string(h.method_string());
  for (auto& f : h) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    req.headers[name] = std::string(f.value());
  }
  keep_alive_ = h.keep_alive();
  parse_target(std::string(h.target()), req);

  // The body: small JSON into memory, uploads into a temp file; either
  // way read now, so the handler sees a whole request.
  bool known = false;
  const Route* route = server->router().match(req.method, req.path, req.params, &known);
  bool upload = route && route->body == BodyKind::Upload;
  if (!head.is_done()) {
    if (upload) {
      upload_.reset(::open(server->options().root.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
      if (!upload_) throw_errno("make a temp file in " + server->options().root + " for a request body");
      http::request_parser<http::buffer_body> body(std::move(head));
      body.body_limit(kMaxUpload);
      char buf[65536];
      while (!body.is_done()) {
        body.get().body().data = buf;
        body.get().body().size = sizeof buf;
        http::read(stream_, buffer_, body, ec);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) break;
        size_t n = sizeof buf - body.get().body().size;
        if (n && ::write(upload_.get(), buf, n) != static_cast<ssize_t>(n)) throw_errno("spool a request body");
      }
      ::lseek(upload_.get(), 0, SEEK_SET);
      req.body_fd = upload_.get();
    } else {
      // The limit the header parser checked was the uploads' (the route
      // was not known yet): check the JSON one against Content-Length too.
      if (auto len = head.content_length(); len && *len > kMaxJsonBody) {
        keep_alive_ = false;
        error(413, "request body too large (limit " + std::to_string(kMaxJsonBody) + " bytes)");
        drain();
        return false;
      }
      http::request_parser<http::string_body> body(std::move(head));
      body.body_limit(kMaxJsonBody);
      http::read(stream_, buffer_, body, ec);
      req.body = std::move(body.get().body());
    }
    if (ec) {
      keep_alive_ = false;
      error(ec == http::error::body_limit ? 413 : 400,
            ec == http::error::body_limit ? "request body too large (limit " + std::to_string(kMaxJsonBody) + " bytes)"
                                          : "bad request body: " + ec.message());
      drain();
      return false;
    }
  }
  return true;
}

void Connection::dispatch() {
  bool known = false;
  const Route* route = server->router().match(req.method, req.path, req.params, &known);
  if (!req.api_version.empty()) {
    int v = version_number(req.api_version);
    if (v < 0) return error(400, "malformed API version " + req.api_version);
    if (v > version_number(kApiVersion))
      return error(400, "client version " + req.api_version + " is too new. Maximum supported API version is " +
                            kApiVersion);
    if (v < version_number(kMinApiVersion))
      return error(400, "client version " + req.api_version + " is too old. Minimum supported API version is " +
                            kMinApiVersion + ", please upgrade your client to a newer version");
  }
  if (!route) {
    if (known) return error(405, "method " + req.method + " not allowed on " + req.path);
    return error(404, "page not found");
  }
  try {
    if (!engine_) engine_ = server->take_engine();
    engine = engine_.get();
    route->handler(*this);
    if (!replied_) no_content();
  } catch (const Error& e) {
    if (replied_) {
      keep_alive_ = false;
      log::warn("api: " + req.method + " " + req.path + ": " + e.what() + " (after the answer began)");
      return;
    }
    auto* se = dynamic_cast<const StatusError*>(&e);
    error(se ? se->status() : status_of(e.kind()), e.what());
  } catch (const nlohmann::json::exception& e) {
    error(400, std::string("bad parameter: ") + e.what());
  } catch (const std::exception& e) {
    error(500, e.what());
  }
}

void Connection::run() {
  while (keep_alive_) {
    try {
      if (!read_request()) break;
      dispatch();
    } catch (const std::exception& e) {
      error(500, e.what());
      break;
    }
  }
}

std::string strip_scheme(const std::string& h, const std::string& scheme) {
  return h.rfind(scheme, 0) == 0 ? h.substr(scheme.size()) : "";
}

UniqueFd listen_unix(const std::string& path, const std::string& group) {
  if (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0) fs::mkdir_p(path.substr(0, slash), 0755);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) fail("-H unix://" + path + ": path too long for a unix socket");
  std::strcpy(sa.sun_path, path.c_str());
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) fail("-H unix://" + path + ": exists and is not a socket", ErrorKind::AlreadyExists);
    UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(probe.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0)
      fail("-H unix://" + path + ": another server listens there", ErrorKind::AlreadyExists);
    ::unlink(path.c_str());
  }
  // Made 0660 from the start (umask), so nobody else can connect in between.
  mode_t old = ::umask(0117);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  ::umask(old);
  if (rc < 0) throw_errno("bind unix socket " + path);
  gid_t gid = 0;
  if (!group.empty()) {
    struct group* g = ::getgrnam(group.c_str());
    if (!g) fail("--group " + group + ": no such group");
    gid = g->gr_gid;
  }
  check(::chown(path.c_str(), 0, gid), "chown " + path);
  check(::listen(fd.get(), 256), "listen on " + path);
  return fd;
}

// HOST:PORT, HOST an IPv4 address or a bracketed IPv6 one ([::1]:2376).
UniqueFd listen_tcp(const std::string& addr, const TlsOptions& tls) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) fail("-H tcp://" + addr + ": want HOST:PORT");
  std::string host = addr.substr(0, colon), port_text = addr.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) < 1 || std::stoi(port_text) > 65535)
    fail("-H tcp://" + addr + ": want a port number (1-65535) after the last ':'");
  auto port = htons(static_cast<uint16_t>(std::stoi(port_text)));
  sockaddr_storage ss{};
  socklen_t len = 0;
  bool loopback = false;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&ss);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = port;
    if (::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &sa->sin6_addr) != 1)
      fail("-H tcp://" + addr + ": " + host + " is not an IPv6 address");
    loopback = IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr);
    len = sizeof *sa;
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&ss);
    sa->sin_family = AF_INET;
    sa->sin_port = port;
    if (::inet_pton(AF_INET, host.c_str(), &sa->sin_addr) != 1)
      fail("-H tcp://" + addr + ": want an IPv4 address or a bracketed IPv6 one ([::1]:PORT)");
    loopback = (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
    len = sizeof *sa;
  }
  // Without TLS client certificates anyone who reaches the port is root
  // on this host: only loopback.
  if (!loopback && !tls.verify)
    fail("-H tcp://" + addr + ": a tcp port off loopback (127.0.0.0/8, ::1) needs TLS with client certificates "
         "(--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY): whoever reaches it is root on this host");
  UniqueFd fd(::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  check(::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len), "bind tcp " + addr);
  check(::listen(fd.get(), 256), "listen on tcp " + addr);
  return fd;
}

bool is_tcp(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 &&
         (ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
}

bool is_loopback(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return false;
  if (ss.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<sockaddr_in*>(&ss)->sin_addr.s_addr) >> 24) == 127;
  if (ss.ss_family == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr);
  return false;
}

std::atomic<bool> g_stop{false};
int g_wake[2] = {-1, -1};
void on_signal(int) {
  g_stop = true;
  char c = 0;
  [[maybe_unused]] auto n = ::write(g_wake[1], &c, 1);
}

}  // namespace

Server::Server(ServeOptions o) : o_(std::move(o)) {
  // A list checks every running container's monitor: keep pidfds of the
  // live ones (engine/process_identity.hpp), one fd each.
  engine::remember_live_processes(1024);
  add_system_routes(router_);
  add_container_routes(router_);
  add_container_io_routes(router_);
  add_exec_routes(router_);
  add_image_routes(router_);
  add_volume_routes(router_);
  add_event_routes(router_);
  add_network_routes(router_);
  add_build_routes(router_);
  add_distribution_routes(router_);
}

Server::~Server() = default;

std::unique_ptr<engine::ContainerEngine> Server::take_engine() {
  {
    std::lock_guard l(idle_m_);
    if (!idle_engines_.empty()) {
      auto e = std::move(idle_engines_.back());
      idle_engines_.pop_back();
      return e;
    }
  }
  return std::make_unique<engine::ContainerEngine>(o_.root, o_.state);
}

void Server::return_engine(std::unique_ptr<engine::ContainerEngine> e) {
  std::lock_guard l(idle_m_);
  if (idle_engines_.size() < 16) idle_engines_.push_back(std::move(e));
}

void Server::serve_connection(int fd, bool tls) {
  UniqueFd owned(fd);
  if (++connections_ > o_.max_connections) {
    --connections_;
    static const char busy[] =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 48\r\n"
        "Connection: close\r\n\r\n{\"message\":\"too many connections, try again\"}\n  ";
    [[maybe_unused]] auto n = ::send(fd, busy, sizeof busy - 1, MSG_NOSIGNAL);
    return;
  }
  if (tls) {
    // This thread holds the TLS session; the plain connection runs on a
    // socket pair beside it (api/tls.hpp). One connection of the limit.
    std::thread([this, c = std::move(owned)]() mutable {
      tls_->serve(c.release(), [this](int plain) {
        UniqueFd p(plain);
        Connection conn(plain, *this);
        conn.run();
      });
      --connections_;
    }).detach();
    return;
  }
  std::thread([this, c = std::move(owned)]() mutable {
    {
      Connection conn(c.get(), *this);
      conn.run();
    }
    c.reset();
    --connections_;
  }).detach();
}

void Server::run() {
  std::vector<UniqueFd> listeners;
  std::vector<std::string> names;
  std::vector<bool> tls_listener;  // per listener: its connections speak TLS
  if (o_.tls.enabled()) tls_ = std::make_unique<TlsContext>(o_.tls);
  // systemd socket activation: LISTEN_FDS from fd 3.
  if (const char* pid = std::getenv("LISTEN_PID"); pid && std::atoi(pid) == ::getpid()) {
    int n = std::atoi(std::getenv("LISTEN_FDS") ? std::getenv("LISTEN_FDS") : "0");
    for (int i = 0; i < n; ++i) {
      ::fcntl(3 + i, F_SETFD, FD_CLOEXEC);
      listeners.emplace_back(3 + i);
      names.push_back("fd://" + std::to_string(3 + i));
      bool tcp = is_tcp(3 + i);
      if (tcp && !o_.tls.verify && !is_loopback(3 + i))
        fail("fd://" + std::to_string(3 + i) + " (from systemd): a tcp socket off loopback needs TLS with client "
             "certificates (--tlsverify --tlscacert CA --tlscert CERT --tlskey KEY)");
      tls_listener.push_back(tcp && o_.tls.enabled());
    }
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
  }
  std::vector<std::string> made;  // unix socket files, removed again if a later -H fails
  try {
    for (const auto& h : o_.hosts) {
      if (h == "fd://" || h.rfind("fd://", 0) == 0) continue;  // the activated ones above
      if (auto p = strip_scheme(h, "unix://"); !p.empty()) {
        listeners.push_back(listen_unix(p, o_.socket_group));
        tls_listener.push_back(false);
        made.push_back(p);
      } else if (auto t = strip_scheme(h, "tcp://"); !t.empty()) {
        listeners.push_back(listen_tcp(t, o_.tls));
        tls_listener.push_back(o_.tls.enabled());
      } else {
        fail("-H " + h + ": want unix:///PATH, tcp://HOST:PORT or fd://");
      }
      names.push_back(h);
    }
  } catch (...) {
    for (auto& p : made) ::unlink(p.c_str());
    throw;
  }
  if (listeners.empty()) fail("nothing to listen on (-H unix:///run/berth/berth.sock, or socket activation)");
  fs::mkdir_p(o_.root, 0711);
  fs::mkdir_p(o_.state, 0711);
  check(::pipe2(g_wake, O_CLOEXEC | O_NONBLOCK), "pipe");
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < names.size(); ++i)
    log::info("listening on " + names[i] + (!tls_listener[i] ? "" : o_.tls.verify ? " (TLS, client certificates required)" : " (TLS)"));
  std::vector<pollfd> pfds;
  for (auto& l : listeners) pfds.push_back({l.get(), POLLIN, 0});
  pfds.push_back({g_wake[0], POLLIN, 0});
  while (!g_stop) {
    if (::poll(pfds.data(), pfds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    for (size_t i = 0; i + 1 < pfds.size(); ++i) {
      if (!(pfds[i].revents & POLLIN)) continue;
      int c = ::accept4(pfds[i].fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      serve_connection(c, tls_listener[i]);
    }
  }
  // Streams in flight end with the process; containers live on.
  for (auto& h : o_.hosts)
    if (auto p = strip_scheme(h, "unix://"); !p.empty()) ::unlink(p.c_str());
}

}  // namespace berth::api
