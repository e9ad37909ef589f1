// A request's landing ring (download() to a file): its response lands in a few small blocks of one pooled
// buffer instead of a buffer of the range's size. A block goes to the sink as it fills and is free again
// once written; while none is free the connection stops reading its socket (TCP's own backpressure). So
// a request costs the ring's memory whatever its range's size, and the writes (the sink's, off this
// thread) never hold up the socket reads of other requests.
import type { Landing } from '../http/connection.js';

/** A ring's block size and bytes in all: 4 × 256 KiB; RANGEPOOL_RING_BLOCK and RANGEPOOL_RING_BLOCKS override them (read per download) for measurements. */
export function ringShape(): { block: number; bytes: number } {
  const block = Number(process.env.RANGEPOOL_RING_BLOCK) || 256 * 1024;
  return { block, bytes: block * (Number(process.env.RANGEPOOL_RING_BLOCKS) || 4) };
}

export class Ring {
  private readonly free: Buffer[] = [];
  private current: Buffer | undefined;
  /** Where the current block's bytes begin in it (see `align`), and how many have landed. */
  private skew = 0;
  private filled = 0;
  private readonly writing = new Set<Promise<void>>();
  private ready: (() => void) | undefined;

  /**
   * `memory` cut into blocks of `block` bytes; its bytes belong at `at` in the object onwards. `write` must
   * not reject (the caller handles its own failures); the ring waits for it before a block is used again.
   * `align` (O_DIRECT): a block's first byte is placed `(at - origin) % unit` into it, so that a full block
   * ends at a multiple of `unit` in the file and its bytes sit at the same offsets in memory (the pool's
   * blocks are page aligned) as in the file.
   */
  constructor(
    memory: Buffer,
    block: number,
    private at: number,
    private readonly write: (at: number, bytes: Buffer) => Promise<void>,
    private readonly align?: { unit: number; origin: number },
  ) {
    for (let off = 0; off < memory.length; off += block) this.free.push(memory.subarray(off, off + block));
  }

  /** Whether its connection waits for a block to be written: a pause that is the disk's, not the server's. */
  get waiting(): boolean {
    return this.ready !== undefined;
  }

  /** Where a response of `length` bytes lands, from the ring's position on. */
  landing(length: number): Landing {
    return { length, next: (ready) => this.next(ready) };
  }

  /** n more bytes landed in the block handed out last, in order: those bytes (for a running checksum). */
  landed(n: number): Buffer {
    const from = this.skew + this.filled;
    const bytes = this.current!.subarray(from, from + n);
    this.filled += n;
    if (from + n === this.current!.length) this.flush();
    return bytes;
  }

  /** Hands what the current block holds to the sink (it is full, or its response ended); the ring waits for nobody. */
  flush(): void {
    this.ready = undefined;
    const block = this.current;
    if (!block) return;
    const n = this.filled;
    this.current = undefined;
    this.filled = 0;
    if (n === 0) {
      this.free.push(block);
      return;
    }
    const written = this.write(this.at, block.subarray(this.skew, this.skew + n)).then(() => {
      this.writing.delete(written);
      this.free.push(block);
      const ready = this.ready;
      this.ready = undefined;
      ready?.();
    });
    this.writing.add(written);
    this.at += n;
  }

  /** Resolves once every block handed to the sink is written (before the memory goes back, or bytes are taken back). */
  async drain(): Promise<void> {
    while (this.writing.size > 0) await Promise.all(this.writing);
  }

  /** After bytes were taken back (drained first): the next bytes belong at `at`. */
  rewind(at: number): void {
    this.at = at;
  }

  private next(ready: () => void): Buffer | undefined {
    this.flush();
    const block = this.free.pop();
    if (!block) {
      this.ready = ready;
      return undefined;
    }
    this.current = block;
    const skew = this.align ? (this.at - this.align.origin) % this.align.unit : 0;
    this.skew = block.length - skew >= (this.align?.unit ?? 0) ? skew : 0; // a small last block is not worth skewing
    return this.skew ? block.subarray(this.skew) : block;
  }
}
