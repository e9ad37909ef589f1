// The fault campaign at a size CI can afford (testing/fault-campaign.ts run by hand runs it larger).
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../testing/fault-campaign.js';

describe('fault campaign', () => {
  it('every download ends byte-exact or with a typed error; none corrupted; the pool ends where it began', async () => {
    const counts = await runCampaign({ downloads: 80, size: 1_500_000, rate: 0.05, seed: 11, partSize: 128 << 10 });
    expect(counts.corrupted).toBe(0);
    expect(counts.untypedFailures).toBe(0);
    expect(counts.successes + counts.typedFailures).toBe(80);
    expect(counts.poolInUseDelta).toBe(0);
    expect(Object.keys(counts.faultsByKind ?? {}).sort()).toEqual(['reset', 'short', 'stall', 'status', 'wrongRange']);
    expect(counts.retries).toBeGreaterThan(0);
    expect(counts.successes).toBeGreaterThan(60); // the retry budget absorbs most faults
  });
});
