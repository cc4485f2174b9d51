#include "vmm/device_state.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::vmm {

void state_error(const std::string& who, const std::string& what) {
  throw Error("snapshot: " + who + ": " + what, ErrorKind::Corrupt);
}

namespace {

const StateJson& field(const StateJson& s, const char* key, const std::string& who) {
  if (!s.is_object()) state_error(who, "state is not a JSON object");
  auto it = s.find(key);
  if (it == s.end()) state_error(who, std::string("field ") + key + " is missing");
  return *it;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

bool state_is_uint(const StateJson& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
}

uint64_t state_uint(const StateJson& s, const char* key, const std::string& who, uint64_t max) {
  const StateJson& v = field(s, key, who);
  if (!state_is_uint(v)) state_error(who, std::string("field ") + key + " is not an unsigned number");
  auto n = v.get<uint64_t>();
  if (n > max)
    state_error(who, std::string("field ") + key + " is " + std::to_string(n) + ", at most " + std::to_string(max));
  return n;
}

bool state_bool(const StateJson& s, const char* key, const std::string& who) {
  const StateJson& v = field(s, key, who);
  if (!v.is_boolean()) state_error(who, std::string("field ") + key + " is not a boolean");
  return v.get<bool>();
}

std::string state_string(const StateJson& s, const char* key, const std::string& who, size_t max_len) {
  const StateJson& v = field(s, key, who);
  if (!v.is_string()) state_error(who, std::string("field ") + key + " is not a string");
  const auto& str = v.get_ref<const std::string&>();
  if (str.size() > max_len)
    state_error(who, std::string("field ") + key + " is longer than " + std::to_string(max_len) + " bytes");
  return str;
}

const StateJson& state_object(const StateJson& s, const char* key, const std::string& who) {
  const StateJson& v = field(s, key, who);
  if (!v.is_object()) state_error(who, std::string("field ") + key + " is not an object");
  return v;
}

const StateJson& state_array(const StateJson& s, const char* key, const std::string& who, size_t max_len) {
  const StateJson& v = field(s, key, who);
  if (!v.is_array()) state_error(who, std::string("field ") + key + " is not an array");
  if (v.size() > max_len)
    state_error(who, std::string("field ") + key + " has " + std::to_string(v.size()) + " entries, at most " +
                         std::to_string(max_len));
  return v;
}

std::string to_hex(const void* data, size_t len) {
  static const char digits[] = "0123456789abcdef";
  const auto* p = static_cast<const uint8_t*>(data);
  std::string out(2 * len, '0');
  for (size_t i = 0; i < len; ++i) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  return out;
}

StateJson state_blob(const void* data, size_t len) {
  const auto* p = static_cast<const uint8_t*>(data);
  return StateJson::binary(std::vector<uint8_t>(p, p + len));
}

StateJson state_text(const StateJson& j) {
  if (j.is_binary()) return to_hex(j.get_binary().data(), j.get_binary().size());
  if (j.is_object()) {
    StateJson out = StateJson::object();
    for (auto it = j.begin(); it != j.end(); ++it) out[it.key()] = state_text(it.value());
    return out;
  }
  if (j.is_array()) {
    StateJson out = StateJson::array();
    for (const auto& e : j) out.push_back(state_text(e));
    return out;
  }
  return j;
}

std::vector<uint8_t> state_bytes(const StateJson& s, const char* key, const std::string& who, size_t max_len) {
  const StateJson& v = field(s, key, who);
  if (v.is_binary()) {
    const auto& b = v.get_binary();
    if (b.size() > max_len)
      state_error(who, std::string("field ") + key + " is longer than " + std::to_string(max_len) + " bytes");
    return {b.begin(), b.end()};
  }
  std::string hex = state_string(s, key, who, 2 * max_len);
  if (hex.size() % 2) state_error(who, std::string("field ") + key + " is not hex bytes (odd length)");
  std::vector<uint8_t> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) state_error(who, std::string("field ") + key + " is not hex bytes");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

void state_exact(const StateJson& s, const char* key, const std::string& who, void* out, size_t len) {
  std::vector<uint8_t> b = state_bytes(s, key, who, len);
  if (b.size() != len)
    state_error(who, std::string("field ") + key + " has " + std::to_string(b.size()) + " bytes, not " +
                         std::to_string(len));
  std::memcpy(out, b.data(), len);
}

}  // namespace berth::vmm
