import { backoffDelay, deliverPolicyOf, planFilter, serverAtLeast, subjectMatches } from './consumer';

describe('backoffDelay', () => {
  it('picks the entry for the failed delivery and repeats the last one', () => {
    const schedule = [100, 500, 2_000];
    expect([1, 2, 3, 4, 10].map((n) => backoffDelay(schedule, n))).toEqual([100, 500, 2_000, 2_000, 2_000]);
  });
  it('treats a count below 1 as the first delivery and an empty schedule as no delay', () => {
    expect(backoffDelay([7, 9], 0)).toBe(7);
    expect(backoffDelay([], 3)).toBe(0);
  });
});

describe('subjectMatches', () => {
  it.each([
    ['events.*.AgentRegistered', 'events.coordination.AgentRegistered', true],
    ['events.*.AgentRegistered', 'events.coordination.AgentDeregistered', false],
    ['events.coordination.>', 'events.coordination.AgentRegistered', true],
    ['events.coordination.>', 'events.coordination', false],
    ['events.>', 'events.a.b.c', true],
    ['ns.events.*.X', 'events.a.X', false],
    ['events.a.X', 'events.a.X.Y', false],
  ])('%s ~ %s = %s', (pattern, subject, expected) => {
    expect(subjectMatches(pattern, subject)).toBe(expected);
  });
});

describe('planFilter', () => {
  it('filters on the whole event space when no subject is given', () => {
    expect(planFilter([], 'events.>', true)).toEqual({ filter_subject: 'events.>' });
  });
  it('uses one server-side filter for one subject, duplicates removed', () => {
    expect(planFilter(['events.*.A', 'events.*.A'], 'events.>', false)).toEqual({
      filter_subject: 'events.*.A',
    });
  });
  it('uses filter_subjects when the server supports several', () => {
    expect(planFilter(['events.*.A', 'events.*.B'], 'events.>', true)).toEqual({
      filter_subjects: ['events.*.A', 'events.*.B'],
    });
  });
  it('falls back to filtering on the client on older servers', () => {
    expect(planFilter(['events.*.A', 'events.*.B'], 'events.>', false)).toEqual({
      filter_subject: 'events.>',
      clientFilter: ['events.*.A', 'events.*.B'],
    });
  });
});

describe('serverAtLeast', () => {
  it('compares major and minor', () => {
    expect(serverAtLeast('2.10.0', 2, 10)).toBe(true);
    expect(serverAtLeast('2.9.10', 2, 10)).toBe(false);
    expect(serverAtLeast('3.0.1', 2, 10)).toBe(true);
    expect(serverAtLeast(undefined, 2, 10)).toBe(false);
  });
});

describe('deliverPolicyOf', () => {
  it('maps every start position', () => {
    expect(deliverPolicyOf('all')).toEqual({ deliver_policy: 'all' });
    expect(deliverPolicyOf('new')).toEqual({ deliver_policy: 'new' });
    expect(deliverPolicyOf({ streamSequence: 42 })).toEqual({
      deliver_policy: 'by_start_sequence',
      opt_start_seq: 42,
    });
    expect(deliverPolicyOf({ time: '2026-01-02T03:04:05Z' })).toEqual({
      deliver_policy: 'by_start_time',
      opt_start_time: '2026-01-02T03:04:05.000Z',
    });
  });
  it('rejects an invalid time', () => {
    expect(() => deliverPolicyOf({ time: 'yesterday-ish' })).toThrow(RangeError);
  });
});
