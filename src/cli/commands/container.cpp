// Container verbs, docker's words and exit codes: run, create, start, stop,
// restart, kill, rm, ps, logs, exec, inspect, wait, top, pause, unpause,
// rename, attach, container prune, and the `berth container ...` forms.
// Thin: parse, call the engine (engine/container_engine.hpp), print.
#include <CLI/CLI.hpp>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <iostream>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/command_registry.hpp"
#include "cli/commands/attach_session.hpp"
#include "cli/commands/output.hpp"
#include "cli/commands/progress_view.hpp"
#include "cli/commands/run_flags.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "engine/container_engine.hpp"
#include "engine/docker_views.hpp"
#include "engine/start_error.hpp"
#include "image/reference.hpp"

namespace berth::cli {
namespace {

using engine::ContainerEngine;
using nlohmann::json;

int64_t now_s() { return static_cast<int64_t>(::time(nullptr)); }

// run/create/start: engine errors exit 125, a command that cannot be
// invoked 126, one not found 127 (docker's codes).
[[noreturn]] void exit_for_start_error(const Error& e) {
  if (auto* se = dynamic_cast<const engine::StartError*>(&e)) throw ExitStatus{se->exit_code(), e.what()};
  throw ExitStatus{125, e.what()};
}

template <typename F>
void for_each_ref(const std::vector<std::string>& refs, F fn) {
  int failed = 0;
  for (const auto& r : refs) {
    try {
      fn(r);
    } catch (const Error& e) {
      std::cerr << "Error response from daemon: " << e.what() << "\n";
      ++failed;
    }
  }
  if (failed) throw ExitStatus{1, ""};
}

// Attached run/start: a socket pair whose other end the monitor gets.
int attached_start(ContainerEngine& eng, const std::string& id, const AttachOptions& ao) {
  int sv[2];
  check(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), "socketpair");
  UniqueFd ours(sv[0]), theirs(sv[1]);
  eng.start(id, {theirs.get()});
  theirs.reset();
  return attach_session(ours.get(), ao);
}

void add_run(CLI::App& parent, Globals& g, const char* name, bool create_only) {
  auto f = std::make_shared<RunFlags>();
  auto* c = parent.add_subcommand(name, create_only ? "Create a new container" : "Create and run a new container from an image");
  if (!named_on_command_line({name})) return;
  add_run_flags(c, *f);
  c->callback([f, &g, create_only] {
    f->rest = command_tail();
    engine::CreateRequest req;
    std::vector<std::string> warnings;
    std::string id;
    ContainerEngine eng(g.root, g.state);
    try {
      req = to_create_request(*f);
      // A missing image is pulled (--pull), its progress on stderr, after
      // docker's "Unable to find image" once the registry answers.
      auto view = std::make_shared<ProgressView>(false, std::cerr);
      auto said = std::make_shared<bool>(false);
      req.pull_progress = [view, said, note = req.pull == "missing", image = req.config.image](const ProgressEvent& e) {
        if (note && !*said) {
          *said = true;
          std::string name = image::is_valid_reference(image) ? image::parse_reference(image).familiar() : image;
          std::cerr << "Unable to find image '" << name << "' locally\n";
        }
        (*view)(e);
      };
      id = eng.create(req, &warnings);
    } catch (const Error& e) {
      exit_for_start_error(e);
    }
    for (auto& w : warnings) std::cerr << "WARNING: " << w << "\n";
    if (create_only) {
      std::cout << id << "\n";
      return;
    }
    if (f->detach) {
      try {
        eng.start(id);
      } catch (const Error& e) {
        if (req.host.auto_remove) eng.remove(id, true, true);
        exit_for_start_error(e);
      }
      std::cout << id << "\n";
      return;
    }
    AttachOptions ao{f->tty, f->interactive, f->sig_proxy, f->detach_keys.empty() ? "ctrl-p,ctrl-q" : f->detach_keys};
    int code;
    try {
      code = attached_start(eng, id, ao);
    } catch (const Error& e) {
      if (req.host.auto_remove) eng.remove(id, true, true);
      exit_for_start_error(e);
    }
    if (code == kAttachDetached) throw ExitStatus{0, ""};
    if (code == kAttachLost) code = eng.wait(id);
    if (req.host.auto_remove) {
      try {
        eng.remove(id, true, true);
      } catch (const Error&) {
      }
    }
    std::cout.flush();
    throw ExitStatus{code, ""};
  });
}

void add_start(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("start", "Start one or more stopped containers");
  auto refs = std::make_shared<std::vector<std::string>>();
  auto attach = std::make_shared<bool>(false), interactive = std::make_shared<bool>(false);
  c->add_flag("-a,--attach", *attach, "Attach STDOUT/STDERR and forward signals");
  c->add_flag("-i,--interactive", *interactive, "Attach container's STDIN");
  c->add_option("containers", *refs, "containers")->required();
  c->callback([refs, attach, interactive, &g] {
    ContainerEngine eng(g.root, g.state);
    if (*attach || *interactive) {
      if (refs->size() != 1) throw ExitStatus{1, "you cannot start and attach multiple containers at once"};
      int code;
      try {
        auto ct = eng.inspect(refs->front());
        code = attached_start(eng, ct.id, {ct.config.tty, *interactive, true, "ctrl-p,ctrl-q"});
        if (code == kAttachLost) code = eng.wait(ct.id);
      } catch (const Error& e) {
        exit_for_start_error(e);
      }
      throw ExitStatus{code == kAttachDetached ? 0 : code, ""};
    }
    int failed = 0;
    for (auto& r : *refs) {
      try {
        eng.start(r);
        std::cout << r << "\n";
      } catch (const Error& e) {
        std::cerr << "Error response from daemon: " << e.what() << "\n";
        failed = 1;
      }
    }
    if (failed) throw ExitStatus{1, "Error: failed to start containers: " + [&] {
      std::string s;
      for (auto& r : *refs) s += (s.empty() ? "" : ", ") + r;
      return s;
    }()};
  });
}

void add_simple_verbs(CLI::App& parent, Globals& g) {
  // stop and restart: the same flags, one engine call each.
  for (bool restart : {false, true}) {
    auto* c = parent.add_subcommand(restart ? "restart" : "stop",
                                    restart ? "Restart one or more containers" : "Stop one or more running containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto t = std::make_shared<int>(-1);
    c->add_option("-t,--time", *t, "Seconds to wait before killing the container");
    c->add_option("containers", *refs, "containers")->required();
    c->callback([refs, t, restart, &g] {
      ContainerEngine eng(g.root, g.state);
      for_each_ref(*refs, [&](const std::string& r) {
        if (restart)
          eng.restart(r, *t);
        else
          eng.stop(r, *t);
        std::cout << r << "\n";
      });
    });
  }
  {
    auto* c = parent.add_subcommand("kill", "Kill one or more running containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto sig = std::make_shared<std::string>("KILL");
    c->add_option("-s,--signal", *sig, "Signal to send to the container");
    c->add_option("containers", *refs, "containers")->required();
    c->callback([refs, sig, &g] {
      engine::parse_signal(*sig);
      ContainerEngine eng(g.root, g.state);
      for_each_ref(*refs, [&](const std::string& r) {
        eng.kill(r, *sig);
        std::cout << r << "\n";
      });
    });
  }
  for (const char* verb : {"rm", "remove"}) {
    if (std::string(verb) == "remove" && parent.get_name() == "berth") continue;
    auto* c = parent.add_subcommand(verb, "Remove one or more containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    auto force = std::make_shared<bool>(false), vols = std::make_shared<bool>(false);
    c->add_flag("-f,--force", *force, "Force the removal of a running container (uses SIGKILL)");
    c->add_flag("-v,--volumes", *vols, "Remove anonymous volumes associated with the container");
    c->add_option("containers", *refs, "containers")->required();
    c->callback([refs, force, vols, &g] {
      ContainerEngine eng(g.root, g.state);
      for_each_ref(*refs, [&](const std::string& r) {
        eng.remove(r, *force, *vols);
        std::cout << r << "\n";
      });
    });
  }
  for (const char* verb : {"pause", "unpause"}) {
    bool p = std::string(verb) == "pause";
    auto* c = parent.add_subcommand(verb, p ? "Pause all processes within one or more containers"
                                            : "Unpause all processes within one or more containers");
    auto refs = std::make_shared<std::vector<std::string>>();
    c->add_option("containers", *refs, "containers")->required();
    c->callback([refs, p, &g] {
      ContainerEngine eng(g.root, g.state);
      for_each_ref(*refs, [&](const std::string& r) {
        if (p)
          eng.pause(r);
        else
          eng.unpause(r);
        std::cout << r << "\n";
      });
    });
  }
  {
    auto* c = parent.add_subcommand("rename", "Rename a container");
    auto args = std::make_shared<std::vector<std::string>>();
    c->add_option("names", *args, "CONTAINER NEW_NAME")->required()->expected(2);
    c->callback([args, &g] {
      ContainerEngine eng(g.root, g.state);
      eng.rename((*args)[0], (*args)[1]);
    });
  }
  {
    auto* c = parent.add_subcommand("wait", "Block until one or more containers stop, then print their exit codes");
    auto refs = std::make_shared<std::vector<std::string>>();
    c->add_option("containers", *refs, "containers")->required();
    c->callback([refs, &g] {
      ContainerEngine eng(g.root, g.state);
      for_each_ref(*refs, [&](const std::string& r) { std::cout << eng.wait(r) << std::endl; });
    });
  }
  {
    auto* c = parent.add_subcommand("top", "Display the running processes of a container");
    c->footer("Usage: top CONTAINER [ps OPTIONS]");
    stop_at_first_positional(c);
    c->callback([&g] {
      std::vector<std::string> a = command_tail();
      if (a.empty()) throw ExitStatus{1, "\"top\" requires at least 1 argument: CONTAINER [ps OPTIONS]"};
      ContainerEngine eng(g.root, g.state);
      std::vector<std::string> ps(a.begin() + 1, a.end());
      std::cout << eng.top(a[0], ps);
    });
  }
  {
    auto* c = parent.add_subcommand("attach", "Attach local standard input, output, and error streams to a running container");
    auto ref = std::make_shared<std::string>();
    auto no_stdin = std::make_shared<bool>(false);
    auto sig_proxy = std::make_shared<bool>(true);
    auto keys = std::make_shared<std::string>("ctrl-p,ctrl-q");
    c->add_flag("--no-stdin", *no_stdin, "Do not attach STDIN");
    c->add_option("--sig-proxy", *sig_proxy, "Proxy all received signals to the process");
    c->add_option("--detach-keys", *keys, "Override the key sequence for detaching a container");
    c->add_option("container", *ref, "container")->required();
    c->callback([=, &g] {
      ContainerEngine eng(g.root, g.state);
      auto ct = eng.inspect(*ref);
      UniqueFd s(eng.attach_socket(ct.id));
      int code = attach_session(s.get(), {ct.config.tty, ct.config.open_stdin && !*no_stdin, *sig_proxy, *keys});
      if (code == kAttachLost) code = eng.wait(ct.id);
      throw ExitStatus{code == kAttachDetached ? 0 : code, ""};
    });
  }
}

void add_exec(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("exec", "Execute a command in a running container");
  struct ExecFlags {
    bool interactive = false, tty = false, detach = false, privileged = false;
    std::vector<std::string> env;
    std::string user, workdir;
  };
  auto f = std::make_shared<ExecFlags>();
  c->add_flag("-i,--interactive", f->interactive, "Keep STDIN open even if not attached");
  c->add_flag("-t,--tty", f->tty, "Allocate a pseudo-TTY");
  c->add_flag("-d,--detach", f->detach, "Detached mode: run command in the background");
  c->add_flag("--privileged", f->privileged, "Give extended privileges to the command");
  c->add_option("-e,--env", f->env, "Set environment variables");
  c->add_option("-u,--user", f->user, "Username or UID (format: <name|uid>[:<group|gid>])");
  c->add_option("-w,--workdir", f->workdir, "Working directory inside the container");
  c->footer("Usage: exec [OPTIONS] CONTAINER COMMAND [ARG...]");
  stop_at_first_positional(c);
  c->callback([f, &g] {
    auto rest = command_tail();
    if (rest.size() < 2) throw ExitStatus{1, "\"exec\" requires at least 2 arguments: CONTAINER COMMAND [ARG...]"};
    engine::ExecRequest r;
    r.cmd.assign(rest.begin() + 1, rest.end());
    r.env = f->env;
    r.user = f->user;
    r.working_dir = f->workdir;
    r.tty = f->tty;
    r.interactive = f->interactive;
    r.detach = f->detach;
    r.privileged = f->privileged;
    ContainerEngine eng(g.root, g.state);
    int code;
    try {
      code = eng.exec(rest[0], r);
    } catch (const engine::StartError& e) {
      // Without -d the runtime's stderr is ours, and it has already said
      // why: saying it again would print the same reason twice.
      throw ExitStatus{e.exit_code(), r.detach ? e.what() : ""};
    }
    throw ExitStatus{code, ""};
  });
}

void add_ps(CLI::App& parent, Globals& g, const char* name) {
  auto* c = parent.add_subcommand(name, "List containers");
  struct PsFlags {
    bool all = false, quiet = false, no_trunc = false, latest = false, size = false;
    int last = -1;
    std::vector<std::string> filters;
    std::string format;
  };
  auto f = std::make_shared<PsFlags>();
  c->add_flag("-a,--all", f->all, "Show all containers (default shows just running)");
  c->add_flag("-q,--quiet", f->quiet, "Only display container IDs");
  c->add_flag("--no-trunc", f->no_trunc, "Don't truncate output");
  c->add_flag("-l,--latest", f->latest, "Show the latest created container (includes all states)");
  c->add_flag("-s,--size", f->size, "Display total file sizes");
  c->add_option("-n,--last", f->last, "Show n last created containers (includes all states)");
  c->add_option("-f,--filter", f->filters, "Filter output based on conditions provided");
  c->add_option("--format", f->format, "Format output using a custom template");
  c->callback([f, &g] {
    ContainerEngine eng(g.root, g.state);
    engine::ListOptions lo;
    lo.all = f->all;
    lo.last = f->latest ? 1 : f->last;
    lo.listing = true;
    auto list = eng.list(lo);
    TableSpec spec{"table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}",
                   {{"ID", "CONTAINER ID"}, {"Image", "IMAGE"}, {"Command", "COMMAND"}, {"RunningFor", "CREATED"},
                    {"CreatedAt", "CREATED AT"}, {"Status", "STATUS"}, {"Ports", "PORTS"}, {"Names", "NAMES"},
                    {"State", "STATE"}, {"Labels", "LABELS"}, {"Mounts", "MOUNTS"}, {"Networks", "NETWORKS"},
                    {"Size", "SIZE"}, {"LocalVolumes", "LOCAL VOLUMES"}}};
    std::set<std::string, std::less<>> used;  // the fields the output shows (spec.headers names them all)
    for (const auto& [key, header] : spec.headers)
      if (f->quiet ? key == "ID" : format_uses_field(f->format, spec, key)) used.insert(key);
    auto wanted = [&](std::string_view key) { return used.count(key) > 0; };
    std::vector<json> rows;
    int64_t now = now_s();
    for (auto& ct : list) {
      bool keep = true;
      for (const auto& flt : f->filters) {
        auto eq = flt.find('=');
        if (eq == std::string::npos) throw ExitStatus{1, "bad format of filter (expected name=value)"};
        std::string k = flt.substr(0, eq), v = flt.substr(eq + 1);
        if (k == "status") {
          static const std::vector<std::string> ok = {"created", "restarting", "running", "removing", "paused", "exited", "dead"};
          if (std::find(ok.begin(), ok.end(), v) == ok.end())
            throw ExitStatus{1, "Invalid filter 'status=" + v + "'"};
          keep = keep && ct.state.status == v;
        } else if (k == "name") {
          keep = keep && ct.name.find(v) != std::string::npos;
        } else if (k == "id") {
          keep = keep && ct.id.rfind(v, 0) == 0;
        } else if (k == "label") {
          auto leq = v.find('=');
          auto it = ct.config.labels.find(v.substr(0, leq));
          keep = keep && it != ct.config.labels.end() && (leq == std::string::npos || it->second == v.substr(leq + 1));
        } else if (k == "exited") {
          keep = keep && ct.state.status == "exited" && std::to_string(ct.state.exit_code) == v;
        } else if (k == "ancestor") {
          keep = keep && (ct.config.image == v || ct.image_id.find(v) != std::string::npos);
        } else if (k == "health") {
          keep = keep && ct.state.health && ct.state.health->status == v;
        } else {
          throw ExitStatus{1, "Invalid filter '" + k + "'"};
        }
      }
      if (keep) rows.push_back(engine::ps_row(ct, f->no_trunc, now, wanted));
    }
    if (f->quiet) {
      for (auto& r : rows) std::cout << r["ID"].get<std::string>() << "\n";
      return;
    }
    std::cout << format_rows(f->format, std::move(rows), spec);
  });
}

void add_inspect(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("inspect", "Display detailed information on one or more containers");
  auto refs = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>();
  auto type = std::make_shared<std::string>("container");
  c->add_option("-f,--format", *format, "Format output using a custom template");
  c->add_option("--type", *type, "Return JSON for specified type (container)");
  c->add_option("containers", *refs, "containers")->required();
  c->callback([refs, format, type, &g] {
    if (*type != "container") throw ExitStatus{1, "--type " + *type + ": use 'berth image inspect' for images"};
    ContainerEngine eng(g.root, g.state);
    std::vector<json> objs;
    int failed = 0;
    for (auto& r : *refs) {
      try {
        auto ct = eng.inspect(r);
        objs.push_back(engine::inspect_view(ct, eng.container_dir(ct.id), eng.state_dir(ct.id), eng.log_path(ct.id)));
      } catch (const Error& e) {
        if (e.kind() != ErrorKind::NotFound) throw;
        std::cerr << "Error: No such object: " << r << "\n";
        failed = 1;
      }
    }
    std::cout << format_objects(*format, objs);
    if (failed) throw ExitStatus{1, ""};
  });
}

void add_logs(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("logs", "Fetch the logs of a container");
  struct LogFlags {
    bool follow = false, timestamps = false, details = false;
    std::string tail = "all", since, until, ref;
  };
  auto f = std::make_shared<LogFlags>();
  c->add_flag("-f,--follow", f->follow, "Follow log output");
  c->add_flag("-t,--timestamps", f->timestamps, "Show timestamps");
  c->add_flag("--details", f->details, "Show extra details provided to logs");
  c->add_option("-n,--tail", f->tail, "Number of lines to show from the end of the logs");
  c->add_option("--since", f->since, "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)");
  c->add_option("--until", f->until, "Show logs before a timestamp or relative (e.g. 42m)");
  c->add_option("container", f->ref, "container")->required();
  c->callback([f, &g] {
    engine::LogOptions o;
    o.follow = f->follow;
    o.timestamps = f->timestamps;
    if (f->tail != "all") {
      char* end = nullptr;
      long n = std::strtol(f->tail.c_str(), &end, 10);
      if (*end || f->tail.empty()) throw ExitStatus{1, "invalid value for \"tail\": " + f->tail};
      o.tail = n < 0 ? -1 : n;
    }
    o.since = engine::parse_time_bound(f->since, "--since");
    o.until = engine::parse_time_bound(f->until, "--until");
    ContainerEngine eng(g.root, g.state);
    eng.logs(f->ref, o, STDOUT_FILENO, STDERR_FILENO);
  });
}

void add_prune(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("prune", "Remove all stopped containers");
  auto force = std::make_shared<bool>(false);
  c->add_flag("-f,--force", *force, "Do not prompt for confirmation");
  c->callback([force, &g] {
    if (!*force && ::isatty(STDIN_FILENO)) {
      std::cout << "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] " << std::flush;
      std::string a;
      std::getline(std::cin, a);
      if (a != "y" && a != "Y") return;
    }
    ContainerEngine eng(g.root, g.state);
    engine::ListOptions lo;
    lo.all = true;
    std::cout << "Deleted Containers:\n";
    for (auto& ct : eng.list(lo))
      if (!ct.state.running()) {
        eng.remove(ct.id, false, false);
        std::cout << ct.id << "\n";
      }
    std::cout << "\nTotal reclaimed space: 0B\n";
  });
}

void add_cleanup(CLI::App& parent, Globals& g) {
  // Run by a container's monitor at its end (--rm of a detached container).
  auto* c = parent.add_subcommand("cleanup", "");
  c->group("");  // not for users
  auto ref = std::make_shared<std::string>();
  c->add_option("container", *ref)->required();
  c->callback([ref, &g] {
    ContainerEngine eng(g.root, g.state);
    eng.cleanup(*ref);
  });
}

void add_container_commands(CLI::App& app, Globals& g) {
  add_run(app, g, "run", false);
  add_run(app, g, "create", true);
  add_start(app, g);
  add_simple_verbs(app, g);
  add_exec(app, g);
  add_ps(app, g, "ps");
  add_logs(app, g);
  add_inspect(app, g);

  auto* ct = app.add_subcommand("container", "Manage containers");
  ct->require_subcommand(1);
  // `berth run` need not define `berth container run` too (see
  // named_on_command_line).
  if (!named_on_command_line({"container"})) return;
  add_run(*ct, g, "run", false);
  add_run(*ct, g, "create", true);
  add_start(*ct, g);
  add_simple_verbs(*ct, g);
  add_exec(*ct, g);
  add_ps(*ct, g, "ls");
  ct->get_subcommand("ls")->alias("ps")->alias("list");
  add_logs(*ct, g);
  add_inspect(*ct, g);
  add_prune(*ct, g);
  add_cleanup(*ct, g);
}

const bool registered = add_commands({"run", "create", "start", "stop", "restart", "kill", "rm", "pause", "unpause",
                                      "rename", "wait", "top", "attach", "exec", "ps", "logs", "inspect", "container"},
                                     add_container_commands);

}  // namespace
}  // namespace berth::cli
