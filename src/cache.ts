import type { ObjectMeta } from './stores/store.js';

/**
 * Remembers what `stat` said so a repeated get() can skip it. Safe because every range is pinned to
 * the cached ETag/generation and checked against the cached size: a stale entry shows as
 * PreconditionFailed, which drops it (and get() then stats once more).
 */
export class MetaCache {
  private readonly entries = new Map<string, { meta: ObjectMeta; expires: number }>();

  constructor(
    readonly ttlMs = 60_000,
    readonly maxEntries = 10_000,
  ) {}

  get(key: string): ObjectMeta | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.meta;
  }

  set(key: string, meta: ObjectMeta): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!); // oldest first
    this.entries.set(key, { meta, expires: Date.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
