import { CONFLICT_POLICIES, decideContention, isConflictPolicy } from './contention';
import type { Contender } from './priority';

const c = (id: string, priority: number, since: number): Contender => ({ id, priority, since });

describe('decideContention', () => {
  const requester = c('req', 5, 2_000);

  describe('queue', () => {
    it('waits, naming the holders', () => {
      const outcome = decideContention('queue', requester, [c('h1', 1, 1_000)]);
      expect(outcome).toEqual({ kind: 'wait', reason: 'req waits in priority order for h1' });
    });
  });

  describe('preempt', () => {
    it('preempts every holder when all have a strictly lower priority', () => {
      const outcome = decideContention('preempt', requester, [c('h1', 4, 1_000), c('h2', 0, 3_000)]);
      expect(outcome).toMatchObject({ kind: 'preempt', victims: ['h1', 'h2'] });
      expect(outcome.reason).toBe(
        'req (priority 5) preempts lower-priority h1 (priority 4), h2 (priority 0)',
      );
    });

    it('waits when one holder has an equal priority', () => {
      const outcome = decideContention('preempt', requester, [c('h1', 1, 1_000), c('h2', 5, 3_000)]);
      expect(outcome).toEqual({
        kind: 'wait',
        reason: 'req (priority 5) waits: h2 (priority 5) has no lower priority',
      });
    });

    it('waits when a holder has a higher priority', () => {
      expect(decideContention('preempt', requester, [c('h1', 9, 1_000)]).kind).toBe('wait');
    });
  });

  describe('wait-die', () => {
    it('lets a requester older than every holder wait', () => {
      const outcome = decideContention('wait-die', requester, [c('h1', 9, 3_000), c('h2', 0, 4_000)]);
      expect(outcome).toEqual({ kind: 'wait', reason: 'req is older than h1, h2 and waits (wait-die)' });
    });

    it('makes a requester younger than some holder die, whatever the priorities', () => {
      const outcome = decideContention('wait-die', requester, [c('h1', 0, 3_000), c('h2', 0, 1_000)]);
      expect(outcome).toEqual({
        kind: 'die',
        reason: 'req is younger than h2 and gives up, to be retried later (wait-die)',
      });
    });

    it('breaks a tie in age by id', () => {
      expect(decideContention('wait-die', c('a', 0, 1_000), [c('b', 0, 1_000)]).kind).toBe('wait');
      expect(decideContention('wait-die', c('b', 0, 1_000), [c('a', 0, 1_000)]).kind).toBe('die');
    });
  });

  describe('wound-wait', () => {
    it('preempts (wounds) every holder younger than the requester', () => {
      const outcome = decideContention('wound-wait', requester, [c('h1', 9, 3_000), c('h2', 9, 4_000)]);
      expect(outcome).toEqual({
        kind: 'preempt',
        victims: ['h1', 'h2'],
        reason: 'req is older than h1, h2 and preempts them (wound-wait)',
      });
    });

    it('waits when every holder is older', () => {
      const outcome = decideContention('wound-wait', requester, [c('h1', 0, 1_000)]);
      expect(outcome).toEqual({ kind: 'wait', reason: 'req is younger than h1 and waits (wound-wait)' });
    });

    it('wounds only the younger holders and waits for the older ones', () => {
      const outcome = decideContention('wound-wait', requester, [c('old', 0, 1_000), c('young', 0, 3_000)]);
      expect(outcome).toEqual({
        kind: 'preempt',
        victims: ['young'],
        reason: 'req is older than young and preempts it, and waits for older old (wound-wait)',
      });
    });
  });

  describe('manual', () => {
    it('leaves the decision to an operator', () => {
      const outcome = decideContention('manual', requester, [c('h1', 0, 3_000)]);
      expect(outcome).toEqual({ kind: 'manual', reason: 'req is blocked by h1; an operator decides' });
    });
  });

  it('waits under every automatic policy when nobody holds what blocks the request', () => {
    for (const policy of CONFLICT_POLICIES.filter((p) => p !== 'manual'))
      expect(decideContention(policy, requester, [])).toEqual({
        kind: 'wait',
        reason: 'req waits for free capacity',
      });
    expect(decideContention('manual', requester, []).kind).toBe('manual');
  });
});

describe('isConflictPolicy', () => {
  it('recognises exactly the policies', () => {
    for (const p of CONFLICT_POLICIES) expect(isConflictPolicy(p)).toBe(true);
    for (const p of ['fifo', '', 'QUEUE', undefined, 3]) expect(isConflictPolicy(p)).toBe(false);
  });
});
