// Reference checksums, independent of the package's own: this server is what the package is checked against.
const CRC32C_POLY = 0x82f63b78;
const CRC64NVME_POLY = 0x9a6c9329ac4bc9b5n; // reflected 0xAD93D23594C93659
let crc32cTable: Uint32Array | undefined;
let crc64Table: { hi: Uint32Array; lo: Uint32Array } | undefined;

/** CRC32C, bit by bit through a table. */
export function crc32c(buf: Uint8Array): number {
  crc32cTable ??= Uint32Array.from({ length: 256 }, (_, i) => {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLY : c >>> 1;
    return c >>> 0;
  });
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = crc32cTable[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/**
 * CRC64/NVME as S3 publishes it (x-amz-checksum-crc64nvme), bit by bit through a table, the 64-bit state
 * kept as two 32-bit halves (BigInt per byte took minutes for 1 GiB). Computed once per object, lazily.
 */
export function crc64nvme(buf: Uint8Array): bigint {
  if (!crc64Table) {
    crc64Table = { hi: new Uint32Array(256), lo: new Uint32Array(256) };
    for (let i = 0; i < 256; i++) {
      let c = BigInt(i);
      for (let k = 0; k < 8; k++) c = c & 1n ? (c >> 1n) ^ CRC64NVME_POLY : c >> 1n;
      crc64Table.hi[i] = Number(c >> 32n);
      crc64Table.lo[i] = Number(c & 0xffffffffn);
    }
  }
  const { hi: th, lo: tl } = crc64Table;
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  for (let i = 0; i < buf.length; i++) {
    const k = (lo ^ buf[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ tl[k]!;
    hi = (hi >>> 8) ^ th[k]!;
  }
  return ((BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0));
}

/** A checksum as S3's headers carry it: big-endian bytes, base64. */
export function checksumHeader(value: number | bigint): string {
  const out = Buffer.alloc(typeof value === 'number' ? 4 : 8);
  if (typeof value === 'number') out.writeUInt32BE(value);
  else out.writeBigUInt64BE(value);
  return out.toString('base64');
}
