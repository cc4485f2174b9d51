#include "vmm/crc32c.hpp"

// glibc 2.36's header returns _Bool, a C keyword clang++ refuses in C++.
#define _Bool bool
#include <sys/platform/x86.h>
#undef _Bool

#include <cstring>

namespace berth::vmm {

namespace {

constexpr uint32_t kPoly = 0x82f63b78;  // reflected Castagnoli polynomial

struct Table {
  uint32_t t[256];
  constexpr Table() : t() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (c & 1 ? kPoly : 0);
      t[i] = c;
    }
  }
};
constexpr Table kTable;

uint32_t crc32c_table(uint32_t crc, const uint8_t* p, size_t n) {
  while (n--) crc = kTable.t[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

__attribute__((target("sse4.2"))) uint32_t crc32c_sse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = crc;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  auto c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, size_t len) {
  // glibc's answer, from the CPUID it ran at start-up: __builtin_cpu_supports
  // would link libgcc's __cpu_indicator_init, a constructor that runs ~10
  // more CPUIDs in every VMM start (11 us each under this hypervisor).
  static const bool hw = CPU_FEATURE_ACTIVE(SSE4_2);
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  crc = hw ? crc32c_sse42(crc, p, len) : crc32c_table(crc, p, len);
  return ~crc;
}

}  // namespace berth::vmm
