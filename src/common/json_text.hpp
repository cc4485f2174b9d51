// JSON text of a value that may carry bytes that are not UTF-8: argv, a
// Dockerfile, a container's file names and output. nlohmann's plain dump()
// throws type_error 316 on such a string, which ended `run`, `build` and API
// answers with "[json.exception.type_error.316] ..."; here each invalid byte
// becomes U+FFFD, as Go's encoding/json writes it in docker's records.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace berth {

inline std::string json_text(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace berth
