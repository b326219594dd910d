import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { AnalyticsDocumentSchema, RebuildResultSchema } from '@orch/contracts';
import {
  lastMinuteRate,
  minutePoints,
  toDocumentResponse,
  toMetricsSummary,
  toRebuildResponse,
} from './analytics.mapping';
import type { DocumentResponse } from './analytics.schemas';

const MINUTE = 60_000;
const t0 = Date.parse('2026-03-01T14:00:00Z');

describe('toDocumentResponse', () => {
  it('puts the view under data, the position as a decimal string and the time as RFC 3339', () => {
    const doc = create(AnalyticsDocumentSchema, {
      body: { totals: { successRate: 0.5 }, position: '12' },
      position: 9_007_199_254_740_993n,
      at: timestampFromDate(new Date('2026-03-01T14:00:30.250Z')),
    });
    expect(toDocumentResponse(doc)).toEqual({
      position: '9007199254740993',
      at: '2026-03-01T14:00:30.250Z',
      // The view's own `position` stays inside data: nothing of the body is spread over the envelope.
      data: { totals: { successRate: 0.5 }, position: '12' },
    });
  });

  it('answers an empty view and a null time when the service sent neither', () => {
    expect(toDocumentResponse(create(AnalyticsDocumentSchema, {}))).toEqual({
      position: '0',
      at: null,
      data: {},
    });
  });
});

describe('toRebuildResponse', () => {
  it('gives counts as numbers and the position as a string', () => {
    const r = create(RebuildResultSchema, {
      events: 42n,
      position: 18_446_744_073_709_551_615n,
      durationMs: 1_234n,
    });
    expect(toRebuildResponse(r)).toEqual({ events: 42, position: '18446744073709551615', durationMs: 1_234 });
  });
});

describe('lastMinuteRate', () => {
  const point = (minute: number, finished: number) => ({ start: t0 + minute * MINUTE, finished, costUsd: 0 });

  it('counts the minute in progress whole and the share of the previous minute still in the window', () => {
    // 15 s into minute 1: the last 60 s hold all of minute 1 and the last 45 s of minute 0.
    const now = t0 + MINUTE + 15_000;
    expect(lastMinuteRate([point(0, 120), point(1, 30)], now)).toBeCloseTo((30 + 120 * 0.75) / 60, 3);
  });

  it('is 0 when nothing finished in the last minute, however busy earlier minutes were', () => {
    expect(lastMinuteRate([point(0, 600), point(1, 0), point(2, 0)], t0 + 3 * MINUTE)).toBe(0);
    expect(lastMinuteRate([point(0, 600)], t0 + 10 * MINUTE)).toBe(0);
    expect(lastMinuteRate([], t0)).toBe(0);
  });

  it('moves the window up to the newest minute when the clock is behind the service', () => {
    // 5 s "before" minute 1 began: its 6 count too, with (almost) all of minute 0.
    expect(lastMinuteRate([point(0, 60), point(1, 6)], t0 + MINUTE - 5_000)).toBeCloseTo(66 / 60, 2);
  });
});

describe('minutePoints', () => {
  it('reads succeeded + failed and the cost, leaving out points without a time', () => {
    expect(
      minutePoints({
        points: [
          { at: '2026-03-01T14:00:00Z', succeeded: 3, failed: 1, costUsd: 0.5 },
          { at: 'yesterday', succeeded: 9 },
          { succeeded: 9 },
          'nonsense',
          { at: '2026-03-01T14:01:00Z' },
        ],
      }),
    ).toEqual([
      { start: t0, finished: 4, costUsd: 0.5 },
      { start: t0 + MINUTE, finished: 0, costUsd: 0 },
    ]);
    expect(minutePoints({})).toEqual([]);
  });
});

describe('toMetricsSummary', () => {
  const entity = {
    successRate: 0.8,
    queueWaitMs: { count: 10, mean: 20, p50: 12, p90: 40, p99: 95, max: 120 },
    runTimeMs: { count: 10, mean: 900, p50: 800, p90: 1500, p99: 2400, max: 2600 },
    costUsd: 9.99,
  };
  const doc = (
    data: Record<string, unknown>,
    at: string | null = '2026-03-01T14:01:30Z',
  ): DocumentResponse => ({
    position: '77',
    at,
    data,
  });

  it("summarises the system: the last minute's rate, the totals' rate and percentiles, the window's cost", () => {
    const summary = toMetricsSummary(
      doc({
        totals: entity,
        series: {
          windowMinutes: 60,
          points: [
            { at: '2026-03-01T14:00:00Z', succeeded: 50, failed: 10, costUsd: 0.25 },
            { at: '2026-03-01T14:01:00Z', succeeded: 20, failed: 4, costUsd: 0.125 },
          ],
        },
      }),
      undefined,
      new Date(0),
    );
    expect(summary).toEqual({
      position: '77',
      at: '2026-03-01T14:01:30Z',
      sessionId: null,
      windowMinutes: 60,
      // The document's time is "now": minute 14:01 whole, half of 14:00.
      tasksPerSecond: Math.round(((24 + 60 / 2) / 60) * 1000) / 1000,
      successRate: 0.8,
      queueWaitMs: { p50: 12, p99: 95 },
      runTimeMs: { p50: 800, p99: 2400 },
      costUsd: 0.375,
    });
  });

  it("takes a session's figures from `session`: no rate, the session's cost", () => {
    const summary = toMetricsSummary(doc({ session: entity }), 'a-session', new Date(0));
    expect(summary).toMatchObject({
      sessionId: 'a-session',
      windowMinutes: null,
      tasksPerSecond: null,
      successRate: 0.8,
      queueWaitMs: { p50: 12, p99: 95 },
      costUsd: 9.99,
    });
  });

  it('uses its own clock when the document has no time', () => {
    const data = { series: { points: [{ at: '2026-03-01T14:00:00Z', succeeded: 60, failed: 0 }] } };
    expect(toMetricsSummary(doc(data, null), undefined, new Date(t0 + 30_000)).tasksPerSecond).toBe(1);
    expect(toMetricsSummary(doc(data, null), undefined, new Date(t0 + 5 * MINUTE)).tasksPerSecond).toBe(0);
  });

  it('answers nulls for what the document lacks or gets wrong, never throws', () => {
    expect(
      toMetricsSummary(
        doc({ totals: { successRate: 'high', queueWaitMs: { p50: 1 }, runTimeMs: null } }),
        undefined,
        new Date(0),
      ),
    ).toEqual({
      position: '77',
      at: '2026-03-01T14:01:30Z',
      sessionId: null,
      windowMinutes: null,
      tasksPerSecond: null,
      successRate: null,
      queueWaitMs: null,
      runTimeMs: null,
      costUsd: 0,
    });
  });
});
