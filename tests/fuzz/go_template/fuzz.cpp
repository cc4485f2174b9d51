// Go templates (src/common/go_template*.cpp): the user's --format text,
// parsed and then run over a container-shaped object and as a table
// header, as `berth ps --format` does. Input: the template, then after a
// NUL the JSON data (a default object when absent or not JSON).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/go_template.hpp"
#include "fuzz_support.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  auto parts = fuzz::split_input(all, std::string_view("\0", 1), 2);
  nlohmann::json obj = {{"ID", "3f2a"}, {"Names", {"web"}}, {"State", {{"Pid", 42}, {"Running", true}}},
                        {"Labels", {{"a", "b"}}}, {"Size", 1.5}, {"Ports", nullptr}, {"Count", -3}};
  if (parts.size() > 1) {
    auto j = nlohmann::json::parse(parts[1], nullptr, false);
    if (!j.is_discarded()) obj = j;
  }
  for (auto missing : {gotmpl::MissingKey::Error, gotmpl::MissingKey::NoValue}) {
    std::optional<gotmpl::Template> t;
    fuzz::reject([&] { t = gotmpl::parse(parts[0], missing); });
    if (!t) continue;
    (void)t->field_names();
    fuzz::reject([&] {
      std::string out;
      t->execute_into(out, obj);
      FUZZ_CHECK(out.size() < (64u << 20), "runaway output");
    });
    fuzz::reject([&] { (void)t->execute_header({{"ID", "CONTAINER ID"}, {"Names", "NAMES"}}); });
  }
  return 0;
}
