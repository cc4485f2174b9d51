// berth-registry: the registry client (registry/), run by berth for pull,
// push, login and logout. Not meant to be typed. It is a process of its own
// so that libcurl, OpenSSL's TLS and everything a registry sends are
// parsed outside berth, and so that berth stays one static executable that
// starts fast (docs/architecture.md, "Registries").
//
//   berth-registry --root ROOT [--parent PID] pull|push|inspect|login|logout|fetch   (request JSON on stdin)
//
// stdout: one JSON object a line: {"progress":{...}} while it works, then
// {"result":{...}} or {"error":{"message":"...","kind":"..."}}.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "image/image_store.hpp"
#include "image/registry_request.hpp"
#include "registry/remote_ops.hpp"

using namespace berth;
using nlohmann::json;

static std::mutex out_mu;

static void emit(const json& j) {
  std::string line = json_text(j) + "\n";
  std::lock_guard lk(out_mu);
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

int main(int argc, char** argv) {
  // Dies with the berth that ran it: a killed pull stops here too (its
  // partial blobs stay for the next pull to resume).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::signal(SIGPIPE, SIG_IGN);
  std::string root = "/var/lib/berth", op;
  long parent = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--root" && i + 1 < argc) root = argv[++i];
    else if (a == "--parent" && i + 1 < argc) parent = std::atol(argv[++i]);
    else op = a;
  }
  // The parent died before the death signal was armed.
  if (parent > 0 && ::getppid() != parent) return 1;
  try {
    json reqj = json::parse(fs::read_all(STDIN_FILENO, "request on stdin"));
    auto progress = [](const image::ProgressEvent& e) { emit({{"progress", image::to_json(e)}}); };
    json result;
    if (op == "pull") {
      image::PullRequest req;
      image::from_json(reqj, req);
      image::ImageStore store(root);
      result = image::to_json(registry::pull(store, req, progress));
    } else if (op == "push") {
      image::PushRequest req;
      image::from_json(reqj, req);
      image::ImageStore store(root);
      result = image::to_json(registry::push(store, req, progress));
    } else if (op == "inspect") {
      image::InspectRequest req;
      image::from_json(reqj, req);
      result = image::to_json(registry::inspect(req));
    } else if (op == "login") {
      image::LoginRequest req;
      image::from_json(reqj, req);
      registry::login(req);
      result = json::object();
    } else if (op == "logout") {
      image::LogoutRequest req;
      image::from_json(reqj, req);
      result = {{"removed", registry::logout(req)}};
    } else if (op == "fetch") {
      image::FetchRequest req;
      image::from_json(reqj, req);
      result = image::to_json(registry::fetch(req));
    } else {
      fail("berth-registry: unknown operation \"" + op + "\" (pull, push, inspect, login, logout, fetch)");
    }
    emit({{"result", result}});
    return 0;
  } catch (const Error& e) {
    emit({{"error", {{"message", e.what()}, {"kind", kind_name(e.kind())}}}});
    return 1;
  } catch (const std::exception& e) {
    emit({{"error", {{"message", e.what()}, {"kind", "internal"}}}});
    return 1;
  }
}
