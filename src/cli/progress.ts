import { SingleBar } from 'cli-progress';
import { formatSize } from './sizes.js';

export interface ProgressBar {
  /** Bytes so far of `total` (which may grow, as a listing goes on); `objects` as "3/100" for many objects. */
  update(bytes: number, total: number, objects?: string): void;
  stop(): void;
}

/** A bytes/rate/ETA bar on stderr when it is a terminal; nothing otherwise. */
export function progressBar(enabled: boolean): ProgressBar {
  if (!enabled || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    stream: process.stderr,
    format: ' {bar} {percentage}% | {done} / {size}{objects} | {rate}/s | ETA {eta_formatted}',
    hideCursor: true,
    clearOnComplete: false,
  });
  const started = Date.now();
  let begun = false;
  return {
    update(bytes, total, objects) {
      const payload = { done: formatSize(bytes), size: formatSize(total), objects: objects ? ` | ${objects} objects` : '', rate: formatSize(bytes / Math.max(0.001, (Date.now() - started) / 1000)) };
      if (!begun) {
        bar.start(total || 1, 0, payload);
        begun = true;
      }
      bar.setTotal(total || 1);
      bar.update(bytes, payload);
    },
    stop() {
      if (begun) bar.stop();
    },
  };
}
