import fc from 'fast-check';
import {
  ConflictIndex,
  evolveConflict,
  finalResolution,
  sortKeyOf,
  type ConflictEvent,
  type ConflictRecord,
  type DetectedConflict,
  type OpenConflict,
} from './conflict-records';

const T0 = Date.parse('2025-03-01T10:00:00Z');
const at = (s: number) => new Date(T0 + s * 1000);

const detected = (
  conflictId: string,
  second: number,
  more: Partial<Extract<ConflictEvent, { type: 'ConflictDetected' }>> = {},
): ConflictEvent => ({
  type: 'ConflictDetected',
  conflictId,
  kind: 'lock',
  resource: 'repo:acme/api:src/**',
  allocationId: `w-${conflictId}#1`,
  parties: [
    { taskId: `w-${conflictId}`, attempt: 1, priority: 5, role: 'waiter' },
    { taskId: `h-${conflictId}`, attempt: 2, priority: 1, role: 'holder' },
  ],
  policy: 'manual',
  since: at(second - 1),
  detectedAt: at(second),
  ...more,
});

const resolved = (
  conflictId: string,
  second: number,
  more: Partial<Extract<ConflictEvent, { type: 'ConflictResolved' }>> = {},
): ConflictEvent => ({
  type: 'ConflictResolved',
  conflictId,
  resolution: 'granted',
  winner: `w-${conflictId}`,
  strategy: '',
  reason: 'the holder released the lock',
  resolvedAt: at(second),
  ...more,
});

const accepted = (conflictId: string, second: number): ConflictEvent => ({
  type: 'ResolutionAccepted',
  conflictId,
  resolution: 'preempted',
  winner: `w-${conflictId}`,
  strategy: 'preempt',
  reason: 'an operator resolved it',
  resolvedAt: at(second),
});

const fold = (events: readonly ConflictEvent[], record?: ConflictRecord) =>
  events.reduce<ConflictRecord | undefined>((r, e) => evolveConflict(r, e), record);

describe('evolveConflict', () => {
  describe('a conflict not seen yet', () => {
    it('opens on its detection', () => {
      const record = fold([detected('c1', 10)]);
      expect(record).toEqual({
        status: 'open',
        conflictId: 'c1',
        detection: expect.objectContaining({ kind: 'lock', policy: 'manual', detectedAt: at(10) }),
      });
    });

    it('keeps a resolution that comes before its detection, and merges the detection into it', () => {
      const early = fold([resolved('c1', 20)]);
      expect(early).toMatchObject({ status: 'undetected', resolution: { resolution: 'granted' } });
      expect(fold([detected('c1', 10)], early)).toMatchObject({
        status: 'resolved',
        detection: { detectedAt: at(10) },
        resolution: { resolution: 'granted', resolvedAt: at(20), provisional: false },
      });
    });
  });

  describe('an open conflict', () => {
    const open = fold([detected('c1', 10)]) as OpenConflict;

    it('is resolved by ConflictResolved with its resolution, winner, strategy, reason and time', () => {
      const record = fold(
        [resolved('c1', 30, { resolution: 'manual', strategy: 'queue', winner: '' })],
        open,
      );
      expect(record).toEqual({
        status: 'resolved',
        conflictId: 'c1',
        detection: open.detection,
        resolution: {
          resolution: 'manual',
          winner: '',
          strategy: 'queue',
          reason: 'the holder released the lock',
          resolvedAt: at(30),
          provisional: false,
        },
      });
    });

    it('is unchanged by its detection seen again, even with other content', () => {
      expect(evolveConflict(open, detected('c1', 10))).toBe(open);
      expect(evolveConflict(open, detected('c1', 99, { policy: 'queue' }))).toBe(open);
    });

    it('is resolved provisionally by the allocator reply to an operator', () => {
      expect(evolveConflict(open, accepted('c1', 15))).toMatchObject({
        status: 'resolved',
        resolution: { strategy: 'preempt', provisional: true },
      });
    });
  });

  describe('a resolved conflict', () => {
    const done = fold([detected('c1', 10), resolved('c1', 30)])!;

    it('is unchanged by its resolution or its detection seen again', () => {
      expect(evolveConflict(done, resolved('c1', 30))).toBe(done);
      expect(evolveConflict(done, resolved('c1', 40, { resolution: 'aborted' }))).toBe(done);
      expect(evolveConflict(done, detected('c1', 10))).toBe(done);
    });

    it('is unchanged by a late reply to an operator (the event came first)', () => {
      expect(evolveConflict(done, accepted('c1', 31))).toBe(done);
    });

    it('takes the event over a provisional resolution, once', () => {
      const provisional = fold([detected('c1', 10), accepted('c1', 29)])!;
      const final = evolveConflict(provisional, resolved('c1', 30, { reason: 'an operator preempted h-c1' }));
      expect(final).toMatchObject({
        status: 'resolved',
        resolution: { reason: 'an operator preempted h-c1', resolvedAt: at(30), provisional: false },
      });
      expect(evolveConflict(final, accepted('c1', 31))).toBe(final);
      expect(finalResolution(provisional)).toBeUndefined();
      expect(finalResolution(final)?.reason).toBe('an operator preempted h-c1');
    });
  });

  it('gives the same records whatever the order and repetition of the events (property)', () => {
    const ids = ['a', 'b', 'c', 'd'];
    const events = ids.flatMap((id, i) => [detected(id, i), resolved(id, 10 + i)]);
    const canonical = new Map(ids.map((id) => [id, fold(events.filter((e) => e.conflictId === id))]));
    fc.assert(
      fc.property(
        fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
        fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 10 }),
        (shuffled, repeats) => {
          const stream = [...shuffled];
          for (const r of repeats) stream.splice(r, 0, events[r]!);
          for (const id of ids) {
            expect(fold(stream.filter((e) => e.conflictId === id))).toEqual(canonical.get(id));
          }
        },
      ),
    );
  });
});

