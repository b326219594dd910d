import fc from 'fast-check';
import { parseLockName, type LockMode } from './lock-name';
import { LockIndex, lockBlockers, type LockHold } from './lock-index';
import { lockNames } from './lock-name.fixtures';

const hold = (holder: string, raw: string, mode: LockMode = 'exclusive'): LockHold => ({
  holder,
  name: parseLockName(raw),
  mode,
});

describe('lockBlockers', () => {
  const holds = [
    hold('t1', 'repo:acme/api:src/auth/**'),
    hold('t2', 'repo:acme/api:docs', 'shared'),
    hold('t3', 'repo:acme/web'),
    hold('t1', 'repo:acme/api:docs', 'shared'),
    hold('t4', 'db:acme/api'),
  ];

  it('lists holders whose overlapping holds are exclusive or meet an exclusive request, in hold order', () => {
    expect(lockBlockers(holds, parseLockName('repo:acme/api'), 'exclusive', 'tx')).toEqual(['t1', 't2']);
    expect(lockBlockers(holds, parseLockName('repo:acme/*'), 'shared', 'tx')).toEqual(['t1', 't3']);
    expect(lockBlockers(holds, parseLockName('repo:acme/api:docs/readme.md'), 'shared', 'tx')).toEqual([]);
  });

  it("never counts the requester's own holds", () => {
    expect(lockBlockers(holds, parseLockName('repo:acme/api'), 'exclusive', 't1')).toEqual(['t2']);
  });
});

describe('LockIndex', () => {
  it('answers like lockBlockers and leaves earlier versions unchanged', () => {
    const before = LockIndex.empty()
      .add(hold('t1', 'repo:acme/api:src/**'))
      .add(hold('t2', 'repo:acme/web', 'shared'));
    const after = before.add(hold('t3', 'repo:acme/*')).removeHolder('t1');
    const query = parseLockName('repo:acme/api:src/x.ts');
    expect(before.blockers(query, 'shared', 'tx')).toEqual(['t1']);
    expect(after.blockers(query, 'shared', 'tx')).toEqual(['t3']);
    expect(before.size).toBe(2);
    expect(after.size).toBe(2);
    expect(after.holds().map((h) => h.holder)).toEqual(['t2', 't3']);
    expect(after.holdsOf('t1')).toEqual([]);
  });

  it('keeps one hold when a holder adds the same name and mode twice', () => {
    const index = LockIndex.empty().add(hold('t1', 'repo:a/b')).add(hold('t1', 'repo:a:b'));
    expect(index.size).toBe(1);
    expect(index.add(hold('t1', 'repo:a/b', 'shared')).size).toBe(2);
  });

  it('returns itself when removing a holder with no holds', () => {
    const index = LockIndex.empty().add(hold('t1', 'repo:a'));
    expect(index.removeHolder('t9')).toBe(index);
  });

  // Random histories of adds and removals over a small vocabulary, so that names collide often.
  const names = lockNames({
    namespaces: ['a', 'b'],
    letters: ['x', 'y'],
    maxTokens: 2,
    maxOrdinary: 3,
    maxGlobstars: 1,
  });
  const holders = fc.constantFrom('h0', 'h1', 'h2', 'h3', 'h4');
  const modes = fc.constantFrom<LockMode>('exclusive', 'shared');
  const steps = fc.array(
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({ op: fc.constant('add' as const), holder: holders, name: names, mode: modes }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), holder: holders }) },
    ),
    { maxLength: 40 },
  );
  const queries = fc.array(
    fc.record({ name: names, mode: modes, requester: fc.constantFrom('h0', 'h1', 'other') }),
    {
      minLength: 1,
      maxLength: 10,
    },
  );

  it('gives exactly the blockers lockBlockers finds in the same holds, in every version', () => {
    fc.assert(
      fc.property(steps, queries, (history, asked) => {
        let index = LockIndex.empty();
        let model: LockHold[] = [];
        const versions: { index: LockIndex; model: LockHold[] }[] = [];
        for (const step of history) {
          if (step.op === 'add') {
            const h: LockHold = { holder: step.holder, name: step.name, mode: step.mode };
            const duplicate = model.some(
              (m) =>
                m.holder === h.holder &&
                m.mode === h.mode &&
                m.name.namespace === h.name.namespace &&
                m.name.segments.join('/') === h.name.segments.join('/'),
            );
            if (!duplicate) model = [...model, h];
            index = index.add(h);
          } else {
            model = model.filter((m) => m.holder !== step.holder);
            index = index.removeHolder(step.holder);
          }
          versions.push({ index, model });
        }
        for (const v of versions) {
          expect(v.index.holds()).toEqual(v.model);
          expect(v.index.size).toBe(v.model.length);
          for (const q of asked)
            expect(v.index.blockers(q.name, q.mode, q.requester)).toEqual(
              lockBlockers(v.model, q.name, q.mode, q.requester),
            );
        }
      }),
      { numRuns: 300 },
    );
  });
});
