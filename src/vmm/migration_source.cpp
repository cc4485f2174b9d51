#include "vmm/migration_source.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/log.hpp"
#include "vmm/machine_section.hpp"
#include "vmm/snapshot_file.hpp"
#include "vmm/trace.hpp"

namespace berth::vmm {

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMaxRun = 1 << 20;  // bytes of one Pages frame

using Clock = std::chrono::steady_clock;
using Bits = std::vector<std::vector<uint64_t>>;  // per region, a bit per page

double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

void check_cancel(const std::atomic<bool>& cancel) {
  if (cancel) fail("migration aborted", ErrorKind::FailedPrecondition);
}

// KVM's dirty log and the device writes, while the migration lasts.
class DirtyTracking {
 public:
  explicit DirtyTracking(Machine& m) : m_(m) {
    m_.vm().set_memory(m_.memory(), true);
    m_.memory().track_device_writes(true);
  }
  ~DirtyTracking() {
    m_.memory().track_device_writes(false);
    try {
      m_.vm().set_memory(m_.memory(), false);
    } catch (const Error& e) {
      log::warn(e.what());
    }
  }
  // Pages written since the last call (or since tracking began).
  Bits take() {
    Bits out;
    const auto& regions = m_.memory().regions();
    for (size_t r = 0; r < regions.size(); ++r) {
      std::vector<uint64_t> b = m_.vm().dirty_log(static_cast<uint32_t>(r), regions[r].size / kPage);
      std::vector<uint64_t> d = m_.memory().take_device_writes(r);
      for (size_t w = 0; w < b.size(); ++w) b[w] |= d[w];
      out.push_back(std::move(b));
    }
    return out;
  }

 private:
  Machine& m_;
};

uint64_t count(const Bits& bits) {
  uint64_t n = 0;
  for (const auto& r : bits)
    for (uint64_t w : r) n += static_cast<uint64_t>(__builtin_popcountll(w));
  return n;
}

void merge(Bits& into, const Bits& from) {
  for (size_t r = 0; r < into.size(); ++r)
    for (size_t w = 0; w < into[r].size(); ++w) into[r][w] |= from[r][w];
}

class Sender {
 public:
  Sender(MigrationStream& s, const GuestMemory& mem, const std::atomic<bool>& cancel)
      : s_(s), mem_(mem), cancel_(cancel) {}

  void run(size_t r, uint64_t offset, uint64_t len) {
    const auto& reg = mem_.regions()[r];
    while (len) {
      check_cancel(cancel_);
      uint64_t n = std::min(len, kMaxRun);
      s_.send_pages(reg.gpa + offset, reg.host + offset, n);
      offset += n;
      len -= n;
    }
  }
  // The pages set in bits, as runs.
  void pages(const Bits& bits) {
    for (size_t r = 0; r < bits.size(); ++r) {
      uint64_t pages = mem_.regions()[r].size / kPage;
      for (uint64_t p = 0; p < pages;) {
        if (!(bits[r][p / 64] >> (p % 64) & 1)) {
          ++p;
          continue;
        }
        uint64_t q = p + 1;
        while (q < pages && (bits[r][q / 64] >> (q % 64) & 1) && (q - p) * kPage < kMaxRun) ++q;
        run(r, p * kPage, (q - p) * kPage);
        p = q;
      }
    }
  }

 private:
  MigrationStream& s_;
  const GuestMemory& mem_;
  const std::atomic<bool>& cancel_;
};

}  // namespace

MigrationStats migrate(Machine& m, const std::string& name, const MigrationOptions& o,
                       const std::atomic<bool>& cancel) {
  auto t0 = Clock::now();
  MigrationStats st;
  MigrationStream s = MigrationStream::connect(o.to, 10000);
  s.send_json(Frame::Hello, {{"format", kMigrationFormat}, {"berth", berth_version()}, {"token", o.token}});
  s.receive_answer("the receiver's answer to the hello");
  s.send_json(Frame::Machine, machine_section(m.config(), m.memory(), name));
  s.receive_answer("the receiver's answer to the machine");
  st.setup_ms = ms_since(t0);
  s.limit_rate(o.max_bandwidth);

  DirtyTracking dirty(m);
  Sender send(s, m.memory(), cancel);
  // Round 1: every page that holds data (a fresh target's RAM is zeros).
  auto round = Clock::now();
  uint64_t before = s.bytes_sent();
  for (size_t r = 0; r < m.memory().regions().size(); ++r)
    m.memory().for_each_data_run(r, [&](uint64_t off, uint64_t len) { send.run(r, off, len); });
  st.rounds = 1;
  // Bytes per ms, as last measured up to the target's answer to a sync: a
  // round ends once the target has taken it (sends end once the socket
  // buffers have it, megabytes early; the rest would be read in the
  // downtime). At least a page per ms: a round of nothing measures nothing.
  auto rate = [&] {
    s.send(Frame::Sync, nullptr, 0);
    s.receive_answer("the receiver's answer to a sync");
    return std::max<double>(static_cast<double>(s.bytes_sent() - before) / std::max(ms_since(round), 0.01), kPage);
  };
  double bw = rate();
  Bits left;
  for (;;) {
    check_cancel(cancel);
    left = dirty.take();
    double expect_ms = static_cast<double>(count(left) * kPage) / bw;
    if (expect_ms <= o.max_downtime_ms || st.rounds >= o.max_rounds) break;
    round = Clock::now();
    before = s.bytes_sent();
    send.pages(left);
    bw = rate();
    ++st.rounds;
  }

  // Stop and copy. The state goes first: the target loads it into KVM and
  // its devices (~0.3 ms here) while the last dirty pages stream in
  // behind it, rather than after them (loading touches no guest RAM, and
  // nothing runs there before "done").
  auto paused_at = Clock::now();
  uint64_t paused_ns = monotonic_ns();
  nlohmann::json running;
  trace("S pause");
  m.pause();
  trace("S paused");
  try {
    std::string state = m.capture_state(name).serialize(StateEncoding::Binary);
    trace("S serialized");
    s.send(Frame::State, state.data(), state.size());
    trace("S state sent");
    merge(left, dirty.take());
    send.pages(left);
    trace("S pages sent");
    ++st.rounds;
    m.yield_backends();
    s.send(Frame::Done, nullptr, 0);
    trace("S done sent");
    st.sent_ms = ms_since(paused_at);
    running = s.receive_answer("the receiver's answer to the state");
    trace("S answer");
  } catch (...) {
    // The target has not run the VM: it carries on here.
    try {
      m.claim_backends();
    } catch (const Error& e) {
      log::warn(std::string("after a failed migration: ") + e.what());
    }
    m.resume();
    throw;
  }
  st.downtime_ms = st.heard_ms = ms_since(paused_at);
  // On one host the target says when it let the vCPUs go: the guest's
  // downtime, without the wait for this thread to get a CPU back (up to
  // a scheduler slice on a busy host, while the guest already runs there).
  auto boot = running.find("boot_id");
  auto at = running.find("resumed_ns");
  if (!host_boot_id().empty() && boot != running.end() && boot->is_string() && *boot == host_boot_id() &&
      at != running.end() && at->is_number_unsigned()) {
    uint64_t r = at->get<uint64_t>();
    if (r >= paused_ns && r <= monotonic_ns()) st.downtime_ms = static_cast<double>(r - paused_ns) / 1e6;
  }
  st.total_ms = ms_since(t0);
  st.bytes = s.bytes_sent();
  m.end(ExitReason::Migrated, "migrated to " + o.to.text);
  return st;
}

}  // namespace berth::vmm
