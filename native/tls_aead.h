// One TLS 1.3 AEAD (AES-128/256-GCM, ChaCha20-Poly1305) over the OpenSSL that node itself links: its EVP
// functions are looked up in the running process, so the addon needs no OpenSSL headers or library of its
// own, and loads (with TLS in native code unavailable) where the process exports none. No Node-API here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rangepool::tls {

enum class Suite { kAes128Gcm = 1, kAes256Gcm = 2, kChaCha20Poly1305 = 3 };

constexpr size_t kTagBytes = 16;
constexpr size_t kNonceBytes = 12;

// Whether this process offers what an Aead needs (resolved once).
bool CryptoAvailable();

class Aead {
 public:
  Aead() = default;
  Aead(const Aead&) = delete;
  Aead& operator=(const Aead&) = delete;
  ~Aead();

  // False when the suite or the crypto functions are unavailable, or the key has the wrong length.
  bool Init(Suite suite, const uint8_t* key, size_t key_len);

  // Decrypts in[0, len) into out (may not overlap) and checks `tag` against nonce and aad. False: the tag
  // does not match (out then holds bytes nobody may use).
  bool Open(const uint8_t* nonce, const uint8_t* aad, size_t aad_len, const uint8_t* in, size_t len, const uint8_t* tag,
            uint8_t* out);

 private:
  void* ctx_ = nullptr;
};

}  // namespace rangepool::tls
