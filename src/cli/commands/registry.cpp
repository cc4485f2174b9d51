// Registry verbs: pull, push, login, logout (and `image pull|push`). Thin:
// parse flags, call engine/registry_ops.hpp, draw progress as docker does
// (a line per layer redrawn in place on a terminal, plain lines otherwise).
#include <CLI/CLI.hpp>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>

#include "cli/command_registry.hpp"
#include "cli/commands/progress_view.hpp"
#include "common/error.hpp"
#include "common/fs.hpp"
#include "engine/registry_ops.hpp"
#include "image/image_store.hpp"
#include "image/reference.hpp"

namespace berth::cli {
namespace {

using image::ProgressEvent;

// Bearer tokens outlive a command there (registry/token_cache.hpp).
std::string token_dir(const Globals& g) { return g.state + "/registry-tokens"; }

void add_access_flags(CLI::App* c, image::RegistryAccess& a) {
  c->add_option("--cert-dir", a.cert_dir, "directory with ca.crt (and client.cert/client.key) for the registry");
}

void add_pull(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("pull", "Download an image from a registry");
  auto req = std::make_shared<image::PullRequest>();
  auto quiet = std::make_shared<bool>(false);
  c->add_option("NAME", req->reference, "image reference: NAME[:TAG|@DIGEST]")->required();
  c->add_flag("-a,--all-tags", req->all_tags, "download every tagged image of the repository");
  c->add_option("--platform", req->platform, "os/arch[/variant] to pull from a multi-platform image");
  c->add_flag("-q,--quiet", *quiet, "print only the image reference");
  add_access_flags(c, req->access);
  c->callback([&g, req, quiet] {
    req->access.token_dir = token_dir(g);
    ProgressView view(*quiet, std::cout);
    auto res = engine::pull_image(g.root, *req, [&](const ProgressEvent& e) { view(e); });
    for (auto& i : res.images) std::cout << i.reference << "\n";
  });
}

void add_push(CLI::App& parent, Globals& g) {
  auto* c = parent.add_subcommand("push", "Upload an image to a registry");
  auto req = std::make_shared<image::PushRequest>();
  auto quiet = std::make_shared<bool>(false);
  c->add_option("NAME", req->reference, "local image reference: [HOST[:PORT]/]REPO[:TAG]")->required();
  c->add_flag("-q,--quiet", *quiet, "print only the final line");
  c->add_flag("--all-platforms", req->all_platforms,
              "push the multi-platform index NAME was pulled with, and every platform's image (all must be in the store)");
  c->add_option("--chunk-size", req->chunk_size, "upload blobs in chunks of this many bytes (0: one request per blob)")
      ->group("");
  add_access_flags(c, req->access);
  c->callback([&g, req, quiet] {
    req->access.token_dir = token_dir(g);
    ProgressView view(*quiet, std::cout);
    auto res = engine::push_image(g.root, *req, [&](const ProgressEvent& e) { view(e); });
    std::cout << res.tag << ": digest: " << res.digest << " size: " << res.size << "\n";
  });
}

std::string read_line_from_terminal(const std::string& prompt, bool echo) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool restore = false;
  if (!echo && ::tcgetattr(STDIN_FILENO, &old) == 0) {
    termios t = old;
    t.c_lflag &= ~ECHO;
    restore = ::tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << "\n";
  }
  return line;
}

void add_login(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("login", "Log in to a registry (credentials kept in $BERTH_CONFIG/config.json)");
  auto req = std::make_shared<image::LoginRequest>();
  auto from_stdin = std::make_shared<bool>(false);
  c->add_option("SERVER", req->registry, "registry HOST[:PORT] (default: docker.io)");
  c->add_option("-u,--username", req->username, "user name");
  c->add_option("-p,--password", req->password, "password (prefer --password-stdin)");
  c->add_flag("--password-stdin", *from_stdin, "read the password from stdin");
  add_access_flags(c, req->access);
  c->callback([&g, req, from_stdin] {
    req->access.token_dir = token_dir(g);
    if (*from_stdin) {
      if (!req->password.empty()) fail("--password and --password-stdin are exclusive");
      if (req->username.empty()) fail("--password-stdin needs a user name (-u USER)");
      req->password = fs::read_all(STDIN_FILENO, "password on stdin");
      while (!req->password.empty() && (req->password.back() == '\n' || req->password.back() == '\r'))
        req->password.pop_back();
    } else if (!req->password.empty()) {
      std::cerr << "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n";
    }
    bool tty = ::isatty(STDIN_FILENO);
    if (req->username.empty() && tty) req->username = read_line_from_terminal("Username: ", true);
    if (req->password.empty() && tty && !*from_stdin) req->password = read_line_from_terminal("Password: ", false);
    engine::registry_login(*req);
    std::cout << "Login Succeeded\n";
  });
}

void add_logout(CLI::App& app, Globals& g) {
  auto* c = app.add_subcommand("logout", "Remove the credentials of a registry");
  auto req = std::make_shared<image::LogoutRequest>();
  c->add_option("SERVER", req->registry, "registry HOST[:PORT] (default: docker.io)");
  c->callback([&g, req] {
    req->access.token_dir = token_dir(g);
    std::string name = req->registry.empty() ? "https://index.docker.io/v1/" : req->registry;
    if (engine::registry_logout(*req))
      std::cout << "Removing login credentials for " << name << "\n";
    else
      std::cout << "Not logged in to " << name << "\n";
  });
}

const bool registered = add_commands({"pull", "push", "login", "logout"}, [](CLI::App& app, Globals& g) {
  add_pull(app, g);
  add_push(app, g);
  add_login(app, g);
  add_logout(app, g);
});

// `berth image pull|push`: the `image` group is made by image.cpp.
const bool registered_in_group = add_commands(
    {"image"},
    [](CLI::App& app, Globals& g) {
      auto* img = find_subcommand(app, "image");
      add_pull(*img, g);
      add_push(*img, g);
    },
    true);

}  // namespace
}  // namespace berth::cli
