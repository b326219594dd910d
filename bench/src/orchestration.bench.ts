/**
 * The orchestration core end to end on the real stack, beside its raw floor in the same run.
 *
 * coordination, distribution and the gateway run as processes from their dist/; this process hosts
 * BENCH_AGENTS sim agents doing zero-duration work over HTTP through the agent SDK (heartbeats,
 * long-poll the next assignment, start, complete), and submits BENCH_SESSIONS swarm sessions of BENCH_TASKS_PER_SESSION tasks each
 * (BENCH_CHAINS parallel chains per session, so completions also make dependents ready).
 *
 * Measured:
 * - tasks/s from the first submission until every session is completed (every event durable in
 *   PostgreSQL and published to JetStream by the relays);
 * - ready -> assigned latency per task, from the recorded TaskReady and TaskAssigned events
 *   (millisecond timestamps; includes any wait for a free agent);
 * - resident memory of each service at the end, and CPU seconds each used;
 * - the raw floor: the same number of events, INSERTed one per transaction by 16 writers into a
 *   table of the events' shape and published to JetStream, with no logic. Its rate, divided by the
 *   events the run recorded per task, is the floor in tasks/s.
 *
 * BENCH_KEEP=1 leaves the run's schemas in place, to read its events with SQL.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { AgentClient, runAgent, type RunStats } from '@orch/agent-sdk';
import * as hdr from 'hdr-histogram-js';
import { Client, Pool } from 'pg';
import {
  cpuSeconds,
  databaseUrl,
  freePort,
  memoryMiB,
  natsUrl,
  root,
  startProcess,
  stopAll,
  waitReady,
} from './support/processes';

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};

const config = {
  agents: env('BENCH_AGENTS', 1000),
  sessions: env('BENCH_SESSIONS', 20),
  tasksPerSession: env('BENCH_TASKS_PER_SESSION', 100),
  chains: env('BENCH_CHAINS', 10),
  floorWriters: 16,
  /** How long the sessions may take before the run is declared stuck. */
  timeoutSeconds: env('BENCH_TIMEOUT_S', 300),
};

const SERVICES = ['coordination', 'distribution', 'gateway'] as const;
type ServiceName = (typeof SERVICES)[number];

interface Stack {
  readonly base: string;
  readonly adminKey: string;
  readonly schemas: {
    readonly es: string;
    readonly coord: string;
    readonly dist: string;
    readonly gw: string;
  };
  readonly namespace: string;
  readonly processes: Map<ServiceName, ChildProcess>;
}

async function startStack(children: ChildProcess[]): Promise<Stack> {
  for (const name of SERVICES) {
    const entry = `services/${name}/dist/main.js`;
    if (!existsSync(join(root, entry))) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  }
  const id = randomUUID().slice(0, 8);
  const namespace = `bench_${id}`;
  const schemas = {
    es: `bench_es_${id}`,
    coord: `bench_coord_${id}`,
    dist: `bench_dist_${id}`,
    gw: `bench_gw_${id}`,
  };
  const adminKey = `orch_bench_${randomUUID().replace(/-/g, '')}`;
  const common = {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    ORCH_NAMESPACE: namespace,
    EVENTSTORE_SCHEMA: schemas.es,
    LOG_LEVEL: 'warn',
  };
  const ports = { coordination: await freePort(), distribution: await freePort(), gateway: await freePort() };
  const envs: Record<ServiceName, Record<string, string>> = {
    coordination: { COORDINATION_SCHEMA: schemas.coord, COORDINATION_OPS_PORT: String(ports.coordination) },
    distribution: { DISTRIBUTION_SCHEMA: schemas.dist, DISTRIBUTION_OPS_PORT: String(ports.distribution) },
    gateway: {
      GATEWAY_PORT: String(ports.gateway),
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_DB_SCHEMA: schemas.gw,
      ORCH_ADMIN_KEY: adminKey,
      GATEWAY_RATE_LIMIT_ADMIN: '10000000',
      GATEWAY_RATE_LIMIT_AGENT: '10000000',
      GATEWAY_RATE_LIMIT_OPERATOR: '10000000',
      GATEWAY_OPENAPI_UI: 'false',
    },
  };
  const processes = new Map<ServiceName, ChildProcess>();
  for (const name of SERVICES) {
    // BENCH_NODE_ARGS adds Node.js flags to each service, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const child = startProcess(name, [...nodeArgs, `services/${name}/dist/main.js`], {
      ...common,
      ...envs[name],
    });
    children.push(child);
    processes.set(name, child);
    await waitReady(`http://127.0.0.1:${ports[name]}/health/ready`, child, name);
  }
  return { base: `http://127.0.0.1:${ports.gateway}`, adminKey, schemas, namespace, processes };
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function inParallel<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

