// CRC32C (Castagnoli), as S3 (x-amz-checksum-crc32c) and GCS (crc32c) publish it. The addon does it
// with CPU instructions; this table version is the fallback when the addon is not loaded.
import { binding } from './native.js';

const POLY = 0x82f63b78;
let table: Uint32Array | undefined;

function jsCrc32c(data: Uint8Array, init: number): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
      table[i] = c >>> 0;
    }
  }
  let c = ~init >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function multModP(a: number, b: number): number {
  let m = 0x80000000;
  let p = 0;
  for (;;) {
    if (a & m) {
      p = (p ^ b) >>> 0;
      if ((a & (m - 1)) === 0) break;
    }
    m >>>= 1;
    b = b & 1 ? ((b >>> 1) ^ POLY) >>> 0 : b >>> 1;
  }
  return p >>> 0;
}

function jsCombine(a: number, b: number, lenB: number): number {
  let x2n = 0x40000000; // x^1, squared up to x^(2^k)
  for (let k = 0; k < 3; k++) x2n = multModP(x2n, x2n);
  let shift = 0x80000000; // x^0
  for (let n = lenB; n > 0; n = Math.floor(n / 2)) {
    if (n % 2) shift = multModP(x2n, shift);
    x2n = multModP(x2n, x2n);
  }
  return (multModP(shift, a) ^ b) >>> 0;
}

/** Continues `init` (0 to start) over `data`. */
export function crc32c(data: ArrayBufferView, init = 0): number {
  if (binding) return binding.crc32c(data, init);
  return jsCrc32c(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), init);
}

/** crc32c(A ‖ B) from crc32c(A), crc32c(B) and B's length: ranges combine without a second pass. */
export function crc32cCombine(crcA: number, crcB: number, lenB: number): number {
  return binding ? binding.crc32cCombine(crcA, crcB, lenB) : jsCombine(crcA, crcB, lenB);
}

/** The big-endian base64 form S3 and GCS use in headers and metadata. */
export function crc32cBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}
