#include "engine/image_config_use.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "engine/container_engine.hpp"
#include "engine/oci_config.hpp"

namespace berth::engine {

using nlohmann::json;

namespace {

[[noreturn]] void wrong(const std::string& field, const json& v, const char* want) {
  fail("image config: " + field + " is " + (v.is_array() ? "an array" : v.is_object() ? "an object" : std::string("a ") + v.type_name()) +
       ", not " + want);
}

bool string_array(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
}

// An integer in [lo, hi] (Go's int64 / int fields refuse floats).
void check_int(const json& v, const std::string& field, int64_t lo, int64_t hi) {
  if (!v.is_number_integer()) wrong(field, v, "an integer");
  if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(hi) : v.get<int64_t>() < lo || v.get<int64_t>() > hi)
    fail("image config: " + field + " " + v.dump() + " is out of range");
}

}  // namespace

json checked_image_config(const json& config) {
  if (config.is_null()) return json::object();
  if (!config.is_object()) wrong("config", config, "an object");
  json c = config;
  for (auto it = c.begin(); it != c.end();) {  // null is absent
    if (it->is_null()) it = c.erase(it);
    else ++it;
  }
  for (const char* k : {"User", "WorkingDir", "StopSignal", "Hostname", "Domainname", "Image", "MacAddress"})
    if (c.contains(k) && !c[k].is_string()) wrong(k, c[k], "a string");
  for (const char* k : {"Entrypoint", "Cmd"}) {
    if (!c.contains(k)) continue;
    if (c[k].is_string()) c[k] = json::array({c[k]});
    if (!string_array(c[k])) wrong(k, c[k], "an array of strings");
  }
  for (const char* k : {"Env", "Shell", "OnBuild"})
    if (c.contains(k) && !string_array(c[k])) wrong(k, c[k], "an array of strings");
  for (const char* k : {"Labels", "Volumes", "ExposedPorts"})
    if (c.contains(k) && !c[k].is_object()) wrong(k, c[k], "an object");
  if (c.contains("Labels"))
    for (auto& [k, v] : c["Labels"].items())
      if (!v.is_string()) wrong("Labels." + k, v, "a string");
  if (c.contains("StopTimeout")) check_int(c["StopTimeout"], "StopTimeout", 0, std::numeric_limits<int>::max());
  if (c.contains("Healthcheck")) {
    json& h = c["Healthcheck"];
    if (!h.is_object()) wrong("Healthcheck", h, "an object");
    for (auto it = h.begin(); it != h.end();) {
      if (it->is_null()) it = h.erase(it);
      else ++it;
    }
    if (h.contains("Test") && !string_array(h["Test"])) wrong("Healthcheck.Test", h["Test"], "an array of strings");
    for (const char* k : {"Interval", "Timeout", "StartPeriod", "StartInterval"})
      if (h.contains(k)) check_int(h[k], std::string("Healthcheck.") + k, 0, std::numeric_limits<int64_t>::max());
    if (h.contains("Retries")) check_int(h["Retries"], "Healthcheck.Retries", 0, std::numeric_limits<int>::max());
  }
  return c;
}

std::vector<std::string> apply_image_config(ContainerConfig& c, const json& image_config) {
  std::vector<std::string> args = process_args(c, image_config);
  merge_image_config(c, image_config);
  if (c.stop_signal.empty()) c.stop_signal = image_config.value("StopSignal", std::string());
  if (!c.healthcheck && image_config.contains("Healthcheck")) {
    ContainerConfig tmp;
    from_json(json{{"Healthcheck", image_config["Healthcheck"]}}, tmp);
    c.healthcheck = tmp.healthcheck;
  }
  if (image_config.contains("ExposedPorts")) {
    std::unordered_set<std::string> known(c.exposed_ports.begin(), c.exposed_ports.end());  // linear, as Env's
    for (auto& [p, v] : image_config["ExposedPorts"].items())
      if (known.insert(p).second) c.exposed_ports.push_back(p);
  }
  if (!c.stop_signal.empty()) parse_signal(c.stop_signal);
  return args;
}

}  // namespace berth::engine
