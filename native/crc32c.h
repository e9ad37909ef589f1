// CRC32C (Castagnoli), as S3 and GCS publish it: hardware CRC instructions where the CPU has them
// (x86-64 SSE4.2, ARMv8 CRC), a slicing-by-8 table elsewhere. No Node-API here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rangepool {

// Continues `crc` (0 for a fresh start) over `len` bytes.
uint32_t Crc32c(uint32_t crc, const void* data, size_t len);
// The CRC of A followed by B, from crc(A), crc(B) and B's length: per-range CRCs combine in order
// without a second pass over memory.
uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);
// Whether Crc32c uses CPU instructions on this machine.
bool Crc32cHardware();

}  // namespace rangepool
