import { agentStreamId } from '@orch/coordination';
import { ALLOCATOR_STREAM, allocatorDecider, type AllocatorCommand } from '@orch/resources';
import { Recorder, StreamRun, T0, later } from './history.fixtures';
import { replaySession, sharedStreamsOf, type SessionReplay } from './replay';
import type { ReplayEvent } from './replay-event';
import { defaultStreamKinds } from './stream-kinds';
import { verifySession } from './verify';
import { OTHER, playSession, type SessionWorld } from './session-world.fixtures';
import { SESSION } from './workflow-play.fixtures';

/** Replays the way the service does: the session's history, and its shared streams read whole up to `at`. */
function replayAt(w: SessionWorld, at: bigint): SessionReplay {
  const sessionEvents = w.recorder.byCorrelation(SESSION);
  const sharedStreams = new Map<string, readonly ReplayEvent[]>(
    sharedStreamsOf(sessionEvents).map((id) => [id, w.recorder.stream(id).filter((e) => e.position <= at)]),
  );
  return replaySession({ sessionId: SESSION, at, sessionEvents, sharedStreams });
}

const point = (w: SessionWorld, name: string): bigint => w.checkpoints.get(name)!;

describe('replaying a whole session', () => {
  const w = playSession();

  it('reads the shared streams it touches: both agents and the allocator', () => {
    expect(sharedStreamsOf(w.recorder.byCorrelation(SESSION)).sort()).toEqual(
      [agentStreamId('agent-a'), agentStreamId('agent-b'), ALLOCATOR_STREAM].sort(),
    );
  });

  it('shows the session, its context and its submitted workflow', () => {
    const r = replayAt(w, point(w, 'submitted'));
    expect(r.session).toMatchObject({
      sessionId: SESSION,
      status: 'running',
      goal: 'ship the feature',
      pattern: 'swarm',
      budgetUsd: 5,
    });
    expect(r.session.context).toEqual([
      { key: 'plan', value: { steps: ['a', 'b'] }, version: 1, updatedAt: expect.any(String) as string },
    ]);
    expect(r.workflow.counts).toEqual({ ready: 2 });
    expect(r.resources.allocations).toEqual([]);
    expect(r.conflicts).toEqual([]);
  });

  it('shows a task waiting for a slot another session holds, with the conflict and the other session slot', () => {
    const r = replayAt(w, point(w, 'a waiting'));
    const a = r.workflow.tasks.find((t) => t.key === 'a')!;
    expect(a).toMatchObject({ status: 'waiting', waitingFor: 'resources', attempts: 0 });
    expect(r.resources.waiters).toEqual([
      expect.objectContaining({
        allocationId: `${a.taskId}#1`,
        taskId: a.taskId,
        waitingFor: 'resources',
        position: 1,
        blockers: ['x1'],
      }),
    ]);
    // Only the session's allocations; the pool shows the other session's hold.
    expect(r.resources.allocations).toEqual([]);
    expect(r.resources.pools).toEqual([
      expect.objectContaining({ poolId: 'gpu', capacity: 1, used: 1, holders: 1, waiting: 1 }),
    ]);
    expect(r.conflicts).toHaveLength(1);
    expect(r.conflicts[0]!.parties.map((p) => [p.taskId, p.role])).toEqual([
      [a.taskId, 'waiter'],
      ['x1', 'holder'],
    ]);
    // agent-a's stream is folded whole: the other session's slot is there.
    const agentA = r.agents.find((x) => x.agentId === 'agent-a')!;
    expect(agentA).toMatchObject({
      name: 'agent-a name',
      provider: 'anthropic',
      status: 'busy',
      health: 'healthy',
      draining: false,
    });
    expect(agentA.slots).toEqual([{ taskId: 'x1', attempt: 1 }]);
  });

  it('shows the grant another session decision made, and the task running on its agent', () => {
    const r = replayAt(w, point(w, 'a running'));
    const a = r.workflow.tasks.find((t) => t.key === 'a')!;
    expect(a).toMatchObject({ status: 'running', agentId: 'agent-a', attempts: 1 });
    expect(r.resources.allocations).toEqual([
      expect.objectContaining({
        taskId: a.taskId,
        attempt: 1,
        grants: [{ poolId: 'gpu', amount: 1, reservationId: '' }],
      }),
    ]);
    expect(r.resources.waiters).toEqual([]);
    expect(r.conflicts).toEqual([]);
    expect(r.agents.find((x) => x.agentId === 'agent-a')!.slots).toEqual([{ taskId: a.taskId, attempt: 1 }]);
  });

  it('shows everything ended and given back at the end', () => {
    const r = replayAt(w, point(w, 'closed'));
    expect(r.session.status).toBe('completed');
    expect(r.workflow).toMatchObject({ status: 'completed', counts: { succeeded: 2 } });
    expect(r.resources.allocations).toEqual([]);
    expect(r.resources.pools[0]).toMatchObject({ used: 0, holders: 0, waiting: 0 });
    expect(r.agents.map((x) => [x.agentId, x.status, x.slots])).toEqual([
      ['agent-a', 'idle', []],
      ['agent-b', 'idle', []],
    ]);
    expect(r.unknownTypes).toEqual([]);
    expect(r.events).toBe(w.recorder.byCorrelation(SESSION).length);
    // JSON-ready: nothing is lost through JSON.
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });
});

