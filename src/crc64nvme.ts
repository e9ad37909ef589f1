// CRC-64/NVME, the full-object checksum S3 keeps by default for new objects. The addon computes it;
// this BigInt version is the (slow) fallback when the addon is not loaded.
import { binding } from './native.js';

const POLY = 0x9a6c9329ac4bc9b5n;
const MASK = 0xffffffffffffffffn;
let table: BigUint64Array | undefined;

function jsCrc64(data: Uint8Array, init: bigint): bigint {
  if (!table) {
    table = new BigUint64Array(256);
    for (let i = 0; i < 256; i++) {
      let c = BigInt(i);
      for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
      table[i] = c;
    }
  }
  let c = ~init & MASK;
  for (let i = 0; i < data.length; i++) c = table[Number((c ^ BigInt(data[i]!)) & 0xffn)]! ^ (c >> 8n);
  return ~c & MASK;
}

function multModP(a: bigint, b: bigint): bigint {
  let m = 1n << 63n;
  let p = 0n;
  for (;;) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1n)) === 0n) break;
    }
    m >>= 1n;
    b = b & 1n ? (b >> 1n) ^ POLY : b >> 1n;
  }
  return p;
}

function jsCombine(a: bigint, b: bigint, lenB: number): bigint {
  let x2n = 1n << 62n; // x^1, squared up to x^(2^k)
  for (let k = 0; k < 3; k++) x2n = multModP(x2n, x2n);
  let shift = 1n << 63n; // x^0
  for (let n = lenB; n > 0; n = Math.floor(n / 2)) {
    if (n % 2) shift = multModP(x2n, shift);
    x2n = multModP(x2n, x2n);
  }
  return multModP(shift, a) ^ b;
}

/** Continues `init` (0n to start) over `data`. */
export function crc64nvme(data: ArrayBufferView, init = 0n): bigint {
  if (binding) return binding.crc64nvme(data, init);
  return jsCrc64(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), init);
}

/** crc64nvme(A ‖ B) from crc64nvme(A), crc64nvme(B) and B's length. */
export function crc64nvmeCombine(crcA: bigint, crcB: bigint, lenB: number): bigint {
  return binding ? binding.crc64nvmeCombine(crcA, crcB, lenB) : jsCombine(crcA, crcB, lenB);
}
