export { BufferPool, defaultPool, release } from './buffer-pool.js';
export type { BufferPoolOptions, Lease } from './buffer-pool.js';
export type { AcquireOptions, Pool, PoolOptions, PoolStats } from './types.js';
