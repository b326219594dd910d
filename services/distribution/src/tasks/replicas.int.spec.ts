import { create } from '@bufbuild/protobuf';
import {
  CompleteTaskSchema,
  GetSessionSchema,
  NextAssignmentSchema,
  StartTaskSchema,
  type Assignment,
  type AssignmentPoll,
  type SessionView,
} from '@orch/contracts';
import type { RecordedEvent } from '@orch/eventstore';
import { eventually } from '@orch/testing';
import { TestDistribution } from '../testing/harness';

type Data = { taskId: string; agentId: string; attempt: number };

describe('several distribution instances on one store', () => {
  let h: TestDistribution;
  afterEach(() => h?.close());

  const next = (agentId: string, waitMs: number) =>
    h.request<AssignmentPoll>('NextAssignment', create(NextAssignmentSchema, { agentId, waitMs }));
  const take = async (agentId: string): Promise<Assignment> => {
    const poll = await next(agentId, 10_000);
    if (!poll.assignment) throw new Error(`no assignment for ${agentId}`);
    return poll.assignment;
  };
  const complete = (taskId: string, agentId: string) =>
    h.request('CompleteTask', create(CompleteTaskSchema, { taskId, agentId }));
  const session = (sessionId: string) =>
    h.request<SessionView>('GetSession', create(GetSessionSchema, { sessionId }));
  const assignedOf = (events: RecordedEvent[]) =>
    events.filter((e) => e.type === 'TaskAssigned').map((e) => e.data as Data);

  it('never assign one task twice, however their offers race', async () => {
    h = await TestDistribution.start();
    await h.startInstance();
    // Each offer gets another agent: two instances offering one task get different agents.
    h.coordination.rotate = true;
    for (const id of ['race-1', 'race-2', 'race-3'])
      h.coordination.agents.set(id, { capabilities: ['race'], healthy: true });
    const sessions = await Promise.all(
      Array.from({ length: 4 }, () =>
        h.startSession(
          Array.from({ length: 10 }, (_, i) => ({ key: `t${i}`, type: 'coder', capabilities: ['race'] })),
        ),
      ),
    );
    // Three agents work until every session completed.
    let finished = false;
    const agentLoop = async (agentId: string) => {
      while (!finished) {
        const poll = await next(agentId, 200);
        if (poll.assignment) await complete(poll.assignment.taskId, agentId).catch(() => undefined);
      }
    };
    const loops = ['race-1', 'race-2', 'race-3'].map(agentLoop);
    for (const id of sessions)
      await eventually(async () => ((await session(id)).status === 'completed' ? true : undefined), {
        timeoutMs: 30_000,
        what: `session ${id} completed`,
      });
    finished = true;
    await Promise.all(loops);

    for (const id of sessions) {
      const assigned = assignedOf(await h.events(id));
      const attempts = assigned.map((a) => `${a.taskId}#${a.attempt}`);
      expect(new Set(attempts).size).toBe(attempts.length);
      expect(assigned).toHaveLength(10);
    }
    // Every slot granted for an offer that lost the race was given back.
    const recorded = new Set(
      (await Promise.all(sessions.map((id) => h.events(id))))
        .flatMap(assignedOf)
        .map((a) => `${a.taskId}/${a.agentId}`),
    );
    const released = new Set(h.coordination.releases.map((r) => `${r.taskId}/${r.agentId}`));
    for (const g of h.coordination.grants) {
      const key = `${g.taskId}/${g.agentId}`;
      expect(recorded.has(key) || released.has(key)).toBe(true);
    }
  });

  it('hand an assignment out once, whichever of them an agent polls', async () => {
    h = await TestDistribution.start();
    await h.startInstance();
    h.coordination.agents.set('poll-1', { capabilities: ['poll'], healthy: true });
    await h.startSession([{ key: 'once', type: 'coder', capabilities: ['poll'] }]);
    const first = await take('poll-1');
    // Requests go to either instance (a queue group): none hands the same attempt out again.
    const again = await Promise.all(Array.from({ length: 8 }, () => next('poll-1', 300)));
    expect(again.map((p) => p.found)).toEqual(Array(8).fill(false));
    expect(first).toMatchObject({ key: 'once', attempt: 1 });
  });

  it('rebuild state, assignments to hand out and deadlines from the store after a restart', async () => {
    h = await TestDistribution.start();
    for (const id of ['rs-1', 'rs-2', 'rs-3'])
      h.coordination.agents.set(id, { capabilities: [id], healthy: true });
    const sessionId = await h.startSession([
      { key: 'handed', type: 'coder', capabilities: ['rs-1'] },
      { key: 'waiting', type: 'coder', capabilities: ['rs-2'] },
      { key: 'slow', type: 'coder', capabilities: ['rs-3'], timeoutMs: 1_500 },
    ]);
    const handed = await take('rs-1');
    const slow = await take('rs-3');
    await h.request('StartTask', create(StartTaskSchema, { taskId: slow.taskId, agentId: 'rs-3' }));
    await eventually(async () => {
      const view = await session(sessionId);
      return view.tasks.every((t) => t.status === 'assigned' || t.status === 'running') ? view : undefined;
    });

    await h.stopInstance(h.services[0]!);
    await h.startInstance();

    const view = await session(sessionId);
    expect(Object.fromEntries(view.tasks.map((t) => [t.key, [t.status, t.agentId]]))).toEqual({
      handed: ['assigned', 'rs-1'],
      waiting: ['assigned', 'rs-2'],
      slow: ['running', 'rs-3'],
    });
    // Assigned and not started: handed out again (at least once), and the one never asked for.
    expect(await take('rs-1')).toMatchObject({ taskId: handed.taskId, attempt: 1 });
    expect(await take('rs-2')).toMatchObject({ key: 'waiting', attempt: 1 });
    // The running attempt's deadline was armed again: it times out and comes back as attempt 2.
    expect(await take('rs-3')).toMatchObject({ taskId: slow.taskId, attempt: 2 });
    const timedOut = (await h.events(sessionId)).filter((e) => e.type === 'TaskTimedOut');
    expect(timedOut.map((e) => e.data)).toEqual([expect.objectContaining({ agentId: 'rs-3', attempt: 1 })]);
  });
});
