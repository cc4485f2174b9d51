// exec: a new process in a container (runc syntax).
#include "runtime/exec.hpp"
#include "runtime/sealed_exe.hpp"

#include "cli/runtime/cli.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"

namespace berth::cli {

namespace {

uint32_t parse_id(const std::string& s, const char* what) {
  char* end = nullptr;
  unsigned long v = std::strtoul(s.c_str(), &end, 10);
  if (s.empty() || *end || v > 0xffffffffUL)
    fail(std::string("exec: --") + what + " wants numeric ids (uid[:gid]), not \"" + s + "\"");
  return static_cast<uint32_t>(v);
}

void add_cap(std::vector<std::string>& set, const std::string& cap) {
  for (auto& c : set)
    if (c == cap) return;
  set.push_back(cap);
}

}  // namespace

int cmd_exec(const runtime::GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv,
         {{{"process", "p"}, true},
          {{"console-socket"}, true},
          {{"pidfd-socket"}, true},
          {{"cwd"}, true},
          {{"env", "e"}, true},
          {{"tty", "t"}, false},
          {{"user", "u"}, true},
          {{"additional-gids", "g"}, true},
          {{"detach", "d"}, false},
          {{"pid-file"}, true},
          {{"process-label"}, true},
          {{"apparmor"}, true},
          {{"no-new-privs"}, false},
          {{"cap", "c"}, true},
          {{"preserve-fds"}, true},
          {{"cgroup"}, true},
          {{"ignore-paused"}, false}},
         true, "exec");
  if (a.positional().empty()) fail("exec: missing container id; usage: berth-runtime exec [flags] ID [COMMAND...]");
  runtime::ExecOptions o;
  o.id = a.positional()[0];
  if (!a.value("cgroup").empty())
    fail("exec --cgroup: choosing a sub-cgroup is not supported by berth-runtime", ErrorKind::Unsupported);
  if (!a.value("pidfd-socket").empty())
    fail("exec --pidfd-socket is not supported by berth-runtime", ErrorKind::Unsupported);

  if (a.has("process")) {
    if (a.positional().size() > 1) fail("exec: give either --process or a command, not both");
    o.process = oci::parse_process(fs::read_file(a.value("process")));
  } else {
    if (a.positional().size() < 2) fail("exec: missing command; usage: berth-runtime exec [flags] ID COMMAND [ARGS...]");
    o.process = runtime::container_process(g, o.id);
    o.process.args.assign(a.positional().begin() + 1, a.positional().end());
    o.process.terminal = a.flag("tty");
    // A terminal size of the container's init does not apply to this one.
    o.process.console_size.reset();
  }
  if (a.has("tty")) o.process.terminal = a.flag("tty");
  // Accepted with a warning or refused by the runtime, as the config's
  // labels are (lsm_labels.hpp).
  if (a.has("process-label")) o.process.selinux_label = a.value("process-label");
  if (a.has("apparmor")) o.process.apparmor_profile = a.value("apparmor");
  if (a.has("cwd")) o.process.cwd = a.value("cwd");
  for (auto& e : a.values("env")) {
    if (e.find('=') == std::string::npos) fail("exec --env \"" + e + "\": want KEY=VALUE");
    std::string key = e.substr(0, e.find('=') + 1);
    std::erase_if(o.process.env, [&](const std::string& x) { return x.rfind(key, 0) == 0; });
    o.process.env.push_back(e);
  }
  if (a.has("user")) {
    std::string u = a.value("user");
    auto colon = u.find(':');
    o.process.user.uid = parse_id(u.substr(0, colon), "user");
    if (colon != std::string::npos) o.process.user.gid = parse_id(u.substr(colon + 1), "user");
  }
  for (auto& gid : a.values("additional-gids")) o.process.user.additional_gids.push_back(parse_id(gid, "additional-gids"));
  if (a.flag("no-new-privs")) o.process.no_new_privileges = true;
  for (auto& cap : a.values("cap")) {
    if (!o.process.capabilities) o.process.capabilities = oci::Capabilities{};
    auto& c = *o.process.capabilities;
    add_cap(c.bounding, cap);
    add_cap(c.effective, cap);
    add_cap(c.permitted, cap);
    add_cap(c.ambient, cap);
  }
  o.console_socket = a.value("console-socket");
  o.pid_file = a.value("pid-file");
  o.detach = a.flag("detach");
  o.preserve_fds = a.uint_value("preserve-fds");
  o.ignore_paused = a.flag("ignore-paused");
  // The exec'd process enters the container's pid namespace while it still
  // runs this binary: run it from the sealed view (sealed_exe.hpp).
  runtime::seal_self_exe();
  return runtime::exec_in_container(g, o);
}

}  // namespace berth::cli
