#include "crc32c.h"

#include "reflected_crc.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <arm_acle.h>
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace rangepool {
namespace {

using Crc32 = ReflectedCrc<uint32_t, 0x82F63B78u>;  // Castagnoli, reflected

// Works on the inverted register; callers invert on entry and exit.
uint32_t Software(uint32_t c, const unsigned char* p, size_t len) { return Crc32::Get().Update(c, p, len); }

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t Hardware(uint32_t c, const unsigned char* p, size_t len) {
  uint64_t c64 = c;
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    len -= 8;
  }
  c = static_cast<uint32_t>(c64);
  while (len--) c = _mm_crc32_u8(c, *p++);
  return c;
}
bool DetectHardware() { return __builtin_cpu_supports("sse4.2"); }
#elif defined(__aarch64__) && defined(__linux__)
__attribute__((target("+crc"))) uint32_t Hardware(uint32_t c, const unsigned char* p, size_t len) {
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = __crc32cd(c, v);
    p += 8;
    len -= 8;
  }
  while (len--) c = __crc32cb(c, *p++);
  return c;
}
bool DetectHardware() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#else
uint32_t Hardware(uint32_t c, const unsigned char* p, size_t len) { return Software(c, p, len); }
bool DetectHardware() { return false; }
#endif

// RANGEPOOL_CRC32C_PORTABLE=1 forces the table path, so tests cover it on any CPU.
const bool kHardware = DetectHardware() && std::getenv("RANGEPOOL_CRC32C_PORTABLE") == nullptr;

}  // namespace

uint32_t Crc32c(uint32_t crc, const void* data, size_t len) {
  const auto* p = static_cast<const unsigned char*>(data);
  return ~(kHardware ? Hardware(~crc, p, len) : Software(~crc, p, len));
}

uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) { return Crc32::Get().Combine(crc_a, crc_b, len_b); }

bool Crc32cHardware() { return kHardware; }

}  // namespace rangepool
