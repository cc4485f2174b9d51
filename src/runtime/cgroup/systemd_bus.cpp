// The D-Bus wire format, as far as systemd_bus.hpp's calls need it
// (D-Bus specification, "Message Protocol"): little-endian messages, a
// fixed 16-byte header, header fields a(yv), a body aligned to 8.
#include "runtime/cgroup/systemd_bus.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::runtime::systemd {

namespace {

constexpr uint8_t kMethodCall = 1, kMethodReturn = 2, kError = 3, kSignal = 4;
constexpr uint8_t kFieldPath = 1, kFieldInterface = 2, kFieldMember = 3, kFieldErrorName = 4,
                  kFieldReplySerial = 5, kFieldDestination = 6, kFieldSignature = 8;
constexpr int kTimeoutMs = 10'000;

long now_ms() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000;
}

// Marshals into a buffer whose offset 0 is 8-aligned in the message (the
// header, or a body: both start there).
struct Writer {
  std::string b;
  void pad(size_t a) {
    while (b.size() % a) b.push_back('\0');
  }
  void byte(uint8_t v) { b.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) {
    pad(4);
    b.append(reinterpret_cast<const char*>(&v), 4);
  }
  void u64(uint64_t v) {
    pad(8);
    b.append(reinterpret_cast<const char*>(&v), 8);
  }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    b += s;
    b.push_back('\0');
  }
  void sig(const std::string& s) {
    byte(static_cast<uint8_t>(s.size()));
    b += s;
    b.push_back('\0');
  }
  // An array: its length word, then padding to the element alignment
  // (not counted in the length). Returns {length offset, elements start}.
  std::pair<size_t, size_t> array_begin(size_t elem_align) {
    pad(4);
    size_t at = b.size();
    u32(0);
    pad(elem_align);
    return {at, b.size()};
  }
  void array_end(std::pair<size_t, size_t> a) {
    uint32_t len = static_cast<uint32_t>(b.size() - a.second);
    std::memcpy(&b[a.first], &len, 4);
  }
  void properties(const std::vector<Property>& props) {
    auto a = array_begin(8);
    for (const auto& p : props) {
      pad(8);
      str(p.name);
      if (auto* v = std::get_if<bool>(&p.value)) {
        sig("b");
        u32(*v ? 1 : 0);
      } else if (auto* t = std::get_if<uint64_t>(&p.value)) {
        sig("t");
        u64(*t);
      } else if (auto* s = std::get_if<std::string>(&p.value)) {
        sig("s");
        str(*s);
      } else if (auto* au = std::get_if<std::vector<uint32_t>>(&p.value)) {
        sig("au");
        auto e = array_begin(4);
        for (uint32_t x : *au) u32(x);
        array_end(e);
      } else {
        sig("ay");
        auto e = array_begin(1);
        for (uint8_t x : std::get<std::vector<uint8_t>>(p.value)) byte(x);
        array_end(e);
      }
    }
    array_end(a);
  }
};

struct Reader {
  const std::string& b;
  size_t pos;
  size_t base;  // the 8-aligned offset alignment is counted from
  void need(size_t n) {
    if (pos + n > b.size()) fail("systemd D-Bus: truncated message", ErrorKind::Corrupt);
  }
  void align(size_t a) { pos = base + (pos - base + a - 1) / a * a; }
  uint8_t byte() {
    need(1);
    return static_cast<uint8_t>(b[pos++]);
  }
  uint32_t u32() {
    align(4);
    need(4);
    uint32_t v;
    std::memcpy(&v, &b[pos], 4);
    pos += 4;
    return v;
  }
  std::string str() {
    uint32_t n = u32();
    need(size_t{n} + 1);
    std::string s = b.substr(pos, n);
    pos += n + 1;
    return s;
  }
  std::string sig() {
    uint8_t n = byte();
    need(size_t{n} + 1);
    std::string s = b.substr(pos, n);
    pos += n + 1;
    return s;
  }
};

}  // namespace