async function post(url: string, key: string, body: unknown): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function sessionTasks(): { id: string; type: string; capabilities: string[]; dependsOn: string[] }[] {
  return Array.from({ length: config.tasksPerSession }, (_, i) => ({
    id: `t${i}`,
    type: 'code',
    capabilities: ['code'],
    dependsOn: i >= config.chains ? [`t${i - config.chains}`] : [],
  }));
}

/** Ready -> assigned per task, from the recorded events (the last readiness before each assignment). */
async function readyToAssigned(pg: Client, schema: string): Promise<hdr.Histogram> {
  const { rows } = await pg.query<{ ms: number }>(`
    SELECT extract(epoch FROM (a.occurred_at - r.occurred_at)) * 1000 AS ms
      FROM "${schema}".events a
      JOIN LATERAL (
        SELECT occurred_at FROM "${schema}".events r
         WHERE r.type = 'TaskReady' AND r.stream_id = a.stream_id
           AND r.data->>'taskId' = a.data->>'taskId' AND r.global_position < a.global_position
         ORDER BY r.global_position DESC LIMIT 1) r ON true
     WHERE a.type = 'TaskAssigned'`);
  const histogram = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000,
    numberOfSignificantValueDigits: 3,
  });
  for (const row of rows) histogram.recordValue(Math.max(0, Math.round(Number(row.ms) * 1000)));
  return histogram;
}

/** The floor: the same events, INSERTed one per transaction and published, with no logic. */
async function rawFloor(
  events: number,
  namespace: string,
): Promise<{ seconds: number; eventsPerSecond: number }> {
  const schema = `bench_floor_${randomUUID().slice(0, 8)}`;
  const pg = new Pool({ connectionString: databaseUrl, max: config.floorWriters });
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const stream = `${namespace.toUpperCase()}_FLOOR`;
  try {
    await pg.query(`CREATE SCHEMA "${schema}"`);
    await pg.query(`CREATE TABLE "${schema}".events (
      global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
      stream_id text NOT NULL, stream_version bigint NOT NULL, type text NOT NULL, source text NOT NULL,
      data jsonb NOT NULL, metadata jsonb NOT NULL, correlation_id text, causation_id text,
      occurred_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, stream_version))`);
    await pg.query(`CREATE INDEX ON "${schema}".events (correlation_id, global_position)`);
    await jsm.streams.add({
      name: stream,
      subjects: [`${namespace}.floor.>`],
      duplicate_window: 120_000_000_000,
    });
    const js = jetstream(nc);
    const data = JSON.stringify({
      sessionId: randomUUID(),
      taskId: randomUUID(),
      agentId: randomUUID(),
      attempt: 1,
    });
    let i = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: config.floorWriters }, async (_, w) => {
        for (let v = 1; i < events; v++) {
          i++;
          const eventId = randomUUID();
          await pg.query(
            `INSERT INTO "${schema}".events (event_id, stream_id, stream_version, type, source, data, metadata, correlation_id)
             VALUES ($1, $2, $3, 'TaskSucceeded', 'floor', $4, '{}', $2)`,
            [eventId, `floor-${w}`, v, data],
          );
          await js.publish(`${namespace}.floor.TaskSucceeded`, data, { msgID: eventId });
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, eventsPerSecond: events / seconds };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pg.end();
    await nc.close();
  }
}

