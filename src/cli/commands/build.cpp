// `berth build` / `berth image build` (Dockerfiles, build/builder.hpp) and
// `berth history` / `berth image history`. Thin: flags to a BuildRequest,
// progress lines to stdout.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "build/builder.hpp"
#include "build/temp_context.hpp"
#include "cli/command_registry.hpp"
#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "image/layer_unpack.hpp"
#include "image/reference.hpp"

namespace berth::cli {
namespace {

struct BuildFlags {
  std::vector<std::string> tags, build_args, labels, secrets;
  std::string file, target, network, platform, context;
  bool no_cache = false, quiet = false, pull = false, rm = true, force_rm = false;
};

std::string read_stdin() { return fs::read_all(STDIN_FILENO, "standard input"); }

bool looks_like_archive(const std::string& b) {
  auto u = [&](size_t i) { return static_cast<unsigned char>(b[i]); };
  if (b.size() >= 4 && ((u(0) == 0x1f && u(1) == 0x8b) || (u(0) == 0x28 && u(1) == 0xb5 && u(2) == 0x2f && u(3) == 0xfd)))
    return true;
  return b.size() >= 512 && b.compare(257, 5, "ustar") == 0;
}


void add_build(CLI::App& parent, Globals& g) {
  auto f = std::make_shared<BuildFlags>();
  auto* c = parent.add_subcommand("build", "Build an image from a Dockerfile");
  c->add_option("-t,--tag", f->tags, "Name and optionally a tag in the 'name:tag' format")->take_all();
  c->add_option("-f,--file", f->file, "Name of the Dockerfile (default: 'PATH/Dockerfile'; '-' reads it from stdin)");
  c->add_option("--build-arg", f->build_args, "Set build-time variables")->take_all();
  c->add_option("--label", f->labels, "Set metadata for an image")->take_all();
  c->add_option("--target", f->target, "Set the target build stage to build");
  c->add_option("--secret", f->secrets, "A secret for RUN --mount=type=secret: id=ID,src=FILE")->take_all();
  c->add_option("--network", f->network, "Network mode for RUN instructions: default, none or host");
  c->add_option("--platform", f->platform, "Set platform (only linux/amd64)");
  c->add_flag("--no-cache", f->no_cache, "Do not use cache when building the image");
  c->add_flag("-q,--quiet", f->quiet, "Suppress the build output and print image ID on success");
  c->add_flag("--pull", f->pull, "Always attempt to pull a newer version of the image");
  c->add_flag("--rm", f->rm, "Remove intermediate containers after a successful build (always)");
  c->add_flag("--force-rm", f->force_rm, "Always remove intermediate containers (always)");
  c->add_option("context", f->context, "PATH, or - for a tar (or a Dockerfile) on stdin")->required();
  c->callback([f, &g] {
    build::BuildRequest req;
    req.tags = f->tags;
    req.target = f->target;
    req.no_cache = f->no_cache;
    req.pull = f->pull;
    req.registry_access.token_dir = g.state + "/registry-tokens";
    req.network = f->network == "default" ? "" : f->network;
    if (!req.network.empty() && req.network != "none" && req.network != "host")
      throw Error("--network " + f->network + ": RUN can use the default, none or host network", ErrorKind::InvalidArgument);
    req.platform = f->platform;
    for (auto& a : f->build_args) {
      auto eq = a.find('=');
      if (eq != std::string::npos) {
        req.build_args[a.substr(0, eq)] = a.substr(eq + 1);
      } else if (const char* v = std::getenv(a.c_str())) {
        req.build_args[a] = v;  // docker: --build-arg NAME takes NAME from the environment
      }
    }
    // `--secret id=X,env=VAR`: the value goes to a private file under the
    // root for the build's length (RUN's secret mounts are file copies).
    struct EnvSecretFiles {
      std::vector<std::string> paths;
      ~EnvSecretFiles() {
        for (auto& p : paths) ::unlink(p.c_str());
      }
    } env_files;
    for (auto& sv : f->secrets) {
      std::string id, src, env;
      size_t start = 0;
      for (;;) {
        size_t comma = sv.find(',', start);
        std::string field = sv.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto eq = field.find('=');
        std::string k = field.substr(0, eq), v = eq == std::string::npos ? "" : field.substr(eq + 1);
        if (k == "id") id = v;
        else if (k == "src" || k == "source") src = v;
        else if (k == "env") env = v;
        else if (k == "type" && (v == "file" || v == "env")) {
        } else
          throw Error("--secret " + sv + ": unexpected key '" + k + "' (id=ID,src=FILE or id=ID,env=VAR)",
                      ErrorKind::InvalidArgument);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      if (id.empty() || src.empty() == env.empty())
        throw Error("--secret " + sv + ": give id=ID,src=FILE or id=ID,env=VAR", ErrorKind::InvalidArgument);
      if (!env.empty()) {
        const char* value = std::getenv(env.c_str());
        if (!value)
          throw Error("--secret id=" + id + ": the environment variable " + env + " is not set", ErrorKind::InvalidArgument);
        std::random_device rd;
        fs::mkdir_p(g.root + "/build-tmp", 0700);
        std::string p = g.root + "/build-tmp/secret-" + std::to_string(rd()) + std::to_string(rd());
        UniqueFd out(::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
        if (!out) throw_errno("create " + p);
        env_files.paths.push_back(p);
        std::string v(value);
        if (::write(out.get(), v.data(), v.size()) != static_cast<ssize_t>(v.size())) throw_errno("write " + p);
        req.secrets[id] = p;
        continue;
      }
      if (::access(src.c_str(), R_OK) != 0)
        throw Error("--secret id=" + id + ": cannot read " + src + ": " + std::strerror(errno), ErrorKind::InvalidArgument);
      req.secrets[id] = fs::absolute(src);
    }
    for (auto& l : f->labels) {
      auto eq = l.find('=');
      req.labels[l.substr(0, eq)] = eq == std::string::npos ? "" : l.substr(eq + 1);
    }
    std::optional<build::TempContext> tmp;
    if (f->context == "-") {
      if (f->file == "-") throw Error("invalid argument: can't use stdin for both build context and dockerfile",
                                      ErrorKind::InvalidArgument);
      std::string in = read_stdin();
      tmp.emplace(g.root, "ctx");
      if (looks_like_archive(in)) {
        std::string tar = tmp->dir + ".tar";
        fs::write_file(tar, in);
        UniqueFd fd(::open(tar.c_str(), O_RDONLY | O_CLOEXEC));
        ::unlink(tar.c_str());
        if (!fd) throw_errno("open " + tar);
        try {
          image::unpack_layer(fd.get(), tmp->dir);
        } catch (Error& e) {
          throw e.wrap("read the build context from stdin");
        }
      } else {
        req.dockerfile_text = in;  // `build - < Dockerfile`: no context
      }
      req.context_dir = tmp->dir;
    } else {
      if (f->context.find("://") != std::string::npos || f->context.starts_with("git@"))
        throw Error("context " + f->context + ": remote contexts (URLs, git) are not supported; give a directory or -",
                    ErrorKind::Unsupported);
      req.context_dir = fs::absolute(f->context);
    }
    if (f->file == "-") req.dockerfile_text = read_stdin();
    else if (!f->file.empty()) req.dockerfile = f->file[0] == '/' ? f->file : fs::absolute(f->file);
    if (!f->file.empty() && f->file != "-" && !fs::exists(req.dockerfile) && f->file[0] != '/' &&
        fs::exists(req.context_dir + "/" + f->file))
      req.dockerfile = req.context_dir + "/" + f->file;  // -f relative to the context, as docker's fallback

    std::string held;  // -q: the output, shown only if the build fails
    bool quiet = f->quiet;
    auto progress = [&](const build::Progress& p) {
      if (quiet) {
        held += p.text;
        return;
      }
      std::cout << p.text << std::flush;
    };
    // Ctrl-C (or TERM, HUP) cancels: the builder sees the signalfd
    // readable, removes its container and what the step made, and fails.
    sigset_t sigs, old;
    sigemptyset(&sigs);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sigs, s);
    ::sigprocmask(SIG_BLOCK, &sigs, &old);
    UniqueFd sfd(::signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK));
    req.cancel_fd = sfd.get();
    // The signal that cancelled is taken here, so that unblocking does not
    // kill us before the error is printed.
    struct RestoreMask {
      int fd;
      sigset_t m;
      ~RestoreMask() {
        signalfd_siginfo si;
        while (::read(fd, &si, sizeof si) == sizeof si) {
        }
        ::sigprocmask(SIG_SETMASK, &m, nullptr);
      }
    } restore{sfd.get(), old};
    engine::ContainerEngine eng(g.root, g.state);
    try {
      auto res = build::build_image(eng, req, progress);
      if (quiet) std::cout << res.image_id << "\n";
    } catch (const Error& e) {
      if (quiet) std::cerr << held;
      throw;
    }
  });
}

void add_history(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("history", "Show the history of an image");
  auto ref = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false), no_trunc = std::make_shared<bool>(false);
  auto human = std::make_shared<bool>(true);
  c->add_flag("-q,--quiet", *quiet, "Only show image IDs");
  c->add_flag("--no-trunc", *no_trunc, "Don't truncate output");
  c->add_flag("-H,--human{true}", *human, "Print sizes and dates in human readable format");
  c->add_option("image", *ref)->required();
  c->callback([=, &g] {
    image::ImageStore store(g.root);
    auto img = store.resolve(*ref);
    auto cfg = store.config(img).raw;
    auto chains = store.chain_ids(img);
    nlohmann::json hist = cfg.value("history", nlohmann::json::array());
    // Sizes of the layers, in the order the history entries that made them come.
    std::vector<int64_t> sizes;
    for (auto& ch : chains) {
      int64_t sz = 0;
      try {
        std::string d = store.layer_dir(ch);
        sz = std::stoll(fs::read_file(d.substr(0, d.size() - 5) + "/size"));
      } catch (...) {
      }
      sizes.push_back(sz);
    }
    struct Row {
      std::string id, created, by, size, comment;
    };
    std::vector<Row> rows;
    size_t layer = 0;
    for (auto& h : hist) {
      bool empty = h.value("empty_layer", false);
      int64_t sz = !empty && layer < sizes.size() ? sizes[layer++] : 0;
      std::string by = h.value("created_by", std::string());
      if (!*no_trunc && by.size() > 45) by = by.substr(0, 44) + "…";
      std::string created = h.value("created", std::string());
      rows.push_back({"<missing>", *human ? image::human_since(created) : created, by,
                      *human ? image::human_size(sz) : std::to_string(sz), h.value("comment", std::string())});
    }
    std::reverse(rows.begin(), rows.end());
    if (!rows.empty()) rows[0].id = *no_trunc ? img.id : image::short_id(img.id);
    if (*quiet) {
      for (auto& r : rows) std::cout << r.id << "\n";
      return;
    }
    std::vector<size_t> w = {12, 13, 45, 7};
    for (auto& r : rows) {
      w[0] = std::max(w[0], r.id.size());
      w[1] = std::max(w[1], r.created.size());
      w[2] = std::max(w[2], r.by.size());
      w[3] = std::max(w[3], r.size.size());
    }
    auto pad = [](const std::string& s, size_t n) { return s + std::string(n > s.size() ? n - s.size() : 0, ' '); };
    std::cout << pad("IMAGE", w[0] + 3) << pad("CREATED", w[1] + 3) << pad("CREATED BY", w[2] + 3)
              << pad("SIZE", w[3] + 3) << "COMMENT\n";
    for (auto& r : rows) {
      std::string line = pad(r.id, w[0] + 3) + pad(r.created, w[1] + 3) + pad(r.by, w[2] + 3) + pad(r.size, w[3] + 3) + r.comment;
      while (!line.empty() && line.back() == ' ') line.pop_back();
      std::cout << line << "\n";
    }
  });
}

const bool registered = add_commands(
    {"build", "history", "image"},
    [](CLI::App& app, Globals& g) {
      add_build(app, g);
      add_history(app, g);
      if (CLI::App* img = find_subcommand(app, "image")) {
        add_build(*img, g);
        add_history(*img, g);
      }
    },
    true);

}  // namespace
}  // namespace berth::cli
