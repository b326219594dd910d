import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Pool } from 'pg';
import { PostgresEventStore } from '@orch/eventstore';
import { eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import {
  applyOnce,
  EventConsumer,
  Headers,
  migrateMessagingSchema,
  naming,
  OutboxRelay,
  provisionStreams,
  readConsumerCheckpoint,
  type Naming,
} from './index';
import { deleteStreams, testLogger } from './testing';

const logger = testLogger();
const ROOT = join(__dirname, '..', '..', '..');
const FIXTURE = join(__dirname, 'fixtures', 'relay-kill-child.ts');
const COUNT = 25;

/**
 * "A service killed (SIGKILL) after appending but before publishing: after restart the event is
 * published exactly once and consumers apply it once" - and the same when killed after
 * publishing but before the checkpoint write.
 */
describe('relay survives SIGKILL', () => {
  let pool: Pool;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const cleanups: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    pool = new Pool({ connectionString: testDatabaseUrl(), max: 6 });
    nc = await connect({ servers: testNatsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  afterAll(async () => {
    await nc.close();
    await pool.end();
  });

  async function scenario(mode: 'append-only' | 'publish-no-checkpoint') {
    const esSchema = uniqueName('kill_es');
    const msgSchema = uniqueName('kill_msg');
    const ns = naming(uniqueName('kill'));
    cleanups.push(() => pool.query(`DROP SCHEMA IF EXISTS ${esSchema} CASCADE`));
    cleanups.push(() => pool.query(`DROP SCHEMA IF EXISTS ${msgSchema} CASCADE`));
    cleanups.push(() => deleteStreams(nc, ns));
    await provisionStreams(jsm, ns);
    await migrateMessagingSchema(pool, msgSchema);
    await pool.query(
      `CREATE TABLE ${msgSchema}.agents_read_model (agent_id text PRIMARY KEY, applied int NOT NULL)`,
    );
    // The store's tables exist before the child appends (it would create them too).
    const store = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: esSchema,
      source: 'coordination',
      pollIntervalMs: 50,
    });
    cleanups.push(() => store.close());

    const consumer = startReadModel(ns, msgSchema);
    await consumer.start();
    cleanups.push(() => consumer.stop());

    const child = spawnChild(mode, esSchema, msgSchema, ns);
    cleanups.push(async () => child.kill('SIGKILL'));
    const lines = readLines(child);
    const appended = JSON.parse(await lines.next()) as { appended: string[]; last: string };
    if (mode === 'publish-no-checkpoint') {
      const published = JSON.parse(await lines.next()) as { published: number; checkpoint: string };
      expect(published).toEqual({ published: COUNT, checkpoint: '0' });
    }
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      child.once('exit', (_code, signal) => r(signal)),
    );
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    // State at the kill: events appended; published or not; no checkpoint recorded.
    const stored = (await jsm.streams.info(ns.eventsStream)).state.messages;
    expect(stored).toBe(mode === 'append-only' ? 0 : COUNT);
    const checkpoint = await pool.query(
      `SELECT position FROM ${msgSchema}.relay_checkpoints WHERE relay = 'kill'`,
    );
    expect(checkpoint.rowCount).toBe(0);

    // The service restarts: a fresh relay with the same name.
    const relay = new OutboxRelay({
      store,
      pool,
      schema: msgSchema,
      source: 'coordination',
      naming: ns,
      js,
      logger,
      name: 'kill',
      leaderRetryMs: 100,
    });
    relay.start();
    cleanups.push(() => relay.stop());
    const last = BigInt(appended.last);
    await eventually(() => (relay.status().checkpoint >= last ? true : undefined), {
      what: 'relay checkpoint at the last event',
      timeoutMs: 20_000,
    });
    await eventually(
      async () =>
        (await readConsumerCheckpoint(pool, 'agents', { schema: msgSchema }))?.appliedCount === BigInt(COUNT)
          ? true
          : undefined,
      { what: 'every event applied', timeoutMs: 20_000 },
    );

    // Exactly once on JetStream: one message per Nats-Msg-Id, all appended ids present.
    const perId = new Map<string, number>();
    const stream = await js.streams.get(ns.eventsStream);
    const info = await stream.info();
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await stream.getMessage({ seq });
      const id = m!.header.get(Headers.msgId);
      perId.set(id, (perId.get(id) ?? 0) + 1);
    }
    expect(info.state.messages).toBe(COUNT);
    expect([...perId.keys()].sort()).toEqual([...appended.appended].sort());
    expect([...perId.values()].every((n) => n === 1)).toBe(true);
    // Without a checkpoint the restarted relay sends everything again; after the second kill
    // JetStream already had every event and dropped the copies.
    expect(relay.status()).toMatchObject({
      published: COUNT,
      duplicates: mode === 'append-only' ? 0 : COUNT,
    });

    // Applied exactly once in the read model.
    const rows = await pool.query<{ applied: number }>(`SELECT applied FROM ${msgSchema}.agents_read_model`);
    expect(rows.rowCount).toBe(COUNT);
    expect(rows.rows.every((r) => r.applied === 1)).toBe(true);
  }

  function startReadModel(ns: Naming, schema: string): EventConsumer {
    return new EventConsumer(
      nc,
      ns,
      {
        service: 'readmodel',
        consumer: 'agents',
        types: ['AgentRegistered'],
        startPosition: 'all',
        backoffMs: [50],
      },
      async (event) => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await applyOnce(
            client,
            'agents',
            event,
            async () => {
              await client.query(
                `INSERT INTO ${schema}.agents_read_model (agent_id, applied) VALUES ($1, 1)
                 ON CONFLICT (agent_id) DO UPDATE SET applied = agents_read_model.applied + 1`,
                [(event.data as { agentId: string }).agentId],
              );
            },
            { schema },
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        } finally {
          client.release();
        }
      },
      logger,
    );
  }

  function spawnChild(mode: string, esSchema: string, msgSchema: string, ns: Naming): ChildProcess {
    const child = spawn(
      process.execPath,
      ['--conditions=@orch/source', '-r', '@swc-node/register', FIXTURE],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          ORCH_KILL_MODE: mode,
          ORCH_KILL_COUNT: String(COUNT),
          ORCH_KILL_DATABASE_URL: testDatabaseUrl(),
          ORCH_KILL_NATS_URL: testNatsUrl(),
          ORCH_KILL_ES_SCHEMA: esSchema,
          ORCH_KILL_MSG_SCHEMA: msgSchema,
          ORCH_KILL_NAMESPACE: ns.namespace,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (code) => {
      if (code) process.stderr.write(`relay-kill child exited with ${code}: ${stderr}\n`);
    });
    return child;
  }

  function readLines(child: ChildProcess): { next(): Promise<string> } {
    const rl = createInterface({ input: child.stdout! });
    const buffered: string[] = [];
    const waiting: ((line: string) => void)[] = [];
    const failures: ((err: Error) => void)[] = [];
    rl.on('line', (line) => {
      const w = waiting.shift();
      failures.shift();
      if (w) w(line);
      else buffered.push(line);
    });
    child.once('exit', (code, signal) => {
      for (const f of failures.splice(0)) f(new Error(`child exited (${code ?? signal}) before printing`));
    });
    return {
      next: () =>
        buffered.length > 0
          ? Promise.resolve(buffered.shift() as string)
          : new Promise<string>((resolve, reject) => {
              waiting.push(resolve);
              failures.push(reject);
            }),
    };
  }

  it('publishes exactly once and applies once after a kill between append and publish', async () => {
    await scenario('append-only');
  }, 60_000);

  it('de-duplicates the republication after a kill between publish and checkpoint write', async () => {
    await scenario('publish-no-checkpoint');
  }, 60_000);
});