describe('ConflictIndex', () => {
  const book = (events: readonly ConflictEvent[], keepResolved = 100) => {
    const index = new ConflictIndex({ keepResolved });
    for (const e of events) index.apply(e);
    return index;
  };
  const ids = (index: ConflictIndex, query: Parameters<ConflictIndex['page']>[0]) =>
    index.page(query).items.map((r) => r.conflictId);

  it('lists newest detection first, then by id, whatever order they arrived in', () => {
    const index = book([detected('b', 20), detected('x', 10), detected('a', 20), detected('c', 30)]);
    expect(ids(index, { limit: 10 })).toEqual(['c', 'a', 'b', 'x']);
  });

  it('pages with the key of the last item, to the end, with no page left empty', () => {
    const index = book(Array.from({ length: 7 }, (_, i) => detected(`c${i}`, i)));
    const first = index.page({ limit: 3 });
    expect(first.items.map((r) => r.conflictId)).toEqual(['c6', 'c5', 'c4']);
    expect(first.next).toEqual(sortKeyOf(first.items[2]!));
    const second = index.page({ limit: 3, after: first.next! });
    expect(second.items.map((r) => r.conflictId)).toEqual(['c3', 'c2', 'c1']);
    const last = index.page({ limit: 3, after: second.next! });
    expect(last.items.map((r) => r.conflictId)).toEqual(['c0']);
    expect(last.next).toBeUndefined();
    expect(index.page({ limit: 7 }).next).toBeUndefined();
  });

  it('keeps paging from the same place when conflicts are added or dropped meanwhile', () => {
    const index = book([detected('a', 1), detected('b', 2), detected('c', 3)]);
    const first = index.page({ limit: 1 });
    index.apply(detected('new', 4));
    expect(ids(index, { limit: 5, after: first.next! })).toEqual(['b', 'a']);

    const bounded = book([detected('a', 1), detected('b', 2), detected('c', 3)], 0);
    const top = bounded.page({ limit: 1 });
    bounded.apply(resolved('c', 5)); // dropped: the cursor's own conflict is gone
    bounded.apply(resolved('b', 5));
    expect(ids(bounded, { limit: 5, after: top.next! })).toEqual(['a']);
  });

  it('filters by status, and says there is more only when a matching conflict follows', () => {
    const index = book([
      detected('a', 1),
      detected('b', 2),
      resolved('b', 5),
      detected('c', 3),
      detected('d', 4),
      resolved('d', 6),
    ]);
    expect(ids(index, { limit: 10, status: 'open' })).toEqual(['c', 'a']);
    expect(ids(index, { limit: 10, status: 'resolved' })).toEqual(['d', 'b']);
    const page = index.page({ limit: 1, status: 'resolved' });
    expect(page.next).toBeDefined();
    expect(index.page({ limit: 1, status: 'resolved', after: page.next! }).next).toBeUndefined();
  });

  it('does not list a resolution whose detection it has not seen, until the detection comes', () => {
    const index = book([resolved('early', 9)]);
    expect(index.get('early')?.status).toBe('undetected');
    expect(ids(index, { limit: 10 })).toEqual([]);
    index.apply(detected('early', 3));
    expect(index.page({ limit: 10 }).items).toEqual([index.get('early')]);
  });

  it('reports what each event changed, and nothing for a repeat', () => {
    const index = book([]);
    const opened = index.apply(detected('a', 1));
    expect(opened).toMatchObject({ before: undefined, after: { status: 'open' }, changed: true });
    expect(index.apply(detected('a', 1))).toMatchObject({
      before: opened.after,
      after: opened.after,
      changed: false,
    });
  });

  it('counts open conflicts by kind and policy', () => {
    const index = book([
      detected('a', 1),
      detected('b', 2),
      detected('c', 3, { kind: 'pool', policy: 'queue' }),
      resolved('a', 4),
      detected('b', 2),
    ]);
    expect(index.openCounts()).toEqual(
      expect.arrayContaining([
        { kind: 'lock', policy: 'manual', count: 1 },
        { kind: 'pool', policy: 'queue', count: 1 },
      ]),
    );
    index.apply(resolved('b', 5));
    index.apply(resolved('c', 5));
    expect(index.openCounts()).toEqual([]);
  });

  it('drops the least recently resolved conflicts beyond the bound, never open ones', () => {
    const index = book(
      [
        detected('old-open', 0),
        detected('a', 1),
        detected('b', 2),
        detected('c', 3),
        resolved('b', 10), // resolved first: dropped first, though detected after a
        resolved('a', 11),
        resolved('c', 12),
      ],
      2,
    );
    expect(index.get('b')).toBeUndefined();
    expect(ids(index, { limit: 10 })).toEqual(['c', 'a', 'old-open']);
    expect(index.size).toBe(3);
    index.apply(resolved('old-open', 13));
    expect(ids(index, { limit: 10 })).toEqual(['c', 'old-open']);
  });

  it('keeps no resolved conflict with a bound of 0 but still says how it ended', () => {
    const index = book([detected('a', 1)], 0);
    const change = index.apply(resolved('a', 2));
    expect(change.after).toMatchObject({ status: 'resolved', resolution: { resolution: 'granted' } });
    expect(index.get('a')).toBeUndefined();
    expect(index.page({ limit: 10 }).items).toEqual([]);
  });

  it('lists exactly what a sort of the folded records gives, for any arrival order (property)', () => {
    const event = fc.oneof(
      fc
        .record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), s: fc.nat(5) })
        .map(({ id, s }) => detected(id, s)),
      fc
        .record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), s: fc.nat(5) })
        .map(({ id, s }) => resolved(id, s)),
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 30 }), fc.integer({ min: 1, max: 4 }), (events, limit) => {
        const index = book(events);
        const records = new Map<string, ConflictRecord | undefined>();
        for (const e of events) records.set(e.conflictId, evolveConflict(records.get(e.conflictId), e));
        const expected = [...records.values()]
          .filter((r): r is DetectedConflict => r !== undefined && r.status !== 'undetected')
          .sort((x, y) => {
            const [kx, ky] = [sortKeyOf(x), sortKeyOf(y)];
            return ky.at - kx.at || (kx.id < ky.id ? -1 : 1);
          })
          .map((r) => r.conflictId);
        const listed: string[] = [];
        let page = index.page({ limit });
        listed.push(...page.items.map((r) => r.conflictId));
        while (page.next) {
          page = index.page({ limit, after: page.next });
          expect(page.items.length).toBeGreaterThan(0);
          listed.push(...page.items.map((r) => r.conflictId));
        }
        expect(listed).toEqual(expected);
      }),
    );
  });
});
