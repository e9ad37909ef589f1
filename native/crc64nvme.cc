#include "crc64nvme.h"

#include "reflected_crc.h"

namespace rangepool {
namespace {
using Crc64 = ReflectedCrc<uint64_t, 0x9A6C9329AC4BC9B5ull>;  // 0xAD93D23594C93659, reflected
}  // namespace

uint64_t Crc64Nvme(uint64_t crc, const void* data, size_t len) {
  return ~Crc64::Get().Update(~crc, static_cast<const unsigned char*>(data), len);
}

uint64_t Crc64NvmeCombine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b) { return Crc64::Get().Combine(crc_a, crc_b, len_b); }

}  // namespace rangepool
