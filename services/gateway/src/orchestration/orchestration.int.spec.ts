import { randomUUID } from 'node:crypto';
import { create, type Message } from '@bufbuild/protobuf';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  AssignmentPollSchema,
  ContextEntrySchema,
  MessageAckSchema,
  SessionStartSchema,
  TaskAckSchema,
  commandTypes,
  type CommandTypeInfo,
  type CompleteTask,
  type NextAssignment,
  type PostMessage,
  type PutContext,
  type StartSession,
} from '@orch/contracts';
import { ConflictError } from '@orch/domain-kit';
import { CommandServer } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';
import { testNatsUrl } from '@orch/testing';
import { FakeResources } from '../testing/fake-resources';
import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';

const PROBLEM = /^application\/problem\+json/;
const info = (name: string): CommandTypeInfo => {
  const i = commandTypes.get(name);
  if (!i) throw new Error(name);
  return i;
};

/**
 * Coordination and distribution as real CommandServers on NATS that record what they receive,
 * so these tests pin how the gateway validates, maps and authorizes; the services themselves are
 * tested on their own and end to end in tests/e2e.
 */
class FakeServices {
  readonly calls = new Map<string, Message[]>();
  /** Correlation ids StartSession arrived with. */
  readonly correlations: string[] = [];
  assignment: ReturnType<typeof create<typeof AssignmentPollSchema>> | undefined;
  contextVersion = 3n;

  record<T extends Message>(name: string, payload: T): T {
    this.calls.set(name, [...(this.calls.get(name) ?? []), payload]);
    return payload;
  }
  last<T extends Message>(name: string): T | undefined {
    return this.calls.get(name)?.at(-1) as T | undefined;
  }

  serve(coordination: CommandServer, distribution: CommandServer): void {
    coordination.handle<StartSession, never>(info('coordination.StartSession'), async (p, ctx) => {
      this.record('StartSession', p);
      this.correlations.push(ctx.correlationId);
      return create(SessionStartSchema, {
        sessionId: p.sessionId,
        pattern: p.pattern === 'auto' ? 'swarm' : p.pattern,
        patternReason: p.pattern === 'auto' ? 'many tasks with diverse capabilities' : '',
        roles: { soloAgentId: p.pattern === 'solo' ? 'a1' : '' },
      }) as never;
    });
    coordination.handle<PostMessage, never>(info('coordination.PostMessage'), async (p) => {
      this.record('PostMessage', p);
      return create(MessageAckSchema, { messageId: p.messageId, sequence: 7n }) as never;
    });
    coordination.handle<PutContext, never>(info('coordination.PutContext'), async (p) => {
      this.record('PutContext', p);
      if (p.checkVersion && p.expectedVersion !== this.contextVersion) {
        throw new ConflictError('context moved', { currentVersion: Number(this.contextVersion) });
      }
      this.contextVersion++;
      return create(ContextEntrySchema, {
        sessionId: p.sessionId,
        key: p.key,
        ...(p.value ? { value: p.value } : {}),
        version: this.contextVersion,
      }) as never;
    });
    distribution.handle<CompleteTask, never>(info('distribution.CompleteTask'), async (p) => {
      this.record('CompleteTask', p);
      return create(TaskAckSchema, { taskId: p.taskId, sessionId: 's1', status: 'succeeded' }) as never;
    });
    distribution.handle<NextAssignment, never>(info('distribution.NextAssignment'), async (p) => {
      this.record('NextAssignment', p);
      await new Promise((r) => setTimeout(r, p.waitMs));
      return (this.assignment ?? create(AssignmentPollSchema, { found: false })) as never;
    });
  }
}

