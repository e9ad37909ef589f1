// The files campaign (testing/files-campaign.ts) in every `npm test`: seeded rounds of the real CLI over key
// sets made to collide, interrupted runs, tampered leftovers and two writers at once. A failing round prints
// the seed and what it did; replay it, or run longer, with
//   node --import tsx testing/files-campaign.ts --seed N --rounds 200
import { describe, expect, it } from 'vitest';
import { runFilesCampaign } from '../testing/files-campaign.js';

const seed = Number(process.env.RANGEPOOL_CAMPAIGN_SEED ?? Date.now() % 1e6);
const rounds = Number(process.env.RANGEPOOL_CAMPAIGN_ROUNDS ?? 16);

describe('files campaign', () => {
  it(`${rounds} rounds: every file exact and named for its object, every object not written named, nothing outside changed, no leftover (seed ${seed})`, async () => {
    const reports = await runFilesCampaign({ rounds, seed });
    const failed = reports.filter((r) => r.problems.length > 0).map((r) => `round ${r.round} (seed ${seed}): ${r.what}\n  ${r.problems.join('\n  ')}`);
    expect(failed, `replay: node --import tsx testing/files-campaign.ts --seed ${seed} --rounds ${rounds}`).toEqual([]);
    expect(reports).toHaveLength(rounds);
  }, 240_000);
});
