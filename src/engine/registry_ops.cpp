#include "engine/registry_ops.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/subprocess.hpp"
#include "engine/in_root.hpp"
#include "image/reference.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

ErrorKind kind_from(const std::string& name) {
  for (auto k : {ErrorKind::InvalidArgument, ErrorKind::NotFound, ErrorKind::AlreadyExists,
                 ErrorKind::FailedPrecondition, ErrorKind::Unsupported, ErrorKind::Corrupt})
    if (name == kind_name(k)) return k;
  return ErrorKind::Internal;
}

// Runs berth-registry OP with `request`; relays progress; returns "result".
json run_helper(const std::string& root, const std::string& op, const json& request,
                const image::ProgressFn& progress) {
  std::string exe = executable_dir() + "/berth-registry";
  if (::access(exe.c_str(), X_OK) != 0)
    throw Error("registry client " + exe + " not found (build it: ninja berth-registry)", ErrorKind::NotFound, errno);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw_errno("pipe for berth-registry");
  UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
  pid_t pid = spawn_process({exe, "--root", root, "--parent", std::to_string(::getpid()), op},
                            SpawnFds(in_r.get(), out_w.get(), STDERR_FILENO));
  in_r.reset();
  out_w.reset();
  std::string req = request.dump();
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::write(in_w.get(), req.data() + off, req.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // it died; its status says so
    off += n;
  }
  in_w.reset();
  json result, error;
  std::string buf;
  char chunk[65536];
  for (;;) {
    ssize_t n = ::read(out_r.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buf.append(chunk, n);
    for (size_t nl; (nl = buf.find('\n')) != std::string::npos; buf.erase(0, nl + 1)) {
      json j = json::parse(buf.substr(0, nl), nullptr, false);
      if (j.is_discarded() || !j.is_object()) continue;
      if (j.contains("progress")) {
        if (progress) {
          image::ProgressEvent e;
          image::from_json(j["progress"], e);
          progress(e);
        }
      } else if (j.contains("result")) {
        result = j["result"];
      } else if (j.contains("error")) {
        error = j["error"];
      }
    }
  }
  int status = wait_process(pid);
  if (error.is_object())
    throw Error(error.value("message", std::string("registry operation failed")), kind_from(error.value("kind", "")));
  if (status != 0 || result.is_null())
    throw Error("berth-registry " + op + " ended without an answer (exit status " + std::to_string(status) + ")",
                ErrorKind::Internal);
  return result;
}

}  // namespace

image::PullResult pull_image(const std::string& root, const image::PullRequest& req, const image::ProgressFn& progress) {
  image::PullResult r;
  image::from_json(run_helper(root, "pull", image::to_json(req), progress), r);
  return r;
}

image::PushResult push_image(const std::string& root, const image::PushRequest& req, const image::ProgressFn& progress) {
  image::PushResult r;
  image::from_json(run_helper(root, "push", image::to_json(req), progress), r);
  return r;
}

image::FetchResult fetch_url(const std::string& root, const image::FetchRequest& req) {
  image::FetchResult r;
  image::from_json(run_helper(root, "fetch", image::to_json(req), {}), r);
  return r;
}

image::RemoteDescriptor inspect_remote(const image::InspectRequest& req) {
  image::RemoteDescriptor d;
  image::from_json(run_helper(/*no store*/ "", "inspect", image::to_json(req), {}), d);
  return d;
}

void registry_login(const image::LoginRequest& req) { run_helper(/*no store*/ "", "login", image::to_json(req), {}); }

bool registry_logout(const image::LogoutRequest& req) {
  return run_helper(/*no store*/ "", "logout", image::to_json(req), {}).value("removed", false);
}

void pull_for_create(image::ImageStore& store, const std::string& image, const std::string& policy,
                     const image::ProgressFn& progress) {
  if (policy == "never" || image.starts_with("sha256:")) return;
  if (policy == "missing") {
    try {
      if (store.find(image)) return;
    } catch (const Error&) {
      return;  // an ambiguous ID prefix or a bad name: resolve says why
    }
  }
  if (!image::is_valid_reference(image)) return;
  image::PullRequest req;
  req.reference = image;
  try {
    pull_image(store.root(), req, progress);
  } catch (const Error& e) {
    throw Error("No such image: " + image + " (pull: " + e.message() + ")", e.kind());
  }
}

}  // namespace berth::engine