describe('orchestration routes against CommandServers on NATS', () => {
  let gw: TestGateway;
  let nc: NatsConnection;
  let coordination: CommandServer;
  let distribution: CommandServer;
  let resources: FakeResources;
  const services = new FakeServices();
  let operatorKey: string;
  let viewerKey: string;
  const agentId = randomUUID();
  let agentKey: string;

  beforeAll(async () => {
    gw = await startTestGateway({ commandTimeoutMs: 500 });
    nc = await connect({ servers: testNatsUrl() });
    coordination = new CommandServer(nc, gw.naming, 'coordination', testLogger());
    distribution = new CommandServer(nc, gw.naming, 'distribution', testLogger());
    services.serve(coordination, distribution);
    resources = new FakeResources(nc, gw.naming);
    resources.pools.set('gpu', FakeResources.view({ poolId: 'gpu', kind: 'quantity', capacity: 4 }));
    await nc.flush();
    const key = async (payload: Record<string, unknown>) =>
      (
        await gw.app.inject({ method: 'POST', url: '/api/keys', headers: gw.auth(gw.adminKey), payload })
      ).json<{ key: string }>().key;
    operatorKey = await key({ role: 'operator', name: 'op' });
    viewerKey = await key({ role: 'viewer', name: 'viewer' });
    agentKey = await key({ role: 'agent', name: 'agent', agentId });
  });

  afterAll(async () => {
    await coordination.close();
    await distribution.close();
    await resources.close();
    await nc.close();
    await gw.close();
  });

  const call = (method: 'GET' | 'POST' | 'PUT', url: string, key: string, payload?: unknown, headers = {}) =>
    gw.app.inject({ method, url, headers: { ...gw.auth(key), ...headers }, ...(payload ? { payload } : {}) });

  describe('POST /api/orchestration/sessions', () => {
    const tasks = [
      { id: 'design', type: 'design', capabilities: ['planning'] },
      {
        id: 'code',
        type: 'code',
        dependsOn: ['design'],
        timeoutMs: 60_000,
        claims: [{ pool: 'gpu', amount: 1 }],
      },
    ];

    it('maps the request to StartSession: task ids become keys, defaults are explicit', async () => {
      const res = await call('POST', '/api/orchestration/sessions', operatorKey, { goal: 'ship it', tasks });
      expect(res.statusCode).toBe(201);
      const body = res.json<{ sessionId: string; pattern: string; patternReason: string }>();
      expect(body.pattern).toBe('swarm');
      expect(body.patternReason).toBe('many tasks with diverse capabilities');
      const sent = services.last<StartSession>('StartSession')!;
      expect(sent.sessionId).toBe(body.sessionId);
      // Every event of the session carries its id as correlation id, from the first one on.
      expect(services.correlations.at(-1)).toBe(body.sessionId);
      expect(sent.pattern).toBe('auto');
      expect(sent.tasks.map((t) => [t.key, t.dependsOn, t.timeoutMs])).toEqual([
        ['design', [], 0],
        ['code', ['design'], 60_000],
      ]);
      expect(sent.tasks[1]?.claims).toEqual([{ pool: 'gpu', amount: 1 }]);
    });

    it("passes the session's conflict policy on, and none when absent", async () => {
      const res = await call('POST', '/api/orchestration/sessions', operatorKey, {
        goal: 'ship it',
        tasks,
        conflictPolicy: 'wound-wait',
      });
      expect(res.statusCode).toBe(201);
      expect(services.last<StartSession>('StartSession')?.conflictPolicy).toBe('wound-wait');
      await call('POST', '/api/orchestration/sessions', operatorKey, { goal: 'ship it', tasks });
      expect(services.last<StartSession>('StartSession')?.conflictPolicy).toBe('');
    });

    it('answers 400 naming conflictPolicy for an unknown policy, in JSON and in YAML', async () => {
      const before = services.calls.get('StartSession')?.length ?? 0;
      const json = await call('POST', '/api/orchestration/sessions', operatorKey, {
        goal: 'ship it',
        tasks,
        conflictPolicy: 'first-come',
      });
      const yaml = await call(
        'POST',
        '/api/orchestration/sessions',
        operatorKey,
        ['goal: ship it', 'conflictPolicy: shove', 'tasks:', '  - { id: a, type: code }'].join('\n'),
        { 'content-type': 'application/yaml' },
      );
      for (const res of [json, yaml]) {
        expect(res.statusCode).toBe(400);
        expect(res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path)).toEqual([
          'conflictPolicy',
        ]);
      }
      expect(services.calls.get('StartSession')?.length ?? 0).toBe(before);
    });

    it('gives the same session id to a retry with the same Idempotency-Key', async () => {
      const headers = { 'idempotency-key': `start-${randomUUID()}` };
      const first = await call(
        'POST',
        '/api/orchestration/sessions',
        operatorKey,
        { goal: 'g', tasks },
        headers,
      );
      const again = await call(
        'POST',
        '/api/orchestration/sessions',
        operatorKey,
        { goal: 'g', tasks },
        headers,
      );
      expect(again.json<{ sessionId: string }>().sessionId).toBe(
        first.json<{ sessionId: string }>().sessionId,
      );
    });

    it('answers 400 naming each field, without starting anything, for an invalid body', async () => {
      const before = services.calls.get('StartSession')?.length ?? 0;
      const res = await call('POST', '/api/orchestration/sessions', operatorKey, {
        goal: '',
        pattern: 'committee',
        tasks: [{ id: 'a', type: 'code', timeoutMs: 90_000_000, maxAttempts: 0, colour: 'red' }],
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      const paths = res.json<{ errors: { path: string }[] }>().errors.map((e) => e.path);
      expect(paths).toEqual(
        expect.arrayContaining([
          'goal',
          'pattern',
          'tasks[0].timeoutMs',
          'tasks[0].maxAttempts',
          'tasks[0].colour',
        ]),
      );
      expect(services.calls.get('StartSession')?.length ?? 0).toBe(before);
    });

    it('takes a workflow file in YAML, validated like JSON', async () => {
      const yaml = [
        'goal: triage the outage',
        'pattern: solo',
        'tasks:',
        '  - id: reproduce',
        '    type: debug',
        '  - { id: fix, type: code, dependsOn: [reproduce] }',
      ].join('\n');
      const headers = { 'content-type': 'application/yaml' };
      const res = await call('POST', '/api/orchestration/sessions', operatorKey, yaml, headers);
      expect(res.statusCode).toBe(201);
      expect(res.json<{ roles: Record<string, string> }>().roles).toEqual({ soloAgentId: 'a1' });
      const sent = services.last<StartSession>('StartSession')!;
      expect(sent.tasks.map((t) => [t.key, t.dependsOn])).toEqual([
        ['reproduce', []],
        ['fix', ['reproduce']],
      ]);

      const broken = await call(
        'POST',
        '/api/orchestration/sessions',
        operatorKey,
        'goal: [unclosed',
        headers,
      );
      expect(broken.statusCode).toBe(400);
      expect(broken.json<{ errors: { path: string; message: string }[] }>().errors[0]).toMatchObject({
        path: 'body',
        message: expect.stringMatching(/^line 1: /) as unknown as string,
      });
    });

    it('answers 400 naming each malformed claim, without asking anyone', async () => {
      const before = services.calls.get('StartSession')?.length ?? 0;
      const pools = resources.count('ListPools');
      const res = await call('POST', '/api/orchestration/sessions', operatorKey, {
        goal: 'g',
        tasks: [
          { id: 'a', type: 'code', claims: [{ pool: 'gpu', amount: 1 }] },
          {
            id: 'b',
            type: 'code',
            claims: [
              { pool: 'gpu', amount: 0 },
              { lock: 'repo:acme//api' },
              { lock: 'repo:acme', mode: 'sometimes' },
              { pool: 'gpu', amount: 1, lock: 'repo:acme' },
            ],
          },
        ],
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      const errors = res.json<{ errors: { path: string; message: string }[] }>().errors;
      expect(errors.map((e) => e.path)).toEqual([
        'tasks[1].claims[0].amount',
        'tasks[1].claims[1].lock',
        'tasks[1].claims[2].mode',
        'tasks[1].claims[3]',
      ]);
      expect(errors[1]?.message).toBe(
        '"repo:acme//api" has an empty segment (two separators in a row after "acme")',
      );
      expect(services.calls.get('StartSession')?.length ?? 0).toBe(before);
      expect(resources.count('ListPools')).toBe(pools);
    });

    it('answers 400 naming a claim on a pool that does not exist or could never serve it', async () => {
      const before = services.calls.get('StartSession')?.length ?? 0;
      const res = await call('POST', '/api/orchestration/sessions', operatorKey, {
        goal: 'g',
        tasks: [
          { id: 'a', type: 'code', claims: [{ lock: 'repo:acme/api:src/**' }] },
          { id: 'b', type: 'code', claims: [{ pool: 'gpu', amount: 2 }] },
          {
            id: 'c',
            type: 'code',
            claims: [
              { pool: 'gpu', amount: 1 },
              { pool: 'tpu', amount: 1 },
            ],
          },
          { id: 'd', type: 'code', claims: [{ pool: 'gpu', amount: 5 }] },
        ],
      });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ errors: unknown[] }>().errors).toEqual([
        { path: 'tasks[2].claims[1].pool', message: 'unknown pool "tpu" (defined pools: gpu)' },
        {
          path: 'tasks[3].claims[0].amount',
          message: '5 units is more than pool "gpu" can ever give (capacity 4)',
        },
      ]);
      expect(services.calls.get('StartSession')?.length ?? 0).toBe(before);
    });

    it('does not ask resources when no task claims a pool', async () => {
      const pools = resources.count('ListPools');
      const res = await call('POST', '/api/orchestration/sessions', operatorKey, {
        goal: 'g',
        tasks: [{ id: 'a', type: 'code', claims: [{ lock: 'repo:acme', mode: 'shared' }] }],
      });
      expect(res.statusCode).toBe(201);
      expect(resources.count('ListPools')).toBe(pools);
      expect(services.last<StartSession>('StartSession')?.tasks[0]?.claims).toEqual([
        { lock: 'repo:acme', mode: 'shared' },
      ]);
    });

    it('answers 503 and starts nothing when resources cannot check the pools', async () => {
      await resources.close();
      try {
        const before = services.calls.get('StartSession')?.length ?? 0;
        const res = await call('POST', '/api/orchestration/sessions', operatorKey, { goal: 'g', tasks });
        expect(res.statusCode).toBe(503);
        expect(res.headers['content-type']).toMatch(PROBLEM);
        expect(res.headers['retry-after']).toBe('1');
        expect(res.json<{ detail: string }>().detail).toBe(
          'the resources service did not answer, so the pools the tasks claim could not be checked; nothing was started - retry later',
        );
        expect(services.calls.get('StartSession')?.length ?? 0).toBe(before);
      } finally {
        const pools = resources.pools;
        resources = new FakeResources(nc, gw.naming);
        for (const [id, view] of pools) resources.pools.set(id, view);
        await nc.flush();
      }
    });

    it('is refused to a viewer', async () => {
      const res = await call('POST', '/api/orchestration/sessions', viewerKey, { goal: 'g', tasks });
      expect(res.statusCode).toBe(403);
    });
  });

  describe('task reports', () => {
    const taskId = randomUUID();

    it('acts as the agent of an agent key', async () => {
      const res = await call('POST', `/api/tasks/${taskId}/complete`, agentKey, {
        output: { result: 42 },
        usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.01 },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ taskId, sessionId: 's1', status: 'succeeded', addedTaskIds: [] });
      const sent = services.last<CompleteTask>('CompleteTask')!;
      expect(sent.agentId).toBe(agentId);
      expect(sent.output).toEqual({ result: 42 });
      expect(sent.usage?.inputTokens).toBe(10n);
    });

    it('refuses an agent key naming another agent, and an operator naming none', async () => {
      const other = await call('POST', `/api/tasks/${taskId}/complete`, agentKey, { agentId: randomUUID() });
      expect(other.statusCode).toBe(400);
      expect(other.json<{ errors: { path: string }[] }>().errors[0]?.path).toBe('agentId');
      const none = await call('POST', `/api/tasks/${taskId}/complete`, operatorKey, {});
      expect(none.statusCode).toBe(400);
      const named = await call('POST', `/api/tasks/${taskId}/complete`, operatorKey, { agentId });
      expect(named.statusCode).toBe(200);
    });

    it('requires exactly one hand-off target', async () => {
      const both = await call('POST', `/api/tasks/${taskId}/handoff`, agentKey, {
        toCapabilities: ['review'],
        toAgentId: randomUUID(),
        reason: 'r',
      });
      expect(both.statusCode).toBe(400);
      expect(both.json<{ detail: string; errors: { message: string }[] }>().errors[0]?.message).toBe(
        'give exactly one of toCapabilities and toAgentId',
      );
    });

    it('answers 400 for a task id that is not a UUID', async () => {
      const res = await call('POST', '/api/tasks/not-a-task/start', agentKey, {});
      expect(res.statusCode).toBe(400);
    });
  });

  describe('GET /api/agents/{id}/assignments/next', () => {
    it('answers 204 when nothing arrived, waiting longer than the usual command timeout', async () => {
      const res = await call('GET', `/api/agents/${agentId}/assignments/next?waitMs=800`, agentKey);
      expect(res.statusCode).toBe(204);
      expect(services.last<NextAssignment>('NextAssignment')?.waitMs).toBe(800);
    });

    it('answers the assignment as JSON', async () => {
      services.assignment = create(AssignmentPollSchema, {
        found: true,
        assignment: { taskId: 't1', key: 'code', sessionId: 's1', type: 'code', attempt: 2, role: 'work' },
      });
      const res = await call('GET', `/api/agents/${agentId}/assignments/next`, agentKey);
      services.assignment = undefined;
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        taskId: 't1',
        key: 'code',
        attempt: 2,
        role: 'work',
        sessionId: 's1',
      });
    });

    it("refuses another agent's assignments and a wait over 30 s", async () => {
      expect((await call('GET', `/api/agents/${randomUUID()}/assignments/next`, agentKey)).statusCode).toBe(
        403,
      );
      expect(
        (await call('GET', `/api/agents/${agentId}/assignments/next?waitMs=60000`, agentKey)).statusCode,
      ).toBe(400);
    });
  });

  describe('messages and context', () => {
    const sessionId = randomUUID();

    it('posts a message as the agent of an agent key', async () => {
      const res = await call('POST', '/api/orchestration/communicate', agentKey, {
        sessionId,
        from: 'someone else',
        body: { text: 'done with the parser' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json<{ sequence: number }>().sequence).toBe(7);
      expect(services.last<PostMessage>('PostMessage')?.from).toBe(agentId);
    });

    it('writes context with If-Match and answers 412 with the current version when it moved', async () => {
      const url = `/api/orchestration/sessions/${sessionId}/context/plan`;
      const ok = await call('PUT', url, operatorKey, { value: { step: 1 } }, { 'if-match': '"3"' });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['etag']).toBe('"4"');
      expect(ok.json()).toMatchObject({ key: 'plan', value: { step: 1 }, version: 4 });

      const stale = await call('PUT', url, operatorKey, { value: { step: 2 } }, { 'if-match': '"3"' });
      expect(stale.statusCode).toBe(412);
      expect(stale.headers['content-type']).toMatch(PROBLEM);
      expect(stale.json<{ currentVersion: number }>().currentVersion).toBe(4);
      expect(stale.headers['etag']).toBe('"4"');

      const garbage = await call('PUT', url, operatorKey, { value: 1 }, { 'if-match': 'yesterday' });
      expect(garbage.statusCode).toBe(412);
      expect(services.last<PutContext>('PutContext')?.value).toBeDefined();
    });
  });
});
