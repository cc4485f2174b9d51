#include "runtime/seccomp.hpp"

#include <errno.h>
#include <seccomp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <cctype>
#include <map>
#include <set>
#include <tuple>
#include <memory>
#include <string_view>
#include <utility>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/log.hpp"
#include "runtime/mounts/mounts.hpp"
#include "runtime/process_setup.hpp"

namespace berth::runtime {
namespace {

[[noreturn]] void throw_scmp(int rc, const std::string& what) { throw_errno(what, -rc); }

constexpr size_t kMaxInstructions = 4096;  // BPF_MAXINSNS

scmp_compare compare_op(const std::string& op, const std::string& field) {
  static constexpr std::array<std::pair<std::string_view, scmp_compare>, 7> kOps = {{
      {"SCMP_CMP_NE", SCMP_CMP_NE},
      {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE},
      {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  }};
  for (auto& [name, v] : kOps)
    if (name == op) return v;
  fail(field + ": unknown seccomp operator \"" + op + "\"");
}

// A rule as it goes to libseccomp.
struct Rule {
  uint32_t action;
  int nr;
  std::vector<scmp_arg_cmp> conds;
  const std::string* name;  // for errors
  std::string field;
};

// A lower bound on the instructions libseccomp generates for `rules` on one
// architecture, cheap to count: each syscall with rules costs a comparison
// of its number, and each argument comparison (two or more instructions)
// decides at most two rules, one per branch. Rules libseccomp may merge do
// not count: exact duplicates, and (generously) a rule whose conditions
// include all of another rule's with the same action, which then matches
// first (an unconditional rule covers every conditional one).
size_t least_instructions(const std::vector<Rule>& rules) {
  using Cond = std::tuple<unsigned, int, uint64_t, uint64_t>;
  using Conds = std::vector<Cond>;  // sorted
  std::map<int, std::map<Conds, std::set<uint32_t>>> by_nr;
  for (const Rule& r : rules) {
    Conds c;
    for (const auto& a : r.conds) c.emplace_back(a.arg, a.op, a.datum_a, a.datum_b);
    std::sort(c.begin(), c.end());
    by_nr[r.nr][c].insert(r.action);
  }
  size_t n = 0;
  for (const auto& [nr, lists] : by_nr) {
    size_t conditional = 0;
    for (const auto& [conds, actions] : lists) {
      if (conds.empty()) continue;
      bool covered = false;
      for (unsigned mask = 0; !covered && mask + 1 < (1u << conds.size()); ++mask) {
        Conds subset;
        for (size_t i = 0; i < conds.size(); ++i)
          if (mask & (1u << i)) subset.push_back(conds[i]);
        auto it = lists.find(subset);
        if (it == lists.end()) continue;
        for (uint32_t a : actions) covered |= it->second.count(a) > 0;
      }
      conditional += !covered;
    }
    n += 1 + (conditional + 1) / 2;
  }
  return n;
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

uint32_t seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret,
                        const std::string& field) {
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  fail(field + ": unknown seccomp action \"" + name + "\"");
}

uint32_t seccomp_arch(const std::string& name, const std::string& field) {
  constexpr std::string_view prefix = "SCMP_ARCH_";
  if (name.starts_with(prefix) && name.size() > prefix.size()) {
    uint32_t a = seccomp_arch_resolve_name(lower(name.substr(prefix.size())).c_str());
    if (a != 0) return a;
  }
  fail(field + ": unknown seccomp architecture \"" + name + "\"");
}

SeccompFilter::SeccompFilter(const oci::Seccomp& config) {
  if (config.default_action.empty()) fail("linux.seccomp.defaultAction: missing");
  const uint32_t def = seccomp_action(config.default_action, config.default_errno_ret,
                                      "linux.seccomp.defaultAction");
  scmp_filter_ctx ctx = seccomp_init(def);
  if (!ctx) fail("linux.seccomp: seccomp_init failed", ErrorKind::Internal);
  std::unique_ptr<void, void (*)(void*)> owner(ctx, [](void* c) { seccomp_release(c); });
  has_notify_ = def == SCMP_ACT_NOTIFY;

  auto attr = [&](scmp_filter_attr a, uint32_t v, const std::string& what) {
    int rc = seccomp_attr_set(ctx, a, v);
    if (rc < 0) throw_scmp(rc, "linux.seccomp: " + what);
  };
  // noNewPrivileges is the process config's decision, not the filter's.
  attr(SCMP_FLTATR_CTL_NNP, 0, "clear no_new_privs attribute");
  // Real kernel errno values from seccomp_load (not a generic -ECANCELED).
  attr(SCMP_FLTATR_API_SYSRAWRC, 1, "enable raw return codes");

  for (size_t i = 0; i < config.flags.size(); ++i) {
    const auto& f = config.flags[i];
    const std::string field = "linux.seccomp.flags[" + std::to_string(i) + "]";
    if (f == "SECCOMP_FILTER_FLAG_TSYNC") {
      flags_ |= SECCOMP_FILTER_FLAG_TSYNC;
    } else if (f == "SECCOMP_FILTER_FLAG_LOG") {
      flags_ |= SECCOMP_FILTER_FLAG_LOG;
    } else if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
      flags_ |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    } else if (f == "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
      fail(field + ": " + f + " is not supported by this libseccomp (2.5)",
           ErrorKind::Unsupported);
    } else {
      fail(field + ": unknown seccomp flag \"" + f + "\"");
    }
  }

  for (size_t i = 0; i < config.architectures.size(); ++i) {
    const std::string field = "linux.seccomp.architectures[" + std::to_string(i) + "]";
    uint32_t arch = seccomp_arch(config.architectures[i], field);
    int rc = seccomp_arch_add(ctx, arch);
    if (rc < 0 && rc != -EEXIST) throw_scmp(rc, field + ": add " + config.architectures[i]);
  }

  // Every rule, checked and resolved, before libseccomp sees any: adding
  // rules costs it time quadratic in their number per syscall (20,000 rules
  // took 17 s), so a profile too big for the kernel is refused first.
  std::vector<Rule> rules;
  int max_nr = -1;  // highest native syscall number the profile names
  for (size_t i = 0; i < config.syscalls.size(); ++i) {
    const auto& sc = config.syscalls[i];
    const std::string field = "linux.seccomp.syscalls[" + std::to_string(i) + "]";
    if (sc.action.empty()) fail(field + ".action: missing");
    const uint32_t action = seccomp_action(sc.action, sc.errno_ret, field + ".action");
    if (sc.args.size() > 6) fail(field + ".args: at most 6 conditions");
    std::vector<scmp_arg_cmp> conds;
    std::map<uint32_t, int> per_index;
    for (size_t j = 0; j < sc.args.size(); ++j) {
      const auto& a = sc.args[j];
      const std::string afield = field + ".args[" + std::to_string(j) + "]";
      if (a.index > 5) fail(afield + ".index: " + std::to_string(a.index) + " is not 0..5");
      scmp_compare op = compare_op(a.op, afield + ".op");
      conds.push_back(scmp_arg_cmp{a.index, op, a.value, a.value_two});
      ++per_index[a.index];
    }
    if (action == def) continue;  // a no-op, and libseccomp refuses it
    if (action == SCMP_ACT_NOTIFY) has_notify_ = true;
    bool split = false;  // same index twice: conditions are alternatives (runc)
    for (auto& [idx, n] : per_index) split |= n > 1;

    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log::debug(field + ": unknown syscall \"" + name + "\" skipped");
        continue;
      }
      max_nr = std::max(max_nr, nr);
      if (!split) {
        rules.push_back({action, nr, conds, &name, field});
      } else {
        for (const auto& c : conds) rules.push_back({action, nr, {c}, &name, field});
      }
    }
  }
  const size_t least = least_instructions(rules);
  if (least > kMaxInstructions)
    fail("linux.seccomp: the profile's " + std::to_string(rules.size()) + " rules need at least " +
         std::to_string(least) + " BPF instructions, more than the kernel's limit of " +
         std::to_string(kMaxInstructions));
  for (const Rule& r : rules) {
    int rc = seccomp_rule_add_array(ctx, r.action, r.nr, static_cast<unsigned>(r.conds.size()), r.conds.data());
    if (rc < 0) throw_scmp(rc, r.field + ": add rule for " + *r.name);
    ++rules_;
  }

