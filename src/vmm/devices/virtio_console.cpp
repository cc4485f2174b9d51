// virtio-console (virtio 1.x, 5.3), port 0 only (no MULTIPORT): queue 0 is
// the receiveq (host to guest), queue 1 the transmitq (guest to host). The
// host end is a unix stream socket the VMM listens on; one client at a time
// (a second is closed at once unless the first has hung up).
//
// Bytes move between the rings and the socket with readv/sendmsg straight
// from guest memory, so the VMM holds no copy of a connected client's data:
// - a client that does not read stalls the transmitq (the chain stays in
//   flight until the socket takes it; the guest sees its ring fill up);
// - receive buffers are taken only while the socket has bytes, and the
//   socket is not read while the guest offers none (the client's writes
//   block in its socket buffer);
// - a client that shuts down writing (EOF) is not read again but keeps
//   getting output until it closes.
// With no client, what the guest sends goes to a backlog of the last
// kBacklog bytes, handed to the next client (a console attached late sees
// the recent output; a guest writing to nobody never blocks).
//
// Threads: queue notifies and socket events arrive on the I/O thread, but a
// notify the ioeventfd missed and status writes come on a vCPU thread. So
// only I/O-thread callbacks close the client (its fd number must not be
// reused while the loop may still report events for it); the queue code
// marks a dead client and re-arms its epoll events (EPOLLONESHOT, set with
// modify()) so the I/O thread cleans up. One-shot interest also keeps a
// hung-up client the guest has no buffers for from waking the loop forever.
//
// Saved state: the backlog, whether the guest may have receive buffers, and
// a transmit chain a stalled client left half sent (its guest addresses).
// The client is not: after a restore the socket is a new one, and clients
// reconnect.
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <nlohmann/json.hpp>
#include <optional>

#include "common/unix_listener.hpp"
#include "vmm/devices/virtio_pci.hpp"

namespace berth::vmm {

namespace {

constexpr int kRx = 0, kTx = 1;
constexpr size_t kBacklog = 64 * 1024;

class VirtioConsole : public VirtioPciDevice {
 public:
  explicit VirtioConsole(const std::string& path)
      : VirtioPciDevice(3, 0x078000, 2, 0, "virtio-console " + path),
        listener_(std::in_place, path, "channel socket") {}

  ~VirtioConsole() override {
    if (!loop_) return;
    if (listener_) loop_->remove(listener_->fd());
    if (client_) loop_->remove(client_.get());
  }

  // The VM has ended: the socket path goes now (before the VMM reports the
  // end), so a VM started next with the same --channel finds it free.
  void release_backend() override {
    std::lock_guard<std::mutex> l(mu_);
    if (!listener_) return;
    if (loop_) loop_->remove(listener_->fd());
    listener_.reset();
    drop_client();
  }

 protected:
  // No F_SIZE, F_MULTIPORT or F_EMERG_WRITE: the config space is unused.
  void config_read(uint64_t, uint8_t* data, uint32_t len) override { store_le(data, len, 0); }

  void on_bind() override {
    loop_->add(listener_->fd(), [this] {
      std::lock_guard<std::mutex> l(mu_);
      accept_client();
    });
  }

  void save_device(StateJson& out) override {
    out = {{"rx_wanted", rx_wanted_}, {"backlog", state_blob(backlog_.data(), backlog_.size())}, {"tx", nullptr}};
    if (!tx_) return;
    StateJson bufs = StateJson::array();
    for (const auto& v : tx_->iov)
      if (v.iov_len) bufs.push_back({mem_->gpa_of(v.iov_base).value_or(0), v.iov_len});
    out["tx"] = {{"head", tx_->head}, {"bufs", std::move(bufs)}};
  }

