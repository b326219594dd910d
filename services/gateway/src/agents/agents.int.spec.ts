import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import {
  AgentPageSchema,
  AgentRegistrationSchema,
  AgentViewSchema,
  commandTypes,
  type AgentView,
  type CommandTypeInfo,
  type GetAgent,
  type ListAgents,
  type RegisterAgent,
} from '@orch/contracts';
import {
  ConflictError,
  ForbiddenError,
  IllegalStateError,
  NotFoundError,
  ValidationError,
} from '@orch/domain-kit';
import { WrongExpectedVersionError } from '@orch/eventstore';
import { CommandServer, type CommandContext } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';
import { initTelemetry, type Telemetry } from '@orch/observability';
import { eventually, testNatsUrl } from '@orch/testing';
import { Database } from '../db/database';
import { KeysService } from '../keys/keys.service';
import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';

const PROBLEM = /^application\/problem\+json/;
const info = (name: string): CommandTypeInfo => {
  const i = commandTypes.get(name);
  if (!i) throw new Error(name);
  return i;
};

/**
 * The other side of the wire: a real CommandServer on NATS answering coordination's agent
 * commands with canned replies, so these tests prove how the gateway maps replies and remote
 * error codes to HTTP. The full slice with the real coordination service is tested elsewhere.
 */
class FakeCoordination {
  readonly agents = new Map<string, AgentView>();
  readonly registerCalls: { payload: RegisterAgent; ctx: CommandContext }[] = [];
  readonly getCalls: CommandContext[] = [];
  failOnce = new Set<string>();
  private releaseHeld: (() => void) | undefined;
  private held: Promise<void> | undefined;

  hold(): void {
    this.held = new Promise((r) => (this.releaseHeld = r));
  }
  release(): void {
    this.releaseHeld?.();
    this.held = undefined;
  }

  serve(server: CommandServer): void {
    server.handle<RegisterAgent, never>(info('coordination.RegisterAgent'), async (p, ctx) => {
      this.registerCalls.push({ payload: p, ctx });
      if (p.name === 'hold') await this.held;
      if (p.name === 'invalid')
        throw new ValidationError('capability unknown', [
          { path: 'capabilities[0].name', message: 'unknown capability' },
        ]);
      if (p.name === 'taken') throw new ConflictError(`agent name ${p.name} is taken`);
      if (p.name === 'boom') throw new Error('database exploded');
      if (this.failOnce.delete(p.name)) throw new Error('transient failure');
      if (!this.agents.has(p.agentId)) {
        this.agents.set(
          p.agentId,
          create(AgentViewSchema, {
            id: p.agentId,
            name: p.name,
            provider: p.provider,
            model: p.model,
            status: 'idle',
            capabilities: p.capabilities,
            circuit: 'closed',
            maxConcurrency: p.maxConcurrency,
            ...(p.cost ? { cost: p.cost } : {}),
            labels: p.labels,
            agentType: p.agentType,
            registeredAt: timestampFromDate(new Date('2026-03-01T10:00:00Z')),
            version: 1n,
          }),
        );
      }
      return create(AgentRegistrationSchema, { agentId: p.agentId, streamVersion: 1n }) as never;
    });
    server.handle<GetAgent, never>(info('coordination.GetAgent'), async (p, ctx) => {
      this.getCalls.push(ctx);
      switch (p.agentId) {
        case 'forbidden':
          throw new ForbiddenError('not yours');
        case 'draining':
          throw new IllegalStateError('agent is draining');
        case 'racing':
          throw new WrongExpectedVersionError('agent-racing', 3n, 4n);
        case 'slow':
          await new Promise((r) => setTimeout(r, 1500));
          break;
      }
      const view = this.agents.get(p.agentId);
      if (!view) throw new NotFoundError(`agent ${p.agentId} not found`, { agentId: p.agentId });
      return view as never;
    });
    server.handle<ListAgents, never>(info('coordination.ListAgents'), async (p) => {
      const all = [...this.agents.values()];
      const start = p.cursor ? Number(p.cursor) : 0;
      const items = all.slice(start, start + p.limit);
      const next = start + p.limit < all.length ? String(start + p.limit) : '';
      return create(AgentPageSchema, { items, nextCursor: next }) as never;
    });
  }
}

