// Docker's views of a container that both faces print (`berth ps`,
// `inspect`, and the Engine API's GET /containers/json and /json/{id}):
// written once, here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include <vector>

#include "engine/container_engine.hpp"
#include "engine/container_spec.hpp"
#include "engine/networks.hpp"
#include "engine/volumes.hpp"
#include "image/image_store.hpp"

namespace berth::engine {

// "Up 5 seconds", "Exited (0) 3 minutes ago", "Up 1 hour (Paused)",
// "Up 2 minutes (healthy)", "Created", "Restarting (1) 2 seconds ago".
std::string status_text(const ContainerState& s, int64_t now_s);
// Docker's HumanDuration: "Less than a second", "About a minute", "3 hours".
std::string human_duration(int64_t seconds);
// The quoted command of `ps` ("\"sh -c 'echo hi'\""), cut to 20 characters
// with an ellipsis unless `no_trunc`.
std::string command_text(const Container& c, bool no_trunc);

// One row of `ps --format json` (and the fields its templates see): ID,
// Image, Command, CreatedAt, RunningFor, Status, State, Names, Labels,
// Mounts, Ports, Networks, Size, LocalVolumes. `wanted`, if given, says
// which of them to make (those a --format names: the others cost a fifth of
// a `ps`).
nlohmann::json ps_row(const Container& c, bool no_trunc, int64_t now_s,
                      const std::function<bool(std::string_view)>& wanted = nullptr);
// `inspect`'s object: the record in Docker's shape plus what Docker adds
// (LogPath, ResolvConfPath, HostnamePath, HostsPath, NetworkSettings, ...).
// `state_dir` holds the etc files a start bound in (hosts, hostname, resolv.conf).
nlohmann::json inspect_view(const Container& c, const std::string& container_dir, const std::string& state_dir,
                            const std::string& log_path);

// `ps`'s Ports ("0.0.0.0:8080->80/tcp, ...") of a running container, and
// Networks ("bridge", "net1,net2", or the network mode).
std::string ports_text(const Container& c);
std::string networks_text(const Container& c);
// `network inspect`'s object (docker's shape): Name, Id, Created, Scope,
// Driver, EnableIPv6, IPAM{Driver,Options,Config[{Subnet,Gateway}]},
// Internal, Attachable, Ingress, ConfigFrom, ConfigOnly, Containers{id:
// {Name,EndpointID,MacAddress,IPv4Address,IPv6Address}}, Options, Labels.
// `containers`: those on the network (ContainerEngine::network_containers).
nlohmann::json network_view(const Network& n, const std::vector<Container>& containers);
// GET /containers/json's ContainerSummary (Id, Names, Image, Command,
// Created, State, Status, Labels, Mounts, HostConfig, NetworkSettings...).
nlohmann::json container_summary(const Container& c, int64_t now_s);
// GET /containers/{id}/stats: docker's StatsJSON (what `docker stats`
// computes its columns from); `read` is the sample's RFC 3339 time.
nlohmann::json stats_view(const ContainerEngine::Stats& s, const std::string& read);
// GET /volumes's Volume.
nlohmann::json volume_view(const Volume& v);
// GET /images/json's ImageSummary and GET /images/{name}/json (the latter
// also `berth image inspect`'s object).
nlohmann::json image_summary(image::ImageStore& store, const image::ImageRecord& img);
nlohmann::json image_inspect_view(image::ImageStore& store, const image::ImageRecord& img);
// GET /images/{name}/history: the config's history, newest first, with
// layer sizes against the entries that made layers.
nlohmann::json image_history_view(image::ImageStore& store, const image::ImageRecord& img);

}  // namespace berth::engine
