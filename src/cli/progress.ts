import { SingleBar } from 'cli-progress';
import { formatSize } from './sizes.js';

/** A bytes/rate/ETA bar on stderr when it is a terminal; nothing otherwise. */
export function progressBar(enabled: boolean): { update(bytes: number, total: number): void; stop(): void } {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    stream: process.stderr,
    format: ' {bar} {percentage}% | {done} / {size} | {rate}/s | ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: false,
  });
  const started = Date.now();
  let begun = false;
  return {
    update(bytes, total) {
      const payload = { done: formatSize(bytes), size: formatSize(total), rate: formatSize(bytes / Math.max(0.001, (Date.now() - started) / 1000)) };
      if (!begun) {
        bar.start(total || 1, 0, payload);
        begun = true;
      }
      bar.update(bytes, payload);
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}
