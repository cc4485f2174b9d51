#include "net/dns_responder.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>
#include <sstream>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "net/dns_message.hpp"

namespace berth::net {

namespace {

std::vector<sockaddr_in> host_resolvers() {
  std::vector<sockaddr_in> out;
  std::string text;
  try {
    text = fs::read_file("/etc/resolv.conf");
  } catch (const Error&) {
  }
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string key, ip;
    if (!(w >> key >> ip) || key != "nameserver") continue;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(53);
    if (::inet_pton(AF_INET, ip.c_str(), &a.sin_addr) == 1) out.push_back(a);
  }
  return out;
}

// The upstream's answer to `query`, or nothing after 2 s per resolver.
std::optional<std::vector<uint8_t>> forward(const std::vector<uint8_t>& query, const std::vector<sockaddr_in>& ups) {
  for (const auto& up : ups) {
    UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!s || ::connect(s.get(), reinterpret_cast<const sockaddr*>(&up), sizeof up) != 0) continue;
    if (::send(s.get(), query.data(), query.size(), 0) < 0) continue;
    pollfd p{s.get(), POLLIN, 0};
    if (::poll(&p, 1, 2000) != 1) continue;
    std::vector<uint8_t> buf(4096);
    ssize_t n = ::recv(s.get(), buf.data(), buf.size(), 0);
    if (n < 12 || buf[0] != query[0] || buf[1] != query[1]) continue;
    buf.resize(static_cast<size_t>(n));
    return buf;
  }
  return std::nullopt;
}

std::string pid_file(const std::string& dir, const std::string& bridge) { return dir + "/dns-" + bridge + ".pid"; }

// The pid in the file, if that process is still the responder of `bridge`.
pid_t running_responder(const std::string& dir, const std::string& bridge) {
  std::string text;
  try {
    text = fs::read_file(pid_file(dir, bridge));
  } catch (const Error&) {
    return 0;
  }
  pid_t pid = std::atoi(text.c_str());
  if (pid <= 0) return 0;
  std::string cmdline;
  try {
    cmdline = fs::read_file("/proc/" + std::to_string(pid) + "/cmdline");
  } catch (const Error&) {
    return 0;
  }
  return cmdline.find("dns") != std::string::npos && cmdline.find(bridge) != std::string::npos ? pid : 0;
}

}  // namespace

namespace {

// The names of the hosts file, read again when its mtime changes; shared
// by the UDP loop and the TCP connections' threads.
class Names {
 public:
  explicit Names(std::string path) : path_(std::move(path)) {}

  std::optional<std::vector<uint8_t>> answer(const std::vector<uint8_t>& query, const DnsQuestion& q) {
    std::lock_guard<std::mutex> hold(mu_);
    struct stat st{};
    if (::stat(path_.c_str(), &st) == 0 && (st.st_mtim.tv_sec != seen_.tv_sec || st.st_mtim.tv_nsec != seen_.tv_nsec)) {
      seen_ = st.st_mtim;
      try {
        std::string text = fs::read_file(path_);
        names_ = parse_hosts(text);
        names6_ = parse_hosts6(text);
      } catch (const Error&) {
      }
    }
    return net::answer(query, q, names_, names6_);
  }

 private:
  std::string path_;
  std::mutex mu_;
  timespec seen_{};
  std::map<std::string, Ipv4> names_;
  std::map<std::string, Ipv6> names6_;
};

bool read_exactly(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 10000) != 1) return false;  // an idle client is dropped (RFC 7766 allows it)
    ssize_t r = ::read(fd, p, n);
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool write_all(int fd, const std::vector<uint8_t>& m) {
  size_t off = 0;
  while (off < m.size()) {
    ssize_t r = ::send(fd, m.data() + off, m.size() - off, MSG_NOSIGNAL);
    if (r <= 0) return false;
    off += static_cast<size_t>(r);
  }
  return true;
}

// A message with its 2-byte length prefix (RFC 1035 4.2.2).
std::vector<uint8_t> framed(const std::vector<uint8_t>& m) {
  std::vector<uint8_t> out(m.size() + 2);
  out[0] = static_cast<uint8_t>(m.size() >> 8);
  out[1] = static_cast<uint8_t>(m.size() & 0xff);
  std::copy(m.begin(), m.end(), out.begin() + 2);
  return out;
}

// The upstream's answer over TCP: for a query whose UDP answer was cut.
std::optional<std::vector<uint8_t>> forward_tcp(const std::vector<uint8_t>& query, const std::vector<sockaddr_in>& ups) {
  for (const auto& up : ups) {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!s) continue;
    timeval tv{2, 0};
    ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&up), sizeof up) != 0) continue;
    if (!write_all(s.get(), framed(query))) continue;
    uint8_t len[2];
    if (!read_exactly(s.get(), len, 2)) continue;
    std::vector<uint8_t> reply(static_cast<size_t>(len[0] << 8 | len[1]));
    if (reply.size() < 12 || !read_exactly(s.get(), reply.data(), reply.size())) continue;
    return reply;
  }
  return std::nullopt;
}

