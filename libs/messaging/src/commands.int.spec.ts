import { create, fromBinary } from '@bufbuild/protobuf';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  AgentRegistrationSchema,
  commandTypes,
  CommandReplySchema,
  RegisterAgentSchema,
  type AgentRegistration,
  type CommandTypeInfo,
  type RegisterAgent,
} from '@orch/contracts';
import { ConflictError, ValidationError } from '@orch/domain-kit';
import { WrongExpectedVersionError } from '@orch/eventstore';
import { testNatsUrl, uniqueName } from '@orch/testing';
import {
  CommandBus,
  CommandServer,
  isCommandTimeout,
  isRemoteDomainError,
  isServiceUnavailable,
  naming,
  type RemoteDomainError,
  type CommandContext,
} from './index';
import { installTestTracing, testLogger } from './testing';

const register = commandTypes.get('coordination.RegisterAgent') as CommandTypeInfo;
const logger = testLogger();

describe('command bus over NATS request/reply', () => {
  const ns = naming(uniqueName('cmd'));
  let client: NatsConnection;
  let serverA: NatsConnection;
  let serverB: NatsConnection;
  let bus: CommandBus;
  const servers: CommandServer[] = [];
  const tracing = installTestTracing();

  const serve = (
    nc: NatsConnection,
    handler: (p: RegisterAgent, ctx: CommandContext) => Promise<AgentRegistration>,
  ) => {
    const server = new CommandServer(nc, ns, 'coordination', logger);
    server.handle<RegisterAgent, AgentRegistration>(register, handler);
    servers.push(server);
    return server;
  };

  beforeAll(async () => {
    client = await connect({ servers: testNatsUrl() });
    serverA = await connect({ servers: testNatsUrl() });
    serverB = await connect({ servers: testNatsUrl() });
    bus = new CommandBus(client, ns);
  });

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    tracing.exporter.reset();
  });

  afterAll(async () => {
    await Promise.all([client, serverA, serverB].map((nc) => nc.close()));
    await tracing.uninstall();
  });

  const payload = (agentId = 'agent-1') =>
    create(RegisterAgentSchema, { agentId, name: 'coder', maxConcurrency: 2 });

  it('delivers the payload and context to the handler and returns its reply', async () => {
    let seen: { payload: RegisterAgent; ctx: CommandContext } | undefined;
    serve(serverA, async (p, ctx) => {
      seen = { payload: p, ctx };
      return create(AgentRegistrationSchema, { agentId: p.agentId, streamVersion: 1n });
    });
    await serverA.flush();

    const reply = await bus.request<AgentRegistration>(register, payload('a-42'), {
      correlationId: 'session-1',
      causationId: 'event-9',
      commandId: 'cmd-1',
      principal: { id: 'key-1', role: 'operator' },
    });

    expect(reply.agentId).toBe('a-42');
    expect(reply.streamVersion).toBe(1n);
    expect(seen?.payload.name).toBe('coder');
    expect(seen?.ctx).toMatchObject({
      commandId: 'cmd-1',
      command: 'coordination.RegisterAgent',
      correlationId: 'session-1',
      causationId: 'event-9',
      principal: { id: 'key-1', role: 'operator' },
    });
    expect(seen?.ctx.principal).not.toHaveProperty('agentId');
    expect(seen?.ctx.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(seen?.ctx.deadline?.getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('uses the command id as causation id when the caller gives none', async () => {
    let ctx: CommandContext | undefined;
    serve(serverA, async (p, c) => {
      ctx = c;
      return create(AgentRegistrationSchema, { agentId: p.agentId });
    });
    await serverA.flush();
    await bus.request(register, payload(), { correlationId: 'c', commandId: 'cmd-7' });
    expect(ctx?.causationId).toBe('cmd-7');
  });

  it('round-trips a validation error with its code, field errors and details', async () => {
    serve(serverA, async () => {
      throw new ValidationError(
        'agent is invalid',
        [{ path: 'capabilities[0].level', message: 'must be <= 1' }],
        {
          limit: 1,
          seen: 3n,
        },
      );
    });
    await serverA.flush();

    const err = await bus.request(register, payload(), { correlationId: 'c' }).catch((e: unknown) => e);

    expect(isRemoteDomainError(err)).toBe(true);
    const remote = err as RemoteDomainError;
    expect(remote.code).toBe('validation');
    expect(remote.message).toBe('agent is invalid');
    expect(remote.errors).toEqual([{ path: 'capabilities[0].level', message: 'must be <= 1' }]);
    expect(remote.details).toEqual({ limit: 1, seen: '3' });
    expect(remote.command).toBe('coordination.RegisterAgent');
  });

  it('keeps the code of other domain errors and maps version conflicts to "concurrency"', async () => {
    let call = 0;
    serve(serverA, async () => {
      call++;
      if (call === 1) throw new ConflictError('agent exists', { agentId: 'a' });
      throw new WrongExpectedVersionError('agent-a', 3n, 4n);
    });
    await serverA.flush();

    const conflict = (await bus
      .request(register, payload(), { correlationId: 'c' })
      .catch((e) => e)) as RemoteDomainError;
    const concurrency = (await bus
      .request(register, payload(), { correlationId: 'c' })
      .catch((e) => e)) as RemoteDomainError;

    expect(conflict).toMatchObject({ code: 'conflict', details: { agentId: 'a' } });
    expect(concurrency).toMatchObject({
      code: 'concurrency',
      details: { streamId: 'agent-a', expected: '3', actual: '4' },
    });
  });

  it('answers an unexpected error with a generic "internal" error that hides the message', async () => {
    serve(serverA, async () => {
      throw new Error('password=hunter2 connection refused');
    });
    await serverA.flush();
    const err = (await bus
      .request(register, payload(), { correlationId: 'c' })
      .catch((e) => e)) as RemoteDomainError;
    expect(err.code).toBe('internal');
    expect(err.message).not.toContain('hunter2');
  });

  it('answers a request that is not a CommandEnvelope with a validation error', async () => {
    serve(serverA, async (p) => create(AgentRegistrationSchema, { agentId: p.agentId }));
    await serverA.flush();
    const msg = await client.request(
      ns.commandSubject('coordination', 'RegisterAgent'),
      new Uint8Array([0xff, 0xff, 0xff]),
      {
        timeout: 2_000,
      },
    );
    const reply = fromBinary(CommandReplySchema, msg.data);
    expect(reply.result.case).toBe('error');
    expect(reply.result.case === 'error' && reply.result.value.code).toBe('validation');
  });

  it('throws CommandTimeoutError when no reply arrives in time', async () => {
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    serve(serverA, async (p) => {
      await released;
      return create(AgentRegistrationSchema, { agentId: p.agentId });
    });
    await serverA.flush();
    const err = await bus
      .request(register, payload(), { correlationId: 'c', timeoutMs: 150 })
      .catch((e) => e);
    release();
    expect(isCommandTimeout(err)).toBe(true);
    expect(err).toMatchObject({ code: 'timeout', command: 'coordination.RegisterAgent', timeoutMs: 150 });
  });

  it('throws ServiceUnavailableError when no replica listens', async () => {
    const err = await bus
      .request(register, payload(), { correlationId: 'c', timeoutMs: 2_000 })
      .catch((e) => e);
    expect(isServiceUnavailable(err)).toBe(true);
    expect(err).toMatchObject({ code: 'unavailable' });
  });

  it('answers each request once across the replicas of a queue group', async () => {
    const calls = { a: 0, b: 0 };
    const byId = new Map<string, number>();
    const handler = (who: 'a' | 'b') => async (p: RegisterAgent) => {
      calls[who]++;
      byId.set(p.agentId, (byId.get(p.agentId) ?? 0) + 1);
      return create(AgentRegistrationSchema, { agentId: p.agentId });
    };
    serve(serverA, handler('a'));
    serve(serverB, handler('b'));
    await Promise.all([serverA.flush(), serverB.flush()]);

    const n = 60;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        bus.request<AgentRegistration>(register, payload(`q-${i}`), { correlationId: 'c' }),
      ),
    );

    expect(replies.map((r) => r.agentId).sort()).toEqual(
      Array.from({ length: n }, (_, i) => `q-${i}`).sort(),
    );
    expect(calls.a + calls.b).toBe(n);
    expect([...byId.values()].every((count) => count === 1)).toBe(true);
    // Both replicas took part (probability of one taking all 60 is 2^-59).
    expect(calls.a).toBeGreaterThan(0);
    expect(calls.b).toBeGreaterThan(0);
  });

  it('continues the caller trace: the handler span descends from the span active at request()', async () => {
    let handlerTraceparent = '';
    serve(serverA, async (p, ctx) => {
      handlerTraceparent = ctx.traceparent;
      return create(AgentRegistrationSchema, { agentId: p.agentId });
    });
    await serverA.flush();

    const tracer = trace.getTracer('test');
    const callerSpanId = await tracer.startActiveSpan('caller', async (span) => {
      await bus.request(register, payload(), { correlationId: 'c' });
      span.end();
      return span.spanContext();
    });

    const spans = tracing.exporter.getFinishedSpans();
    const send = spans.find((s) => s.name === 'send coordination.RegisterAgent');
    const handle = spans.find((s) => s.name === 'handle coordination.RegisterAgent');
    expect(send?.spanContext().traceId).toBe(callerSpanId.traceId);
    expect(send?.parentSpanContext?.spanId).toBe(callerSpanId.spanId);
    expect(handle?.spanContext().traceId).toBe(callerSpanId.traceId);
    expect(handle?.parentSpanContext?.spanId).toBe(send?.spanContext().spanId);
    expect(handlerTraceparent).toBe(`00-${callerSpanId.traceId}-${handle?.spanContext().spanId}-01`);
  });

  it('marks transient failures as span errors but not business rejections', async () => {
    let call = 0;
    serve(serverA, async () => {
      call++;
      if (call === 1) throw new ConflictError('exists');
      throw new Error('database down');
    });
    await serverA.flush();
    await bus.request(register, payload(), { correlationId: 'c' }).catch(() => undefined);
    await bus.request(register, payload(), { correlationId: 'c' }).catch(() => undefined);

    const handles = tracing.exporter
      .getFinishedSpans()
      .filter((s) => s.name === 'handle coordination.RegisterAgent');
    expect(handles).toHaveLength(2);
    expect(handles[0]?.status.code).toBe(SpanStatusCode.UNSET);
    expect(handles[0]?.attributes['orch.rejection.code']).toBe('conflict');
    expect(handles[1]?.status.code).toBe(SpanStatusCode.ERROR);
  });
});
