#include "tls_records.h"

#include <cstring>

namespace rangepool::tls {
namespace {

constexpr uint8_t kAlert = 21, kHandshake = 22, kApplicationData = 23;
constexpr uint8_t kNewSessionTicket = 4, kKeyUpdate = 24;

}  // namespace

RecordReader::RecordReader(size_t input_capacity)
    : in_(new uint8_t[input_capacity < kRecordHeader + kMaxRecordBody ? kRecordHeader + kMaxRecordBody : input_capacity]),
      in_cap_(input_capacity < kRecordHeader + kMaxRecordBody ? kRecordHeader + kMaxRecordBody : input_capacity),
      plain_(new uint8_t[kMaxRecordBody]) {}

bool RecordReader::Init(Suite suite, const uint8_t* key, size_t key_len, const uint8_t* iv, uint64_t seq, const uint8_t* handshake,
                        size_t handshake_len) {
  std::memcpy(iv_, iv, kNonceBytes);
  seq_ = seq;
  return aead_.Init(suite, key, key_len) && Handshake(handshake, handshake_len);
}

uint8_t* RecordReader::Space(size_t* room) {
  // Keep a partial record contiguous: move it to the front once the end is reached.
  if (in_end_ == in_cap_ && in_start_ > 0) {
    std::memmove(in_.get(), in_.get() + in_start_, in_end_ - in_start_);
    in_end_ -= in_start_;
    in_start_ = 0;
  }
  *room = in_cap_ - in_end_;
  return in_.get() + in_end_;
}

void RecordReader::Received(size_t n) { in_end_ += n; }

bool RecordReader::HasOutput() const {
  if (left_at_ < left_end_) return true;
  const size_t avail = in_end_ - in_start_;
  if (avail < kRecordHeader) return false;
  const uint8_t* h = in_.get() + in_start_;
  return avail >= kRecordHeader + ((size_t{h[3]} << 8) | h[4]);
}

bool RecordReader::Fail(std::string why) {
  if (state_ == State::kOpen) {
    state_ = State::kFailed;
    error_ = std::move(why);
  }
  return false;
}

size_t RecordReader::Drain(uint8_t* out, size_t room) {
  size_t written = 0;
  while (written < room) {
    if (left_at_ < left_end_) {
      const size_t n = left_end_ - left_at_ < room - written ? left_end_ - left_at_ : room - written;
      std::memcpy(out + written, plain_.get() + left_at_, n);
      left_at_ += n;
      written += n;
      continue;
    }
    if (state_ != State::kOpen || !OpenRecord(out + written, room - written, &written)) break;
  }
  return written;
}

// Decrypts the next whole record, if one is buffered: its application data straight into out when it fits
// (written grows), else into plain_ for Drain to hand on. False when there is no whole record or it failed.
bool RecordReader::OpenRecord(uint8_t* out, size_t room, size_t* written) {
  const size_t avail = in_end_ - in_start_;
  if (avail < kRecordHeader) return false;
  uint8_t* h = in_.get() + in_start_;
  const size_t len = (size_t{h[3]} << 8) | h[4];
  // After the handshake every record is application_data on the wire, of TLS 1.2's version number.
  if (h[0] != kApplicationData) return Fail("TLS: a record of outer type " + std::to_string(h[0]) + " after the handshake");
  if (h[1] != 3 || h[2] != 3) return Fail("TLS: a record of an unknown version");
  if (len > kMaxRecordBody) return Fail("TLS: a record of " + std::to_string(len) + " bytes (more than 2^14 + 256)");
  if (len < kTagBytes + 1) return Fail("TLS: a record too short for its tag");
  if (avail < kRecordHeader + len) return false;
  const size_t sealed = len - kTagBytes;
  uint8_t nonce[kNonceBytes];
  std::memcpy(nonce, iv_, kNonceBytes);
  for (int i = 0; i < 8; i++) nonce[kNonceBytes - 1 - i] ^= static_cast<uint8_t>(seq_ >> (8 * i));
  // A whole record fits: decrypt into the caller's memory (its type byte and padding land past what is
  // counted, in room nobody has been told of); else into plain_.
  uint8_t* dst = sealed <= room ? out : plain_.get();
  if (!aead_.Open(nonce, h, kRecordHeader, h + kRecordHeader, sealed, h + kRecordHeader + sealed, dst))
    return Fail("TLS: record " + std::to_string(seq_) + " failed its integrity check");
  seq_++;
  in_start_ += kRecordHeader + len;
  if (in_start_ == in_end_) in_start_ = in_end_ = 0;
  // The content type is the last nonzero byte (RFC 8446 §5.4); zeros after it are padding.
  size_t end = sealed;
  while (end > 0 && dst[end - 1] == 0) end--;
  if (end == 0) return Fail("TLS: a record with no content type");
  const uint8_t type = dst[end - 1];
  const size_t n = end - 1;
  if (n > kMaxInnerPlaintext - 1) return Fail("TLS: a record's plaintext is longer than 2^14 bytes");
  if (type != kHandshake && (hs_head_len_ > 0 || hs_skip_ > 0)) return Fail("TLS: a handshake message cut by another record type");
  switch (type) {
    case kApplicationData:
      if (dst == out) *written += n;
      else left_at_ = 0, left_end_ = n;
      return true;
    case kHandshake:
      return n > 0 ? Handshake(dst, n) : Fail("TLS: an empty handshake record");
    case kAlert:
      if (n != 2) return Fail("TLS: a malformed alert");
      if (dst[1] == 0) {  // close_notify: the server's last word
        state_ = State::kClosed;
        return false;
      }
      return Fail("TLS: the server sent alert " + std::to_string(dst[1]));
    default:
      return Fail("TLS: a record of content type " + std::to_string(type));
  }
}

// Passes over NewSessionTicket messages (even across records); anything else after the handshake ends it.
bool RecordReader::Handshake(const uint8_t* p, size_t n) {
  while (n > 0) {
    if (hs_skip_ > 0) {
      const size_t k = hs_skip_ < n ? hs_skip_ : n;
      hs_skip_ -= k, p += k, n -= k;
      continue;
    }
    hs_head_[hs_head_len_++] = *p++;
    n--;
    if (hs_head_len_ < 4) continue;
    hs_head_len_ = 0;
    if (hs_head_[0] == kKeyUpdate) return Fail("TLS: the server updated its keys (KeyUpdate), which this reader does not follow");
    if (hs_head_[0] != kNewSessionTicket) return Fail("TLS: handshake message " + std::to_string(hs_head_[0]) + " after the handshake");
    hs_skip_ = (size_t{hs_head_[1]} << 16) | (size_t{hs_head_[2]} << 8) | hs_head_[3];
  }
  return true;
}

}  // namespace rangepool::tls
