// Progress while bytes land: a bar on a terminal; where stderr is a log (a file, a pipe, CI), a line
// every --stats interval (as aria2c --summary-interval, rclone --stats), JSON lines with --json.
import { SingleBar } from 'cli-progress';
import { invalidArgument } from '../errors.js';
import { formatSize } from './sizes.js';

/** 42s, 3m07s, 1h02m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** --stats: 500ms, 5s, 2m, 1h, or plain seconds; 0 turns the lines off. */
export function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw invalidArgument(`--stats must be an interval such as 500ms, 10s or 1m, got ${JSON.stringify(text)}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

export interface ProgressBar {
  /** Bytes so far of `total` (which may grow, as a listing goes on); `objects` as [done, started] for many objects. */
  update(bytes: number, total: number, objects?: [number, number]): void;
  /** A line that must not be drawn over (an object done, an error): printed above the bar. */
  say(line: string): void;
  stop(): void;
}

export interface ProgressSwitches {
  quiet?: boolean;
  json?: boolean;
  /** true with --progress (shown with -q too), false with --no-progress. */
  progress?: boolean;
  /** --stats: ms between log lines. */
  stats?: number;
}

/** Where progress goes for these switches: a bar on a terminal, lines in a log, or nowhere (-q, --no-progress; --progress forces it). */
export function progressFor(o: ProgressSwitches): ProgressBar {
  if (o.progress === false || (o.quiet && o.progress !== true)) return { update() {}, say: (line) => process.stderr.write(`${line}\n`), stop() {} };
  if (process.stderr.isTTY && !o.json) return bar();
  return lines(o.stats ?? 10_000, o.json ?? false);
}

/** The rate and ETA over the whole transfer so far (not the last few updates, which swing as connections open). */
function measure(started: number, bytes: number, total: number): { rate: number; eta: number | undefined } {
  const seconds = (Date.now() - started) / 1000;
  const rate = bytes / Math.max(0.001, seconds);
  return { rate, eta: seconds < 1 || bytes === 0 ? undefined : (total - bytes) / rate };
}

function bar(): ProgressBar {
  const bar = new SingleBar({
    stream: process.stderr,
    // {remaining}, not {eta}: cli-progress fills {eta} itself, from its own recent rate.
    format: ' {bar} {percentage}% | {done} / {size}{objects} | {rate}/s | ETA {remaining}',
    hideCursor: true,
    clearOnComplete: false,
  });
  const started = Date.now();
  let shown = false;
  let last: [number, number, [number, number] | undefined] | undefined;
  const self: ProgressBar = {
    update(bytes, total, objects) {
      last = [bytes, total, objects];
      const { rate, eta } = measure(started, bytes, total);
      const payload = { done: formatSize(bytes), size: formatSize(total), objects: objects ? ` | ${objects[0]}/${objects[1]} objects` : '', rate: formatSize(rate), remaining: eta === undefined ? '…' : formatDuration(eta) };
      if (!shown) bar.start(total || 1, bytes, payload);
      shown = true;
      bar.setTotal(total || 1);
      bar.update(bytes, payload);
    },
    say(line) {
      if (shown) bar.stop();
      shown = false;
      process.stderr.write(`${line}\n`);
      if (last) self.update(...last);
    },
    stop() {
      if (shown) bar.stop();
      shown = false;
      last = undefined;
    },
  };
  return self;
}

function lines(every: number, json: boolean): ProgressBar {
  const started = Date.now();
  let state: [number, number, [number, number] | undefined] | undefined;
  const print = () => {
    if (!state) return;
    const [bytes, total, objects] = state;
    const { rate, eta } = measure(started, bytes, total);
    if (json) {
      const o = objects && { done: objects[0], started: objects[1] };
      process.stderr.write(`${JSON.stringify({ progress: { bytes, total, bytesPerSecond: Math.round(rate), etaSeconds: eta === undefined ? null : Math.round(eta), ...(o ? { objects: o } : {}) } })}\n`);
    } else {
      const pct = total > 0 ? ` (${Math.floor((bytes / total) * 100)} %)` : '';
      process.stderr.write(`progress: ${formatSize(bytes)} of ${formatSize(total)}${pct}, ${formatSize(rate)}/s, ETA ${eta === undefined ? '…' : formatDuration(eta)}${objects ? `, ${objects[0]}/${objects[1]} objects` : ''}\n`);
    }
  };
  const timer = every > 0 ? setInterval(print, every).unref() : undefined;
  return {
    update(bytes, total, objects) {
      state = [bytes, total, objects];
    },
    say: (line) => process.stderr.write(`${line}\n`),
    stop() {
      clearInterval(timer);
    },
  };
}
