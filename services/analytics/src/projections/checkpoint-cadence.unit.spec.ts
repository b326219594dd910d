import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { CheckpointCadence } from './checkpoint-cadence';

const T0 = 1_000_000;

describe('a checkpoint cadence', () => {
  it('is not due while no event was applied, however long ago the last checkpoint was', () => {
    const c = new CheckpointCadence(5, 100, T0);
    expect(c.due(T0 + 1_000_000)).toBe(false);
    expect(c.msUntilDue(T0)).toBeUndefined();
  });

  it('is due after N events, before the interval', () => {
    const c = new CheckpointCadence(5, 100, T0);
    c.applied(4);
    expect(c.due(T0 + 1)).toBe(false);
    c.applied();
    expect(c.due(T0 + 1)).toBe(true);
  });

  it('is due once the interval passed with fewer than N events, and says when', () => {
    const c = new CheckpointCadence(5, 100, T0);
    c.applied();
    expect(c.msUntilDue(T0 + 30)).toBe(70);
    expect(c.due(T0 + 99)).toBe(false);
    expect(c.due(T0 + 100)).toBe(true);
  });

  it('starts counting again from a checkpoint taken, which holds the events applied', () => {
    const c = new CheckpointCadence(5, 100, T0);
    c.applied(7);
    expect(c.taken(T0 + 10)).toBe(7);
    expect(c.unsaved).toBe(0);
    c.applied();
    expect(c.due(T0 + 109)).toBe(false);
    expect(c.due(T0 + 110)).toBe(true);
  });

  it('after a failed write keeps the events and waits an interval before trying again', () => {
    const c = new CheckpointCadence(5, 100, T0);
    c.applied(5);
    const n = c.taken(T0);
    c.applied(10);
    c.failed(n, T0 + 20);
    expect(c.unsaved).toBe(15);
    expect(c.due(T0 + 50)).toBe(false);
    expect(c.msUntilDue(T0 + 50)).toBe(70);
    expect(c.due(T0 + 120)).toBe(true);
  });

  it('is never due without events, and always due within N events or T ms of them (any sequence)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.array(
          fc.record({ events: fc.integer({ min: 0, max: 20 }), ms: fc.integer({ min: 0, max: 5_000 }) }),
        ),
        (every, interval, steps) => {
          const c = new CheckpointCadence(every, interval, 0);
          let now = 0;
          let last = 0;
          for (const step of steps) {
            now += step.ms;
            c.applied(step.events);
            const due = c.due(now);
            if (c.unsaved === 0) expect(due).toBe(false);
            if (c.unsaved >= every || (c.unsaved > 0 && now - last >= interval)) expect(due).toBe(true);
            if (due) {
              c.taken(now);
              last = now;
            }
          }
        },
      ),
    );
  });
});
