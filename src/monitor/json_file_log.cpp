#include "monitor/json_file_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "common/clock.hpp"
#include "common/error.hpp"
#include "common/utf8.hpp"

namespace berth::monitor {

namespace {
constexpr size_t kMaxPartial = 16 * 1024;  // docker's line buffer
}

std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // What a container prints is any bytes: an invalid UTF-8 byte is
      // written as \ufffd, as docker's json-file driver does, since a JSON
      // reader refuses the whole line otherwise (`logs` lost it).
      size_t at = i;
      char32_t r = utf8::decode(s, i);
      if (r == utf8::kRuneError && i == at + 1) out += "\\ufffd";
      else if (r == 0x2028 || r == 0x2029) out += r == 0x2028 ? "\\u2028" : "\\u2029";  // as docker's
      else out.append(s.substr(at, i - at));
      continue;
    }
    ++i;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          out += b;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

JsonFileLog::JsonFileLog(std::string path, int64_t max_size, int max_files)
    : path_(std::move(path)), max_size_(max_size), max_files_(max_files < 1 ? 1 : max_files) {
  open();
}

void JsonFileLog::open() {
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd_) throw_errno("open container log " + path_);
  struct stat st{};
  size_ = ::fstat(fd_.get(), &st) == 0 ? st.st_size : 0;
}

void JsonFileLog::rotate() {
  if (max_files_ <= 1) {
    // docker with max-file=1 truncates the one file
    if (::ftruncate(fd_.get(), 0) == 0) size_ = 0;
    return;
  }
  for (int i = max_files_ - 1; i >= 1; --i) {
    std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
    ::rename(from.c_str(), (path_ + "." + std::to_string(i)).c_str());
  }
  open();
}

void JsonFileLog::write_line(std::string_view stream, std::string_view line) {
  std::string rec = "{\"log\":" + json_quote(line) + ",\"stream\":\"" + std::string(stream) + "\",\"time\":\"" +
                    now_rfc3339() + "\"}\n";
  if (max_size_ > 0 && size_ > 0 && size_ + static_cast<int64_t>(rec.size()) > max_size_) rotate();
  // A full disk loses log lines, never the container: the monitor goes on.
  ssize_t w = ::write(fd_.get(), rec.data(), rec.size());
  if (w > 0) size_ += w;
}

void JsonFileLog::write(std::string_view stream, std::string_view data) {
  std::string& held = partial_[stream == "stderr" ? 1 : 0];
  while (!data.empty()) {
    size_t nl = data.find('\n');
    if (nl == std::string_view::npos) {
      held.append(data);
      if (held.size() >= kMaxPartial) {
        write_line(stream, held);
        held.clear();
      }
      return;
    }
    if (held.empty()) {
      write_line(stream, data.substr(0, nl + 1));
    } else {
      held.append(data.substr(0, nl + 1));
      write_line(stream, held);
      held.clear();
    }
    data.remove_prefix(nl + 1);
  }
}

void JsonFileLog::flush() {
  for (int i = 0; i < 2; ++i)
    if (!partial_[i].empty()) {
      write_line(i ? "stderr" : "stdout", partial_[i]);
      partial_[i].clear();
    }
}

}  // namespace berth::monitor
