import { earliestAttempt, releasedBy, slotTaskIds, withSlot, withoutSlot } from './task-slots';

const slot = (taskId: string, attempt: number) => ({ taskId, attempt });

describe('task slots', () => {
  it('an assignment of another attempt adds a slot; a repeat of the same attempt does not', () => {
    const slots = withSlot([slot('t1', 1)], 't1', 2);
    expect(slots).toEqual([slot('t1', 1), slot('t1', 2)]);
    expect(withSlot(slots, 't1', 2)).toBe(slots);
    expect(withSlot(slots, 't1', 0)).toBe(slots);
  });

  it('a release gives back its attempt, slots without an attempt, or every slot of the task for 0', () => {
    const slots = [slot('t1', 0), slot('t1', 1), slot('t1', 2), slot('t2', 1)];
    expect(withoutSlot(slots, 't1', 2)).toEqual([slot('t1', 1), slot('t2', 1)]);
    expect(withoutSlot(slots, 't1', 0)).toEqual([slot('t2', 1)]);
    expect(withoutSlot(slots, 't3', 1)).toEqual(slots);
    expect(releasedBy(slot('t1', 2), 't1', 1)).toBe(false);
  });

  it('the earliest attempt held prefers a named attempt to a slot without one', () => {
    expect(earliestAttempt([slot('t1', 3), slot('t1', 0), slot('t1', 2), slot('t2', 1)], 't1')).toBe(2);
    expect(earliestAttempt([slot('t1', 0)], 't1')).toBe(0);
    expect(earliestAttempt([slot('t2', 1)], 't1')).toBeUndefined();
  });

  it('names each task once', () => {
    expect(slotTaskIds([slot('t1', 1), slot('t2', 1), slot('t1', 2)])).toEqual(['t1', 't2']);
  });
});
