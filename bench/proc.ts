// What the benchmark reads about processes it did not start in-process: CPU time of a server's processes
// from /proc/PID/stat, how busy the whole machine was from /proc/stat, and what GNU time printed for a
// command-line client. Parsers are pure (tested in test/bench.test.ts); readers return undefined where
// /proc is absent, so a figure is missing rather than wrong.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc's CPU fields: 100 on every Linux the benchmark runs on (getconf CLK_TCK). */
const TICKS = 100;

/** utime + stime of one /proc/PID/stat line, in seconds. The command name may hold spaces and parentheses. */
export function parseProcStat(line: string): number {
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  // Fields after the name start at field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`not a /proc/PID/stat line: ${JSON.stringify(line.slice(0, 80))}`);
  return (utime + stime) / TICKS;
}

/** CPU seconds the processes have used so far (processes that are gone count 0). */
export function processCpu(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      // exited, or no /proc
    }
  }
  return total;
}

/** Busy and total ticks of all cores from the first line of /proc/stat (idle and iowait count as not busy). */
export function parseMachineStat(text: string): { busy: number; total: number } {
  const cpu = text.split('\n')[0]!.trim().split(/\s+/);
  if (cpu[0] !== 'cpu') throw new Error('not /proc/stat');
  // user nice system idle iowait irq softirq steal (guest time is already counted in user)
  const t = cpu.slice(1, 9).map(Number);
  const total = t.reduce((a, b) => a + b, 0);
  return { busy: total - t[3]! - t[4]!, total };
}

export type MachineSample = { busy: number; total: number } | undefined;

export function machineSample(): MachineSample {
  try {
    return parseMachineStat(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** The share of all cores that were busy between two samples (0–1), whoever was busy. */
export function machineBusy(before: MachineSample, after: MachineSample): number | undefined {
  if (!before || !after || after.total <= before.total) return undefined;
  return (after.busy - before.busy) / (after.total - before.total);
}

/** The format GNU time is asked for: wall seconds, user seconds, system seconds, peak RSS in KiB. */
export const TIME_FORMAT = '%e %U %S %M';

/** What `/usr/bin/time -f '%e %U %S %M'` wrote (its last line: a command's own stderr may come first). */
export function parseGnuTime(text: string): { wallS: number; cpuS: number; peakRssBytes: number } {
  const last = text.trim().split('\n').pop() ?? '';
  const m = /^(\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (\d+)$/.exec(last.trim());
  if (!m) throw new Error(`not GNU time output: ${JSON.stringify(last.slice(0, 80))}`);
  return { wallS: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]), peakRssBytes: Number(m[4]) * 1024 };
}
