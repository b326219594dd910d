import { rfc3339 } from '@orch/domain-kit';
import type { AnalyticsEvent } from '../events';
import { HOUR_MS } from '../series';

/**
 * A generator of seasonal load, to measure forecasts on a series whose shape is known.
 *
 * Tasks per hour t (hours since `start`, a Monday 00:00 UTC by default):
 *
 *   expected(t) = base
 *               * (1 + trendPerWeek * t / 168)                               trend
 *               * weekly[day of week of t]                                   weekly factor
 *               * (1 + dailyAmplitude * cos(2*pi * (hourOfDay(t) - peakHour) / 24))   daily sine
 *
 *   value(t)    = max(0, round(expected(t) * (1 + noise * N(0, 1))))         seeded noise
 *
 * N(0, 1) is drawn with Box-Muller from mulberry32(seed), so a seed always gives the same series.
 */
export interface SyntheticLoadOptions {
  /** Hours to generate. */
  readonly hours: number;
  /** First hour (default Monday 2026-01-05T00:00:00Z). */
  readonly start?: Date;
  /** Mean tasks per hour before the trend (default 100). */
  readonly base?: number;
  /** Relative swing of the daily cycle, 0..1 (default 0.5: from 50% to 150% of the day's mean). */
  readonly dailyAmplitude?: number;
  /** UTC hour of the daily peak (default 14). */
  readonly peakHour?: number;
  /** Factors for Monday..Sunday (default weekdays 1, Friday 0.95, weekend 0.6 and 0.5). */
  readonly weekly?: readonly number[];
  /** Relative growth per week (default 0.02). */
  readonly trendPerWeek?: number;
  /** Standard deviation of the multiplicative noise (default 0.1). */
  readonly noise?: number;
  /** Seed of the noise (default 1). */
  readonly seed?: number;
}

export interface SyntheticLoad {
  readonly start: Date;
  /** Tasks in each hour, noise included. */
  readonly values: readonly number[];
  /** The noiseless expectation of each hour. */
  readonly expected: readonly number[];
}

export const DEFAULT_SYNTHETIC_START = new Date('2026-01-05T00:00:00Z');
const DEFAULT_WEEKLY = [1, 1, 1, 1, 0.95, 0.6, 0.5];

/** A small, fast, seeded PRNG (mulberry32), uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform source (Box-Muller). */
export function gaussian(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), Number.MIN_VALUE);
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** Hourly task counts following the documented formula. */
export function syntheticLoad(options: SyntheticLoadOptions): SyntheticLoad {
  const start = options.start ?? DEFAULT_SYNTHETIC_START;
  const base = options.base ?? 100;
  const amplitude = options.dailyAmplitude ?? 0.5;
  const peakHour = options.peakHour ?? 14;
  const weekly = options.weekly ?? DEFAULT_WEEKLY;
  const trend = options.trendPerWeek ?? 0.02;
  const noise = options.noise ?? 0.1;
  const normal = gaussian(mulberry32(options.seed ?? 1));
  const values: number[] = [];
  const expected: number[] = [];
  for (let t = 0; t < options.hours; t++) {
    const at = new Date(start.getTime() + t * HOUR_MS);
    const dayOfWeek = (at.getUTCDay() + 6) % 7; // Monday = 0
    const daily = 1 + amplitude * Math.cos((2 * Math.PI * (at.getUTCHours() - peakHour)) / 24);
    const e = base * (1 + (trend * t) / 168) * (weekly[dayOfWeek] ?? 1) * daily;
    expected.push(e);
    values.push(Math.max(0, Math.round(e * (1 + noise * normal()))));
  }
  return { start, values, expected };
}

export interface SyntheticEventsOptions {
  /** The pool every task claims (default 'gpu'). */
  readonly pool?: string;
  /** The provider of the one agent that takes every task (default 'acme'). */
  readonly provider?: string;
  /** Position of the first event (default 1). */
  readonly firstPosition?: bigint;
}

/**
 * The store events of a load: one agent registered at the start, then for every task of every
 * hour (spread evenly within it) TaskSubmitted claiming the pool, TaskReady, TaskAssigned and
 * TaskSucceeded a second later. Enough for the projection's demand series per pool and provider.
 */
export function syntheticEvents(load: SyntheticLoad, options: SyntheticEventsOptions = {}): AnalyticsEvent[] {
  const pool = options.pool ?? 'gpu';
  const provider = options.provider ?? 'acme';
  let position = options.firstPosition ?? 1n;
  const events: AnalyticsEvent[] = [];
  const push = (type: string, data: Record<string, unknown>, ms: number): void => {
    const occurredAt = rfc3339(new Date(ms));
    events.push({ type, data, occurredAt, globalPosition: position++, streamId: 's', correlationId: 's' });
  };
  const startMs = load.start.getTime();
  push(
    'AgentRegistered',
    {
      agentId: 'agent-1',
      name: 'agent-1',
      provider,
      model: 'm',
      capabilities: [],
      maxConcurrency: 1_000,
      cost: { per1kInputTokensUsd: 0, per1kOutputTokensUsd: 0 },
      labels: {},
      agentType: 'worker',
      registeredAt: rfc3339(new Date(startMs)),
    },
    startMs,
  );
  let task = 0;
  load.values.forEach((count, hour) => {
    for (let i = 0; i < count; i++) {
      const at = startMs + hour * HOUR_MS + Math.floor(((i + 0.5) * HOUR_MS) / count);
      const taskId = `t${++task}`;
      const iso = rfc3339(new Date(at));
      push(
        'TaskSubmitted',
        {
          sessionId: 's',
          taskId,
          spec: { key: taskId, type: 'work', claims: [{ pool, amount: 1 }] },
          role: 'work',
          submittedAt: iso,
        },
        at,
      );
      push('TaskReady', { sessionId: 's', taskId, readyAt: iso }, at);
      push('TaskAssigned', { sessionId: 's', taskId, agentId: 'agent-1', attempt: 1, assignedAt: iso }, at);
      const done = rfc3339(new Date(at + 1_000));
      push(
        'TaskSucceeded',
        {
          sessionId: 's',
          taskId,
          agentId: 'agent-1',
          attempt: 1,
          usage: { inputTokens: '100', outputTokens: '50', costUsd: 0.01 },
          completedAt: done,
        },
        at + 1_000,
      );
    }
  });
  return events;
}
