export { RangepoolError, ERROR_CODES, isRangepoolError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Pool, PoolOptions, PoolStats, AcquireOptions } from './pool/types.js';
