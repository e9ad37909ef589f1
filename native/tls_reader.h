// The native half of an HTTP(S) connection's receive side: after Node has connected (and, for HTTPS, done the
// handshake), a few I/O threads read the socket (their own dup of its fd), decrypt its records (tls_records.h;
// a plain connection's bytes are read as they are) straight into the memory the caller named, and report once
// per piece, not per read or record. The caller names one destination at a time and
// hears back once for it (its bytes landed, and/or how the stream ended); until then the memory is the
// reader's, afterwards it is never touched again. POSIX only; elsewhere Open reports it unsupported. No Node-API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "tls_records.h"

namespace rangepool::tls {

struct Event {
  enum End { kNone = 0, kClosed = 1 /* close_notify */, kEof = 2 /* end of stream without it */, kFailed = 3 };
  size_t bytes = 0;  // landed in the destination, from its start
  End end = kNone;
  std::string error;  // for kFailed
};

// Called on an I/O thread, once per destination, with the channel's lock held: it must only queue.
using Notify = std::function<void(Event*)>;

// Bodies are reported in pieces of at most this many bytes, or sooner once the socket has been quiet for
// kQuietMs with bytes waiting (a slow link still shows its progress).
constexpr size_t kPieceBytes = 1 << 20;
constexpr int kQuietMs = 5;

class Channel {
 public:
  struct Keys {
    bool plain;  // no TLS: the socket's bytes land as they are (the rest of Keys is unused)
    Suite suite;
    const uint8_t* key;
    size_t key_len;
    const uint8_t* iv;
    uint64_t seq;
    const uint8_t* handshake;  // see RecordReader::Init
    size_t handshake_len;
  };
  // `fd` is duplicated (the caller keeps its own); `early`: ciphertext read before the hand-over (a partial
  // record). Null with *error set when refused.
  static std::shared_ptr<Channel> Open(int fd, const Keys& keys, const uint8_t* early, size_t early_len, Notify notify,
                                       std::string* error);

  // The next destination: bytes land in [data, data + len). `fill`: report when full or a piece is in
  // (a body); otherwise as soon as any bytes are in (a response head).
  void Target(uint8_t* data, size_t len, bool fill);
  // Stops (or resumes) reading the socket; a destination already named stays.
  void Pause(bool on);
  // After it returns, no destination is written and Notify is not called again. Idempotent.
  void Close();
  uint64_t records() const;

  // For the I/O thread (tls_reader.cc).
  struct Impl;
  explicit Channel(std::unique_ptr<Impl> impl);
  ~Channel();
  Impl& impl() { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// The crypto is there and this platform has the I/O threads.
bool ReaderAvailable();
// This platform has the I/O threads (plain connections).
bool PlainReaderAvailable();

}  // namespace rangepool::tls
