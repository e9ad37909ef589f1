// CRC-64/NVME, the full-object checksum S3 keeps by default for new objects (x-amz-checksum-crc64nvme).
// Slicing-by-8 tables; no Node-API here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rangepool {

// Continues `crc` (0 for a fresh start) over `len` bytes.
uint64_t Crc64Nvme(uint64_t crc, const void* data, size_t len);
// The CRC of A followed by B, from crc(A), crc(B) and B's length.
uint64_t Crc64NvmeCombine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

}  // namespace rangepool
