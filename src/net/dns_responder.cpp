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

#include <cstring>
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

void run_dns_responder(const std::string& listen_ip, const std::string& hosts_path) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throw_errno("dns: socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(53);
  if (::inet_pton(AF_INET, listen_ip.c_str(), &a.sin_addr) != 1) fail("dns: bad listen address " + listen_ip);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw_errno("dns: bind " + listen_ip + ":53");
  std::vector<sockaddr_in> ups = host_resolvers();
  std::map<std::string, Ipv4> names;
  timespec seen{};
  for (;;) {
    std::vector<uint8_t> buf(4096);
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    ssize_t n = ::recvfrom(s.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &len);
    if (n <= 0) continue;
    buf.resize(static_cast<size_t>(n));
    struct stat st{};
    if (::stat(hosts_path.c_str(), &st) == 0 &&
        (st.st_mtim.tv_sec != seen.tv_sec || st.st_mtim.tv_nsec != seen.tv_nsec)) {
      seen = st.st_mtim;
      try {
        names = parse_hosts(fs::read_file(hosts_path));
      } catch (const Error&) {
      }
    }
    auto q = parse_question(buf);
    std::optional<std::vector<uint8_t>> reply;
    if (q) reply = answer(buf, *q, names);
    if (!reply) reply = forward(buf, ups);
    if (!reply && q) reply = servfail(buf, *q);
    if (reply) ::sendto(s.get(), reply->data(), reply->size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
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
