import { create, type JsonObject } from '@bufbuild/protobuf';
import {
  AdaptWorkflowSchema,
  CompleteTaskSchema,
  GetSessionSchema,
  HandOffTaskSchema,
  NextAssignmentSchema,
  SpawnSubtasksSchema,
  type Assignment,
  type AssignmentPoll,
  type SessionView,
  type TaskAck,
} from '@orch/contracts';
import { eventually } from '@orch/testing';
import { TestDistribution } from '../testing/harness';

describe('the patterns over the service', () => {
  let h: TestDistribution;
  beforeAll(async () => {
    h = await TestDistribution.start();
    const agents: [string, string[]][] = [
      ['boss', ['planning']],
      ['worker', ['code']],
      ['driver', ['code']],
      ['navigator', ['review']],
      ['s1', ['swarm']],
      ['s2', ['swarm']],
    ];
    for (const [id, capabilities] of agents) h.coordination.agents.set(id, { capabilities, healthy: true });
  });
  afterAll(() => h?.close());

  const take = async (agentId: string): Promise<Assignment> => {
    const poll = await h.request<AssignmentPoll>(
      'NextAssignment',
      create(NextAssignmentSchema, { agentId, waitMs: 10_000 }),
    );
    if (!poll.assignment) throw new Error(`no assignment for ${agentId}`);
    return poll.assignment;
  };
  const complete = (a: Assignment, agentId: string, output: JsonObject = {}) =>
    h.request<TaskAck>('CompleteTask', create(CompleteTaskSchema, { taskId: a.taskId, agentId, output }));
  const completed = (sessionId: string) =>
    eventually(async () => {
      const view = await h.request<SessionView>('GetSession', create(GetSessionSchema, { sessionId }));
      return view.status === 'completed' ? view : undefined;
    });

  it('hierarchical: the supervisor plans, workers run the plan, the supervisor says done', async () => {
    const sessionId = await h.startSession([{ key: 'hint', type: 'coder' }], {
      pattern: 'hierarchical',
      roles: { supervisorAgentId: 'boss' },
    });
    const plan = await take('boss');
    expect(plan).toMatchObject({ key: 'plan', role: 'plan', goal: 'test goal', pattern: 'hierarchical' });
    const ack = await complete(plan, 'boss', {
      plan: {
        tasks: [
          { id: 'x', type: 'coder', capabilities: ['code'] },
          { id: 'y', type: 'coder', capabilities: ['code'], dependsOn: ['x'] },
        ],
      },
    });
    expect(ack.addedTaskIds).toEqual(['x', 'y']);
    for (const key of ['x', 'y']) {
      const a = await take('worker');
      expect(a.key).toBe(key);
      await complete(a, 'worker', { key });
    }
    const supervise = await take('boss');
    expect(supervise).toMatchObject({ key: 'supervise.1', role: 'supervise' });
    expect(supervise.input).toMatchObject({ results: { x: { key: 'x' }, y: { key: 'y' } } });
    await complete(supervise, 'boss', { done: true });
    await completed(sessionId);
  });

  it('pair: the navigator reviews the driver work, which is reopened with the comments, then approved', async () => {
    const sessionId = await h.startSession([{ key: 'a', type: 'coder', capabilities: ['code'] }], {
      pattern: 'pair',
      roles: { driverAgentId: 'driver', navigatorAgentId: 'navigator' },
    });
    await complete(await take('driver'), 'driver', { diff: 'v1' });
    const review = await take('navigator');
    expect(review).toMatchObject({ key: 'a.review.1', role: 'review', reviewOf: 'a', round: 1 });
    expect(review.input).toMatchObject({ task: 'a', output: { diff: 'v1' } });
    await complete(review, 'navigator', { verdict: 'changes_requested', comments: 'rename it' });
    const again = await take('driver');
    expect(again).toMatchObject({ key: 'a', round: 2, attempt: 2 });
    expect(again.input).toMatchObject({ reviewComments: 'rename it' });
    await complete(again, 'driver', { diff: 'v2' });
    await complete(await take('navigator'), 'navigator', { verdict: 'approved' });
    const view = await completed(sessionId);
    expect(view.tasks.map((t) => t.key)).toEqual(['a', 'a.review.1', 'a.review.2']);
  });

  it('swarm: an agent spawns a follow-up and hands its task to another; the session is adapted meanwhile', async () => {
    const sessionId = await h.startSession([{ key: 't', type: 'coder', capabilities: ['swarm'] }], {
      agentIds: ['s1', 's2'],
    });
    const t = await take('s1');
    const spawned = await h.request<TaskAck>(
      'SpawnSubtasks',
      create(SpawnSubtasksSchema, {
        taskId: t.taskId,
        agentId: 's1',
        tasks: [{ key: 'follow-up', type: 'coder', capabilities: ['swarm'], dependsOn: ['t'] }],
      }),
    );
    expect(spawned.addedTaskIds).toEqual(['follow-up']);
    await h.request(
      'HandOffTask',
      create(HandOffTaskSchema, { taskId: t.taskId, agentId: 's1', toAgentId: 's2', reason: 'yours' }),
    );
    const adapted = await h.request<SessionView>(
      'AdaptWorkflow',
      create(AdaptWorkflowSchema, {
        sessionId,
        add: [{ key: 'extra', type: 'coder', capabilities: ['swarm'] }],
      }),
    );
    expect(adapted.tasks.map((x) => x.key)).toEqual(['t', 'follow-up', 'extra']);
    const handed = await take('s2');
    expect(handed).toMatchObject({ taskId: t.taskId, attempt: 2 });
    await complete(handed, 's2');
    for (let i = 0; i < 2; i++) {
      const next = await take('s1');
      await complete(next, 's1');
    }
    await completed(sessionId);
  });
});
