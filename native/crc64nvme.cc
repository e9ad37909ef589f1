#include "crc64nvme.h"

#include <cstring>

namespace rangepool {
namespace {

constexpr uint64_t kPoly = 0x9A6C9329AC4BC9B5ull;  // 0xAD93D23594C93659, reflected

struct Tables {
  uint64_t slice[8][256];
  uint64_t x2n[64];  // x^(2^n) mod P, for Combine
};

uint64_t MultModP(uint64_t a, uint64_t b) {
  uint64_t m = 1ull << 63, p = 0;
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
    for (uint64_t i = 0; i < 256; ++i) {
      uint64_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t.slice[0][i] = c;
    }
    for (int s = 1; s < 8; ++s)
      for (int i = 0; i < 256; ++i) t.slice[s][i] = (t.slice[s - 1][i] >> 8) ^ t.slice[0][t.slice[s - 1][i] & 0xFF];
    uint64_t p = 1ull << 62;  // x^1
    t.x2n[0] = p;
    for (int n = 1; n < 64; ++n) t.x2n[n] = p = MultModP(p, p);
    return t;
  }();
  return t;
}

}  // namespace

uint64_t Crc64Nvme(uint64_t crc, const void* data, size_t len) {
  const Tables& t = T();
  const auto* p = static_cast<const unsigned char*>(data);
  uint64_t c = ~crc;
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
  return ~c;
}

uint64_t Crc64NvmeCombine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b) {
  const Tables& t = T();
  uint64_t shift = 1ull << 63;  // x^0
  for (unsigned k = 3; len_b != 0; len_b >>= 1, ++k)
    if (len_b & 1) shift = MultModP(t.x2n[k & 63], shift);
  return MultModP(shift, crc_a) ^ crc_b;
}

}  // namespace rangepool
