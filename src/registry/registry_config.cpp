#include "registry/registry_config.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "common/error.hpp"
#include "common/fd.hpp"
#include "common/fs.hpp"
#include "common/json_text.hpp"
#include "common/subprocess.hpp"

namespace berth::registry {

using nlohmann::json;

std::string default_config_dir() {
  if (const char* d = std::getenv("BERTH_CONFIG"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.config/berth";
}

std::string auth_key(const std::string& host) {
  return host == "docker.io" ? "https://index.docker.io/v1/" : host;
}

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(n);
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4) return std::nullopt;
  std::string out(3 * in.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t pad = in.ends_with("==") ? 2 : in.ends_with("=") ? 1 : 0;
  out.resize(n - pad);
  return out;
}

RegistryConfig::RegistryConfig(std::string dir) : dir_(std::move(dir)), path_(dir_ + "/config.json") {
  raw_ = json::object();
  if (!fs::exists(path_)) return;
  std::string text = fs::read_file(path_);
  try {
    raw_ = json::parse(text);
  } catch (const json::exception& e) {
    fail(path_ + ": not valid JSON: " + e.what());
  }
  if (!raw_.is_object()) fail(path_ + ": not a JSON object");
}

namespace {

struct HelperResult {
  int status;
  std::string out;
};

// Runs docker-credential-NAME VERB with `input` on stdin, as docker does.
HelperResult run_helper(const std::string& name, const std::string& verb, const std::string& input) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw_errno("pipe for credential helper");
  UniqueFd in_r(in[0]), in_w(in[1]), out_r(out[0]), out_w(out[1]);
  SpawnFds fds(in_r.get(), out_w.get(), STDERR_FILENO);
  fds.search_path = true;
  pid_t pid = spawn_process({"docker-credential-" + name, verb}, fds);
  in_r.reset();
  out_w.reset();
  for (size_t off = 0; off < input.size();) {
    ssize_t n = ::write(in_w.get(), input.data() + off, input.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;  // the helper exited early; its status says why
    off += n;
  }
  in_w.reset();
  std::string text = fs::read_all(out_r.get(), "output of docker-credential-" + name);
  return {wait_process(pid), text};
}

}  // namespace

std::string RegistryConfig::helper_for(const std::string& host) const {
  if (auto it = raw_.find("credHelpers"); it != raw_.end() && it->is_object()) {
    for (auto& key : {host, auth_key(host)})
      if (auto h = it->find(key); h != it->end() && h->is_string()) return h->get<std::string>();
  }
  if (auto it = raw_.find("credsStore"); it != raw_.end() && it->is_string()) return it->get<std::string>();
  return {};
}

std::optional<Credentials> RegistryConfig::credentials(const std::string& host) const {
  if (std::string helper = helper_for(host); !helper.empty()) {
    auto r = run_helper(helper, "get", auth_key(host));
    if (r.status != 0) {
      // docker-credential-* print "credentials not found in native keychain".
      if (r.out.find("not found") != std::string::npos) return std::nullopt;
      fail("credential helper docker-credential-" + helper + " get failed (exit " + std::to_string(r.status) +
           ")" + (r.out.empty() ? "" : ": " + r.out));
    }
    try {
      auto j = json::parse(r.out);
      return Credentials{j.value("Username", ""), j.value("Secret", "")};
    } catch (const json::exception&) {
      fail("credential helper docker-credential-" + helper + " answered something that is not JSON");
    }
  }
  auto auths = raw_.find("auths");
  if (auths == raw_.end() || !auths->is_object()) return std::nullopt;
  auto e = auths->find(auth_key(host));
  if (e == auths->end()) e = auths->find(host);
  if (e == auths->end() || !e->is_object()) return std::nullopt;
  if (auto a = e->find("auth"); a != e->end() && a->is_string()) {
    auto decoded = base64_decode(a->get<std::string>());
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) fail(path_ + ": auths." + auth_key(host) + ".auth is not base64 of user:password");
    return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  }
  if (e->contains("username"))
    return Credentials{e->value("username", ""), e->value("password", "")};
  return std::nullopt;
}

void RegistryConfig::save() const {
  fs::mkdir_p(dir_, 0700);
  fs::write_file_atomic(path_, raw_.dump(1, '\t') + "\n", 0600);
}

void RegistryConfig::store(const std::string& host, const Credentials& c) {
  if (std::string helper = helper_for(host); !helper.empty()) {
    json j = {{"ServerURL", auth_key(host)}, {"Username", c.username}, {"Secret", c.password}};
    auto r = run_helper(helper, "store", json_text(j));
    if (r.status != 0)
      fail("credential helper docker-credential-" + helper + " store failed (exit " + std::to_string(r.status) + ")" +
           (r.out.empty() ? "" : ": " + r.out));
    // docker still records the registry in auths, with no secret.
    raw_["auths"][auth_key(host)] = json::object();
  } else {
    raw_["auths"][auth_key(host)] = {{"auth", base64_encode(c.username + ":" + c.password)}};
  }
  save();
}

bool RegistryConfig::erase(const std::string& host) {
  bool had = false;
  if (std::string helper = helper_for(host); !helper.empty()) had = run_helper(helper, "erase", auth_key(host)).status == 0;
  if (auto a = raw_.find("auths"); a != raw_.end() && a->is_object()) {
    had |= a->erase(auth_key(host)) > 0;
    had |= a->erase(host) > 0;
  }
  if (had) save();
  return had;
}

std::vector<std::string> RegistryConfig::mirrors() const {
  std::vector<std::string> out;
  if (auto it = raw_.find("registry-mirrors"); it != raw_.end() && it->is_array())
    for (auto& m : *it)
      if (m.is_string()) out.push_back(m.get<std::string>());
  return out;
}

bool RegistryConfig::insecure(const std::string& host) const {
  if (auto it = raw_.find("insecure-registries"); it != raw_.end() && it->is_array())
    for (auto& m : *it)
      if (m.is_string() && m.get<std::string>() == host) return true;
  return false;
}

}  // namespace berth::registry
