// The engine's use of an image's `config` object (src/engine/
// image_config_use.cpp, oci_config.cpp): what `create` and `start` read
// from it (Entrypoint, Cmd, Env, User, WorkingDir, Labels, StopSignal,
// Healthcheck, ExposedPorts, Volumes) and the config.json built from it.
// The image config is anyone's (pulled, loaded, built FROM). Input: the
// image config JSON (its "config" object is used), the first byte also
// choosing what the user gave (--entrypoint, a command, env, a stop
// signal). A wrong type must be a berth::Error naming the field; then
// everything after it must run without one of nlohmann's exceptions.
#include <nlohmann/json.hpp>
#include <string>

#include "engine/image_config_use.hpp"
#include "engine/oci_config.hpp"
#include "fuzz_support.hpp"

using namespace berth;
using namespace berth::engine;
using nlohmann::json;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  uint8_t sel = data[0];
  json raw = json::parse(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), nullptr, false);
  if (raw.is_discarded() || !raw.is_object()) return 0;  // parse_config refuses those first
  static fuzz::ScratchDir rootfs("image-config");  // empty: users resolve to uid 0 or numbers
  fuzz::reject([&] {
    json cfg = checked_image_config(raw.value("config", json::object()));
    Container c;
    c.id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    if (sel & 1) c.config.entrypoint = std::vector<std::string>{sel & 2 ? "" : "/bin/sh"};
    if (sel & 4) c.config.cmd = std::vector<std::string>{"true"};
    if (sel & 8) c.config.env = {"PATH=/x", "A=1"};
    if (sel & 16) c.config.stop_signal = "SIGKILL";
    if (sel & 32) c.config.user = "1000:1000";
    std::vector<std::string> args = apply_image_config(c.config, cfg);
    FUZZ_CHECK(!args.empty(), "no args");
    c.path = args[0];
    c.args.assign(args.begin() + 1, args.end());
    if (cfg.contains("Volumes"))
      for (auto& [k, v] : cfg["Volumes"].items()) (void)k;
    OciInputs in;
    in.rootfs = rootfs.path();
    in.etc_dir = rootfs.path();
    in.cgroups_path = "/berth/" + c.id;
    std::string text = build_oci_config(c, cfg, in);
    FUZZ_CHECK(json::accept(text), text);
  });
  return 0;
}
