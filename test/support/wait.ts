// External ArrayBuffer finalizers run at a later setImmediate, never inside GC: tests collect and
// turn the event loop until the state they expect shows, instead of assuming one tick is enough.
const gc = (globalThis as { gc?: () => void }).gc;

export async function until(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    gc?.();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function requireGc(): () => void {
  if (!gc) throw new Error('run with --expose-gc (vitest.config.ts sets it)');
  return gc;
}
