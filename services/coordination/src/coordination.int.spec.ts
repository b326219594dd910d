import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import {
  GetAgentSchema,
  ListAgentsSchema,
  RegisterAgentSchema,
  type AgentPage,
  type AgentRegistration,
  type AgentView,
} from '@orch/contracts';
import { RemoteDomainError } from '@orch/messaging';
import { eventually, testDatabaseUrl } from '@orch/testing';
import { Client } from 'pg';
import { INBOX_RETENTION_MS, InboxJanitor } from './agents/inbox.janitor';
import { startTestCoordination, type AgentFields, type TestCoordination } from './testing/harness';

const registration = (overrides: AgentFields = {}) =>
  create(RegisterAgentSchema, {
    agentId: randomUUID(),
    name: 'coder-1',
    provider: 'openai',
    model: 'gpt-large',
    capabilities: [{ name: 'code', level: 0.8 }],
    maxConcurrency: 2,
    ...overrides,
  });

describe('the coordination service over real NATS and PostgreSQL', () => {
  let c: TestCoordination;
  const ctx = () => ({ correlationId: randomUUID(), principal: { id: 'test', role: 'admin' } });
  const inboxCount = async (): Promise<number> => {
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${c.schema}".consumer_inbox`,
      );
      return rows[0]?.n ?? 0;
    } finally {
      await pg.end();
    }
  };

  beforeAll(async () => {
    c = await startTestCoordination();
  });

  afterAll(async () => c?.close());

  it('registers an agent, records the command with the event, and serves it from the read model', async () => {
    const command = registration({ labels: { team: 'core' } });
    const context = ctx();
    const reply = await c.request<AgentRegistration>('RegisterAgent', command, context);
    expect(reply).toMatchObject({ agentId: command.agentId, streamVersion: 1n });

    const [event] = await c.store.readStream(`agent-${command.agentId}`);
    expect(event).toMatchObject({ type: 'AgentRegistered', source: 'coordination' });
    expect(event?.metadata).toMatchObject({
      correlationId: context.correlationId,
      principal: { id: 'test', role: 'admin' },
      command: { name: 'coordination.RegisterAgent', payload: { agentId: command.agentId } },
    });
    expect(event?.metadata.causationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event?.metadata.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);

    const view = await eventually(
      () =>
        c
          .request<AgentView>('GetAgent', create(GetAgentSchema, { agentId: command.agentId }), ctx())
          .catch(() => undefined),
      { what: 'the agent in the read model' },
    );
    expect(view).toMatchObject({
      id: command.agentId,
      name: 'coder-1',
      status: 'idle',
      circuit: 'closed',
      maxConcurrency: 2,
      version: 1n,
    });
    expect(view.labels).toEqual({ team: 'core' });
  });

  it('answers a retried identical registration with the same version and no new event', async () => {
    const command = registration();
    await c.request('RegisterAgent', command, ctx());
    const again = await c.request<AgentRegistration>('RegisterAgent', command, ctx());
    expect(again.streamVersion).toBe(1n);
  });

  it('refuses a different registration under an existing id with a conflict', async () => {
    const command = registration();
    await c.request('RegisterAgent', command, ctx());
    const error = await c
      .request('RegisterAgent', create(RegisterAgentSchema, { ...command, model: 'other' }), ctx())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteDomainError);
    expect(error).toMatchObject({ code: 'conflict' });
  });

  it('names every invalid field of a registration', async () => {
    const error = await c
      .request('RegisterAgent', registration({ capabilities: [], maxConcurrency: 0 }), ctx())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'validation' });
    expect((error as RemoteDomainError).errors.map((e) => e.path)).toEqual([
      'maxConcurrency',
      'capabilities',
    ]);
  });

  it('answers not_found for an unknown agent', async () => {
    const error = await c
      .request('GetAgent', create(GetAgentSchema, { agentId: randomUUID() }), ctx())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'not_found' });
  });

  it('pages through agents in registration order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const command = registration({ name: `pager-${i}` });
      ids.push(command.agentId);
      await c.request('RegisterAgent', command, ctx());
    }
    const seen: string[] = [];
    await eventually(
      async () => {
        seen.length = 0;
        let cursor = '';
        do {
          const page = await c.request<AgentPage>(
            'ListAgents',
            create(ListAgentsSchema, { limit: 2, cursor }),
            ctx(),
          );
          seen.push(...page.items.map((a) => a.id));
          cursor = page.nextCursor;
        } while (cursor !== '');
        return ids.every((id) => seen.includes(id)) ? true : undefined;
      },
      { what: 'all five agents listed' },
    );
    expect(seen.filter((id) => ids.includes(id))).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it('rejects a cursor it did not issue', async () => {
    const error = await c
      .request('ListAgents', create(ListAgentsSchema, { cursor: 'bogus' }), ctx())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'validation' });
  });

  it('exposes command, consumer and relay metrics for Prometheus', async () => {
    await c.request('RegisterAgent', registration(), ctx());
    const text = await eventually(
      async () => {
        const body = await (await fetch(`${c.service.ops.url}/metrics`)).text();
        return body.includes('orch_events_handled_total{') ? body : undefined;
      },
      { what: 'consumer metrics' },
    );
    expect(text).toMatch(
      /orch_command_duration_seconds_count\{[^}]*command="coordination.RegisterAgent"[^}]*outcome="ok"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(
      /orch_events_handled_total\{[^}]*consumer="agents-read-model"[^}]*type="AgentRegistered"[^}]*outcome="ok"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/orch_relay_leader\{[^}]*relay="outbox-coordination"[^}]*\} 1/);
  });

  it('prunes inbox entries older than the retention, and only those', async () => {
    const janitor = c.service.app.get(InboxJanitor);
    const command = registration();
    await c.request('RegisterAgent', command, ctx());
    // The consumer applies in publication order: once this agent is served, every event is in.
    await eventually(
      () =>
        c
          .request('GetAgent', create(GetAgentSchema, { agentId: command.agentId }), ctx())
          .catch(() => undefined),
      { what: 'the agent in the read model' },
    );
    const before = await inboxCount();
    expect(await janitor.prune(new Date())).toBe(0);
    expect(await inboxCount()).toBe(before);
    const later = new Date(Date.now() + INBOX_RETENTION_MS + 60_000);
    expect(await janitor.prune(later)).toBe(before);
    expect(await inboxCount()).toBe(0);
  });

  it('reports ready on its health endpoint once started', async () => {
    const res = await fetch(`${c.service.ops.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      status: 'ok',
      checks: { postgres: { status: 'up' }, nats: { status: 'up' } },
    });
  });
});