describe('verifying a whole session', () => {
  const w = playSession();
  const streams = w.recorder.streamsOf(SESSION);

  it('finds no divergence across every service stream, checking the session decisions only', () => {
    const report = verifySession({ sessionId: SESSION, streams });
    expect(report.divergences).toEqual([]);
    const runs = [w.session, w.context, w.workflow.run, w.allocator, ...w.agents.values()];
    const mine = runs
      .flatMap((r) => r.decisions as { recorded: readonly ReplayEvent[] }[])
      .filter((d) => d.recorded[0]!.metadata['correlationId'] === SESSION);
    expect(report.checked).toBe(mine.length);
    expect(report.skipped).toBe(0);
  });

  it('decides the allocator commands with the allocator options it is given', () => {
    // Wait-die: the session's younger request for a lock the other session holds dies, and is told
    // to ask again retryAfterMs later (5 s by default, as recorded).
    const recorder = new Recorder();
    const allocator = new StreamRun(recorder, ALLOCATOR_STREAM, allocatorDecider(), 'resources');
    const lock = (taskId: string, sessionId: string, ms: number): AllocatorCommand => ({
      type: 'Allocate',
      taskId,
      attempt: 1,
      sessionId,
      priority: 0,
      claims: [{ lock: 'repo:acme/api', mode: 'exclusive' }],
      incremental: false,
      at: later(ms),
    });
    allocator.exec({ type: 'SetPolicy', namespace: 'repo', policy: 'wait-die', at: T0 }, 'ops');
    allocator.exec(lock('x1', OTHER, 0), OTHER);
    const refused = allocator.exec(lock('s1', SESSION, 1_000), SESSION);
    expect(refused.map((e) => e.type)).toContain('AllocationRefused');
    const streams = recorder.streamsOf(SESSION);

    expect(verifySession({ sessionId: SESSION, streams }).divergences).toEqual([]);
    const sooner = verifySession(
      { sessionId: SESSION, streams },
      defaultStreamKinds({ allocator: { retryAfterMs: 1_000 } }),
    );
    expect(sooner.checked).toBe(1);
    expect(sooner.divergences).toHaveLength(1);
    expect(sooner.divergences[0]!.reason).toMatch(
      /emits AllocationRefused with retryAt "2026-11-21T10:00:02Z" where "2026-11-21T10:00:06Z" was recorded/,
    );
  });
});
