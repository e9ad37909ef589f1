import { abortedError } from '../errors.js';

/** A FIFO counting semaphore: at most `limit` holders at once; waiting is abortable. */
export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** Resolves with a function that gives the slot back (call it exactly once). */
  async take(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortedError(signal);
    if (this.active < this.limit) {
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
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    };
  }
}
