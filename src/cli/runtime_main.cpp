// berth-runtime: an OCI runtime with runc's command line (see docs/runtime.md).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/runtime/cli.hpp"
#include "common/error.hpp"
#include "common/log.hpp"

using namespace berth;

namespace {

const cli::Command kCommands[] = {
    {"create", "create a container (its process waits for start)", cli::cmd_create},
    {"start", "run the user process of a created container", cli::cmd_start},
    {"run", "create and start a container, wait for it, delete it", cli::cmd_run},
    {"state", "print the state of a container as JSON", cli::cmd_state},
    {"kill", "send a signal to the container's init (or all its processes)", cli::cmd_kill},
    {"delete", "delete a stopped container (--force: any container)", cli::cmd_delete},
    {"exec", "run a new process in a container", cli::cmd_exec},
    {"list", "list containers", cli::cmd_list},
    {"ps", "list the processes of a container", cli::cmd_ps},
    {"pause", "freeze every process of a container", cli::cmd_pause},
    {"resume", "thaw a paused container", cli::cmd_resume},
    {"update", "change the resource limits of a container's cgroup", cli::cmd_update},
    {"features", "print the features this runtime supports as JSON", cli::cmd_features},
    {"spec", "write a default config.json", cli::cmd_spec},
};

void usage(FILE* out) {
  std::fprintf(out,
               "usage: berth-runtime [global options] COMMAND [options] [ARGS]\n\n"
               "An OCI runtime with runc's command line.\n\nCommands:\n");
  for (auto& c : kCommands) std::fprintf(out, "  %-9s %s\n", c.name, c.summary);
  std::fprintf(out,
               "\nGlobal options:\n"
               "  --root DIR          state directory (default /run/berth-runtime)\n"
               "  --log FILE          log file (default stderr)\n"
               "  --log-format FMT    text or json\n"
               "  --debug             log debug messages\n"
               "  --systemd-cgroup    (not supported: an error)\n"
               "  -v, --version       print the version\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  runtime::GlobalOptions g;
  std::string log_path, log_format = "text";
  bool debug = false;
  size_t i = 0;
  try {
    for (; i < args.size(); ++i) {
      std::string a = args[i];
      if (a.size() < 2 || a[0] != '-') break;
      std::string body = a.substr(a[1] == '-' ? 2 : 1), val;
      bool has_val = false;
      if (auto eq = body.find('='); eq != std::string::npos) {
        val = body.substr(eq + 1);
        body = body.substr(0, eq);
        has_val = true;
      }
      auto take = [&]() -> std::string {
        if (has_val) return val;
        if (i + 1 >= args.size()) fail("flag " + a + " needs a value");
        return args[++i];
      };
      if (body == "root") g.root = take();
      else if (body == "log") log_path = take();
      else if (body == "log-format") log_format = take();
      else if (body == "debug") debug = !has_val || val == "true";
      else if (body == "systemd-cgroup") g.systemd_cgroup = !has_val || val == "true";
      else if (body == "criu") take();
      else if (body == "rootless") {
        std::string v = has_val ? val : "auto";
        if (v == "true") fail("--rootless: rootless mode is not supported by berth-runtime", ErrorKind::Unsupported);
      } else if (body == "v" || body == "version") {
        std::printf("berth-runtime version %s\nspec: 1.2.0\n", BERTH_VERSION);
        return 0;
      } else if (body == "h" || body == "help") {
        usage(stdout);
        return 0;
      } else {
        fail("unknown global flag " + a);
      }
    }
    if (log_format != "text" && log_format != "json")
      fail("--log-format must be text or json, not \"" + log_format + "\"");
    log::configure("berth-runtime", log_path, log_format == "json" ? log::Format::Json : log::Format::Text,
                   debug ? log::Level::Debug : log::Level::Warn);
    if (i >= args.size()) {
      usage(stderr);
      return 2;
    }
    std::string verb = args[i];
    if (verb == "help") {
      usage(stdout);
      return 0;
    }
    std::vector<std::string> rest(args.begin() + static_cast<long>(i) + 1, args.end());
    if (!rest.empty() && (rest[0] == "--help" || rest[0] == "-h")) {
      usage(stdout);
      return 0;
    }
    for (auto& c : kCommands) {
      if (verb == c.name) {
        log::debug("command: " + verb);
        return c.run(g, rest);
      }
    }
    fail("unknown command \"" + verb + "\" (see berth-runtime --help)");
  } catch (const Error& e) {
    std::string line = e.what();
    if (log::to_file()) log::error(line);
    std::fprintf(stderr, "berth-runtime: %s\n", line.c_str());
    return exit_code_for(e.kind());
  } catch (const std::exception& e) {
    if (log::to_file()) log::error(e.what());
    std::fprintf(stderr, "berth-runtime: %s\n", e.what());
    return 1;
  }
}
