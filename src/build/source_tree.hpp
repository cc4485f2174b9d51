// Where COPY and ADD read from, and how they write: the build context
// (minus what .dockerignore excludes) or another stage's or image's
// filesystem, written into a mounted snapshot of the current state.
//
// Both trees are opened as directory fds and every path is resolved in
// them with openat2(RESOLVE_IN_ROOT): a symlink in the context that points
// outside it (absolute or with ".."), or one in the image being built,
// resolves inside the tree it belongs to, so no host file is ever read or
// written through one. Symlinks met inside a copied directory are copied
// as symlinks, not followed (docker's rules).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "common/digest.hpp"
#include "common/fd.hpp"
#include "dockerfile/patterns.hpp"

namespace berth::build {

class SourceTree {
 public:
  SourceTree(UniqueFd root, dockerfile::IgnoreRules ignore) : root_(std::move(root)), ignore_(std::move(ignore)) {}
  int root() const { return root_.get(); }
  bool excluded(const std::string& rel) const { return !rel.empty() && rel != "." && ignore_.excluded(rel); }
  bool ignores_nothing() const { return ignore_.empty(); }

  // The relative paths a COPY source names: one, or what its glob matches
  // (sorted). InvalidArgument for a path outside the tree, NotFound for
  // none (naming `src`).
  std::vector<std::string> resolve(const std::string& src) const;
  // Feeds names, types, modes, link targets and contents of `rel` (a whole
  // directory, recursively) into `h`; not owners, not times.
  void digest(const std::string& rel, Sha256& h) const;
  // An excluded directory `name` (at `rel`) of dirfd holding something an
  // exception ("!dir/keep") lets through.
  bool keeps_something_below(int dirfd, const std::string& name, const std::string& rel) const;

 private:
  void walk_glob(int dirfd, const std::string& rel, const std::string& pattern, std::vector<std::string>& out) const;
  void digest_at(int fd, const std::string& rel, Sha256& h) const;
  UniqueFd root_;
  dockerfile::IgnoreRules ignore_;
};

struct CopyOptions {
  std::optional<uid_t> uid;  // --chown; default root
  std::optional<gid_t> gid;
  std::optional<mode_t> mode;  // --chmod, for files and directories
};

// Copies `rel` of `src` to `dest` inside `dest_root`: a directory's
// contents into dest, a file to dest (or into it when `dest_is_dir`).
void copy_path(const SourceTree& src, const std::string& rel, int dest_root, const std::string& dest, bool dest_is_dir,
               const CopyOptions& o);
// Writes one file (a heredoc) at dest (or dest/name when dest_is_dir).
void write_file_in_root(int dest_root, const std::string& dest, bool dest_is_dir, const std::string& name,
                        const std::string& content, const CopyOptions& o, mode_t mode = 0644, int64_t mtime = -1);
// A directory in the tree, made with its missing parents (0755, owned as `o`).
UniqueFd make_dirs_in_root(int root, const std::string& path, const CopyOptions& o);
// Is `path` an existing directory of the tree (following symlinks inside it)?
bool is_dir_in_root(int root, const std::string& path);

}  // namespace berth::build
