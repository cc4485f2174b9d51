#include "registry/kept_index.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/digest.hpp"
#include "common/fs.hpp"

namespace berth::registry {

using nlohmann::json;

namespace {
std::string note_path(const std::string& root, const std::string& reference) {
  return root + "/registry-indexes/" + sha256_hex(reference);
}
}  // namespace

void remember_index(const std::string& root, const std::string& reference, const std::string& index_digest) {
  fs::mkdir_p(root + "/registry-indexes", 0700);
  fs::write_file_atomic(note_path(root, reference), json{{"reference", reference}, {"index", index_digest}}.dump());
}

std::optional<std::string> remembered_index(const std::string& root, const std::string& reference) {
  auto text = fs::read_file_if_exists(note_path(root, reference));
  if (!text) return std::nullopt;
  auto j = json::parse(*text, nullptr, false);
  if (!j.is_object() || j.value("reference", "") != reference) return std::nullopt;
  return j.value("index", "");
}

std::vector<std::string> remembered_indexes(const std::string& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator(root + "/registry-indexes", ec)) {
    auto text = fs::read_file_if_exists(e.path());
    if (!text) continue;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_object() && !j.value("index", "").empty()) out.push_back(j.value("index", ""));
  }
  return out;
}

}  // namespace berth::registry
