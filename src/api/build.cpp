// POST /build: docker's classic builder API over build::build_image (the
// call `berth build` makes). The body is the context as a tar (what the
// docker CLI sends with DOCKER_BUILDKIT=0, or when /_ping says
// Builder-Version 1), unpacked into a directory of the root removed after;
// the progress is docker's {"stream": ...} lines, then {"aux":{"ID"}}. An
// error before any output (a broken Dockerfile, an unknown base image) is
// an ordinary error answer; after, docker's {"error", "errorDetail"} line.
// A client that hangs up cancels the build (the connection is the
// builder's cancel fd).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "api/json_lines.hpp"
#include "api/router.hpp"
#include "build/builder.hpp"
#include "build/image_state.hpp"
#include "build/temp_context.hpp"
#include "common/fs.hpp"
#include "engine/container_engine.hpp"
#include "image/layer_unpack.hpp"

namespace berth::api {

using nlohmann::json;

namespace {


// buildargs and labels: a JSON object in the query ({"A":"1","B":null}).
std::map<std::string, std::string> json_map(Exchange& x, const char* key) {
  std::map<std::string, std::string> m;
  std::string s = x.req.text(key);
  if (s.empty()) return m;
  json j = json::parse(s, nullptr, false);
  if (!j.is_object()) throw Error(std::string(key) + ": want a JSON object, got " + s, ErrorKind::InvalidArgument);
  for (auto& [k, v] : j.items()) {
    if (v.is_null()) continue;  // docker: --build-arg NAME with NAME unset in the client's environment
    m[k] = v.is_string() ? v.get<std::string>() : v.dump();
  }
  return m;
}

// The docker CLI's context tar, when it adds a Dockerfile from outside the
// context (`-f ../x`) or a .dockerignore, ends without its last entry's
// padding and the two zero blocks (its tar wrapper is never closed);
// dockerd's Go reader takes that, libarchive does not. An uncompressed
// tar ("ustar" at 257) is completed with zeros, as the writer should have.
void complete_tar(int fd) {
  char magic[5] = {};
  struct stat st {};
  if (::pread(fd, magic, sizeof magic, 257) != sizeof magic || std::string_view(magic, 5) != "ustar") return;
  if (::fstat(fd, &st) != 0) return;
  off_t pad = (512 - st.st_size % 512) % 512 + 1024;
  std::string zeros(static_cast<size_t>(pad), '\0');
  if (::pwrite(fd, zeros.data(), zeros.size(), st.st_size) != static_cast<ssize_t>(zeros.size()))
    throw_errno("complete the build context's tar");
}

void build(Exchange& x) {
  if (!x.req.text("remote").empty())
    throw Error("remote build contexts (remote=" + x.req.text("remote") + ") are not supported by berth; send the context as a tar",
                ErrorKind::Unsupported);
  if (x.req.text("version", "1") == "2")
    throw Error("BuildKit (version=2) is not supported by berth: use the classic builder (DOCKER_BUILDKIT=0)",
                ErrorKind::Unsupported);
  if (x.req.flag("pull")) throw Error("build --pull is not supported by berth's API yet", ErrorKind::Unsupported);
  build::BuildRequest req;
  req.tags = x.req.all("t");
  req.build_args = json_map(x, "buildargs");
  req.labels = json_map(x, "labels");
  req.target = x.req.text("target");
  req.no_cache = x.req.flag("nocache");
  req.platform = x.req.text("platform");
  std::string net = x.req.text("networkmode");
  req.network = net == "default" ? "" : net;
  if (!req.network.empty() && req.network != "none" && req.network != "host")
    throw Error("networkmode " + net + ": RUN can use the default, none or host network", ErrorKind::InvalidArgument);
  bool quiet = x.req.flag("q");

  auto& e = *x.engine;
  build::TempContext ctx(e.images().root(), "api-ctx");
  if (x.req.body_fd >= 0) {
    try {
      complete_tar(x.req.body_fd);
      image::unpack_layer(x.req.body_fd, ctx.dir);
    } catch (Error& err) {
      throw Error("read the build context (the request body, a tar): " + err.message(), ErrorKind::InvalidArgument);
    }
  }
  req.context_dir = ctx.dir;
  std::string df = x.req.text("dockerfile", "Dockerfile");
  // Confined to the context: the builder opens it under context_dir.
  if (df.starts_with("/") || df == ".." || df.starts_with("../") || df.find("/../") != std::string::npos)
    throw Error("dockerfile " + df + ": must be a path inside the build context", ErrorKind::InvalidArgument);
  req.dockerfile = df;

  JsonLines out(x);
  std::string held;  // q=1: the output, sent only if the build fails
  try {
    // The first line opens the stream; from then on the connection is the
    // cancel fd (readable once the client hangs up). The builder reads
    // req.cancel_fd through its reference at each step, so setting it here
    // takes effect from the next step on; until the first line, an error
    // is still an ordinary error answer.
    auto res = build::build_image(e, req, [&](const build::Progress& p) {
      if (quiet) {
        held += p.text;
        return;
      }
      out.send({{"stream", p.text}});
      req.cancel_fd = out.fd();
    });
    out.send({{"aux", {{"ID", res.image_id}}}});
    if (quiet) out.send({{"stream", res.image_id + "\n"}});
  } catch (const Error& err) {
    if (quiet && !held.empty()) out.send({{"stream", held}});
    out.fail(err);
  }
}

// docker's POST /build/prune: the builder's step cache (build::BuildCache),
// then the store's GC, which removes the layers and blobs only the cache
// held (SpaceReclaimed). RUN cache mounts (<root>/build-cache) stay: a
// shared one may be in use by a running build, and nothing says so.
void build_prune(Exchange& x) {
  // docker's parameters: `all` is what berth does anyway (its cache has no
  // "in use" entries to keep); a size to keep or filters would need the
  // cache's sizes and ages, which berth does not track per entry.
  for (const char* p : {"keep-storage", "reserved-space", "max-used-space", "min-free-space"})
    if (x.req.number(p, 0) != 0)
      throw Error(std::string("build prune: ") + p + " is not supported by berth (it prunes the whole step cache)",
                  ErrorKind::InvalidArgument);
  if (!x.req.filters().empty())
    throw Error("build prune: filters are not supported by berth (it prunes the whole step cache)",
                ErrorKind::InvalidArgument);
  auto& store = x.engine->images();
  auto keys = build::BuildCache(store).clear();
  auto gc = store.gc();
  json deleted = json::array();
  for (auto& k : keys) deleted.push_back(k);
  x.json(200, {{"CachesDeleted", deleted}, {"SpaceReclaimed", gc.bytes}});
}

}  // namespace

void add_build_routes(Router& r) {
  r.add("POST", "/build", build, BodyKind::Upload);
  r.add("POST", "/build/prune", build_prune);
}

}  // namespace berth::api