  void load_device(const StateJson& in) override {
    rx_wanted_ = state_bool(in, "rx_wanted", name_);
    std::vector<uint8_t> b = state_bytes(in, "backlog", name_, kBacklog);
    backlog_.assign(b.begin(), b.end());
    tx_.reset();
    if (in.contains("tx") && !in["tx"].is_null()) {
      const StateJson& tx = state_object(in, "tx", name_);
      TxChain chain{static_cast<uint16_t>(state_uint(tx, "head", name_, queues_[kTx].size - 1u)), {}};
      for (const auto& v : state_array(tx, "bufs", name_, Virtqueue::kMaxSize)) {
        if (!v.is_array() || v.size() != 2 || !state_is_uint(v[0]) || !state_is_uint(v[1]))
          state_error(name_, "a buffer of the transmit chain is not [address, length]");
        auto gpa = v[0].get<uint64_t>(), len = v[1].get<uint64_t>();
        uint8_t* p = len <= UINT32_MAX ? mem_->ptr(gpa, len) : nullptr;
        if (!p) state_error(name_, "a buffer of the transmit chain lies outside guest memory");
        chain.iov.push_back({p, len});
      }
      tx_ = std::move(chain);
    }
  }

  void on_driver_ok() override {
    rx_wanted_ = true;
    rearm();
  }

  void on_reset() override {
    tx_.reset();  // its buffers belonged to the driver that reset
    rx_wanted_ = false;
    rearm();
  }

  void process_queue(int q) override {
    if (q == kRx) {
      rx_wanted_ = true;
      receive();
    } else if (q == kTx) {
      transmit();
    }
    rearm();
  }

 private:
  struct TxChain {
    uint16_t head;
    std::vector<iovec> iov;  // what is left to send
  };

  bool connected() const { return client_ && !client_dead_; }
  bool rx_ready() const { return rx_wanted_ && driver_ok() && queues_[kRx].enabled; }
  bool can_read() const { return connected() && !peer_eof_ && rx_ready(); }