std::vector<uint8_t> resolve(Names& names, const std::vector<uint8_t>& query, const std::vector<sockaddr_in>& ups,
                             bool tcp) {
  auto q = parse_question(query);
  std::optional<std::vector<uint8_t>> reply;
  if (q) reply = names.answer(query, *q);
  if (!reply) reply = forward(query, ups);
  if (tcp && reply && reply->size() > 2 && ((*reply)[2] & 0x02)) {
    if (auto full = forward_tcp(query, ups)) reply = full;
  }
  if (!reply && q) reply = servfail(query, *q);
  if (!reply) return {};
  // Over UDP, no more than the client can take: 512 bytes, or the size
  // its EDNS record offers (any additional record: we do not parse it,
  // and take the 1232 bytes DNS Flag Day 2020 settled on).
  if (!tcp) return truncate_for_udp(*reply, query.size() >= 12 && (query[10] | query[11]) ? 1232 : 512);
  return *reply;
}

// One TCP client: queries until it closes or idles.
void serve_tcp(UniqueFd c, Names& names, const std::vector<sockaddr_in>& ups) {
  for (;;) {
    uint8_t len[2];
    if (!read_exactly(c.get(), len, 2)) return;
    std::vector<uint8_t> query(static_cast<size_t>(len[0] << 8 | len[1]));
    if (query.empty() || !read_exactly(c.get(), query.data(), query.size())) return;
    std::vector<uint8_t> reply = resolve(names, query, ups, true);
    if (reply.empty() || !write_all(c.get(), framed(reply))) return;
  }
}

}  // namespace

void run_dns_responder(const std::string& listen_ip, const std::string& hosts_path) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  if (::inet_pton(AF_INET, listen_ip.c_str(), &a.sin_addr) != 1) fail("dns: bad listen address " + listen_ip);
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("dns: socket");
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw_errno("dns: bind " + listen_ip + ":53/udp");
  // TCP too (RFC 7766): a client retries there when a UDP answer is cut.
  UniqueFd t(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!t) throw_errno("dns: socket");
  int one = 1;
  ::setsockopt(t.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(t.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw_errno("dns: bind " + listen_ip + ":53/tcp");
  if (::listen(t.get(), 64) != 0) throw_errno("dns: listen " + listen_ip + ":53/tcp");
  std::vector<sockaddr_in> ups = host_resolvers();
  Names names(hosts_path);
  for (;;) {
    pollfd p[2] = {{s.get(), POLLIN, 0}, {t.get(), POLLIN, 0}};
    if (::poll(p, 2, -1) <= 0) continue;
    if (p[1].revents & POLLIN) {
      UniqueFd c(::accept4(t.get(), nullptr, nullptr, SOCK_CLOEXEC));
      // A thread per connection: a slow TCP client must not stall UDP.
      // `names` and `ups` live as long as this loop, i.e. the process.
      // At most 64 at once: a flood of idle connections must not grow
      // the process without bound (a client turned away retries, or uses UDP).
      static std::atomic<int> active{0};
      if (c && active.load() < 64) {
        ++active;
        std::thread(
            [&names, &ups](UniqueFd fd) {
              serve_tcp(std::move(fd), names, ups);
              --active;
            },
            std::move(c))
            .detach();
      }
    }
    if (!(p[0].revents & POLLIN)) continue;
    std::vector<uint8_t> buf(4096);
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ssize_t n = ::recvfrom(s.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n <= 0) continue;
    buf.resize(static_cast<size_t>(n));
    std::vector<uint8_t> reply = resolve(names, buf, ups, false);
    if (!reply.empty()) ::sendto(s.get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
  }
}

void ensure_dns_responder(const std::string& exe, const std::string& dir, const std::string& bridge,
                          const std::string& listen_ip, const std::string& hosts_path) {
  if (running_responder(dir, bridge)) return;
  if (!fs::exists(hosts_path)) fs::write_file(hosts_path, "");
  // Twice forked and in a session of its own: no CLI's end, nor its
  // terminal's, ends it. The middle child reports the pid.
  int p[2];
  check(::pipe2(p, O_CLOEXEC), "pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  pid_t mid = ::fork();
  if (mid < 0) throw_errno("fork the name responder");
  if (mid == 0) {
    ::setsid();
    pid_t pid = ::fork();
    if (pid == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      int log = ::open((dir + "/dns-" + bridge + ".log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      ::dup2(log >= 0 ? log : null, 2);
      ::execl(exe.c_str(), exe.c_str(), "dns", listen_ip.c_str(), hosts_path.c_str(), bridge.c_str(), nullptr);
      ::_exit(127);
    }
    ssize_t ignored = ::write(wr.get(), &pid, sizeof pid);
    (void)ignored;
    ::_exit(0);
  }
  wr.reset();
  pid_t pid = 0;
  ssize_t n = ::read(rd.get(), &pid, sizeof pid);
  ::waitpid(mid, nullptr, 0);
  if (n != sizeof pid || pid <= 0) throw Error("start the name responder of " + bridge);
  fs::write_file_atomic(pid_file(dir, bridge), std::to_string(pid) + "\n");
}

void stop_dns_responder(const std::string& dir, const std::string& bridge) {
  if (pid_t pid = running_responder(dir, bridge)) ::kill(pid, SIGKILL);
  ::unlink(pid_file(dir, bridge).c_str());
  ::unlink((dir + "/dns-" + bridge + ".log").c_str());
}

}  // namespace berth::net
