// linux.seccomp of a config.json compiled to a BPF program
// (src/runtime/seccomp.cpp, through libseccomp). The input is the seccomp
// object; it is parsed as part of a config (src/oci/runtime_spec.cpp) and
// compiled, never loaded (that would filter the fuzzer itself).
#include <string>

#include "fuzz_support.hpp"
#include "oci/runtime_spec.hpp"
#include "runtime/seccomp.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string config = R"({"ociVersion":"1.0.2","root":{"path":"rootfs"},"linux":{"seccomp":)";
  config.append(reinterpret_cast<const char*>(data), size);
  config += "}}";
  fuzz::reject([&] {
    oci::Spec spec = oci::parse_spec(config);
    if (!spec.linux || !spec.linux->seccomp) return;
    runtime::SeccompFilter f(*spec.linux->seccomp);
    FUZZ_CHECK(f.has_notify() || f.bpf_instructions() == f.program().size(), "program size");
    FUZZ_CHECK(f.has_notify() || f.bpf_instructions() > 0, "an empty program");
  });
  return 0;
}
