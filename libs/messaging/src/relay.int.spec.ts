import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type StoredMsg,
} from '@nats-io/jetstream';
import { Pool } from 'pg';
import { PostgresEventStore, type NewEvent } from '@orch/eventstore';
import { eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import {
  decodeEventMessage,
  Headers,
  naming,
  OutboxRelay,
  provisionStreams,
  type OutboxRelayOptions,
} from './index';
import { deleteStreams, installTestTracing, testLogger } from './testing';

const logger = testLogger();

describe('outbox relay', () => {
  const esSchema = uniqueName('relay_es');
  const msgSchema = uniqueName('relay_msg');
  const ns = naming(uniqueName('relay'));
  let pool: Pool;
  let coordination: PostgresEventStore;
  let distribution: PostgresEventStore;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const relays: OutboxRelay[] = [];
  const tracing = installTestTracing();

  beforeAll(async () => {
    pool = new Pool({ connectionString: testDatabaseUrl(), max: 8 });
    coordination = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: esSchema,
      source: 'coordination',
      pollIntervalMs: 50,
    });
    distribution = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: esSchema,
      source: 'distribution',
      pollIntervalMs: 50,
    });
    nc = await connect({ servers: testNatsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await provisionStreams(jsm, ns);
  });

  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  afterAll(async () => {
    await coordination.close();
    await distribution.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${esSchema} CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${msgSchema} CASCADE`);
    await pool.end();
    await deleteStreams(nc, ns);
    await nc.close();
    await tracing.uninstall();
  });

  const relay = (overrides: Partial<OutboxRelayOptions> = {}) => {
    const r = new OutboxRelay({
      store: coordination,
      pool,
      schema: msgSchema,
      source: 'coordination',
      naming: ns,
      js,
      logger,
      batchSize: 8,
      maxInFlight: 4,
      leaderRetryMs: 100,
      leaderCheckMs: 200,
      retryDelayMs: 50,
      maxRetryDelayMs: 200,
      ...overrides,
    });
    relays.push(r);
    r.start();
    return r;
  };

  const registered = (agentId: string, traceparent?: string): NewEvent => ({
    eventId: randomUUID(),
    type: 'AgentRegistered',
    data: { agentId, name: `agent ${agentId}`, maxConcurrency: 1 },
    metadata: {
      correlationId: `session-${agentId}`,
      causationId: `cmd-${agentId}`,
      ...(traceparent ? { traceparent } : {}),
    },
  });

  /** Appends `n` events to distinct streams; returns their ids and the last position. */
  const appendAgents = async (prefix: string, n: number, store = coordination) => {
    const ids: string[] = [];
    let last = 0n;
    for (let i = 0; i < n; i++) {
      const e = registered(`${prefix}-${i}`);
      const r = await store.append(`agent-${prefix}-${i}`, 'no_stream', [e]);
      ids.push(e.eventId);
      last = r.lastGlobalPosition;
    }
    return { ids, last };
  };

  const streamMessages = async (): Promise<StoredMsg[]> => {
    const info = await jsm.streams.info(ns.eventsStream);
    const stream = await js.streams.get(ns.eventsStream);
    const out: StoredMsg[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await stream.getMessage({ seq }).catch(() => null);
      if (m) out.push(m);
    }
    return out;
  };

  const caughtUp = (r: OutboxRelay, position: bigint) =>
    eventually(
      () => (r.status().position >= position && r.status().checkpoint >= position ? true : undefined),
      {
        what: `relay at ${position}`,
      },
    );

  it('publishes its own events in order, once each, and JetStream drops a second publication', async () => {
    const first = await appendAgents('order', 12);
    await appendAgents('other', 3, distribution);
    const r = relay();
    await caughtUp(r, first.last);

    const messages = await streamMessages();
    const ids = messages.map((m) => m.header.get(Headers.msgId));
    expect(ids).toEqual(first.ids);
    const positions = messages.map((m) => BigInt(m.header.get(Headers.globalPosition)));
    expect([...positions].sort((a, b) => (a < b ? -1 : 1))).toEqual(positions);
    expect(messages.every((m) => m.subject === ns.eventSubject('coordination', 'AgentRegistered'))).toBe(
      true,
    );
    const decoded = decodeEventMessage(messages[0]!.data);
    expect(decoded).toMatchObject({
      eventId: first.ids[0],
      source: 'coordination',
      correlationId: 'session-order-0',
    });
    expect(messages[0]!.header.get(Headers.correlationId)).toBe('session-order-0');

    // A second relay with its own checkpoint republishes everything: JetStream keeps one copy.
    const again = relay({ name: 'second-relay' });
    await caughtUp(again, first.last);
    expect(again.status()).toMatchObject({ published: 12, duplicates: 12 });
    expect((await streamMessages()).length).toBe(12);
    await eventually(() => (r.status().lag === 0n && r.status().head === first.last ? true : undefined), {
      what: 'lag sampled',
    });
    expect(r.status()).toMatchObject({ leader: true, running: true, lag: 0n });
  });

  it('resumes from its checkpoint after a restart', async () => {
    const r1 = relay({ name: 'resume' });
    const before = await appendAgents('resume-a', 4);
    await caughtUp(r1, before.last);
    await r1.stop();
    const row = await pool.query<{ position: string }>(
      `SELECT position FROM ${msgSchema}.relay_checkpoints WHERE relay = 'resume'`,
    );
    expect(BigInt(row.rows[0]!.position)).toBe(before.last);

    const after = await appendAgents('resume-b', 3);
    const r2 = relay({ name: 'resume' });
    await caughtUp(r2, after.last);
    // Only the three new events went out: nothing before the checkpoint was read again.
    expect(r2.status().published).toBe(3);
    const ids = (await streamMessages()).map((m) => m.header.get(Headers.msgId));
    expect(after.ids.every((id) => ids.filter((x) => x === id).length === 1)).toBe(true);
  });

  it('lets one of two replicas lead, and fails over when the leader stops', async () => {
    const a = relay({ name: 'ha' });
    await eventually(() => (a.status().leader ? true : undefined));
    const b = relay({ name: 'ha' });
    const first = await appendAgents('ha-1', 3);
    await caughtUp(a, first.last);
    expect(b.status().leader).toBe(false);
    expect(b.status().published).toBe(0);

    await a.stop();
    const second = await appendAgents('ha-2', 3);
    await caughtUp(b, second.last);
    expect(b.status().leader).toBe(true);
    expect(b.status().published).toBe(3);
    const ids = (await streamMessages()).map((m) => m.header.get(Headers.msgId));
    expect([...first.ids, ...second.ids].every((id) => ids.filter((x) => x === id).length === 1)).toBe(true);
  });

  it('stops leading when its lock connection dies, and the standby takes over', async () => {
    // The old leader waits longer before competing again, so the standby wins deterministically.
    const a = relay({ name: 'lost', leaderRetryMs: 60_000 });
    await eventually(() => (a.status().leader ? true : undefined));
    const b = relay({ name: 'lost', leaderRetryMs: 50 });
    // Kill the leader's session: PostgreSQL releases its advisory lock.
    await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks
       WHERE locktype = 'advisory' AND granted AND objid = hashtext('lost')::oid AND classid = hashtext($1)::oid`,
      [`"${msgSchema}"`],
    );
    await eventually(() => (b.status().leader ? true : undefined), { what: 'standby leads' });
    const more = await appendAgents('lost', 2);
    await caughtUp(b, more.last);
    await eventually(() => (!a.status().leader ? true : undefined), { what: 'old leader steps down' });
  });

  it('keeps retrying while JetStream refuses the publish and skips nothing', async () => {
    const r = relay({ name: 'outage' });
    const before = await appendAgents('outage-a', 2);
    await caughtUp(r, before.last);

    await jsm.streams.delete(ns.eventsStream);
    const during = await appendAgents('outage-b', 3);
    await eventually(() => (r.status().lastError ? true : undefined), { what: 'a publish failure' });
    expect(r.status().position).toBe(before.last);

    await provisionStreams(jsm, ns);
    await caughtUp(r, during.last);
    const ids = (await streamMessages()).map((m) => m.header.get(Headers.msgId));
    expect(ids).toEqual(during.ids);
  });

  it('continues the trace recorded with the event', async () => {
    const traceId = 'aaaabbbbccccddddeeeeffff00001111';
    const parentSpanId = '1234567890abcdef';
    const r = relay({ name: 'trace' });
    const e = registered('traced', `00-${traceId}-${parentSpanId}-01`);
    const res = await coordination.append('agent-traced', 'no_stream', [e]);
    await caughtUp(r, res.lastGlobalPosition);

    const span = tracing.exporter
      .getFinishedSpans()
      .find(
        (s) => s.name === 'publish AgentRegistered' && s.attributes['messaging.message.id'] === e.eventId,
      );
    expect(span?.spanContext().traceId).toBe(traceId);
    expect(span?.parentSpanContext?.spanId).toBe(parentSpanId);
    const msg = (await streamMessages()).find((m) => m.header.get(Headers.msgId) === e.eventId);
    expect(msg?.header.get('traceparent')).toBe(`00-${traceId}-${span?.spanContext().spanId}-01`);
  });
});
