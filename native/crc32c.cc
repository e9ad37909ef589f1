#include "crc32c.h"

#include "reflected_crc.h"

#include <cstdlib>
#include <cstring>

// Hardware CRC32C where the CPU has it: SSE4.2 on x64 (GCC, Clang and MSVC), the CRC extension on
// arm64 (Linux asks the kernel; every arm64 Mac has it). Elsewhere, and when asked, the table path.
#if defined(__x86_64__) || defined(_M_X64)
#define RANGEPOOL_CRC_X64 1
#include <nmmintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#elif defined(__aarch64__) && (defined(__linux__) || defined(__APPLE__))
#define RANGEPOOL_CRC_ARM64 1
#include <arm_acle.h>
#if defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#endif

// MSVC compiles intrinsics without per-function target attributes.
#if defined(_MSC_VER) && !defined(__clang__)
#define RANGEPOOL_TARGET(x)
#else
#define RANGEPOOL_TARGET(x) __attribute__((target(x)))
#endif

namespace rangepool {
namespace {

using Crc32 = ReflectedCrc<uint32_t, 0x82F63B78u>;  // Castagnoli, reflected

// Works on the inverted register; callers invert on entry and exit.
uint32_t Software(uint32_t c, const unsigned char* p, size_t len) { return Crc32::Get().Update(c, p, len); }

#if defined(RANGEPOOL_CRC_X64)
RANGEPOOL_TARGET("sse4.2,crc32") uint32_t Hardware(uint32_t c, const unsigned char* p, size_t len) {
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
// CPUID leaf 1, ECX bit 20 is SSE4.2. Asked directly rather than through __builtin_cpu_supports, whose
// runtime data (__cpu_model) not every toolchain links into a shared library.
bool DetectHardware() {
#if defined(_MSC_VER) && !defined(__clang__)
  int info[4];
  __cpuid(info, 1);
  const unsigned ecx = static_cast<unsigned>(info[2]);
#else
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
#endif
  return (ecx & (1u << 20)) != 0;
}
#elif defined(RANGEPOOL_CRC_ARM64)
RANGEPOOL_TARGET("+crc") uint32_t Hardware(uint32_t c, const unsigned char* p, size_t len) {
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
#if defined(__linux__)
bool DetectHardware() { return (getauxval(AT_HWCAP) & HWCAP_CRC32) != 0; }
#else
bool DetectHardware() { return true; }
#endif
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
