// Small file-system helpers that throw berth::Error naming the path.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace berth::fs {

std::string read_file(const std::string& path);
// The file's contents, or nullopt if it does not exist (ENOENT/ENOTDIR);
// other errors throw. For hot paths that look for optional files: an
// exception costs ~0.7 M instructions in the static CLI (its unwinder
// searches every FDE), more than `ps` spends on a container.
std::optional<std::string> read_file_if_exists(const std::string& path);
// Everything left to read from `fd`; errors name `what`.
std::string read_all(int fd, const std::string& what);
// Writes via temp file + fsync + rename + fsync(dir): readers see the old or
// the new content, never a mix, even across a crash.
void write_file_atomic(const std::string& path, std::string_view data,
                       mode_t mode = 0644);
void write_file(const std::string& path, std::string_view data);
// mkdir -p; existing directories are fine.
void mkdir_p(const std::string& path, mode_t mode = 0755);
// rm -rf that does not cross mount points and tolerates a missing path.
void remove_all(const std::string& path);
bool exists(const std::string& path);
bool is_dir(const std::string& path);
std::string join(std::string_view a, std::string_view b);
// Absolute path of an existing file (realpath), or Error NotFound.
std::string absolute(const std::string& path);
void fsync_dir(const std::string& dir);

}  // namespace berth::fs
