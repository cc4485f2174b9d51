// --console-socket: the container gets a real pty, its master comes back to
// the caller over the socket (as containerd's shim receives it).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "runtime/console.hpp"
#include "runtime_checks.hpp"

using namespace berth::testing;
using nlohmann::json;

namespace {

class ConsoleServer {
 public:
  explicit ConsoleServer(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) || listen(fd_, 4)) std::abort();
  }
  ~ConsoleServer() { close(fd_); }
  // Accepts one connection and receives the pty master.
  int receive_master() {
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, 20000) <= 0) return -1;
    berth::UniqueFd conn(accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC));
    return berth::runtime::recv_fd(conn.get()).release();
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// Reads from fd until `needle` shows up (or the pty closes / 20 s pass).
std::string read_until(int fd, const std::string& needle) {
  std::string got;
  for (int i = 0; i < 1000 && got.find(needle) == std::string::npos; ++i) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char buf[1024];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

}  // namespace

TEST(Console, SocketGivesAWorkingPty) {
  BERTH_REQUIRE_BUSYBOX();
  TempDir d;
  ConsoleServer server(d.path() + "/console.sock");
  Bundle b;
  b.config["process"]["terminal"] = true;
  b.config["process"]["consoleSize"] = {{"height", 40}, {"width", 123}};
  b.set_args({"sh", "-c",
              "tty; [ -t 0 ] && [ -t 1 ] && echo is-a-tty; stty size; read line; echo got:$line; exit 9"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("console");
  // create blocks until the master is sent; accept it concurrently.
  int master = -1;
  std::thread t([&] { master = server.receive_master(); });
  auto r = run_detached(rt, {"create", "--bundle", b.path(), "--console-socket", server.path(), id});
  t.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GE(master, 0);
  ASSERT_EQ(rt({"start", id}).exit_code, 0);
  std::string out = read_until(master, "40 123");
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  EXPECT_NE(out.find("is-a-tty"), std::string::npos) << out;
  EXPECT_NE(out.find("40 123"), std::string::npos) << out;
  ASSERT_EQ(write(master, "hello\n", 6), 6);
  out = read_until(master, "got:hello");
  EXPECT_NE(out.find("got:hello"), std::string::npos) << out;
  close(master);
  EXPECT_TRUE(eventually([&] { return state_of(rt, id)["status"] == "stopped"; }));
  EXPECT_EQ(rt({"delete", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Console, ExecWithTtyAndConsoleSocket) {
  BERTH_REQUIRE_BUSYBOX();
  TempDir d;
  ConsoleServer server(d.path() + "/console.sock");
  Bundle b;
  b.set_args({"sleep", "1000"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("exectty");
  ASSERT_EQ(run_detached(rt, {"run", "-d", "--bundle", b.path(), id}).exit_code, 0);
  int master = -1;
  std::thread t([&] { master = server.receive_master(); });
  auto r = run_detached(rt, {"exec", "-t", "-d", "--console-socket", server.path(), id, "sh", "-c",
                             "[ -t 0 ] && echo exec-tty; tty"});
  t.join();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_GE(master, 0);
  std::string out = read_until(master, "/dev/pts/");
  EXPECT_NE(out.find("exec-tty"), std::string::npos) << out;
  close(master);
  EXPECT_EQ(rt({"delete", "-f", id}).exit_code, 0);
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Console, TerminalWithoutSocketIsAClearError) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["process"]["terminal"] = true;
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("noconsole");
  auto r = run_detached(rt, {"create", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("process.terminal"), std::string::npos) << r.err;
  EXPECT_NO_LEFTOVERS(rt, b, id);
}

TEST(Console, ForegroundRunProxiesThePty) {
  BERTH_REQUIRE_BUSYBOX();
  Bundle b;
  b.config["process"]["terminal"] = true;
  b.set_args({"sh", "-c", "[ -t 1 ] && echo proxied-tty; exit 4"});
  b.write();
  Runtime rt;
  std::string id = Runtime::unique_id("proxy");
  auto r = rt({"run", "--bundle", b.path(), id});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.out.find("proxied-tty"), std::string::npos) << r.out;
  EXPECT_NO_LEFTOVERS(rt, b, id);
}
