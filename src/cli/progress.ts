import { SingleBar } from 'cli-progress';
import { formatSize } from './sizes.js';

/** 42s, 3m07s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

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
    format: ' {bar} {percentage}% | {done} / {size}{objects} | {rate}/s | ETA {eta}',
    hideCursor: true,
    clearOnComplete: false,
  });
  const started = Date.now();
  let begun = false;
  return {
    update(bytes, total, objects) {
      // The rate and ETA over the whole transfer so far (the bar's own ETA follows the last few updates,
      // which swing with every connection that opens early on); none before a second has passed.
      const seconds = (Date.now() - started) / 1000;
      const rate = bytes / Math.max(0.001, seconds);
      const eta = seconds < 1 || bytes === 0 ? '…' : formatDuration((total - bytes) / rate);
      const payload = { done: formatSize(bytes), size: formatSize(total), objects: objects ? ` | ${objects} objects` : '', rate: formatSize(rate), eta };
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
