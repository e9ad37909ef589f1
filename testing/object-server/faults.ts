// Fault injection: rules that pick ranged GETs (or HEADs) to fail, from a seeded random source so a
// campaign is reproducible, and the ways a body can be sent wrongly.
import type { ServerResponse } from 'node:http';
import { prng } from '../prng.js';

export interface Match {
  bucket?: string;
  key?: string;
}

export type FaultRule = (
  | { kind: 'status'; status: number }
  | { kind: 'reset'; afterBytes?: number }
  | { kind: 'short'; afterBytes?: number }
  | { kind: 'wrongRange'; shift?: number }
  /** The Content-Range asked for, over a chunked body of other bytes that runs `extra` bytes past it. */
  | { kind: 'overrun'; extra?: number }
  | { kind: 'stall'; afterBytes?: number; ms?: number }
  | { kind: 'overwrite'; afterRequests: number; data: Buffer }
) & { probability?: number; count?: number; match?: Match; on?: 'range' | 'head' };

export class Faults {
  private rules: (FaultRule & { fired: number })[] = [];
  private random: () => number;
  /** Ranged requests since the rules were set ('overwrite' counts them). */
  rangeRequests = 0;
  /** How often each kind fired, over the server's life. */
  readonly fired: Record<string, number> = {};

  constructor(seed = 1) {
    this.random = prng(seed);
  }

  set(rules: FaultRule[], seed?: number): void {
    this.rules = rules.map((r) => ({ ...r, fired: 0 }));
    this.rangeRequests = 0;
    if (seed !== undefined) this.random = prng(seed);
  }

  /** How often each rule fired, in the order they were set. */
  firedPerRule(): number[] {
    return this.rules.map((r) => r.fired);
  }

  /** The first rule that applies to this request and fires. */
  pick(on: 'range' | 'head', bucket: string, key: string): FaultRule | undefined {
    for (const rule of this.rules) {
      if ((rule.on ?? 'range') !== on) continue;
      if (rule.match?.bucket && rule.match.bucket !== bucket) continue;
      if (rule.match?.key && rule.match.key !== key) continue;
      if (rule.count !== undefined && rule.fired >= rule.count) continue;
      if (rule.kind === 'overwrite') {
        if (this.rangeRequests <= rule.afterRequests) continue;
      } else if (rule.probability !== undefined && this.random() >= rule.probability) continue;
      rule.fired++;
      this.fired[rule.kind] = (this.fired[rule.kind] ?? 0) + 1;
      return rule;
    }
    return undefined;
  }
}

/** Writes `body` as the fault says (reset, short, stall), or whole. Returns the bytes sent whole (0 on a fault). */
export function sendBody(res: ServerResponse, body: Buffer, fault: FaultRule | undefined): number {
  const cut = fault && 'afterBytes' in fault ? Math.min(fault.afterBytes ?? 0, body.length) : body.length;
  switch (fault?.kind) {
    case 'reset':
      res.write(body.subarray(0, cut), () => res.socket?.destroy());
      return 0;
    case 'short': // promises the full length, sends less, then closes the connection
      res.write(body.subarray(0, cut), () => res.socket?.end());
      return 0;
    case 'stall': {
      res.write(body.subarray(0, cut));
      if (fault.ms === undefined || fault.ms === Infinity) return 0; // until the client gives up
      const timer = setTimeout(() => res.end(body.subarray(cut)), fault.ms);
      res.once('close', () => clearTimeout(timer));
      return 0;
    }
    default:
      res.end(body);
      return body.length;
  }
}
