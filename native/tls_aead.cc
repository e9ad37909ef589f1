// The EVP calls are made through pointers found with dlsym: node exports OpenSSL's symbols for addons
// (checked on Node 20-26 for Linux), so this is the same library, version and CPU paths node's own TLS
// uses. Windows (no fd for a TCP handle anyway) has no lookup here and reports the crypto unavailable.
#include "tls_aead.h"

#include <climits>
#include <mutex>

#ifndef _WIN32
#include <dlfcn.h>
#endif

namespace rangepool::tls {
namespace {

// OpenSSL's stable ABI, declared here instead of included: EVP_CTRL_AEAD_SET_TAG from evp.h.
constexpr int kCtrlAeadSetTag = 0x11;
using CipherFn = const void* (*)();
struct Evp {
  void* (*ctx_new)();
  void (*ctx_free)(void*);
  int (*decrypt_init)(void*, const void*, void*, const unsigned char*, const unsigned char*);
  int (*decrypt_update)(void*, unsigned char*, int*, const unsigned char*, int);
  int (*decrypt_final)(void*, unsigned char*, int*);
  int (*ctx_ctrl)(void*, int, int, void*);
  CipherFn aes_128_gcm;
  CipherFn aes_256_gcm;
  CipherFn chacha20_poly1305;
  bool ok = false;
};

template <typename T>
bool Find(T* fn, const char* name) {
#ifdef _WIN32
  (void)name;
  *fn = nullptr;
#else
  *fn = reinterpret_cast<T>(dlsym(RTLD_DEFAULT, name));
#endif
  return *fn != nullptr;
}

const Evp& Functions() {
  static Evp evp;
  static std::once_flag once;
  std::call_once(once, [] {
    evp.ok = Find(&evp.ctx_new, "EVP_CIPHER_CTX_new") && Find(&evp.ctx_free, "EVP_CIPHER_CTX_free") &&
             Find(&evp.decrypt_init, "EVP_DecryptInit_ex") && Find(&evp.decrypt_update, "EVP_DecryptUpdate") &&
             Find(&evp.decrypt_final, "EVP_DecryptFinal_ex") && Find(&evp.ctx_ctrl, "EVP_CIPHER_CTX_ctrl") &&
             Find(&evp.aes_128_gcm, "EVP_aes_128_gcm") && Find(&evp.aes_256_gcm, "EVP_aes_256_gcm");
    // ChaCha20-Poly1305 is optional: an OpenSSL without it still serves the AES suites.
    Find(&evp.chacha20_poly1305, "EVP_chacha20_poly1305");
  });
  return evp;
}

}  // namespace

bool CryptoAvailable() { return Functions().ok; }

Aead::~Aead() {
  if (ctx_) Functions().ctx_free(ctx_);
}

bool Aead::Init(Suite suite, const uint8_t* key, size_t key_len) {
  const Evp& evp = Functions();
  if (!evp.ok) return false;
  CipherFn cipher = nullptr;
  size_t want = 0;
  switch (suite) {
    case Suite::kAes128Gcm: cipher = evp.aes_128_gcm, want = 16; break;
    case Suite::kAes256Gcm: cipher = evp.aes_256_gcm, want = 32; break;
    case Suite::kChaCha20Poly1305: cipher = evp.chacha20_poly1305, want = 32; break;
  }
  if (cipher == nullptr || key_len != want) return false;
  if (ctx_ == nullptr) ctx_ = evp.ctx_new();
  // The key is set once; each record sets only its nonce (the default 12-byte IV length of all three).
  return ctx_ != nullptr && evp.decrypt_init(ctx_, cipher(), nullptr, key, nullptr) == 1;
}

bool Aead::Open(const uint8_t* nonce, const uint8_t* aad, size_t aad_len, const uint8_t* in, size_t len, const uint8_t* tag,
                uint8_t* out) {
  const Evp& evp = Functions();
  if (ctx_ == nullptr || len > INT_MAX || aad_len > INT_MAX) return false;
  int aad_n = 0, n = 0;
  if (evp.decrypt_init(ctx_, nullptr, nullptr, nullptr, nonce) != 1) return false;
  if (evp.decrypt_update(ctx_, nullptr, &aad_n, aad, static_cast<int>(aad_len)) != 1) return false;
  if (len > 0 && evp.decrypt_update(ctx_, out, &n, in, static_cast<int>(len)) != 1) return false;
  if (evp.ctx_ctrl(ctx_, kCtrlAeadSetTag, static_cast<int>(kTagBytes), const_cast<uint8_t*>(tag)) != 1) return false;
  int tail = 0;
  return evp.decrypt_final(ctx_, out + n, &tail) == 1;
}

}  // namespace rangepool::tls
