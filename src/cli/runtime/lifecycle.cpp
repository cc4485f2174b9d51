// create, run, start, state, kill, delete, pause, resume.
#include <cstdio>

#include "cli/runtime/cli.hpp"
#include "common/error.hpp"
#include "runtime/container.hpp"
#include "runtime/sealed_exe.hpp"

namespace berth::cli {

using runtime::GlobalOptions;

namespace {

const std::vector<FlagSpec> kCreateFlags = {
    {{"bundle", "b"}, true},        {{"console-socket"}, true}, {{"pid-file"}, true},
    {{"no-pivot"}, false},          {{"no-new-keyring"}, false}, {{"preserve-fds"}, true},
    {{"pidfd-socket"}, true},
};

runtime::CreateOptions create_options(const Args& a) {
  runtime::CreateOptions o;
  o.id = a.positional()[0];
  o.bundle = a.value("bundle", ".");
  o.console_socket = a.value("console-socket");
  o.pid_file = a.value("pid-file");
  o.no_pivot = a.flag("no-pivot");
  o.no_new_keyring = a.flag("no-new-keyring");
  o.preserve_fds = a.uint_value("preserve-fds");
  if (!a.value("pidfd-socket").empty())
    fail("--pidfd-socket is not supported by berth-runtime", ErrorKind::Unsupported);
  o.before_create = [](const oci::Spec& spec, bool start_now) {
    if (runtime::init_visible_to_container(spec, start_now)) runtime::seal_self_exe();
  };
  return o;
}

}  // namespace

int cmd_create(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, kCreateFlags, false, "create");
  a.expect_positional(1, 1, "[--bundle DIR] [--pid-file F] [--console-socket S] ID");
  runtime::create_container(g, create_options(a));
  return 0;
}

int cmd_run(const GlobalOptions& g, const std::vector<std::string>& argv) {
  auto flags = kCreateFlags;
  flags.push_back({{"detach", "d"}, false});
  flags.push_back({{"keep"}, false});
  Args a(argv, flags, false, "run");
  a.expect_positional(1, 1, "[--bundle DIR] [--detach] ID");
  return runtime::run_container(g, create_options(a), a.flag("detach"), a.flag("keep"));
}

int cmd_start(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, false, "start");
  a.expect_positional(1, 1, "ID");
  runtime::start_container(g, a.positional()[0]);
  return 0;
}

int cmd_state(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, false, "state");
  a.expect_positional(1, 1, "ID");
  auto info = runtime::inspect_container(g, a.positional()[0]);
  print_line(runtime::state_json(info.state, info.status, true));
  return 0;
}

int cmd_kill(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"all", "a"}, false}}, false, "kill");
  a.expect_positional(1, 2, "[--all] ID [SIGNAL]");
  int sig = runtime::parse_signal(a.positional().size() > 1 ? a.positional()[1] : "SIGTERM");
  runtime::kill_container(g, a.positional()[0], sig, a.flag("all"));
  return 0;
}

int cmd_delete(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {{{"force", "f"}, false}}, false, "delete");
  a.expect_positional(1, 1, "[--force] ID");
  runtime::delete_container(g, a.positional()[0], a.flag("force"));
  return 0;
}

int cmd_pause(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, false, "pause");
  a.expect_positional(1, 1, "ID");
  runtime::pause_container(g, a.positional()[0]);
  return 0;
}

int cmd_resume(const GlobalOptions& g, const std::vector<std::string>& argv) {
  Args a(argv, {}, false, "resume");
  a.expect_positional(1, 1, "ID");
  runtime::resume_container(g, a.positional()[0]);
  return 0;
}

}  // namespace berth::cli