  bool hung_up() const {
    pollfd p{client_.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
  }

  void accept_client() {
    if (!listener_) return;
    UniqueFd c = listener_->accept();
    if (!c) return;
    if (client_ && !client_dead_ && !hung_up()) return;  // busy: the newcomer sees EOF
    drop_client();
    client_ = std::move(c);
    loop_->add(client_.get(), [this] {
      std::lock_guard<std::mutex> l(mu_);
      on_client_event();
    }, EPOLLONESHOT);
    if (paused()) return;
    transmit();  // the backlog first
    receive();
    rearm();
  }

  void on_client_event() {
    if (paused()) return;  // interest stays disarmed until resume() rearms
    receive();
    transmit();
    if (client_dead_ || hung_up()) drop_client();
    else rearm();
  }

  void drop_client() {
    if (!client_) return;
    loop_->remove(client_.get());
    client_.reset();
    client_dead_ = peer_eof_ = false;
  }

  // The one place epoll interest is decided: readable when the guest has
  // (or may have) receive buffers, writable while a send is stalled.
  void rearm() {
    if (!client_) return;
    uint32_t ev = EPOLLONESHOT;
    if (client_dead_) ev |= EPOLLIN | EPOLLOUT;
    if (can_read()) ev |= EPOLLIN;
    if (connected() && (tx_ || !backlog_.empty())) ev |= EPOLLOUT;
    loop_->modify(client_.get(), ev);
  }

  void receive() {
    while (can_read()) {
      uint16_t head;
      auto r = queues_[kRx].pop(*mem_, &head, &bufs_);
      if (r == Virtqueue::Pop::Empty) {
        rx_wanted_ = false;  // until the driver adds buffers and notifies
        return;
      }
      if (r == Virtqueue::Pop::BadRing) {
        rx_wanted_ = false;
        return fail_device("receiveq rings lie outside guest memory");
      }
      std::vector<iovec> iov;
      if (r == Virtqueue::Pop::Ok)
        for (const auto& b : bufs_)
          if (b.device_writes && b.len) iov.push_back({mem_->ptr(b.gpa, b.len), b.len});
      if (iov.empty()) {  // a malformed or read-only chain fails alone
        complete(kRx, head, 0);
        continue;
      }
      ssize_t n = ::readv(client_.get(), iov.data(), static_cast<int>(iov.size()));
      if (n > 0) {
        complete(kRx, head, static_cast<uint32_t>(n));
        continue;
      }
      queues_[kRx].unpop();  // nothing to put in it yet
      // EOF: the client shut down its writing side (socat, nc -N); it may
      // still read the guest's answer, so it stays until it closes.
      if (n == 0) peer_eof_ = true;
      else if (errno != EAGAIN && errno != EINTR) client_dead_ = true;
      return;
    }
  }

  void transmit() {
    for (;;) {
      if (!flush_backlog()) return;
      if (!tx_ && !next_tx_chain()) return;
      if (!send_chain()) return;
      complete(kTx, tx_->head, 0);
      tx_.reset();
    }
  }

  // Takes the next transmit chain into tx_; false when there is none.
  bool next_tx_chain() {
    while (driver_ok() && queues_[kTx].enabled) {
      uint16_t head;
      auto r = queues_[kTx].pop(*mem_, &head, &bufs_);
      if (r == Virtqueue::Pop::Empty) return false;
      if (r == Virtqueue::Pop::BadRing) {
        fail_device("transmitq rings lie outside guest memory");
        return false;
      }
      if (r == Virtqueue::Pop::BadChain) {
        complete(kTx, head, 0);  // nothing of it is sent
        continue;
      }
      tx_ = TxChain{head, {}};
      for (const auto& b : bufs_)
        if (!b.device_writes && b.len) tx_->iov.push_back({mem_->ptr(b.gpa, b.len), b.len});
      return true;
    }
    return false;
  }

  // Sends what is left of tx_; false if the client stalled. Without a
  // client the bytes go to the backlog.
  bool send_chain() {
    auto& iov = tx_->iov;
    size_t done = 0;
    while (connected() && done < iov.size()) {
      msghdr m{};
      m.msg_iov = iov.data() + done;
      m.msg_iovlen = iov.size() - done;
      ssize_t n = ::sendmsg(client_.get(), &m, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) {
          iov.erase(iov.begin(), iov.begin() + static_cast<long>(done));
          return false;
        }
        client_dead_ = true;
        break;
      }
      for (size_t left = static_cast<size_t>(n); left;) {
        size_t take = std::min(left, iov[done].iov_len);
        iov[done].iov_base = static_cast<uint8_t*>(iov[done].iov_base) + take;
        iov[done].iov_len -= take;
        left -= take;
        if (!iov[done].iov_len) ++done;
      }
      while (done < iov.size() && !iov[done].iov_len) ++done;
    }
    for (size_t i = done; i < iov.size(); ++i) keep(iov[i]);
    return true;
  }

  // Appends to the backlog, which keeps only its last kBacklog bytes.
  void keep(const iovec& v) {
    const auto* p = static_cast<const char*>(v.iov_base);
    size_t len = v.iov_len;
    if (len > kBacklog) {
      p += len - kBacklog;
      len = kBacklog;
    }
    if (backlog_.size() + len > kBacklog) backlog_.erase(0, backlog_.size() + len - kBacklog);
    backlog_.append(p, len);
  }

  // Sends the backlog to a client; false if the client stalled.
  bool flush_backlog() {
    while (connected() && !backlog_.empty()) {
      ssize_t n = ::send(client_.get(), backlog_.data(), backlog_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return false;
        client_dead_ = true;
        break;
      }
      backlog_.erase(0, static_cast<size_t>(n));
    }
    return true;
  }

  std::optional<UnixListener> listener_;  // reset by release_backend()
  UniqueFd client_;
  bool client_dead_ = false;  // noticed off the I/O thread; dropped on it
  bool peer_eof_ = false;     // the client sends no more
  bool rx_wanted_ = false;    // the receiveq may hold buffers
  std::optional<TxChain> tx_;
  std::string backlog_;
  std::vector<Virtqueue::Buf> bufs_;
};

}  // namespace

std::unique_ptr<VirtioPciDevice> make_virtio_console(const std::string& socket_path) {
  return std::make_unique<VirtioConsole>(socket_path);
}

}  // namespace berth::vmm