struct Bus::Message {
  uint8_t type = 0;
  uint32_t reply_serial = 0;
  std::string member, error_name, signature;
  std::string data;   // the whole message
  size_t body = 0;    // offset of the body in data
};

Bus Bus::connect(const std::string& socket_path) {
  if (!fs::exists("/run/systemd/system"))
    fail("systemd is not running on this host (no /run/systemd/system: pid 1 is not systemd)",
         ErrorKind::Unsupported);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket for systemd's D-Bus");
  struct sockaddr_un sa = {};
  sa.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof sa.sun_path) fail("systemd socket path too long: " + socket_path);
  std::memcpy(sa.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    throw Error("connect to systemd at " + socket_path + ": " + std::strerror(errno) +
                    " (is systemd pid 1 here, and are we root?)",
                ErrorKind::Unsupported, errno);
  // SASL EXTERNAL: the kernel tells systemd our uid; we name it in hex.
  std::string uid = std::to_string(::geteuid()), hex;
  for (char c : uid) {
    static const char* digits = "0123456789abcdef";
    hex += digits[(c >> 4) & 15];
    hex += digits[c & 15];
  }
  // BEGIN goes with AUTH, as systemctl sends it: systemd's sd-bus reads a
  // BEGIN and a message that arrive together in one read and then leaves
  // the message unprocessed (seen with 252), so the first call may only
  // be sent once the OK came back, and BEGIN must be in before that.
  std::string hello = std::string(1, '\0') + "AUTH EXTERNAL " + hex + "\r\nBEGIN\r\n";
  if (::send(fd.get(), hello.data(), hello.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(hello.size()))
    throw_errno("systemd D-Bus: send AUTH");
  std::string line;
  long deadline = now_ms() + kTimeoutMs;
  while (line.find("\r\n") == std::string::npos) {
    struct pollfd p = {fd.get(), POLLIN, 0};
    long left = deadline - now_ms();
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) fail("systemd D-Bus: no answer to AUTH", ErrorKind::Internal);
    char buf[256];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n <= 0) fail("systemd D-Bus: connection closed during AUTH", ErrorKind::Internal);
    line.append(buf, static_cast<size_t>(n));
  }
  if (line.rfind("OK ", 0) != 0)
    fail("systemd D-Bus: authentication refused: " + line.substr(0, line.find('\r')), ErrorKind::Internal);
  Bus bus(std::move(fd));
  // Job signals: private connections get them anyway; subscribing costs
  // one round trip and makes sure.
  bus.call("Subscribe", "", "");
  return bus;
}