describe('agents routes against a CommandServer on NATS', () => {
  let telemetry: Telemetry;
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor({ exporter });
  let gw: TestGateway;
  let nc: NatsConnection;
  let server: CommandServer;
  const coordination = new FakeCoordination();
  let operatorKey: string;
  let viewerKey: string;

  beforeAll(async () => {
    telemetry = initTelemetry({ serviceName: 'gateway-test', spanProcessors: [processor], otlpEndpoint: '' });
    gw = await startTestGateway({ commandTimeoutMs: 500 });
    nc = await connect({ servers: testNatsUrl() });
    server = new CommandServer(nc, gw.naming, 'coordination', testLogger());
    coordination.serve(server);
    await nc.flush();
    const key = async (role: string) =>
      (
        await gw.app.inject({
          method: 'POST',
          url: '/api/keys',
          headers: gw.auth(gw.adminKey),
          payload: { role, name: role },
        })
      ).json<{ key: string }>().key;
    operatorKey = await key('operator');
    viewerKey = await key('viewer');
  });

  afterAll(async () => {
    coordination.release();
    await server.close();
    await nc.close();
    await gw.close();
    await telemetry.shutdown();
  });

  const keysOfAgent = async (agentId: string): Promise<number> => {
    const db = gw.app.get(Database);
    const { rows } = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${db.s}.api_keys WHERE agent_id = $1 AND revoked_at IS NULL`,
      [agentId],
    );
    return rows[0]?.n ?? 0;
  };
  const register = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    gw.app.inject({
      method: 'POST',
      url: '/api/agents',
      headers: { ...gw.auth(operatorKey), ...headers },
      payload: body,
    });
  const agentBody = (name: string) => ({
    name,
    provider: 'anthropic',
    model: 'claude-sonnet',
    capabilities: ['typescript', { name: 'review', level: 0.8 }],
    maxConcurrency: 2,
    costPer1kInputTokens: 0.003,
    labels: { team: 'core' },
  });

  describe('POST /api/agents', () => {
    it('registers through coordination and returns the id and an agent-scoped key', async () => {
      const res = await register(agentBody('coder'), { 'x-correlation-id': 'corr-register-1' });
      expect(res.statusCode).toBe(201);
      const body = res.json<{ id: string; apiKey: string }>();
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.apiKey).toMatch(/^orch_/);

      const call = coordination.registerCalls.at(-1);
      expect(call?.payload).toMatchObject({ agentId: body.id, name: 'coder', maxConcurrency: 2 });
      expect(call?.payload.capabilities.map((c) => [c.name, c.level])).toEqual([
        ['typescript', 1],
        ['review', 0.8],
      ]);
      expect(call?.ctx.correlationId).toBe('corr-register-1');
      expect(call?.ctx.principal).toMatchObject({ role: 'operator' });

      // The new key reaches its own agent, and only it.
      const own = await gw.app.inject({
        method: 'GET',
        url: `/api/agents/${body.id}`,
        headers: gw.auth(body.apiKey),
      });
      expect(own.statusCode).toBe(200);
      expect(own.json()).toMatchObject({
        id: body.id,
        name: 'coder',
        provider: 'anthropic',
        model: 'claude-sonnet',
        status: 'idle',
        activeTasks: 0,
        capabilities: [
          { name: 'typescript', level: 1 },
          { name: 'review', level: 0.8 },
        ],
        circuit: 'closed',
        maxConcurrency: 2,
        costPer1kInputTokens: 0.003,
        costPer1kOutputTokens: 0,
        labels: { team: 'core' },
        type: '',
        registeredAt: '2026-03-01T10:00:00.000Z',
      });
      expect(coordination.getCalls.at(-1)?.principal).toEqual({
        id: expect.any(String),
        role: 'agent',
        agentId: body.id,
      });
      const other = await gw.app.inject({
        method: 'GET',
        url: '/api/agents/someone-else',
        headers: gw.auth(body.apiKey),
      });
      expect(other.statusCode).toBe(403);
    });

    it('continues the caller trace: the command runs under the request span', async () => {
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      await register(agentBody('traced'), { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
      const ctx = coordination.registerCalls.at(-1)?.ctx;
      expect(ctx?.traceparent.split('-')[1]).toBe(traceId);
      await processor.forceFlush();
      const serverSpan = exporter
        .getFinishedSpans()
        .find((s) => s.name === 'POST /api/agents' && s.spanContext().traceId === traceId);
      expect(serverSpan?.attributes['http.response.status_code']).toBe(201);
      const sendSpan = exporter
        .getFinishedSpans()
        .find((s) => s.name === 'send coordination.RegisterAgent' && s.spanContext().traceId === traceId);
      expect(sendSpan?.parentSpanContext?.spanId).toBe(serverSpan?.spanContext().spanId);
    });

    it('answers 400 naming the field, without calling coordination, for an invalid body', async () => {
      const before = coordination.registerCalls.length;
      const res = await register({
        ...agentBody('x'),
        maxConcurrency: 0,
        capabilities: [{ name: 'a', level: 2 }],
        surprise: 1,
      });
      expect(res.statusCode).toBe(400);
      expect(
        res
          .json()
          .errors.map((e: { path: string }) => e.path)
          .sort(),
      ).toEqual(['capabilities[0].level', 'maxConcurrency', 'surprise']);
      expect(coordination.registerCalls.length).toBe(before);
    });

    it.each([
      ['invalid', 400, 'urn:orch:problem:validation'],
      ['taken', 409, 'urn:orch:problem:conflict'],
      ['boom', 502, 'urn:orch:problem:bad_gateway'],
    ])('maps a %s rejection to %i problem+json', async (name, status, type) => {
      const res = await register(agentBody(name));
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json().type).toBe(type);
      if (name === 'invalid')
        expect(res.json().errors).toEqual([{ path: 'capabilities[0].name', message: 'unknown capability' }]);
      if (name === 'boom') expect(res.json().detail).not.toContain('database exploded');
    });

    it('issues no key when registration fails', async () => {
      const res = await register(agentBody('taken'));
      expect(res.statusCode).toBe(409);
      const agentId = coordination.registerCalls.at(-1)?.payload.agentId;
      expect(await keysOfAgent(agentId ?? '')).toBe(0);
    });

    it('answers 503 when the key cannot be issued after registration, and a retry with the same key completes', async () => {
      const db = gw.app.get(Database);
      // Make the key insert fail for this agent only, as a database failure would.
      await db.pool.query(`
        CREATE FUNCTION ${db.s}.refuse_key() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'simulated failure'; END $$;
        CREATE TRIGGER refuse_key BEFORE INSERT ON ${db.s}.api_keys
          FOR EACH ROW WHEN (NEW.name = 'agent keyless') EXECUTE FUNCTION ${db.s}.refuse_key();`);
      const headers = { 'idempotency-key': 'register-keyless-1' };
      const failed = await register(agentBody('keyless'), headers);
      expect(failed.statusCode).toBe(503);
      expect(failed.headers['content-type']).toMatch(PROBLEM);
      const problem = failed.json();
      expect(problem.type).toBe('urn:orch:problem:agent_key_not_issued');
      expect(coordination.agents.has(problem.agentId)).toBe(true);
      expect(await keysOfAgent(problem.agentId)).toBe(0);

      await db.pool.query(`DROP TRIGGER refuse_key ON ${db.s}.api_keys; DROP FUNCTION ${db.s}.refuse_key();`);
      const retry = await register(agentBody('keyless'), headers);
      expect(retry.statusCode).toBe(201);
      expect(retry.json().id).toBe(problem.agentId);
      expect(await keysOfAgent(problem.agentId)).toBe(1);
    });

    it('replays a completed registration for the same Idempotency-Key: one agent, one key', async () => {
      const headers = { 'idempotency-key': 'register-replay-1' };
      const first = await register(agentBody('replayed'), headers);
      const calls = coordination.registerCalls.length;
      const retry = await register(agentBody('replayed'), headers);
      expect(retry.statusCode).toBe(201);
      expect(retry.headers['idempotency-replayed']).toBe('true');
      expect(retry.json()).toEqual(first.json());
      expect(coordination.registerCalls.length).toBe(calls);
    });

    it('answers 422 for the same Idempotency-Key with another body', async () => {
      await register(agentBody('first-body'), { 'idempotency-key': 'register-mismatch-1' });
      const res = await register(agentBody('second-body'), { 'idempotency-key': 'register-mismatch-1' });
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).toMatch(PROBLEM);
    });

    it('answers 409 while the first request with the key is still in progress', async () => {
      coordination.hold();
      const calls = coordination.registerCalls.length;
      const first = register(agentBody('hold'), { 'idempotency-key': 'register-held-1' });
      await eventually(() => (coordination.registerCalls.length > calls ? true : undefined), {
        what: 'the held registration',
      });
      const second = await register(agentBody('hold'), { 'idempotency-key': 'register-held-1' });
      expect(second.statusCode).toBe(409);
      expect(second.json().type).toBe('urn:orch:problem:idempotency_in_progress');
      coordination.release();
      expect((await first).statusCode).toBe(201);
    });

    it('releases the key after a 5xx, so a retry re-sends the same agent id and succeeds', async () => {
      coordination.failOnce.add('flaky');
      const headers = { 'idempotency-key': 'register-flaky-1' };
      const failed = await register(agentBody('flaky'), headers);
      expect(failed.statusCode).toBe(502);
      const retry = await register(agentBody('flaky'), headers);
      expect(retry.statusCode).toBe(201);
      expect(retry.headers['idempotency-replayed']).toBeUndefined();
      const attempts = coordination.registerCalls.filter((c) => c.payload.name === 'flaky');
      expect(attempts).toHaveLength(2);
      expect(attempts[0]?.payload.agentId).toBe(attempts[1]?.payload.agentId);
      expect(attempts[0]?.ctx.commandId).toBe(attempts[1]?.ctx.commandId);
      expect(retry.json().id).toBe(attempts[0]?.payload.agentId);
    });

    it('keeps one registration key per agent when a registration is retried', async () => {
      coordination.failOnce.add('rekeyed');
      const headers = { 'idempotency-key': 'register-rekey-1' };
      await register(agentBody('rekeyed'), headers); // 502: registration failed before any key
      const ok = await register(agentBody('rekeyed'), headers);
      const { id, apiKey } = ok.json<{ id: string; apiKey: string }>();
      // A new registration key for the same agent (as a retry after a lost response would make) revokes the old one.
      const keys = gw.app.get(KeysService);
      const principal = { id: 'test', role: 'admin' as const };
      const replacement = await keys.issueRegistrationKey(id, 'agent rekeyed', principal);
      const old = await gw.app.inject({ method: 'GET', url: `/api/agents/${id}`, headers: gw.auth(apiKey) });
      expect(old.statusCode).toBe(401);
      const fresh = await gw.app.inject({
        method: 'GET',
        url: `/api/agents/${id}`,
        headers: gw.auth(replacement.key),
      });
      expect(fresh.statusCode).toBe(200);
    });
  });

  describe('GET /api/agents/{id}', () => {
    it.each([
      ['unknown-agent', 404, 'urn:orch:problem:not_found'],
      ['forbidden', 403, 'urn:orch:problem:forbidden'],
      ['draining', 409, 'urn:orch:problem:illegal_state'],
      ['racing', 409, 'urn:orch:problem:concurrency'],
      ['slow', 504, 'urn:orch:problem:timeout'],
    ])('maps %s to %i', async (id, status, type) => {
      const res = await gw.app.inject({
        method: 'GET',
        url: `/api/agents/${id}`,
        headers: gw.auth(viewerKey),
      });
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json()).toMatchObject({ type, status, instance: `/api/agents/${id}` });
    });
  });

  describe('GET /api/agents', () => {
    it('pages with limit and cursor', async () => {
      const first = await gw.app.inject({
        method: 'GET',
        url: '/api/agents?limit=2',
        headers: gw.auth(viewerKey),
      });
      expect(first.statusCode).toBe(200);
      const page = first.json<{ items: { id: string }[]; nextCursor: string | null }>();
      expect(page.items).toHaveLength(2);
      expect(page.nextCursor).toBe('2');
      const all = await gw.app.inject({
        method: 'GET',
        url: '/api/agents?limit=500',
        headers: gw.auth(viewerKey),
      });
      const everything = all.json<{ items: { id: string }[]; nextCursor: string | null }>();
      expect(everything.nextCursor).toBeNull();
      const second = await gw.app.inject({
        method: 'GET',
        url: `/api/agents?limit=2&cursor=${page.nextCursor}`,
        headers: gw.auth(viewerKey),
      });
      expect(second.json().items.map((a: { id: string }) => a.id)).toEqual(
        everything.items.slice(2, 4).map((a) => a.id),
      );
    });
  });

  describe('metrics', () => {
    it('times commands by outcome', async () => {
      const res = await gw.app.inject({ method: 'GET', url: '/metrics' });
      const lines = res.body.split('\n').filter((l) => l.startsWith('orch_command_duration_seconds_count{'));
      expect(
        lines.some((l) => l.includes('command="coordination.GetAgent"') && l.includes('outcome="not_found"')),
      ).toBe(true);
      expect(
        lines.some((l) => l.includes('command="coordination.RegisterAgent"') && l.includes('outcome="ok"')),
      ).toBe(true);
    });
  });

  describe('when coordination is not running', () => {
    it('answers 503 problem+json (no responders)', async () => {
      await server.close();
      const res = await gw.app.inject({ method: 'GET', url: '/api/agents', headers: gw.auth(viewerKey) });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json().type).toBe('urn:orch:problem:unavailable');
    });
  });
});
