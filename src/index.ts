export { RangepoolError, ERROR_CODES, isRangepoolError } from './errors.js';
export type { ErrorCode } from './errors.js';
export { BufferPool, defaultPool, release } from './pool/index.js';
export type { AcquireOptions, BufferPoolOptions, Lease, Pool, PoolOptions, PoolStats } from './pool/index.js';
export { crc32c, crc32cCombine, crc32cBase64 } from './crc32c.js';