  // Generate the program now, once: loading is then one syscall.
  UniqueFd mem(memfd_create("berth-seccomp-bpf", MFD_CLOEXEC));
  if (!mem) throw_errno("linux.seccomp: memfd_create");
  int rc = seccomp_export_bpf(ctx, mem.get());
  if (rc < 0) throw_scmp(rc, "linux.seccomp: generate BPF");
  struct stat st {};
  check(fstat(mem.get(), &st), "linux.seccomp: fstat BPF memfd");
  if (st.st_size <= 0 || st.st_size % 8 != 0)
    fail("linux.seccomp: libseccomp produced a malformed program", ErrorKind::Internal);
  bpf_.resize(static_cast<size_t>(st.st_size) / 8);
  if (pread(mem.get(), bpf_.data(), static_cast<size_t>(st.st_size), 0) != st.st_size)
    throw_errno("linux.seccomp: read BPF memfd");
  // Syscalls newer than every syscall the profile names get ENOSYS instead
  // of the default action (runc does the same): libc then falls back to an
  // older call (clone3 -> clone, faccessat2 -> faccessat) instead of failing
  // on EPERM with a profile written before the syscall existed.
  if (def != SCMP_ACT_ALLOW && def != SCMP_ACT_LOG && max_nr >= 0) {
    const uint32_t arch = seccomp_arch_native();
    auto ins = [](uint16_t code, uint8_t jt, uint8_t jf, uint32_t k) {
      sock_filter f{code, jt, jf, k};
      uint64_t v;
      static_assert(sizeof f == sizeof v);
      std::memcpy(&v, &f, sizeof v);
      return v;
    };
    const std::vector<uint64_t> stub = {
        ins(BPF_LD | BPF_W | BPF_ABS, 0, 0, 4),                           // A = arch
        ins(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, arch),                       // other arch: skip
        ins(BPF_LD | BPF_W | BPF_ABS, 0, 0, 0),                           // A = nr
        ins(BPF_JMP | BPF_JGE | BPF_K, 2, 0, 0x40000000),                 // x32 numbers: skip
        ins(BPF_JMP | BPF_JGT | BPF_K, 0, 1, static_cast<uint32_t>(max_nr)),
        ins(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
    };
    bpf_.insert(bpf_.begin(), stub.begin(), stub.end());
  }
  if (bpf_.size() > kMaxInstructions)
    fail("linux.seccomp: the filter has " + std::to_string(bpf_.size()) +
             " BPF instructions, more than the kernel's limit of " +
             std::to_string(kMaxInstructions),
         ErrorKind::InvalidArgument);
}

int SeccompFilter::load() const {
  struct sock_fprog prog {};
  prog.len = static_cast<unsigned short>(bpf_.size());
  prog.filter = reinterpret_cast<sock_filter*>(const_cast<uint64_t*>(bpf_.data()));
  unsigned flags = flags_;
  if (has_notify_) {
    flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
    // TSYNC and a listener only go together with TSYNC_ESRCH.
    if (flags & SECCOMP_FILTER_FLAG_TSYNC) flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
  }
  long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (rc < 0) throw_errno("linux.seccomp: load filter");
  if (!has_notify_) return -1;
  return static_cast<int>(rc);
}

namespace {

// Everything that determines the generated program, in one string.
std::string cache_key(const oci::Seccomp& c) {
  std::string k = "berth-seccomp-v3\n";
  const scmp_version* v = seccomp_version();
  k += "libseccomp " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
       std::to_string(v->micro) + " native " + std::to_string(seccomp_arch_native()) + "\n";
  k += c.default_action + " " + (c.default_errno_ret ? std::to_string(*c.default_errno_ret) : "-") + "\n";
  for (auto& a : c.architectures) k += "arch " + a + "\n";
  for (auto& f : c.flags) k += "flag " + f + "\n";
  for (auto& r : c.syscalls) {
    k += "rule " + r.action + " " + (r.errno_ret ? std::to_string(*r.errno_ret) : "-");
    for (auto& n : r.names) k += " " + n;
    for (auto& a : r.args)
      k += " [" + std::to_string(a.index) + " " + a.op + " " + std::to_string(a.value) + " " +
           std::to_string(a.value_two) + "]";
    k += "\n";
  }
  return k;
}

// FNV-1a, 64 bits: names the cache file and catches torn or damaged files.
// Not a cryptographic hash, and it needs not be: the file holds the whole
// key, compared byte for byte, so two profiles that share a name only evict
// each other; and the cache dir is the runtime's own (0700, root's), whose
// writer could replace the runtime itself. (SHA-256 here linked libcrypto
// into berth-runtime, whose start-up constructor, probing the CPU with
// `cpuid`, cost ~0.1 ms of every container start: docs/performance.md.)
uint64_t fnv1a(std::string_view data) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : data) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

// File layout: header, key (key_len bytes), program (count * 8 bytes),
// FNV-1a of all that (8 bytes).
struct CacheHeader {
  char magic[8];  // "BERTHBP3"
  uint32_t flags;
  uint32_t has_notify;
  uint64_t rules;
  uint64_t count;
  uint64_t key_len;
};

constexpr size_t kMaxKey = 1 << 20;

}  // namespace

