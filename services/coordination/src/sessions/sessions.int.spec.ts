import { randomUUID } from 'node:crypto';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { ValueSchema } from '@bufbuild/protobuf/wkt';
import {
  CancelSessionSchema,
  GetContextSchema,
  ListMessagesSchema,
  PostMessageSchema,
  PutContextSchema,
  StartSessionSchema,
  SuggestSessionSchema,
  TaskSpecSchema,
  type ContextEntry,
  type ListMessages,
  type MessageAck,
  type MessagePage,
  type SessionAck,
  type SessionStart,
  type SessionSuggestion,
  type TaskSpec,
} from '@orch/contracts';
import { RemoteDomainError } from '@orch/messaging';
import { recordedEvent } from '@orch/messaging/testing';
import { eventually } from '@orch/testing';
import { startTestCoordination, type TestCoordination } from '../testing/harness';

type Start = Omit<MessageInitShape<typeof StartSessionSchema>, '$typeName'>;
type TaskFields = Partial<Pick<TaskSpec, 'capabilities' | 'dependsOn'>>;

const task = (key: string, fields: TaskFields = {}): TaskSpec =>
  create(TaskSpecSchema, { key, type: 'work', capabilities: ['code'], ...fields });
const text = (s: string) => create(ValueSchema, { kind: { case: 'stringValue', value: s } });

