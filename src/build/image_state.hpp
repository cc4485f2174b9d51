// What a build stage has made so far: an image config and its layers,
// not yet an image in the store. A state becomes an image (materialize)
// when a container must run on it, a snapshot is needed for COPY, or the
// build ends.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "image/image_store.hpp"
#include "oci/image_spec.hpp"

namespace berth::build {

struct ImageState {
  nlohmann::json config;  // the whole image config (architecture, os, config, rootfs, history)
  std::vector<oci::Descriptor> layers;
  // Set while the state is an image of the store unchanged (after FROM):
  // its ID is that image's, whose config bytes need not be ours.
  std::string image_id;
  // The config's digest once computed (id()); cleared by add_history.
  mutable std::string known_id;

  // The config's digest: the image ID this state has once materialized.
  std::string id() const;
  nlohmann::json& run_config() { return config["config"]; }
  // Appends a history entry; with `layer`, also the layer (its digest is its diff-id).
  void add_history(const std::string& created_by, const std::optional<oci::Descriptor>& layer);
  std::string to_json() const;
  static ImageState from_json(const std::string& text);
};

ImageState scratch_state();
ImageState state_of_image(image::ImageStore& store, const image::ImageRecord& rec);
// Stores the config and manifest blobs (unless present) and records the
// image, with `refs` as its tags.
// `made`, if given, collects the IDs of images this call recorded anew.
image::ImageRecord materialize(image::ImageStore& store, const ImageState& s, const std::vector<std::string>& refs,
                               std::vector<std::string>* made = nullptr);

// The step cache: key -> state, in the store's database. A hit whose layer
// blobs are gone (GC) is a miss.
class BuildCache {
 public:
  explicit BuildCache(image::ImageStore& store);
  std::optional<ImageState> find(const std::string& key);
  void put(const std::string& key, const ImageState& s);
  // Drops every entry (docker's POST /build/prune); returns their keys.
  // The blobs only the cache held go at the store's next GC.
  std::vector<std::string> clear();

 private:
  image::ImageStore& store_;
};

}  // namespace berth::build
