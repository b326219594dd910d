import type { DurationDistribution } from '../config';

/** Uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * A small seeded generator (mulberry32): the same seed gives the same sequence on every run and
 * platform, so a simulated fleet can be replayed. Not for anything that needs to be unguessable.
 */
export function seededRandom(seed: number | string): Random {
  let state = typeof seed === 'number' ? seed >>> 0 : hashSeed(seed);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 32-bit FNV-1a of a string: turns a named seed into a number. */
export function hashSeed(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** One duration in milliseconds from `dist`; never negative (a normal draw below 0 is 0). */
export function drawDuration(dist: DurationDistribution, random: Random): number {
  switch (dist.dist) {
    case 'fixed':
      return dist.ms;
    case 'uniform':
      return dist.min + random() * (dist.max - dist.min);
    case 'exponential':
      // Inverse transform; 1 - u is in (0, 1], so the logarithm is finite.
      return -dist.mean * Math.log(1 - random());
    case 'normal':
      return Math.max(0, dist.mean + dist.stddev * standardNormal(random));
    default: {
      const never: never = dist;
      throw new Error(`unknown distribution ${JSON.stringify(never)}`);
    }
  }
}

/** Box-Muller transform. */
function standardNormal(random: Random): number {
  const u1 = 1 - random();
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
