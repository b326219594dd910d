import fc from 'fast-check';
import { generateWorkload, MINUTE } from '../analytics.fixtures';
import type { AnalyticsEvent } from '../events';
import { insights } from '../insights/insights';
import { recommendations } from '../recommendations/recommendations';
import { metricsView } from '../views/metrics';
import { evolve } from './evolve';
import { restore, snapshot, type AnalyticsSnapshot } from './snapshot';
import { initialAnalyticsState, type AnalyticsOptions, type AnalyticsState } from './state';

/** What a checkpoint goes through: JSON text in a database row and back. */
const roundTrip = (s: AnalyticsState): AnalyticsState =>
  restore(JSON.parse(JSON.stringify(snapshot(s))) as AnalyticsSnapshot);
const json = (s: AnalyticsState): unknown => JSON.parse(JSON.stringify(snapshot(s)));

const foldFrom = (state: AnalyticsState, events: readonly AnalyticsEvent[]): AnalyticsState => {
  for (const e of events) evolve(state, e);
  return state;
};

/** Views compared without `events.duplicates`, which counts redeliveries since the last restore. */
const views = (s: AnalyticsState) => {
  const now = new Date(Math.max(0, s.clock));
  const { events, ...metrics } = metricsView(s, { window: 120 });
  return {
    metrics,
    events: { ...events, duplicates: 0 },
    insights: insights(s, now),
    recommendations: recommendations(s, now),
  };
};

const workloads = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  sessions: fc.integer({ min: 1, max: 6 }),
  tasksPerSession: fc.integer({ min: 1, max: 8 }),
  // Sessions far apart make the history span hours, so retention and hourly buckets come into play.
  sessionGapMs: fc.constantFrom(20_000, 25 * MINUTE),
});

const optionSets = fc.constantFrom<Partial<AnalyticsOptions>>(
  {},
  { minuteRetention: 15, hourRetention: 3, recentHours: 2, maxClosedSessions: 2 },
);

describe('rebuilding the projection from zero', () => {
  it('equals folding incrementally through snapshots taken at random points', () => {
    fc.assert(
      fc.property(
        workloads,
        optionSets,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
        (w, options, cutShares) => {
          const events = generateWorkload({ ...w, noise: true });
          const whole = foldFrom(initialAnalyticsState(options), events);

          const cuts = [...new Set(cutShares.map((c) => Math.floor(c * events.length)))].sort(
            (a, b) => a - b,
          );
          let state = initialAnalyticsState(options);
          let from = 0;
          for (const cut of [...cuts, events.length]) {
            foldFrom(state, events.slice(from, cut));
            state = roundTrip(state);
            from = cut;
          }
          expect(json(state)).toEqual(json(whole));
          expect(views(state)).toEqual(views(whole));
        },
      ),
      { numRuns: 40 },
    );
  });

  it('gives the same state when the log is delivered again from a restored snapshot', () => {
    fc.assert(
      fc.property(
        workloads,
        optionSets,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (w, options, cutShare) => {
          const events = generateWorkload({ ...w, noise: true });
          const whole = foldFrom(initialAnalyticsState(options), events);
          const cut = Math.floor(cutShare * events.length);
          const restored = roundTrip(foldFrom(initialAnalyticsState(options), events.slice(0, cut)));
          // Redelivery: everything from the start, twice.
          foldFrom(restored, events);
          foldFrom(restored, events);
          expect(restored.duplicates).toBe(cut + events.length);
          expect(json(restored)).toEqual(json(whole));
          expect(views(restored)).toEqual(views(whole));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('snapshots a state the same way after a restore', () => {
    const events = generateWorkload({ seed: 7, sessions: 5, tasksPerSession: 6, noise: true });
    const state = foldFrom(initialAnalyticsState(), events);
    expect(json(roundTrip(state))).toEqual(json(state));
    expect(snapshot(initialAnalyticsState()).position).toBeNull();
    expect(roundTrip(state).position).toBe(events[events.length - 1]!.globalPosition);
  });

  it('refuses a snapshot of another version', () => {
    const snap = { ...snapshot(initialAnalyticsState()), version: 2 } as unknown as AnalyticsSnapshot;
    expect(() => restore(snap)).toThrow(/version/);
  });
});
