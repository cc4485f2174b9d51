// The json-file log (src/monitor/json_file_log.cpp): a container's output is
// any bytes, and every line the monitor writes must stay JSON that `logs`
// (and docker's readers) take; a line no reader took was silently lost.
// Input: chunks of output separated by "\0|\0", even ones from stdout, odd
// ones from stderr. Beyond not crashing: every line of the file parses, its
// "log" is valid UTF-8, and each stream's "log"s joined are that stream's
// bytes with each byte that is not valid UTF-8 as U+FFFD (Go's rules, as
// docker writes), so output that is UTF-8 comes back byte for byte.
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>

#include "common/fs.hpp"
#include "common/utf8.hpp"
#include "fuzz_support.hpp"
#include "monitor/json_file_log.hpp"

using namespace berth;

namespace {

std::string replaced(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) utf8::append(out, utf8::decode(s, i));
  return out;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t at = i;
    if (utf8::decode(s, i) == utf8::kRuneError && i == at + 1) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Lines split at 16 KiB could cut a character in two; keep below that.
  if (size > 12 * 1024) return 0;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto chunks = fuzz::split_input(in, std::string_view("\0|\0", 3), 64);
  static fuzz::ScratchDir dir("json-file-log");
  const std::string path = dir.path() + "/c-json.log";
  ::unlink(path.c_str());  // a new file each time (ext4 flushes a truncated one at close)
  std::string sent[2];
  {
    monitor::JsonFileLog log(path, 0, 1);
    for (size_t i = 0; i < chunks.size(); ++i) {
      log.write(i % 2 ? "stderr" : "stdout", chunks[i]);
      sent[i % 2].append(chunks[i]);
    }
    log.flush();
  }
  std::string text = fs::read_file(path);
  std::string got[2];
  size_t start = 0, nl;
  while ((nl = text.find('\n', start)) != std::string::npos) {
    std::string line = text.substr(start, nl - start);
    start = nl + 1;
    auto j = nlohmann::json::parse(line, nullptr, false);
    FUZZ_CHECK(j.is_object() && j["log"].is_string() && j["stream"].is_string() && j["time"].is_string(), line);
    std::string log = j["log"].get<std::string>();
    FUZZ_CHECK(valid_utf8(log), line);
    got[j["stream"] == "stderr" ? 1 : 0] += log;
  }
  FUZZ_CHECK(start == text.size(), "a last line without its newline");
  for (int s = 0; s < 2; ++s) {
    FUZZ_CHECK(got[s] == replaced(sent[s]), got[s]);
    if (valid_utf8(sent[s])) FUZZ_CHECK(got[s] == sent[s], got[s]);
  }
  return 0;
}
