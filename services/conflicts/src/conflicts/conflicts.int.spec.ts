import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ConflictView } from '@orch/contracts';
import { IllegalStateError, NotFoundError, ValidationError } from '@orch/domain-kit';
import type { RemoteDomainError } from '@orch/messaging';
import { eventually } from '@orch/testing';
import type { ConflictsService } from '../app';
import { TestConflicts } from '../testing/harness';

const minutesAgo = (m: number) => timestampFromDate(new Date(Date.now() - m * 60_000));
const parties = (n: string) => [
  { taskId: `t-w${n}`, attempt: 1, priority: 5, role: 'waiter' },
  { taskId: `t-h${n}`, attempt: 2, priority: 1, role: 'holder' },
];
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => e as RemoteDomainError,
  );
const ids = (views: readonly ConflictView[]) => views.map((v) => v.conflictId);

/** The value of a series in the Prometheus text, by name and labels. */
async function series(service: ConflictsService, name: string, labels: Record<string, string> = {}) {
  const text = await (await fetch(`${service.ops.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
    );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the conflict desk', () => {
  let t: TestConflicts;
  let service: ConflictsService;

  beforeAll(async () => {
    t = await TestConflicts.create();
    // History written by the allocator before the desk starts.
    await t.detected({ conflictId: 'c-1', allocationId: 't-w1#1', parties: parties('1'), at: minutesAgo(3) });
    await t.detected({
      conflictId: 'c-2',
      kind: 'pool',
      resource: 'gpu',
      policy: 'queue',
      allocationId: 't-w2#1',
      parties: parties('2'),
      since: minutesAgo(2.5),
      at: minutesAgo(2),
    });
    await t.detected({ conflictId: 'c-3', allocationId: 't-w3#1', parties: parties('3'), at: minutesAgo(1) });
    await t.resolved({
      conflictId: 'c-3',
      resolution: 'granted',
      winner: 't-w3',
      reason: 't-h3 released repo:acme/api',
      at: minutesAgo(0.5),
    });
    service = await t.startInstance();
  });

  afterAll(async () => {
    await t?.close();
  });

  describe('listing', () => {
    it('lists what the store held at start, newest first, as the allocator recorded it', async () => {
      const page = await t.list();
      expect(ids(page.items)).toEqual(['c-3', 'c-2', 'c-1']);
      expect(page.nextCursor).toBe('');
      const [c3, c2, c1] = page.items;
      expect(c3).toMatchObject({
        status: 'resolved',
        resolution: 'granted',
        winner: 't-w3',
        strategy: '',
        reason: 't-h3 released repo:acme/api',
      });
      expect(timestampDate(c3!.resolvedAt!).getTime()).toBeGreaterThan(
        timestampDate(c3!.detectedAt!).getTime(),
      );
      expect(c2).toMatchObject({
        status: 'open',
        kind: 'pool',
        resource: 'gpu',
        policy: 'queue',
        resolution: '',
      });
      expect(c2!.since).toBeDefined();
      expect(c1).toMatchObject({ status: 'open', allocationId: 't-w1#1' });
      expect(c1!.parties.map((p) => [p.taskId, p.role])).toEqual([
        ['t-w1', 'waiter'],
        ['t-h1', 'holder'],
      ]);
      expect(c1!.resolvedAt).toBeUndefined();
    });

    it('pages with an opaque cursor and filters by status', async () => {
      expect(ids(await t.listAll('', 1))).toEqual(['c-3', 'c-2', 'c-1']);
      expect(ids(await t.listAll('open', 1))).toEqual(['c-2', 'c-1']);
      expect(ids(await t.listAll('resolved', 1))).toEqual(['c-3']);
    });

    it('rejects a bad status, limit or cursor, naming each field', async () => {
      const err = await rejection(t.list({ status: 'closed', limit: 501, cursor: 'not-ours!' }));
      expect(err?.code).toBe('validation');
      expect(err?.errors.map((e) => e.path)).toEqual(['status', 'limit', 'cursor']);
    });

    it('follows conflicts detected and resolved after it started', async () => {
      await t.detected({ conflictId: 'c-4', allocationId: 't-w4#1', parties: parties('4') });
      const opened = await eventually(async () => {
        const [first] = (await t.list({ limit: 1 })).items;
        return first?.conflictId === 'c-4' ? first : undefined;
      });
      expect(opened.status).toBe('open');

      await t.resolved({ conflictId: 'c-4', resolution: 'withdrawn', reason: 't-w4 was cancelled' });
      const closed = await eventually(async () => {
        const [first] = (await t.list({ limit: 1 })).items;
        return first?.status === 'resolved' ? first : undefined;
      });
      expect(closed).toMatchObject({
        conflictId: 'c-4',
        resolution: 'withdrawn',
        reason: 't-w4 was cancelled',
      });
    });
  });

  describe('resolving', () => {
    const listed = (conflictId: string) =>
      eventually(async () => (await t.listAll('', 50)).find((v) => v.conflictId === conflictId));

    it('routes an operator resolution to the allocator and answers the conflict as resolved', async () => {
      await t.detected({ conflictId: 'c-5', allocationId: 't-w5#1', parties: parties('5') });
      await listed('c-5');

      const view = await t.resolve('c-5', 'grant', 't-h5', 'session-5');
      expect(view).toMatchObject({
        conflictId: 'c-5',
        status: 'resolved',
        resolution: 'granted',
        winner: 't-h5',
        strategy: 'grant',
        kind: 'lock',
        allocationId: 't-w5#1',
      });
      expect(view.resolvedAt).toBeDefined();
      const received = t.resources.received.at(-1);
      expect(received).toMatchObject({ conflictId: 'c-5', strategy: 'grant', winner: 't-h5' });
      expect(received?.context).toMatchObject({
        correlationId: 'session-5',
        principal: { id: 'operator-1', role: 'operator' },
      });

      // The allocator's ConflictResolved, with its reason, replaces what its reply said.
      const recorded = await eventually(async () => {
        const v = await listed('c-5');
        return v.reason === 'an operator chose grant' ? v : undefined;
      });
      expect(recorded).toMatchObject({ status: 'resolved', resolution: 'granted', winner: 't-h5' });
    });

    it('answers each invalid resolution with its domain error, without asking the allocator', async () => {
      await t.detected({ conflictId: 'c-6', allocationId: 't-w6#1', parties: parties('6') });
      await listed('c-6');
      const asked = t.resources.received.length;

      expect(await rejection(t.resolve('c-404', 'queue'))).toMatchObject({ code: 'not_found' });
      const resolved = await rejection(t.resolve('c-3', 'abort'));
      expect(resolved?.code).toBe('illegal_state');
      expect(resolved?.message).toMatch(/^conflict c-3 is already resolved: granted in favour of t-w3 at /);
      const cases: [string, string, string][] = [
        ['later', '', 'strategy'],
        ['grant', '', 'winner'],
        ['grant', 't-stranger', 'winner'],
        ['abort', 't-w6', 'winner'],
      ];
      for (const [strategy, winner, path] of cases) {
        const err = await rejection(t.resolve('c-6', strategy, winner));
        expect({ code: err?.code, paths: err?.errors.map((e) => e.path) }).toEqual({
          code: 'validation',
          paths: [path],
        });
      }

      expect(t.resources.received).toHaveLength(asked);
      expect((await listed('c-6')).status).toBe('open');
    });

    it("passes the allocator's rejections through with their code, message, fields and details", async () => {
      await t.detected({ conflictId: 'c-7', allocationId: 't-w7#1', parties: parties('7') });
      await listed('c-7');
      const answer = t.resources.answer;
      try {
        t.resources.answer = () =>
          Promise.reject(new IllegalStateError('conflict c-7 ended meanwhile', { conflictId: 'c-7' }));
        expect(await rejection(t.resolve('c-7', 'preempt'))).toMatchObject({
          code: 'illegal_state',
          message: 'conflict c-7 ended meanwhile',
          details: { conflictId: 'c-7' },
        });

        t.resources.answer = () =>
          Promise.reject(new ValidationError('bad claim', [{ path: 'winner', message: 'holds nothing' }]));
        expect(await rejection(t.resolve('c-7', 'grant', 't-w7'))).toMatchObject({
          code: 'validation',
          message: 'bad claim',
          errors: [{ path: 'winner', message: 'holds nothing' }],
        });

        t.resources.answer = () => Promise.reject(new NotFoundError('no conflict c-7 in the allocator'));
        expect(await rejection(t.resolve('c-7', 'abort'))).toMatchObject({ code: 'not_found' });
      } finally {
        t.resources.answer = answer;
      }
      expect((await listed('c-7')).status).toBe('open');
    });
  });

  it('counts open conflicts by kind and policy, resolutions, and waits', async () => {
    const views = await t.listAll('', 50);
    const open = views.filter((v) => v.status === 'open');
    const resolved = views.filter((v) => v.status === 'resolved');
    expect(await series(service, 'orch_conflicts_open', { kind: 'lock', policy: 'manual' })).toBe(
      open.filter((v) => v.kind === 'lock' && v.policy === 'manual').length,
    );
    expect(await series(service, 'orch_conflicts_open', { kind: 'pool', policy: 'queue' })).toBe(1);
    for (const resolution of new Set(resolved.map((v) => v.resolution))) {
      expect(await series(service, 'orch_conflicts_resolved_total', { resolution })).toBe(
        resolved.filter((v) => v.resolution === resolution).length,
      );
    }
    expect(await series(service, 'conflict_wait_seconds_count')).toBe(resolved.length);
  });

  it('rebuilds the same book after a restart', async () => {
    const before = await t.listAll('', 3);
    await t.stopInstance(service);
    service = await t.startInstance();
    expect(await t.listAll('', 3)).toEqual(before);
  });
});

describe('the conflict desk with a bound on resolved conflicts', () => {
  let t: TestConflicts;

  beforeAll(async () => {
    t = await TestConflicts.create({ CONFLICTS_KEEP_RESOLVED: '2' });
    for (const n of ['1', '2', '3', '4']) {
      const at = minutesAgo(10 - Number(n));
      await t.detected({ conflictId: `k-${n}`, allocationId: `t-w${n}#1`, parties: parties(n), at });
    }
    for (const n of ['2', '1', '3']) await t.resolved({ conflictId: `k-${n}`, resolution: 'granted' });
    await t.startInstance();
  });

  afterAll(async () => {
    await t?.close();
  });

  it('keeps the most recently resolved ones and every open one', async () => {
    expect(ids(await t.listAll())).toEqual(['k-4', 'k-3', 'k-1']);
    expect(await rejection(t.resolve('k-2', 'queue'))).toMatchObject({ code: 'not_found' });
  });
});
