// A container's log in docker's json-file format, one JSON object a line:
//   {"log":"hello\n","stream":"stdout","time":"2026-12-06T15:04:05.123456789Z"}
// (what `docker logs`, Compose and the Docker SDKs read when
// HostConfig.LogConfig.Type is "json-file"). Output is split at newlines as
// docker does; a partial line is held until its newline, 16 KiB, or the
// end of the stream. Appended across restarts; rotated like docker's
// max-size/max-file: <log> -> <log>.1 -> ... -> <log>.<max-file - 1>.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.hpp"

namespace berth::monitor {

std::string json_quote(std::string_view s);

class JsonFileLog {
 public:
  JsonFileLog(std::string path, int64_t max_size, int max_files);
  // Output of `stream` ("stdout"/"stderr"); whole lines are written.
  void write(std::string_view stream, std::string_view data);
  // Writes a held partial line of each stream.
  void flush();

 private:
  void write_line(std::string_view stream, std::string_view line);
  void rotate();
  void open();
  std::string path_;
  int64_t max_size_;
  int max_files_;
  int64_t size_ = 0;
  UniqueFd fd_;
  std::string partial_[2];
};

}  // namespace berth::monitor
