// OCI image-spec (and Docker schema2) types and their JSON mapping.
// Only the fields Berth acts on are typed; everything else in a config is
// kept as raw JSON so that a loaded image is saved back byte for byte.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace berth::oci {

namespace media {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media

inline constexpr const char* kAnnotationRefName = "org.opencontainers.image.ref.name";
inline constexpr const char* kAnnotationContainerdName = "io.containerd.image.name";

struct Platform {
  std::string os, architecture, variant;
};

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;
};

struct Manifest {
  int schema_version = 2;
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::map<std::string, std::string> annotations;
};

struct Index {
  int schema_version = 2;
  std::string media_type;
  std::vector<Descriptor> manifests;
  std::map<std::string, std::string> annotations;
};

bool is_index_media_type(const std::string& mt);
bool is_manifest_media_type(const std::string& mt);

Descriptor descriptor_from_json(const nlohmann::json& j);
nlohmann::json to_json(const Descriptor& d);

// Parse and validate (schema, digests). Throw InvalidArgument naming `what`.
Manifest parse_manifest(const std::string& bytes, const std::string& what);
Index parse_index(const std::string& bytes, const std::string& what);
std::string serialize(const Manifest& m);  // compact, deterministic
std::string serialize(const Index& i);

// The image config: raw JSON plus typed accessors for what Berth uses.
struct ImageConfig {
  nlohmann::json raw;
  std::vector<std::string> diff_ids() const;
  std::string os() const;
  std::string architecture() const;
  std::string created() const;
};
ImageConfig parse_config(const std::string& bytes, const std::string& what);

// Chain IDs per the image spec: chain[0] = diff[0],
// chain[n] = sha256(chain[n-1] + " " + diff[n]).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

// Is the layer media type one Berth can unpack (tar, tar+gzip, tar+zstd,
// docker's diff.tar[.gzip])?
bool is_layer_media_type(const std::string& mt);

}  // namespace berth::oci
