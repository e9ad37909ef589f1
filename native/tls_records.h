// The receiving half of a TLS 1.3 connection after its handshake (RFC 8446 §5): ciphertext in, in any
// pieces; application data out, each record's tag checked before any of its bytes is handed on. Records are
// numbered (the nonce), so none is decrypted twice or skipped. NewSessionTicket messages are passed over;
// close_notify ends the stream; any other alert, a KeyUpdate (no re-keying here: the connection ends and the
// caller asks for its bytes elsewhere), a bad tag, an oversized record or an unknown type is an error. No Node-API here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tls_aead.h"

namespace rangepool::tls {

// Largest TLS 1.3 record body (ciphertext and tag), and its plaintext with the content type byte.
constexpr size_t kMaxRecordBody = (1 << 14) + 256;
constexpr size_t kMaxInnerPlaintext = (1 << 14) + 1;
constexpr size_t kRecordHeader = 5;

class RecordReader {
 public:
  enum class State { kOpen, kClosed /* close_notify */, kFailed };

  // `input_capacity`: the most ciphertext held at once (at least one whole record).
  explicit RecordReader(size_t input_capacity);

  // Keys for the server's application traffic; `seq`: the next record's number; `handshake`: the start of
  // a NewSessionTicket that goes on in the next record (from records read before). False: refused.
  bool Init(Suite suite, const uint8_t* key, size_t key_len, const uint8_t* iv, uint64_t seq, const uint8_t* handshake,
            size_t handshake_len);

  // Where ciphertext read from the socket goes, and how much fits (0: drain first).
  uint8_t* Space(size_t* room);
  void Received(size_t n);

  // Moves up to `room` bytes of application data into out: first what an earlier record left over, then
  // records decrypted (straight into out when a whole record fits). Returns the bytes written; stops early
  // when no whole record is buffered, or the state is no longer open.
  size_t Drain(uint8_t* out, size_t room);

  State state() const { return state_; }
  const std::string& error() const { return error_; }
  uint64_t records() const { return seq_; }
  // Plaintext held back from an earlier record, and whether a whole record waits to be decrypted.
  bool HasOutput() const;
  // Part of a record is buffered (an end of stream now would cut it).
  bool Partial() const { return in_end_ > in_start_; }

 private:
  bool Fail(std::string why);
  bool OpenRecord(uint8_t* out, size_t room, size_t* written);
  bool Handshake(const uint8_t* p, size_t n);

  Aead aead_;
  uint8_t iv_[kNonceBytes] = {};
  uint64_t seq_ = 0;
  State state_ = State::kOpen;
  std::string error_;
  std::unique_ptr<uint8_t[]> in_;
  size_t in_cap_, in_start_ = 0, in_end_ = 0;
  // A record's plaintext that did not fit the caller's buffer: plain_[left_at_, left_end_).
  std::unique_ptr<uint8_t[]> plain_;
  size_t left_at_ = 0, left_end_ = 0;
  // A handshake message being passed over: its 4-byte header so far, then the body bytes still to skip.
  uint8_t hs_head_[4] = {};
  size_t hs_head_len_ = 0, hs_skip_ = 0;
};

}  // namespace rangepool::tls