std::string Bus::call(const std::string& member, const std::string& signature, const std::string& body,
                      std::string* error_name) {
  Writer h;
  h.byte('l');
  h.byte(kMethodCall);
  h.byte(0);
  h.byte(1);
  h.u32(static_cast<uint32_t>(body.size()));
  uint32_t serial = ++serial_;
  h.u32(serial);
  auto fields = h.array_begin(8);
  auto field = [&](uint8_t code, const char* type, const std::string& v) {
    h.pad(8);
    h.byte(code);
    h.sig(type);
    if (type[0] == 'g') h.sig(v);
    else h.str(v);
  };
  field(kFieldPath, "o", "/org/freedesktop/systemd1");
  field(kFieldInterface, "s", "org.freedesktop.systemd1.Manager");
  field(kFieldMember, "s", member);
  field(kFieldDestination, "s", "org.freedesktop.systemd1");
  if (!signature.empty()) field(kFieldSignature, "g", signature);
  h.array_end(fields);
  h.pad(8);
  std::string msg = h.b + body;
  for (size_t off = 0; off < msg.size();) {
    ssize_t n = ::send(fd_.get(), msg.data() + off, msg.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("systemd D-Bus: send " + member);
    off += static_cast<size_t>(n);
  }
  long deadline = now_ms() + kTimeoutMs;
  for (;;) {
    long left = deadline - now_ms();
    if (left <= 0) fail("systemd D-Bus: no reply to " + member + " within 10 s", ErrorKind::Internal);
    Message m = read_message(static_cast<int>(left));
    if (m.type == kSignal || m.reply_serial != serial) continue;
    if (m.type == kError) {
      std::string text;
      if (m.signature.starts_with("s")) {
        Reader r{m.data, m.body, m.body};
        text = r.str();
      }
      if (error_name) {
        *error_name = m.error_name;
        return text;
      }
      fail(member + ": " + (text.empty() ? m.error_name : text),
           m.error_name.ends_with(".NoSuchUnit") ? ErrorKind::NotFound : ErrorKind::FailedPrecondition);
    }
    return m.data.substr(m.body);
  }
}

Bus::Message Bus::read_message(int timeout_ms) {
  long deadline = now_ms() + timeout_ms;
  auto read_exact = [&](std::string& out, size_t n) {
    size_t have = out.size();
    out.resize(have + n);
    while (n) {
      struct pollfd p = {fd_.get(), POLLIN, 0};
      long left = deadline - now_ms();
      int r = left > 0 ? ::poll(&p, 1, static_cast<int>(left)) : 0;
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) fail("systemd D-Bus: timed out waiting for systemd", ErrorKind::Internal);
      ssize_t got = ::read(fd_.get(), &out[out.size() - n], n);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) fail("systemd D-Bus: connection closed by systemd", ErrorKind::Internal);
      n -= static_cast<size_t>(got);
    }
    (void)have;
  };
  Message m;
  read_exact(m.data, 16);
  if (m.data[0] != 'l') fail("systemd D-Bus: big-endian message not supported", ErrorKind::Unsupported);
  uint32_t body_len, fields_len;
  std::memcpy(&body_len, &m.data[4], 4);
  std::memcpy(&fields_len, &m.data[12], 4);
  if (body_len > (64u << 20) || fields_len > (1u << 20)) fail("systemd D-Bus: oversized message", ErrorKind::Corrupt);
  m.body = (16 + size_t{fields_len} + 7) / 8 * 8;
  read_exact(m.data, m.body - 16 + body_len);
  m.type = static_cast<uint8_t>(m.data[1]);
  Reader r{m.data, 16, 0};
  while (r.pos < 16 + fields_len) {
    r.align(8);
    if (r.pos >= 16 + fields_len) break;
    uint8_t code = r.byte();
    std::string type = r.sig();
    std::string s;
    uint32_t u = 0;
    if (type == "s" || type == "o") s = r.str();
    else if (type == "g") s = r.sig();
    else if (type == "u") u = r.u32();
    else if (type == "y") u = r.byte();
    else fail("systemd D-Bus: unexpected header field type " + type, ErrorKind::Corrupt);
    if (code == kFieldReplySerial) m.reply_serial = u;
    else if (code == kFieldMember) m.member = s;
    else if (code == kFieldErrorName) m.error_name = s;
    else if (code == kFieldSignature) m.signature = s;
  }
  if (m.type == kSignal && m.member == "JobRemoved" && m.signature == "uoss") {
    Reader b{m.data, m.body, m.body};
    b.u32();
    std::string job = b.str();
    b.str();
    removed_jobs_.emplace_back(job, b.str());
  }
  return m;
}

namespace {
bool pid_in_unit(pid_t pid, const std::string& unit) {
  std::string text;
  try {
    text = fs::read_file("/proc/" + std::to_string(pid) + "/cgroup");
  } catch (const Error&) {
    return false;
  }
  // The name=systemd line (v1, hybrid) or the 0:: line (v2).
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if ((line.find(":name=systemd:") != std::string::npos || line.rfind("0::", 0) == 0) &&
        line.ends_with("/" + unit))
      return true;
  }
  return false;
}
}  // namespace

void Bus::wait_job(const std::string& job, const std::string& what, const std::string& unit, pid_t pid) {
  long deadline = now_ms() + kTimeoutMs;
  for (;;) {
    for (const auto& [path, result] : removed_jobs_) {
      if (path != job) continue;
      if (result == "done") return;
      fail(what + " " + unit + ": systemd's job ended \"" + result + "\" (journalctl -u " + unit + " says why)",
           ErrorKind::FailedPrecondition);
    }
    if (pid > 0 && pid_in_unit(pid, unit)) return;
    long left = deadline - now_ms();
    if (left <= 0) fail(what + " " + unit + ": systemd's job did not finish within 10 s", ErrorKind::Internal);
    struct pollfd p = {fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min(left, 50L)));
    if (r > 0) read_message(static_cast<int>(left));
  }
}

