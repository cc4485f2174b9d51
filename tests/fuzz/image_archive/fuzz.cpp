// Image archives as `berth load` reads them (src/image/docker_archive.cpp,
// oci_layout.cpp): docker-archive's manifest.json with the config files
// and layers it names, and an OCI layout's oci-layout and index.json. The
// archive's files come from an in-memory ImageSource (the tar reader,
// libarchive, is not what is fuzzed here; layer_unpack drives it): the
// input is manifest.json, then files, each "\0BERTH-FILE\0" NAME "\n"
// CONTENT. Blobs go to a scratch content store and are discarded (never
// committed), as after a failed import.
#include <unistd.h>

#include <map>
#include <string>

#include "fuzz_support.hpp"
#include "image/formats.hpp"
#include "image/reference.hpp"

using namespace berth;
using namespace berth::image;

namespace {

class MemorySource : public ImageSource {
 public:
  std::map<std::string, std::string> files;
  bool exists(const std::string& path) const override { return files.count(path); }
  std::string read(const std::string& path) const override {
    auto it = files.find(path);
    if (it == files.end()) throw Error("fuzz archive: no " + path, ErrorKind::NotFound);
    return it->second;
  }
  int64_t size(const std::string& path) const override { return static_cast<int64_t>(read(path).size()); }
  std::string stage(const std::string& path, const std::string& expected, Staging& st) override {
    return st.add(read(path), expected, path);
  }
  std::string describe() const override { return "fuzz archive"; }
};

const ContentStore& store() {
  static const fuzz::ScratchDir scratch("archive");
  static const ContentStore cs(scratch.path());
  return cs;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  auto parts = fuzz::split_input(all, std::string_view("\0BERTH-FILE\0", 12), 16);
  MemorySource src;
  src.files["manifest.json"] = std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    size_t nl = parts[i].find('\n');
    if (nl == std::string_view::npos) continue;
    src.files[std::string(parts[i].substr(0, nl))] = std::string(parts[i].substr(nl + 1));
  }
  fuzz::reject([&] {
    Staging st(store());
    for (const auto& img : import_docker_archive(src, st)) {
      FUZZ_CHECK(st.has(img.manifest_digest), "an imported manifest that was not staged");
      for (const auto& ref : img.refs) FUZZ_CHECK(is_valid_reference(ref), ref);
    }
  });
  // The same files as an OCI layout: manifest.json's bytes are index.json.
  src.files["index.json"] = src.files["manifest.json"];
  if (!src.files.count("oci-layout")) src.files["oci-layout"] = R"({"imageLayoutVersion":"1.0.0"})";
  fuzz::reject([&] {
    Staging st(store());
    import_oci_layout(src, st);
  });
  return 0;
}
