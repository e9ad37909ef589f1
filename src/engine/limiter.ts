import { abortedError } from '../errors.js';

/** A FIFO counting semaphore: at most `limit` holders at once (the limit may change); waiting is abortable. */
export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private max: number) {}

  get limit(): number {
    return this.max;
  }

  /** Holders now. */
  get holders(): number {
    return this.active;
  }

  /** Callers waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  /** A new limit: a higher one lets waiters in at once; above a lower one, slots are not handed on until under it. */
  setLimit(limit: number): void {
    this.max = limit;
    while (this.active < this.max && this.queue.length > 0) {
      this.active++;
      this.queue.shift()!();
    }
  }

  /** Resolves with a function that gives the slot back (call it exactly once). */
  async take(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortedError(signal);
    if (this.active < this.max && this.queue.length === 0) {
      this.active++;
      return this.giver();
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.queue.splice(this.queue.indexOf(grant), 1);
        reject(abortedError(signal!));
      };
      this.queue.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.giver(); // the slot was handed over by the releaser: `active` already counts it
  }

  private giver(): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      // Handed on only while at or under the limit (it may have been lowered meanwhile).
      const next = this.active <= this.max ? this.queue.shift() : undefined;
      if (next) next();
      else this.active--;
    };
  }
}
