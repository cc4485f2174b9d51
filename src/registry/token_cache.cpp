#include "registry/token_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "common/digest.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"

namespace berth::registry {

using nlohmann::json;

std::string TokenCache::host_dir(const std::string& host) const {
  std::string safe;
  for (char c : host) safe += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return dir_ + "/" + safe;
}

std::optional<TokenCache::Entry> TokenCache::load(const std::string& host, const std::string& key) const {
  if (dir_.empty()) return std::nullopt;
  std::string p = host_dir(host) + "/" + sha256_hex(key);
  struct stat st;
  // Only a file of ours that nobody else can read is trusted.
  if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0)
    return std::nullopt;
  try {
    json j = json::parse(fs::read_file(p));
    Entry e{j.at("token").get<std::string>(), j.at("expires").get<int64_t>()};
    if (e.expires <= static_cast<int64_t>(std::time(nullptr))) {
      ::unlink(p.c_str());
      return std::nullopt;
    }
    return e;
  } catch (...) {
    return std::nullopt;
  }
}

void TokenCache::store(const std::string& host, const std::string& key, const Entry& e) const {
  if (dir_.empty()) return;
  try {
    fs::mkdir_p(dir_, 0700);
    std::string d = host_dir(host);
    fs::mkdir_p(d, 0700);
    std::string p = d + "/" + sha256_hex(key);
    std::random_device rd;
    std::string tmp = p + ".tmp" + std::to_string(rd());
    std::string body = json{{"token", e.token}, {"expires", e.expires}}.dump();
    UniqueFd f(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!f) return;
    bool ok = ::write(f.get(), body.data(), body.size()) == static_cast<ssize_t>(body.size());
    f.reset();
    if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0) ::unlink(tmp.c_str());
  } catch (...) {
  }
}

void TokenCache::forget(const std::string& host) const {
  if (dir_.empty()) return;
  try {
    fs::remove_all(host_dir(host));
  } catch (...) {
  }
}

}  // namespace berth::registry
