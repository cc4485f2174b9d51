// berth load / berth save: format detection, staging, recording.
#include <fcntl.h>
#include <unistd.h>

#include "common/error.hpp"
#include "common/fs.hpp"
#include "image/formats.hpp"
#include "image/reference.hpp"

namespace berth::image {

std::vector<ImageRecord> ImageStore::import(ImageSource& src) {
  std::vector<ImportedImage> imported;
  {
    Staging st(content_);
    if (src.exists("oci-layout") && src.exists("index.json"))
      imported = import_oci_layout(src, st);
    else if (src.exists("manifest.json"))
      imported = import_docker_archive(src, st);
    else
      throw Error(src.describe() + ": neither an OCI image layout (oci-layout, index.json) nor a docker-archive (manifest.json)",
                  ErrorKind::InvalidArgument);
    st.commit();
  }
  std::vector<ImageRecord> out;
  for (auto& img : imported) out.push_back(add_image(img.manifest_digest, img.refs));
  return out;
}

std::vector<ImageRecord> ImageStore::load_from(const std::function<std::unique_ptr<ImageSource>()>& open) {
  std::vector<ImageRecord> out;
  try {
    auto lock = shared_lock();
    // What killed loads left in ingest/ goes before this load adds its own.
    content_.remove_stale_ingest();
    auto src = open();
    out = import(*src);
  } catch (Error&) {
    // Blobs of an image that could not be recorded are garbage now.
    try {
      gc();
    } catch (...) {
    }
    throw;
  }
  return out;
}

std::vector<ImageRecord> ImageStore::load_fd(int fd, const std::string& name) {
  return load_from([&] { return read_tar_source(fd, name, content_); });
}

std::vector<ImageRecord> ImageStore::load(const std::string& path) {
  if (path.empty() || path == "-") return load_fd(STDIN_FILENO, "stdin");
  if (fs::is_dir(path)) return load_from([&] { return dir_source(path); });
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open " + path);
  return load_fd(fd.get(), path);
}

void ImageStore::save(const std::vector<std::string>& names, const std::string& format, int out_fd) {
  if (format != "oci-archive" && format != "docker-archive")
    throw Error("unknown format \"" + format + "\" (want oci-archive or docker-archive)", ErrorKind::InvalidArgument);
  if (names.empty()) throw Error("no image given to save", ErrorKind::InvalidArgument);
  auto lock = shared_lock();
  std::vector<ExportImage> images;
  for (auto& n : names) {
    ExportImage e;
    e.rec = resolve(n);
    try {
      auto ref = parse_reference(n);
      if (ref.digest.empty() && std::find(e.rec.tags.begin(), e.rec.tags.end(), ref.str()) != e.rec.tags.end())
        e.refs.push_back(ref.str());
    } catch (const Error&) {
    }
    e.manifest_bytes = manifest_bytes(e.rec);
    e.manifest = oci::parse_manifest(e.manifest_bytes, "manifest " + e.rec.manifest_digest);
    // Merge images named twice (same ID) into one entry with all names.
    bool merged = false;
    for (auto& prev : images)
      if (prev.rec.id == e.rec.id) {
        for (auto& r : e.refs) prev.refs.push_back(r);
        merged = true;
      }
    if (!merged) images.push_back(std::move(e));
  }
  TarWriter tar(fd_sink(out_fd, "archive"));
  if (format == "oci-archive")
    write_oci_archive(*this, images, tar);
  else
    write_docker_archive(*this, images, tar);
  tar.close();
}

}  // namespace berth::image
