// Process-wide logger (a process has one stderr and one --log file, so this
// is the one piece of global state the tree allows).
//
// Text format:  "berth-runtime: level=info msg=..." style lines on stderr.
// JSON format:  {"level":"error","msg":"...","time":"RFC3339"} per line, which
// is what containerd and Docker read back from a runtime's --log file.
#pragma once

#include <string>
#include <string_view>

namespace berth::log {

enum class Level { Debug, Info, Warn, Error };
enum class Format { Text, Json };

// Sends log lines to `path` (appending), or to stderr if path is empty.
void configure(std::string_view program, const std::string& path, Format format,
               Level min_level);
void write(Level level, std::string_view message);

inline void debug(std::string_view m) { write(Level::Debug, m); }
inline void info(std::string_view m) { write(Level::Info, m); }
inline void warn(std::string_view m) { write(Level::Warn, m); }
inline void error(std::string_view m) { write(Level::Error, m); }

// True when lines go somewhere other than stderr (so a CLI error must be
// printed on stderr too).
bool to_file();

}  // namespace berth::log