SeccompFilter SeccompFilter::cached(const oci::Seccomp& config, const std::string& cache_dir) {
  const std::string key = cache_key(config);
  const std::string path = cache_dir + "/" + hex64(fnv1a(key)) + ".bpf";
  {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat st {};
    if (fd && fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        !(st.st_mode & 022) && st.st_size > static_cast<off_t>(sizeof(CacheHeader) + 8) &&
        st.st_size <= static_cast<off_t>(sizeof(CacheHeader) + kMaxKey + kMaxInstructions * 8 + 8)) {
      std::string data(static_cast<size_t>(st.st_size), '\0');
      if (pread(fd.get(), data.data(), data.size(), 0) == st.st_size) {
        CacheHeader h;
        std::memcpy(&h, data.data(), sizeof h);
        const size_t body = data.size() - 8;
        uint64_t sum;
        std::memcpy(&sum, data.data() + body, 8);
        const bool whole = std::memcmp(h.magic, "BERTHBP3", 8) == 0 && h.count > 0 &&
                           h.count <= kMaxInstructions && h.key_len <= kMaxKey &&
                           sizeof h + h.key_len + h.count * 8 == body &&
                           fnv1a(std::string_view(data.data(), body)) == sum;
        if (whole && std::string_view(data.data() + sizeof h, h.key_len) == key) {
          SeccompFilter f;
          f.flags_ = h.flags;
          f.has_notify_ = h.has_notify != 0;
          f.rules_ = h.rules;
          f.bpf_.resize(h.count);
          std::memcpy(f.bpf_.data(), data.data() + sizeof h + h.key_len, h.count * 8);
          f.from_cache_ = true;
          return f;
        }
        if (!whole) log::debug("seccomp cache: ignoring damaged " + path);
      }
    }
  }
  SeccompFilter f(config);
  // Best effort: a cache that cannot be written only costs time.
  try {
    ensure_dir(cache_dir, 0700);
    CacheHeader h{};
    std::memcpy(h.magic, "BERTHBP3", 8);
    h.flags = f.flags_;
    h.has_notify = f.has_notify_ ? 1 : 0;
    h.rules = f.rules_;
    h.count = f.bpf_.size();
    h.key_len = key.size();
    std::string data(reinterpret_cast<const char*>(&h), sizeof h);
    data += key;
    data.append(reinterpret_cast<const char*>(f.bpf_.data()), f.bpf_.size() * 8);
    const uint64_t sum = fnv1a(data);
    data.append(reinterpret_cast<const char*>(&sum), 8);
    const std::string tmp = path + ".tmp." + std::to_string(getpid());
    UniqueFd out(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (out && write(out.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size())) {
      out.reset();
      // No fsync: a torn file fails its checksum and is rebuilt.
      if (rename(tmp.c_str(), path.c_str()) != 0) unlink(tmp.c_str());
    } else {
      unlink(tmp.c_str());
    }
  } catch (const Error& e) {
    log::debug(std::string("seccomp cache: ") + e.what());
  }
  return f;
}

void apply_seccomp(const oci::Seccomp& seccomp, int* listener_fd) {
  SeccompFilter f(seccomp);
  int fd = f.load();
  if (listener_fd) {
    *listener_fd = fd;
  } else if (fd >= 0) {
    ::close(fd);
  }
}

}  // namespace berth::runtime
