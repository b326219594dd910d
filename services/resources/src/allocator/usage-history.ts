import { Injectable } from '@nestjs/common';
import { sampleOf, type PoolUsage, type UsageSample } from '@orch/resources';

/** Samples kept per pool: a day at one a minute. */
const MAX_SAMPLES_PER_POOL = 1_440;
/** Samples closer together than this are merged into the later one. */
const MIN_SPACING_MS = 60_000;

/**
 * Recent usage of every pool, sampled when monitoring is asked for (at most one sample a minute per
 * pool), for the moving-average demand used where analytics has no forecast (see ./demand). It lives in
 * memory and starts empty: the first answer after a start rests on the usage now.
 */
@Injectable()
export class UsageHistory {
  private readonly byPool = new Map<string, UsageSample[]>();

  /** Records `usage` at `at` and answers every sample kept, the new ones included. */
  samples(usage: readonly PoolUsage[], at: Date): UsageSample[] {
    for (const u of usage) {
      const kept = this.byPool.get(u.poolId) ?? [];
      const last = kept[kept.length - 1];
      if (last && at.getTime() - last.at < MIN_SPACING_MS) kept.pop();
      kept.push(sampleOf(u, at));
      if (kept.length > MAX_SAMPLES_PER_POOL) kept.shift();
      this.byPool.set(u.poolId, kept);
    }
    return [...this.byPool.values()].flat();
  }
}
