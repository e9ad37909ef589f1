// Two loaded copies of rangepool in one thread (here: the TS sources and the built package) share the
// addon. Each must get its own wakeups, and release() from one must accept the other's buffers.
import { describe, expect, it } from 'vitest';
import * as built from 'rangepool';
import * as sources from '../../src/index.js';

const MiB = 1 << 20;
const opts = { sizeClasses: [MiB], maxBytes: MiB, trimAfterMs: 0 };

describe('two copies of the package in one thread', () => {
  it('are distinct module instances over one addon', () => {
    expect(built.BufferPool).not.toBe(sources.BufferPool);
    expect(new built.BufferPool(opts).native && new sources.BufferPool(opts).native).toBe(true);
  });

  it('each copy wakes its own waiting acquires', async () => {
    const a = new sources.BufferPool(opts);
    const b = new built.BufferPool(opts);
    const [heldA, heldB] = [await a.acquire(MiB), await b.acquire(MiB)];
    const waitingA = a.acquire(MiB);
    const waitingB = b.acquire(MiB);
    a.release(heldA);
    b.release(heldB);
    const [gotA, gotB] = await Promise.all([waitingA, waitingB]);
    expect([gotA.length, gotB.length]).toEqual([MiB, MiB]);
    a.release(gotA);
    b.release(gotB);
  });

  it("release() of one copy accepts the other's buffers and still refuses foreign ones", async () => {
    const b = new built.BufferPool(opts);
    const buf = await b.acquire(100);
    sources.release(buf);
    expect(buf.length).toBe(0);
    expect(() => sources.release(buf)).not.toThrow();
    expect(() => sources.release(Buffer.alloc(100))).toThrow(TypeError);
  });
});
