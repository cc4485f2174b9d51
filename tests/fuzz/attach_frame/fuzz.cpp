// The attach stream's frame decoder (src/monitor/attach_frame.cpp): bytes
// from an attached client, fed in pieces as they arrive. The input's first
// byte picks the piece size, so frames split across reads are covered. A
// frame that decodes must encode back to the bytes it came from (but for
// the reserved bytes 1-3).
#include <algorithm>
#include <string>

#include "fuzz_support.hpp"
#include "monitor/attach_frame.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t piece = data[0] % 16 + 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  fuzz::reject([&] {
    monitor::FrameReader r;
    size_t consumed = 0;
    for (size_t at = 0; at < in.size(); at += piece) {
      r.feed(in.data() + at, std::min(piece, in.size() - at));
      monitor::Frame type;
      std::string payload;
      while (r.next(&type, &payload)) {
        FUZZ_CHECK(payload.size() <= monitor::kMaxFramePayload, "oversized payload");
        std::string again = monitor::encode_frame(type, payload);
        // Bytes 1-3 are ignored on reading (docker's reader does the same).
        std::string_view was = in.substr(consumed, again.size());
        FUZZ_CHECK(was.size() == again.size() && was[0] == again[0] && was.substr(4) == again.substr(4),
                   "a decoded frame re-encodes differently");
        consumed += again.size();
      }
    }
  });
  return 0;
}