void Bus::start_transient_unit(const std::string& unit, const std::vector<Property>& props, pid_t wait_pid) {
  Writer w;
  w.str(unit);
  w.str("replace");
  w.properties(props);
  auto aux = w.array_begin(8);  // a(sa(sv)): no auxiliary units
  w.array_end(aux);
  std::string reply = call("StartTransientUnit", "ssa(sv)a(sa(sv))", w.b);
  Reader r{reply, 0, 0};
  wait_job(r.str(), "start transient unit", unit, wait_pid);
}

void Bus::set_unit_properties(const std::string& unit, const std::vector<Property>& props) {
  Writer w;
  w.str(unit);
  w.u32(1);  // runtime: not persisted (gone with the unit)
  w.properties(props);
  call("SetUnitProperties", "sba(sv)", w.b);
}

void Bus::stop_unit(const std::string& unit) {
  Writer w;
  w.str(unit);
  w.str("replace");
  std::string error;
  std::string reply = call("StopUnit", "ss", w.b, &error);
  if (!error.empty()) {
    if (error.ends_with(".NoSuchUnit")) return;
    fail("stop unit " + unit + ": " + (reply.empty() ? error : reply), ErrorKind::FailedPrecondition);
  }
  Reader r{reply, 0, 0};
  wait_job(r.str(), "stop unit", unit, 0);
}

void Bus::reset_failed_unit(const std::string& unit) {
  Writer w;
  w.str(unit);
  std::string error;
  call("ResetFailedUnit", "s", w.b, &error);
}

bool valid_unit_name(const std::string& name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr(":-_.\\@", c)) return false;
  return true;
}

std::string expand_slice(const std::string& slice, const std::string& field) {
  const std::string suffix = ".slice";
  if (slice == "-.slice") return "";
  if (!slice.ends_with(suffix) || slice.size() == suffix.size() || !valid_unit_name(slice) ||
      slice.find('/') != std::string::npos)
    fail(field + ": \"" + slice + "\" is not a slice unit name (like system.slice or kubepods-burstable.slice)");
  std::string name = slice.substr(0, slice.size() - suffix.size());
  if (name.front() == '-' || name.back() == '-' || name.find("--") != std::string::npos)
    fail(field + ": \"" + slice + "\": a slice name has no empty part between dashes");
  // Each dash opens a child slice of the one before.
  std::string path, prefix;
  size_t start = 0;
  for (;;) {
    size_t dash = name.find('-', start);
    prefix = name.substr(0, dash);
    path += "/" + prefix + suffix;
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  return path;
}

std::vector<uint8_t> cpuset_mask(const std::string& list, const std::string& field) {
  std::vector<uint8_t> mask;
  size_t start = 0;
  while (start < list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string part = list.substr(start, comma - start);
    start = comma + 1;
    if (part.empty()) continue;
    size_t dash = part.find('-');
    char* end = nullptr;
    unsigned long lo = std::strtoul(part.c_str(), &end, 10);
    unsigned long hi = lo;
    bool ok = end != part.c_str() && (dash == std::string::npos ? *end == '\0' : end == part.c_str() + dash);
    if (ok && dash != std::string::npos) {
      const char* h = part.c_str() + dash + 1;
      hi = std::strtoul(h, &end, 10);
      ok = end != h && *end == '\0';
    }
    if (!ok || hi < lo || hi >= 8192) fail(field + ": \"" + list + "\" is not a cpu/node list (like 0-2,5)");
    if (mask.size() < hi / 8 + 1) mask.resize(hi / 8 + 1, 0);
    for (unsigned long i = lo; i <= hi; ++i) mask[i / 8] |= static_cast<uint8_t>(1u << (i % 8));
  }
  return mask;
}

}  // namespace berth::runtime::systemd
