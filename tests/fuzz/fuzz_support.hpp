// What the fuzz targets share (docs/security.md, "Fuzzing").
//
// A parser may reject its input only with berth::Error (the tree's one
// error type: the user sees one line naming what is wrong). Anything else
// that escapes — a std::out_of_range, a nlohmann type_error, bad_alloc —
// is a bug the fuzzer reports: reject() lets Error pass and aborts on the
// rest, naming the exception. FUZZ_CHECK is a property a target checks
// after a parse (nothing written outside the scratch directory, a parse
// that round-trips); it aborts in both builds, unlike assert.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <unistd.h>
#include <exception>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace berth::fuzz {

[[noreturn]] inline void die(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Runs fn(); an Error is a clean rejection, any other exception a bug.
template <class Fn>
void reject(Fn&& fn) {
  try {
    fn();
  } catch (const Error&) {
  } catch (const std::exception& e) {
    die("an exception other than berth::Error escaped", e.what());
  } catch (...) {
    die("a non-std exception escaped", "?");
  }
}

#define FUZZ_CHECK(cond, detail) \
  do {                           \
    if (!(cond)) ::berth::fuzz::die("check failed: " #cond, (detail)); \
  } while (0)

// A directory under /tmp for what a target must write (a disk, a layer,
// a content store), made on first use and removed at exit, so replays in
// `make test` leave nothing behind. Keep the returned object static.
class ScratchDir {
 public:
  explicit ScratchDir(const char* name) {
    std::string tmpl = std::string("/tmp/berth-fuzz-") + name + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) die("mkdtemp", tmpl);
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Cuts the input into parts at each occurrence of a separator, so one
// input can carry several files (a manifest and its config, say).
inline std::vector<std::string_view> split_input(std::string_view in, std::string_view sep, size_t max_parts) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < max_parts) {
    size_t at = in.find(sep);
    if (at == std::string_view::npos) break;
    out.push_back(in.substr(0, at));
    in.remove_prefix(at + sep.size());
  }
  out.push_back(in);
  return out;
}

}  // namespace berth::fuzz
