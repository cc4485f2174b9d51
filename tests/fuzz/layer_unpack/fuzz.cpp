// Layer tars (src/image/layer_unpack.cpp): a layer from any registry or
// archive, unpacked (as root, owners and device nodes kept) into a scratch
// directory beside a canary file. Beyond not crashing, nothing may escape:
// afterwards the scratch directory holds only the layer's directory and
// the canary, whose content, mode, owner and link count are unchanged
// (a hardlink to it from inside the layer would raise its link count).
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "fuzz_support.hpp"
#include "image/layer_unpack.hpp"

using namespace berth;

namespace {

const std::string& scratch() {
  static const fuzz::ScratchDir scratch("layer");
  static const std::string dir = [] {
    std::ofstream(scratch.path() + "/canary") << "canary";
    ::chmod((scratch.path() + "/canary").c_str(), 0644);
    return scratch.path();
  }();
  return dir;
}

std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (std::string_view(e->d_name) != "." && std::string_view(e->d_name) != "..") out.insert(e->d_name);
    ::closedir(d);
  }
  return out;
}

void check_nothing_escaped(const std::string& dir) {
  FUZZ_CHECK((entries(dir) == std::set<std::string>{"canary", "layer"}), "an entry was written beside the layer");
  struct stat st {};
  FUZZ_CHECK(::lstat((dir + "/canary").c_str(), &st) == 0, "the canary is gone");
  FUZZ_CHECK(S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644 && st.st_uid == 0 && st.st_nlink == 1 &&
                 st.st_size == 6,
             "the canary was changed or linked");
  std::ifstream in(dir + "/canary");
  std::string text;
  in >> text;
  FUZZ_CHECK(text == "canary", "the canary's content changed");
  // The parent of the scratch dir (/tmp) is not checked: the canary beside
  // the layer catches a ".." escape first.
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& dir = scratch();
  std::string layer = dir + "/layer";
  std::error_code ec;
  std::filesystem::remove_all(layer, ec);
  if (::mkdir(layer.c_str(), 0755) != 0) fuzz::die("mkdir", layer);
  int fd = ::memfd_create("berth-fuzz-layer", MFD_CLOEXEC);
  if (fd < 0 || ::write(fd, data, size) != static_cast<ssize_t>(size) || ::lseek(fd, 0, SEEK_SET) != 0)
    fuzz::die("memfd", "");
  fuzz::reject([&] {
    image::UnpackResult r = image::unpack_layer(fd, layer);
    FUZZ_CHECK(r.diff_id.starts_with("sha256:"), r.diff_id);
  });
  check_nothing_escaped(dir);
  ::lseek(fd, 0, SEEK_SET);
  fuzz::reject([&] { image::layer_diff_id(fd); });
  ::close(fd);
  std::filesystem::remove_all(layer, ec);
  return 0;
}