export async function run(): Promise<void> {
  const children: ChildProcess[] = [];
  const stop = new AbortController();
  // Every agent's run listens to it: many listeners are expected, not a leak.
  setMaxListeners(config.agents + 10, stop.signal);
  let stack: Stack | undefined;
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  try {
    stack = await startStack(children);
    const { base, adminKey } = stack;
    const providers = ['anthropic', 'openai', 'mistral'];
    console.log(`registering ${config.agents} agents...`);
    const agents: AgentClient[] = [];
    await inParallel(
      Array.from({ length: config.agents }, (_, i) => i),
      32,
      async (i) => {
        agents.push(
          await AgentClient.register(base, adminKey, {
            name: `sim-${i}`,
            provider: providers[i % providers.length]!,
            model: 'sim',
            capabilities: ['code'],
            maxConcurrency: 1,
          }),
        );
      },
    );
    // Sim agents through the SDK, as real agents run: heartbeats, long-poll, start, complete.
    const loops: Promise<RunStats>[] = agents.map((client) =>
      runAgent(client, async () => ({ output: { ok: true } }), {
        concurrency: 1,
        waitMs: 5000,
        heartbeatIntervalMs: 5000,
        signal: stop.signal,
        shutdownGraceMs: 1000,
      }),
    );

    const tasks = config.sessions * config.tasksPerSession;
    console.log(`submitting ${config.sessions} sessions x ${config.tasksPerSession} tasks...`);
    const cpuBefore = new Map(SERVICES.map((s) => [s, cpuSeconds(stack!.processes.get(s)?.pid)]));
    const started = process.hrtime.bigint();
    const sessionIds: string[] = [];
    await inParallel(
      Array.from({ length: config.sessions }, (_, i) => i),
      8,
      async (i) => {
        const res = await post(`${base}/api/orchestration/sessions`, adminKey, {
          goal: `bench session ${i}`,
          pattern: 'swarm',
          tasks: sessionTasks(),
        });
        if (res.status !== 201)
          throw new Error(`POST /api/orchestration/sessions answered ${res.status}: ${await res.text()}`);
        sessionIds.push(((await res.json()) as { sessionId: string }).sessionId);
      },
    );
    // Completion is read from the session list (no task views), so the bench's own polling stays light.
    const open = new Set(sessionIds);
    const deadline = Date.now() + config.timeoutSeconds * 1000;
    while (open.size > 0) {
      if (Date.now() > deadline) {
        throw new Error(
          `${open.size} sessions did not complete within ${config.timeoutSeconds} s: ${[...open].join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
      for (const status of ['completed', 'failed', 'cancelled']) {
        const res = await fetch(`${base}/api/orchestration/sessions?status=${status}&limit=500`, {
          headers: { authorization: `Bearer ${adminKey}` },
        });
        if (!res.ok) {
          console.warn(`GET /api/orchestration/sessions answered ${res.status}: ${await res.text()}`);
          continue;
        }
        const page = (await res.json()) as { items: { id: string }[] };
        for (const { id } of page.items) {
          if (open.delete(id) && status !== 'completed') throw new Error(`session ${id} ended ${status}`);
        }
      }
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = Object.fromEntries(
      SERVICES.map((s) => [s, (cpuSeconds(stack!.processes.get(s)?.pid) ?? 0) - (cpuBefore.get(s) ?? 0)]),
    );
    const memory = Object.fromEntries(SERVICES.map((s) => [s, memoryMiB(stack!.processes.get(s)?.pid)]));
    stop.abort();
    await Promise.allSettled(loops);

    // Let the relays publish the last events before counting what one task costs.
    await new Promise((r) => setTimeout(r, 1000));
    const { rows } = await pg.query<{
      n: number;
    }>(`SELECT count(*)::int AS n FROM "${stack.schemas.es}".events
      WHERE type NOT IN ('AgentRegistered')`);
    const events = rows[0]?.n ?? 0;
    const latency = await readyToAssigned(pg, stack.schemas.es);
    const floor = await rawFloor(events, stack.namespace);

    const tasksPerSecond = tasks / seconds;
    const eventsPerTask = events / tasks;
    const floorTasksPerSecond = floor.eventsPerSecond / eventsPerTask;
    const ms = (q: number): number => Math.round(latency.getValueAtPercentile(q) / 10) / 100;
    const result = {
      bench: 'orchestration',
      at: new Date().toISOString(),
      machine: { cpus: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30) },
      config,
      tasks,
      seconds: Math.round(seconds * 100) / 100,
      tasksPerSecond: Math.round(tasksPerSecond),
      events,
      eventsPerTask: Math.round(eventsPerTask * 100) / 100,
      readyToAssignedMs: { p50: ms(50), p90: ms(90), p99: ms(99), max: ms(100), count: latency.totalCount },
      floor: {
        eventsPerSecond: Math.round(floor.eventsPerSecond),
        tasksPerSecond: Math.round(floorTasksPerSecond),
        seconds: Math.round(floor.seconds * 100) / 100,
      },
      ratioToFloor: Math.round((tasksPerSecond / floorTasksPerSecond) * 100) / 100,
      cpuSeconds: cpu,
      memoryMiB: memory,
    };
    console.table([
      {
        scenario: `${config.agents} sim agents, ${config.sessions} swarm sessions x ${config.tasksPerSession} tasks`,
        'tasks/s': result.tasksPerSecond,
        'floor tasks/s': result.floor.tasksPerSecond,
        'vs floor': `${(result.ratioToFloor * 100).toFixed(1)}%`,
        'events/task': result.eventsPerTask,
        'ready->assigned p50 ms': result.readyToAssignedMs.p50,
        'p99 ms': result.readyToAssignedMs.p99,
      },
    ]);
    console.log('CPU seconds:', cpu, 'memory MiB:', memory);
    const out = join(root, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `orchestration-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    console.log(`results written to ${file}`);
  } finally {
    stop.abort();
    await stopAll(children);
    if (stack && process.env['BENCH_KEEP']) {
      console.log(`BENCH_KEEP: schemas ${Object.values(stack.schemas).join(', ')} left in place`);
    } else if (stack) {
      for (const schema of Object.values(stack.schemas))
        await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      const nc = await connect({ servers: natsUrl });
      const jsm = await jetstreamManager(nc);
      for (const s of [`${stack.namespace.toUpperCase()}_EVENTS`, `${stack.namespace.toUpperCase()}_DLQ`])
        await jsm.streams.delete(s).catch(() => undefined);
      await nc.close();
    }
    await pg.end();
  }
}
