// RUN --mount (BuildKit's syntax): what a RUN sees besides its image,
// never part of the layer it makes.
//
//   type=bind    (default) source (default /) of the context, or of
//                from=STAGE|IMAGE; read-only unless rw (then writes go to a
//                scratch overlay, thrown away after the RUN)
//   type=cache   a directory kept between builds under <root>/build-cache/,
//                by id (default: the target); sharing=shared|private|locked
//   type=tmpfs   an empty tmpfs (size=BYTES)
//   type=secret  the file `berth build --secret id=ID,src=FILE` gave, at
//                /run/secrets/ID (or target), mode 0400; required=true
//                makes a missing secret an error (otherwise the mount is
//                skipped, as BuildKit)
//
// Parsing is separate from preparing: the cache key of a RUN holds each
// mount's description (and, for a bind of the context, the digest of the
// source's content), computed without mounting anything; only a cache miss
// prepares the mounts (PreparedMounts, which undoes all it did).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "build/image_state.hpp"
#include "build/source_tree.hpp"
#include "engine/container_spec.hpp"

namespace berth::build {

struct RunMount {
  std::string type = "bind";  // bind | cache | tmpfs | secret
  std::string target;         // absolute in the container (made so from WORKDIR)
  std::string source;         // bind: in the context or `from`; "" = its root
  std::string from;           // bind: a stage or an image
  std::string id;             // cache: the cache's name; secret: the secret's
  std::string sharing = "shared";
  bool read_only = false;
  bool required = false;
  std::optional<mode_t> mode;
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  int64_t size = 0;  // tmpfs bytes; 0 = the kernel's default
};

// One --mount value ("type=cache,target=/root/.cache,sharing=locked").
// `workdir` makes a relative target absolute. InvalidArgument naming the
// key for an unknown key, a bad value or a missing target.
RunMount parse_run_mount(const std::string& value, const std::string& workdir);

// What preparing a mount needs from the build.
struct MountContext {
  image::ImageStore* store = nullptr;
  std::string context_dir;     // the build context's directory
  const SourceTree* context = nullptr;
  // A stage (by name or index) or an image (pulled if the store lacks it).
  std::function<ImageState(const std::string&)> state_of;
  const std::map<std::string, std::string>* secrets = nullptr;  // id -> host file
  std::vector<std::string>* made = nullptr;  // images recorded for a from= (forgotten when the build ends)
};

// The part of a RUN's cache key a mount makes: its description, plus the
// content digest of a context source or the state ID of a `from`.
std::string mount_key(const RunMount& m, const MountContext& mc);

// The mounts of one RUN, ready for the container; all undone by the
// destructor (images unmounted, scratch overlays and secret copies
// removed, cache locks released).
class PreparedMounts {
 public:
  PreparedMounts(const std::vector<RunMount>& mounts, const MountContext& mc);
  ~PreparedMounts();
  PreparedMounts(const PreparedMounts&) = delete;
  PreparedMounts& operator=(const PreparedMounts&) = delete;

  // Adds a read-only file at `target` holding `content` (mode 0755):
  // a `#!` heredoc run as a program.
  void add_script(const std::string& target, const std::string& content);

  std::vector<engine::MountRequest> requests;
  std::vector<std::string> targets;  // mount points the runtime may have made in the layer

 private:
  void release();
  struct Held;
  std::vector<std::unique_ptr<Held>> held_;
  std::string tmp_dir_;  // <root>/build-tmp/run-XXXX
};

// After the RUN: the mount points the runtime made in the upper dir
// (empty files and directories at `targets` and their empty parents of
// mode 0755, up to the root) are not the command's doing, so they go.
void drop_mount_points(const std::string& upper, const std::vector<std::string>& targets);

}  // namespace berth::build
