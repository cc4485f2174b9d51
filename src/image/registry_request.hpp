// What `berth pull/push/login/logout` ask of a registry, what comes back,
// and the progress in between: plain structs, so the CLI, `berth serve`
// (docker's /images/create and /images/{name}/push) and the Dockerfile
// builder call the same thing with no flags inside.
//
// The work is done by the berth-registry executable (registry/, linked
// with libcurl; docs/architecture.md says why it is a process of its own);
// these structs are also the wire between the two, one JSON object a line.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace berth::image {

struct RegistryAccess {
  std::string cert_dir;    // "" = /etc/berth/certs.d/HOST[:PORT]
  std::string config_dir;  // "" = $BERTH_CONFIG or ~/.config/berth
  // Where bearer tokens are kept across commands (the state dir's
  // registry-tokens/); "" = only for the one operation.
  std::string token_dir;
};

struct PullRequest {
  std::string reference;  // busybox, host:port/repo:tag, repo@sha256:...
  bool all_tags = false;
  std::string platform;   // "" = the host's; "os/arch[/variant]"
  int parallel = 3;       // layers downloaded at once
  RegistryAccess access;
};

struct PulledImage {
  std::string reference;        // normalised, the tag or digest pulled
  std::string id;               // image ID (config digest)
  std::string digest;           // what the reference named: index or manifest digest
  bool downloaded = false;      // false: the store had it all already
};

struct PullResult {
  std::vector<PulledImage> images;
};

struct PushRequest {
  std::string reference;   // a local image name, which says where it goes
  int parallel = 3;        // layers uploaded at once
  int64_t chunk_size = 0;  // > 0: chunked uploads (PATCH) of this size; 0: one PUT per blob
  // Push the multi-platform index the reference was pulled with, and each
  // platform's image (all must be in the store), instead of one image.
  bool all_platforms = false;
  RegistryAccess access;
};

struct PushResult {
  std::string reference;  // normalised
  std::string tag;
  std::string digest;     // manifest digest the registry has
  int64_t size = 0;       // manifest size in bytes
};

struct LoginRequest {
  std::string registry;  // HOST[:PORT]; "" = docker.io
  std::string username, password;
  RegistryAccess access;
};

struct LogoutRequest {
  std::string registry;
  RegistryAccess access;
};

// ADD's remote sources (http and https URLs): berth-registry fetches the
// URL with libcurl into `dest` (a file it creates, mode 0600, and removes
// again on any failure), verifying `checksum` ("sha256:<hex>") if given.
// TLS as for registries: verified, with ca.crt from the URL host's cert
// dir (/etc/berth/certs.d/HOST[:PORT] or access.cert_dir).
struct FetchRequest {
  std::string url;
  std::string checksum;
  std::string dest;
  int64_t max_size = int64_t{1} << 30;
  RegistryAccess access;
};

struct FetchResult {
  std::string file_name;      // docker's: the URL path's last element, else Content-Disposition's
  int64_t last_modified = -1;  // seconds since the epoch from Last-Modified; -1: none
  std::string digest;         // sha256 of the body
  int64_t size = 0;
};

// GET /distribution/{name}/json: what a reference names in its registry,
// looked up without pulling anything but the manifest (and, for a single
// image, its small config, which says its platform).
struct InspectRequest {
  std::string reference;
  RegistryAccess access;
};

struct RemoteDescriptor {
  std::string media_type;  // of the manifest or index the reference names
  std::string digest;
  int64_t size = 0;
  std::vector<std::string> platforms;  // "os/arch[/variant]": an index's entries, or the image's
};

// One line of progress, as docker's JSON messages: `id` is a layer's short
// digest (or "" for the image), `status` docker's words ("Pulling fs
// layer", "Downloading", "Download complete", "Extracting", "Pull
// complete", "Already exists", "Pushing", "Pushed", "Layer already exists",
// "Mounted from REPO"), current/total bytes when known.
struct ProgressEvent {
  std::string id;
  std::string status;
  int64_t current = 0, total = 0;
};
using ProgressFn = std::function<void(const ProgressEvent&)>;

// The wire (berth <-> berth-registry).
nlohmann::json to_json(const RegistryAccess&);
nlohmann::json to_json(const PullRequest&);
nlohmann::json to_json(const PullResult&);
nlohmann::json to_json(const PushRequest&);
nlohmann::json to_json(const PushResult&);
nlohmann::json to_json(const LoginRequest&);
nlohmann::json to_json(const LogoutRequest&);
nlohmann::json to_json(const ProgressEvent&);
nlohmann::json to_json(const FetchRequest&);
nlohmann::json to_json(const FetchResult&);
nlohmann::json to_json(const InspectRequest&);
nlohmann::json to_json(const RemoteDescriptor&);
void from_json(const nlohmann::json&, InspectRequest&);
void from_json(const nlohmann::json&, RemoteDescriptor&);
void from_json(const nlohmann::json&, FetchRequest&);
void from_json(const nlohmann::json&, FetchResult&);
void from_json(const nlohmann::json&, RegistryAccess&);
void from_json(const nlohmann::json&, PullRequest&);
void from_json(const nlohmann::json&, PullResult&);
void from_json(const nlohmann::json&, PushRequest&);
void from_json(const nlohmann::json&, PushResult&);
void from_json(const nlohmann::json&, LoginRequest&);
void from_json(const nlohmann::json&, LogoutRequest&);
void from_json(const nlohmann::json&, ProgressEvent&);

}  // namespace berth::image
