// CRC-32C (Castagnoli), the checksum of snapshot sections and of the disk
// identity a snapshot records. SSE4.2's crc32 instruction does ~7 GB/s here
// (a table does ~0.5), which matters for hashing a disk while the VM is
// paused; hosts without it fall back to the table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace berth::vmm {

// Continues `crc` (0 to start) over [data, data+len).
uint32_t crc32c(uint32_t crc, const void* data, size_t len);

}  // namespace berth::vmm