describe('sessions over real NATS and PostgreSQL', () => {
  let c: TestCoordination;
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected a rejection');
      },
      (e: unknown) => e as RemoteDomainError,
    );
  const register = (capabilities: Record<string, number>, agentType = 'generic') =>
    c.registerAgent({
      agentType,
      capabilities: Object.entries(capabilities).map(([name, level]) => ({ name, level })),
    });
  const start = (fields: Start) =>
    c.request<SessionStart>(
      'StartSession',
      create(StartSessionSchema, { sessionId: randomUUID(), goal: 'build it', ...fields }),
    );
  const list = (
    sessionId: string,
    fields: Partial<Pick<ListMessages, 'afterSequence' | 'agentId' | 'waitMs'>> = {},
  ) => c.request<MessagePage>('ListMessages', create(ListMessagesSchema, { sessionId, ...fields }));
  const post = (sessionId: string, body: string, to = '') =>
    c.request<MessageAck>(
      'PostMessage',
      create(PostMessageSchema, { sessionId, messageId: randomUUID(), from: 'user', to, body: text(body) }),
    );

  beforeAll(async () => {
    c = await startTestCoordination();
  });
  afterAll(async () => c?.close());

  it('starts an auto session, recording its pattern, reason and roles, and answers a retry the same way', async () => {
    const coder = await register({ code: 0.9, testing: 0.6 });
    const sessionId = randomUUID();
    const fields = {
      sessionId,
      pattern: 'auto',
      tasks: [task('a'), task('b', { dependsOn: ['a'] })],
      agentIds: [coder],
    };
    const reply = await start(fields);
    expect(reply).toMatchObject({
      sessionId,
      pattern: 'solo',
      patternReason: '2 tasks all needing code: one agent does them',
      roles: { soloAgentId: coder },
    });
    const [event] = await c.store.readStream(`session-${sessionId}`);
    expect(event).toMatchObject({
      type: 'SessionStarted',
      metadata: { command: { name: 'coordination.StartSession' } },
    });
    expect(event?.data).toMatchObject({
      pattern: 'solo',
      strategy: 'weighted',
      tasks: [
        { key: 'a', input: {} },
        { key: 'b', dependsOn: ['a'] },
      ],
    });
    expect(await start(fields)).toEqual(reply);
    expect(await c.store.readStream(`session-${sessionId}`)).toHaveLength(1);
    const conflict = await failure(start({ ...fields, goal: 'another goal' }));
    expect(conflict).toMatchObject({ code: 'conflict' });
  });

  it('rejects a cyclic DAG with its cycle and appends nothing', async () => {
    const sessionId = randomUUID();
    const error = await failure(
      start({
        sessionId,
        pattern: 'swarm',
        tasks: [task('a', { dependsOn: ['b'] }), task('b', { dependsOn: ['a'] })],
      }),
    );
    expect(error).toMatchObject({ code: 'validation', details: { cycle: ['a', 'b', 'a'] } });
    expect(error.errors).toEqual([{ path: 'tasks', message: 'dependency cycle: a -> b -> a' }]);
    expect(await c.store.readStream(`session-${sessionId}`)).toEqual([]);
  });

  it('rejects a capability no agent or catalogue type offers', async () => {
    const error = await failure(
      start({ pattern: 'swarm', tasks: [task('a', { capabilities: ['code', 'levitation'] })] }),
    );
    expect(error).toMatchObject({ code: 'validation' });
    expect(error.errors.map((e) => e.path)).toEqual(['tasks[0].capabilities[1]']);
  });

  it('refuses a solo session no agent can work alone, with a conflict naming what is missing', async () => {
    const capability = `cap-${randomUUID()}`;
    await register({ [capability]: 1 });
    const sessionId = randomUUID();
    const error = await failure(
      start({ sessionId, pattern: 'solo', tasks: [task('a', { capabilities: [capability, 'deploy'] })] }),
    );
    expect(error).toMatchObject({ code: 'conflict' });
    expect(error.message).toContain(`none has ${capability}, deploy`);
    expect(await c.store.readStream(`session-${sessionId}`)).toEqual([]);
  });

  it('cancels a running session once, and closes it when its workflow ends', async () => {
    await register({ code: 1 });
    const { sessionId } = await start({ pattern: 'swarm', tasks: [task('a')] });
    const cancel = create(CancelSessionSchema, { sessionId, reason: 'no longer needed' });
    expect(await c.request<SessionAck>('CancelSession', cancel)).toMatchObject({ status: 'cancelled' });
    expect(await c.request<SessionAck>('CancelSession', cancel)).toMatchObject({ status: 'cancelled' });
    await c.publish(
      recordedEvent({
        type: 'WorkflowCancelled',
        source: 'distribution',
        streamId: `workflow-${sessionId}`,
        data: { sessionId, reason: 'no longer needed', cancelledAt: new Date().toISOString() },
      }),
    );
    const closed = await eventually(
      async () => (await c.store.readStream(`session-${sessionId}`)).find((e) => e.type === 'SessionClosed'),
      { what: 'SessionClosed' },
    );
    expect(closed.data).toMatchObject({ status: 'cancelled', reason: 'no longer needed' });
    expect(await failure(post(sessionId, 'too late'))).toMatchObject({ code: 'illegal_state' });
  });

  it('refuses to cancel a completed session', async () => {
    await register({ code: 1 });
    const { sessionId } = await start({ pattern: 'swarm', tasks: [task('a')] });
    await c.publish(
      recordedEvent({
        type: 'WorkflowCompleted',
        source: 'distribution',
        streamId: `workflow-${sessionId}`,
        data: { sessionId, completedAt: new Date().toISOString() },
      }),
    );
    await eventually(
      async () => (await c.store.readStream(`session-${sessionId}`)).find((e) => e.type === 'SessionClosed'),
      { what: 'SessionClosed' },
    );
    const error = await failure(c.request('CancelSession', create(CancelSessionSchema, { sessionId })));
    expect(error).toMatchObject({ code: 'illegal_state' });
  });

  it('keeps messages in order, filters them for an agent, and wakes a long-poll', async () => {
    await register({ code: 1 });
    const { sessionId } = await start({ pattern: 'swarm', tasks: [task('a')] });
    expect((await post(sessionId, 'one')).sequence).toBe(1n);
    expect((await post(sessionId, 'two', 'agent-x')).sequence).toBe(2n);
    expect((await post(sessionId, 'three', 'agent-y')).sequence).toBe(3n);
    const all = await list(sessionId);
    expect(all.items.map((m) => [m.sequence, m.body?.kind.value])).toEqual([
      [1n, 'one'],
      [2n, 'two'],
      [3n, 'three'],
    ]);
    expect(all.lastSequence).toBe(3n);
    expect((await list(sessionId, { agentId: 'agent-x' })).items.map((m) => m.sequence)).toEqual([1n, 2n]);

    const waiting = list(sessionId, { afterSequence: 3n, waitMs: 10_000 });
    await new Promise((r) => setTimeout(r, 100));
    await post(sessionId, 'four');
    const woken = await waiting;
    expect(woken.items.map((m) => m.body?.kind.value)).toEqual(['four']);
    expect(woken.lastSequence).toBe(4n);
    expect(await list(sessionId, { afterSequence: 4n, waitMs: 50 })).toMatchObject({
      items: [],
      lastSequence: 0n,
    });
  });

  it('answers a retried message with its original sequence', async () => {
    await register({ code: 1 });
    const { sessionId } = await start({ pattern: 'swarm', tasks: [task('a')] });
    const message = create(PostMessageSchema, {
      sessionId,
      messageId: randomUUID(),
      from: 'user',
      body: text('hi'),
    });
    await post(sessionId, 'first');
    expect((await c.request<MessageAck>('PostMessage', message)).sequence).toBe(2n);
    expect((await c.request<MessageAck>('PostMessage', message)).sequence).toBe(2n);
  });

  it('versions the shared context and refuses a write at a stale version', async () => {
    await register({ code: 1 });
    const { sessionId } = await start({ pattern: 'swarm', tasks: [task('a')] });
    const get = () =>
      c.request<ContextEntry>('GetContext', create(GetContextSchema, { sessionId, key: 'plan' }));
    const unwritten = await get();
    expect(unwritten.version).toBe(0n);
    expect(unwritten.value).toBeUndefined();
    const put = (value: string, expectedVersion?: bigint) =>
      c.request<ContextEntry>(
        'PutContext',
        create(PutContextSchema, {
          sessionId,
          key: 'plan',
          value: text(value),
          ...(expectedVersion !== undefined ? { checkVersion: true, expectedVersion } : {}),
        }),
      );
    expect(await put('draft', 0n)).toMatchObject({ version: 1n });
    expect(await put('final', 1n)).toMatchObject({ version: 2n });
    const stale = await failure(put('stale', 1n));
    expect(stale).toMatchObject({ code: 'conflict', details: { currentVersion: 2, expectedVersion: 1 } });
    expect((await get()).value?.kind.value).toBe('final');
    const missing = await failure(
      c.request('GetContext', create(GetContextSchema, { sessionId: randomUUID(), key: 'plan' })),
    );
    expect(missing).toMatchObject({ code: 'not_found' });
  });

  it('suggests a pattern and the agents a goal needs', async () => {
    const planner = await register({}, 'planner');
    const suggestion = await c.request<SessionSuggestion>(
      'SuggestSession',
      create(SuggestSessionSchema, { goal: 'plan a launch' }),
    );
    expect(suggestion.pattern).toBe('hierarchical');
    expect(suggestion.agents[0]).toMatchObject({ agentType: 'planner', count: 1 });
    expect(suggestion.agents[0]?.availableAgentIds).toContain(planner);
  });
});
