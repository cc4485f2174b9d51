// Image archive formats: OCI image layout (directory or tar) and
// docker-archive (`docker save`). Importers stage blobs (verified) and
// return the manifests to record; exporters write a tar to a sink.
#pragma once

#include <string>
#include <vector>

#include "image/image_source.hpp"
#include "image/image_store.hpp"
#include "image/tar_writer.hpp"

namespace berth::image {

struct ImportedImage {
  std::string manifest_digest;
  std::vector<std::string> refs;  // normalised
};

// Picks the linux/amd64 manifest of an index (or the only one).
const oci::Descriptor& pick_platform(const oci::Index& idx, const std::string& what);

std::vector<ImportedImage> import_oci_layout(ImageSource& src, Staging& st);
std::vector<ImportedImage> import_docker_archive(ImageSource& src, Staging& st);

struct ExportImage {
  ImageRecord rec;
  std::vector<std::string> refs;  // normalised refs to name in the archive
  oci::Manifest manifest;
  std::string manifest_bytes;
};

void write_oci_archive(ImageStore& store, const std::vector<ExportImage>& images, TarWriter& tar);
void write_docker_archive(ImageStore& store, const std::vector<ExportImage>& images, TarWriter& tar);

}  // namespace berth::image
