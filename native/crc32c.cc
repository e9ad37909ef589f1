#include "crc32c.h"

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

constexpr uint32_t kPoly = 0x82F63B78u;  // Castagnoli, reflected

struct Tables {
  uint32_t slice[8][256];
  uint32_t x2n[32];  // x^(2^n) mod P, for Combine
};

uint32_t MultModP(uint32_t a, uint32_t b) {
  uint32_t m = 1u << 31, p = 0;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) == 0) break;
    }
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ kPoly : b >> 1;
  }
  return p;
}

const Tables& T() {
  static const Tables t = [] {
    Tables t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t.slice[0][i] = c;
    }
    for (int s = 1; s < 8; ++s)
      for (int i = 0; i < 256; ++i) t.slice[s][i] = (t.slice[s - 1][i] >> 8) ^ t.slice[0][t.slice[s - 1][i] & 0xFF];
    uint32_t p = 1u << 30;  // x^1
    t.x2n[0] = p;
    for (int n = 1; n < 32; ++n) t.x2n[n] = p = MultModP(p, p);
    return t;
  }();
  return t;
}

// Works on the inverted register; callers invert on entry and exit.
uint32_t Software(uint32_t c, const unsigned char* p, size_t len) {
  const Tables& t = T();
  while (len >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);  // little-endian hosts only: every platform we build for
    v ^= c;
    c = t.slice[7][v & 0xFF] ^ t.slice[6][(v >> 8) & 0xFF] ^ t.slice[5][(v >> 16) & 0xFF] ^
        t.slice[4][(v >> 24) & 0xFF] ^ t.slice[3][(v >> 32) & 0xFF] ^ t.slice[2][(v >> 40) & 0xFF] ^
        t.slice[1][(v >> 48) & 0xFF] ^ t.slice[0][v >> 56];
    p += 8;
    len -= 8;
  }
  while (len--) c = (c >> 8) ^ t.slice[0][(c ^ *p++) & 0xFF];
  return c;
}

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

uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  // crc(A||B) = crc(A) * x^(8*len_b) mod P, xor crc(B) (the inversions cancel out).
  const Tables& t = T();
  uint32_t shift = 1u << 31;  // x^0
  for (unsigned k = 3; len_b != 0; len_b >>= 1, ++k)
    if (len_b & 1) shift = MultModP(t.x2n[k & 31], shift);
  return MultModP(shift, crc_a) ^ crc_b;
}

bool Crc32cHardware() { return kHardware; }

}  // namespace rangepool
