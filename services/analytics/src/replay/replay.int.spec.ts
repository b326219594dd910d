import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import {
  ListSessionEventsSchema,
  ReplaySessionSchema,
  VerifySessionSchema,
  type ReplayState,
  type SessionEventPage,
  type VerifyReport,
} from '@orch/contracts';
import type { SessionReplay } from '@orch/replay';
import { TestAnalytics } from '../testing/harness';
import { AGENT_A, AGENT_B, recordCompletedSession, recordRunningSession } from '../testing/scenario';

let t: TestAnalytics;
let sessionId: string;
const UNKNOWN = '00000000-0000-4000-8000-000000000000';

beforeAll(async () => {
  t = await TestAnalytics.create();
  await t.startService();
  const origin = new Date(Date.now() - 30 * 60_000);
  sessionId = await recordCompletedSession(t.writer, origin);
  // Another session's work on the same agents, after this one ended.
  await recordRunningSession(t.writer, new Date(origin.getTime() + 60_000));
});
afterAll(() => t.close());

const list = (init: { sessionId: string; from?: bigint; limit?: number }) =>
  t.request<SessionEventPage>('ListSessionEvents', create(ListSessionEventsSchema, init));
const replay = (init: { sessionId: string; at?: bigint }) =>
  t.request<ReplayState>('ReplaySession', create(ReplaySessionSchema, init));

describe('a session history', () => {
  it('pages through every event of the session across services, in global order', async () => {
    const recorded = await t.writer.store.readByCorrelation(sessionId);
    const last = recorded[recorded.length - 1]!.globalPosition;
    const seen: bigint[] = [];
    let from = 0n;
    let pages = 0;
    do {
      const page = await list({ sessionId, from, limit: 7 });
      expect(page.items.length).toBeLessThanOrEqual(7);
      expect(page.lastPosition).toBe(last);
      seen.push(...page.items.map((e) => e.position));
      from = page.nextFrom;
      pages++;
    } while (from !== 0n);
    expect(seen).toEqual(recorded.map((e) => e.globalPosition));
    expect(pages).toBe(Math.ceil(recorded.length / 7));
    expect(new Set(recorded.map((e) => e.source))).toEqual(new Set(['coordination', 'distribution']));
  });

  it('shows each event with its stream, data and metadata', async () => {
    const page = await list({ sessionId });
    expect(page.nextFrom).toBe(0n);
    const submitted = page.items.find((e) => e.type === 'WorkflowSubmitted')!;
    expect(submitted).toMatchObject({
      source: 'distribution',
      streamId: `workflow-${sessionId}`,
      schemaVersion: 1,
    });
    expect(submitted.data).toMatchObject({ sessionId, pattern: 'swarm' });
    expect(submitted.metadata).toMatchObject({
      correlationId: sessionId,
      decision: { type: 'SubmitWorkflow' },
    });
    expect(submitted.occurredAt).toBeDefined();
  });

  it('refuses an unknown session, a bad id and a page too large', async () => {
    await expect(list({ sessionId: UNKNOWN })).rejects.toMatchObject({
      code: 'not_found',
      message: `session ${UNKNOWN} has no events`,
    });
    await expect(list({ sessionId: 'nope' })).rejects.toMatchObject({
      code: 'validation',
      errors: [expect.objectContaining({ path: 'sessionId' })],
    });
    await expect(list({ sessionId, limit: 5_001 })).rejects.toMatchObject({
      code: 'validation',
      errors: [expect.objectContaining({ path: 'limit' })],
    });
  });
});

describe('replaying a session', () => {
  const stateOf = (r: ReplayState) => r.state as unknown as SessionReplay;

  it('shows the final state at the last position: the workflow done, the agents free', async () => {
    const recorded = await t.writer.store.readByCorrelation(sessionId);
    const r = await replay({ sessionId });
    expect(r.at).toBe(recorded[recorded.length - 1]!.globalPosition);
    expect(r.events).toBe(recorded.length);
    const state = stateOf(r);
    expect(state.session).toMatchObject({ sessionId, status: 'completed', pattern: 'swarm' });
    expect(state.workflow.status).toBe('completed');
    expect(Object.fromEntries(state.workflow.tasks.map((task) => [task.key, task.status]))).toEqual(
      t.writer.statuses(sessionId),
    );
    expect(state.workflow.tasks.find((task) => task.key === 'c')).toMatchObject({ attempts: 2, failures: 1 });
    expect(state.agents.map((a) => a.agentId).sort()).toEqual([AGENT_A, AGENT_B].sort());
    for (const agent of state.agents) expect(agent.slots).toEqual([]);
    expect(r.unknownTypes).toEqual([]);
  });

  it('shows the workflow as it was at every intermediate position', async () => {
    const moments = t.writer.moments.filter((m) => m.sessionId === sessionId);
    expect(moments.some((m) => Object.values(m.statuses).includes('running'))).toBe(true);
    for (const moment of moments) {
      const state = stateOf(await replay({ sessionId, at: moment.position }));
      const statuses = Object.fromEntries(state.workflow.tasks.map((task) => [task.key, task.status]));
      expect({ after: moment.command, statuses }).toEqual({
        after: moment.command,
        statuses: moment.statuses,
      });
    }
  });

  it('shows an agent holding the slot of a running attempt', async () => {
    const running = t.writer.moments.find(
      (m) => m.sessionId === sessionId && m.command === 'StartTask' && m.statuses['a'] === 'running',
    )!;
    const state = stateOf(await replay({ sessionId, at: running.position }));
    const agentA = state.agents.find((a) => a.agentId === AGENT_A)!;
    expect(agentA.slots.map((s) => s.attempt)).toEqual([1]);
  });

  it('refuses a position beyond the end of the session, naming its last position', async () => {
    const recorded = await t.writer.store.readByCorrelation(sessionId);
    const last = recorded[recorded.length - 1]!.globalPosition;
    await expect(replay({ sessionId, at: last + 1n })).rejects.toMatchObject({
      code: 'validation',
      errors: [expect.objectContaining({ path: 'at', message: expect.stringContaining(String(last)) })],
    });
    await expect(replay({ sessionId: UNKNOWN })).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('verifying a session', () => {
  it('finds no divergence between the recorded history and today’s deciders', async () => {
    const report = await t.request<VerifyReport>('VerifySession', create(VerifySessionSchema, { sessionId }));
    expect(report.divergences).toEqual([]);
    const recorded = await t.writer.store.readByCorrelation(sessionId);
    const decisions = recorded.filter((e) => e.metadata.decision !== undefined).length;
    expect(report.checked).toBe(decisions);
    expect(report.skipped).toBe(0);
    expect(report.unknownTypes).toEqual([]);
  });
});
