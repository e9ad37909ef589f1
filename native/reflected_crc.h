// Table-driven reflected CRC of any width, shared by CRC32C and CRC-64/NVME: slicing-by-8 updates and
// the GF(2) shift that combines per-range CRCs. No Node-API here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace rangepool {

template <typename T, T kPoly>
class ReflectedCrc {
 public:
  static const ReflectedCrc& Get() {
    static const ReflectedCrc crc;
    return crc;
  }

  // Continues the *inverted* register `c` over `len` bytes (callers invert on entry and exit).
  T Update(T c, const unsigned char* p, size_t len) const {
    while (len >= 8) {
      uint64_t v;
      std::memcpy(&v, p, 8);  // little-endian hosts only: every platform we build for
      v ^= c;
      c = static_cast<T>(slice_[7][v & 0xFF] ^ slice_[6][(v >> 8) & 0xFF] ^ slice_[5][(v >> 16) & 0xFF] ^
                         slice_[4][(v >> 24) & 0xFF] ^ slice_[3][(v >> 32) & 0xFF] ^ slice_[2][(v >> 40) & 0xFF] ^
                         slice_[1][(v >> 48) & 0xFF] ^ slice_[0][v >> 56]);
      p += 8;
      len -= 8;
    }
    while (len--) c = static_cast<T>((c >> 8) ^ slice_[0][(c ^ *p++) & 0xFF]);
    return c;
  }

  // crc(A||B) = crc(A) * x^(8*len_b) mod P, xor crc(B) (the inversions cancel out).
  T Combine(T crc_a, T crc_b, uint64_t len_b) const {
    T shift = kTop;  // x^0
    for (unsigned k = 3; len_b != 0; len_b >>= 1, ++k)
      if (len_b & 1) shift = MultModP(x2n_[k % kBits], shift);
    return MultModP(shift, crc_a) ^ crc_b;
  }

 private:
  static constexpr unsigned kBits = sizeof(T) * 8;
  static constexpr T kTop = T(1) << (kBits - 1);

  static T MultModP(T a, T b) {
    T m = kTop, p = 0;
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

  ReflectedCrc() {
    for (unsigned i = 0; i < 256; ++i) {
      T c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      slice_[0][i] = c;
    }
    for (int s = 1; s < 8; ++s)
      for (int i = 0; i < 256; ++i) slice_[s][i] = (slice_[s - 1][i] >> 8) ^ slice_[0][slice_[s - 1][i] & 0xFF];
    T p = kTop >> 1;  // x^1
    x2n_[0] = p;
    for (unsigned n = 1; n < kBits; ++n) x2n_[n] = p = MultModP(p, p);
  }

  T slice_[8][256];
  T x2n_[kBits];  // x^(2^n) mod P
};

}  // namespace rangepool
