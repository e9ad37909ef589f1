// What the native TLS reader needs from a handshake Node has done (RFC 8446): the server's application
// traffic key and IV from its secret (HKDF-Expand-Label, §7.1), and, from the ciphertext read before the
// hand-over, the next record's sequence number and any partial record. The records already read are
// replayed with Node's own crypto: those under the handshake keys fail the application key's tag and are
// passed over; after the first that opens, every one must (NewSessionTickets only: no data came unasked).
import { createDecipheriv, createHmac, type DecipherGCM } from 'node:crypto';

export interface Suite {
  /** The addon's number for it (native/tls_aead.h). */
  readonly id: 1 | 2 | 3;
  readonly hash: 'sha256' | 'sha384';
  readonly keyBytes: number;
  readonly cipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
}

/** The TLS 1.3 suites the native reader decrypts, by OpenSSL's name for them (tlsSocket.getCipher().standardName). */
export const SUITES: Readonly<Record<string, Suite>> = {
  TLS_AES_128_GCM_SHA256: { id: 1, hash: 'sha256', keyBytes: 16, cipher: 'aes-128-gcm' },
  TLS_AES_256_GCM_SHA384: { id: 2, hash: 'sha384', keyBytes: 32, cipher: 'aes-256-gcm' },
  TLS_CHACHA20_POLY1305_SHA256: { id: 3, hash: 'sha256', keyBytes: 32, cipher: 'chacha20-poly1305' },
};

export interface TrafficKeys {
  readonly suite: Suite;
  readonly key: Buffer;
  readonly iv: Buffer;
}

/** HKDF-Expand-Label(secret, label, "", length) for a length of at most one hash output (all TLS 1.3 needs here). */
export function expandLabel(hash: Suite['hash'], secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0, 1])]);
  return createHmac(hash, secret).update(info).digest().subarray(0, length);
}

export function trafficKeys(suite: Suite, secret: Buffer): TrafficKeys {
  return { suite, key: expandLabel(suite.hash, secret, 'key', suite.keyBytes), iv: expandLabel(suite.hash, secret, 'iv', 12) };
}

/** The server's first application traffic secret from Node's 'keylog' lines (NSS key log format). */
export function serverSecret(line: Buffer | string): Buffer | undefined {
  const m = /^SERVER_TRAFFIC_SECRET_0 [0-9a-f]+ ([0-9a-f]+)\s*$/i.exec(line.toString('latin1'));
  return m ? Buffer.from(m[1]!, 'hex') : undefined;
}

export class HandoverError extends Error {
  override readonly name = 'HandoverError';
}

/** A record's nonce (RFC 8446 §5.3): the IV with the 64-bit sequence number XORed into its last 8 bytes. */
export function nonceFor(keys: TrafficKeys, seq: number): Buffer {
  const nonce = Buffer.from(keys.iv);
  nonce.writeBigUInt64BE(nonce.readBigUInt64BE(4) ^ BigInt(seq), 4);
  return nonce;
}

/** Opens one record under the keys at `seq`: its inner plaintext (content type last), or undefined when the tag fails. */
export function openRecord(keys: TrafficKeys, seq: number, record: Buffer): { type: number; content: Buffer } | undefined {
  const nonce = nonceFor(keys, seq);
  const sealed = record.subarray(5, record.length - 16);
  // (chacha20-poly1305 has the same calls as GCM)
  const decipher = createDecipheriv(keys.suite.cipher as 'aes-128-gcm', keys.key, nonce, { authTagLength: 16 }) as DecipherGCM;
  decipher.setAAD(record.subarray(0, 5), { plaintextLength: sealed.length });
  decipher.setAuthTag(record.subarray(record.length - 16));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(sealed), decipher.final()]);
  } catch {
    return undefined;
  }
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  if (end === 0) throw new HandoverError('a record with no content type');
  return { type: plain[end - 1]!, content: plain.subarray(0, end - 1) };
}

/**
 * Replays what the server sent before the hand-over: the next record's sequence number under `keys`, and
 * the bytes of a record not yet whole. Throws HandoverError where the native reader could not go on from here.
 */
export function replay(keys: TrafficKeys, received: Buffer): { seq: number; rest: Buffer; handshake: Buffer } {
  let at = 0;
  let seq = 0;
  let opened = false;
  // The start of a handshake message that goes on in a later record (a ticket cut across records).
  let handshake: Buffer = Buffer.alloc(0);
  while (received.length - at >= 5) {
    const len = received.readUInt16BE(at + 3);
    if (received.length - at < 5 + len) break;
    const record = received.subarray(at, at + 5 + len);
    at += 5 + len;
    const type = record[0];
    if (type !== 23) {
      // ServerHello (22) and the compatibility ChangeCipherSpec (20) come before any encrypted record.
      if (opened || (type !== 22 && type !== 20)) throw new HandoverError(`a record of type ${type} in the handshake's ciphertext`);
      continue;
    }
    if (len < 17) throw new HandoverError('a record too short for its tag');
    const inner = openRecord(keys, seq, record);
    if (!inner) {
      if (opened) throw new HandoverError(`record ${seq} after the handshake failed its integrity check`);
      continue; // under the handshake keys
    }
    opened = true;
    seq++;
    if (inner.type !== 22) throw new HandoverError(`the server sent a record of type ${inner.type} before any request`);
    handshake = tickets(Buffer.concat([handshake, inner.content]));
  }
  return { seq, rest: received.subarray(at), handshake };
}

/** Passes over whole NewSessionTicket messages; returns the start of one not yet whole (the native reader goes on with it). */
function tickets(p: Buffer): Buffer {
  let at = 0;
  while (p.length - at >= 4) {
    if (p[at] !== 4) throw new HandoverError(`handshake message ${p[at]} after the handshake`);
    const end = at + 4 + p.readUIntBE(at + 1, 3);
    if (end > p.length) break;
    at = end;
  }
  if (at < p.length && p[at] !== 4) throw new HandoverError(`handshake message ${p[at]} after the handshake`);
  return p.subarray(at);
}
