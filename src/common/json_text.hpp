// JSON text of a value that may carry bytes that are not UTF-8: argv, a
// Dockerfile, a container's file names and output. nlohmann's plain dump()
// throws type_error 316 on such a string, which ended `run`, `build` and API
// answers with "[json.exception.type_error.316] ..."; here each invalid byte
// becomes U+FFFD, as Go's encoding/json writes it in docker's records.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace berth {

// (json or ordered_json: the runtime's state keeps runc's key order.)
template <class Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, Json::error_handler_t::replace);
}

}  // namespace berth
