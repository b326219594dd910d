/**
 * The resources service's allocator under heavy contention, beside its raw floor in the same run.
 *
 * services/resources runs alone as a process from its dist/ (it needs only PostgreSQL and NATS), in
 * its own namespace and schemas. This process defines BENCH_RES_POOLS pools (60% concurrency, 20%
 * quantity, 10% rate with a high capacity, 10% budget with a large capacity; none implied) and
 * drives BENCH_RES_TASKS tasks through `resources.Allocate` / `resources.Release` over NATS
 * request/reply, keeping BENCH_RES_CONCURRENCY Allocate requests in flight. Each task claims 1-3
 * pools and 0-2 of BENCH_RES_LOCKS lock names (a fifth of them globs over a directory or a whole
 * repository, overlapping the concrete names), exclusive or shared, with a priority 0-9; the
 * workload comes from a seeded generator (BENCH_RES_SEED), so runs compare.
 *
 * A granted task "runs" 0-5 ms, then is released. A waiting task is released only once it has been
 * granted, as distribution would. Grants of waiters are learnt from the `granted` list of the
 * Release reply that caused them (free: no extra request) and, for grants a timer tick makes (rate
 * refills, aging), from a subscription to the store's global log for ResourcesAllocated; a task is
 * released on whichever tells first.
 *
 * Measured:
 * - decisions/s: Allocate + Release requests answered per second, first Allocate sent to last
 *   Release answered; allocator events appended per second over the same window;
 * - Allocate latency (request to reply, in this process) for granted and for waiting answers;
 * - queue wait per waiter, AllocationBlocked -> ResourcesAllocated (the events' own timestamps);
 * - how many waited, conflicts, preemptions and refusals, from the stream;
 * - CPU seconds and resident memory of the resources process; CPU of this process, of every
 *   PostgreSQL process (other work on the server included) and of nats-server, and how busy the
 *   machine was (from /proc);
 * - for tasks granted on their Allocate, how long after this process read the grant from the log
 *   the reply arrived: the service's own queueing after its append;
 * - invariants, from the allocator's stream folded with the decider's `evolve`: no pool above its
 *   capacity after any event, nothing held or waiting at the end, indexes agree (`auditAllocator`);
 * - the raw floor: the run's own allocator events (same types and payloads), INSERTed into a table
 *   of the store's shape in the batch sizes the allocator appended them in (one batch at a time, as
 *   one stream allows) and published to JetStream with a message id, no logic. Its events/s divided
 *   by the events per decision of the run is the floor in decisions/s.
 *
 * BENCH_NODE_ARGS adds Node.js flags to the service (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof");
 * BENCH_KEEP=1 leaves the run's schemas in place, to read its events with SQL.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  AllocateSchema,
  DefinePoolSchema,
  ReleaseSchema,
  commandInfo,
  type Allocate,
  type AllocationResult,
  type DefinePool,
  type PoolView,
  type Release,
  type ReleaseResult,
} from '@orch/contracts';
import { PostgresEventStore, type Subscription } from '@orch/eventstore';
import type { CommandBus, Naming } from '@orch/messaging';
import {
  ALLOCATOR_STREAM,
  allocatorDecider,
  auditAllocator,
  readAllocatorEvent,
  type AllocatorEvent,
  type AllocatorState,
} from '@orch/resources';
import * as hdr from 'hdr-histogram-js';
import { Client } from 'pg';
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
  tasks: env('BENCH_RES_TASKS', 10_000),
  pools: env('BENCH_RES_POOLS', 100),
  locks: env('BENCH_RES_LOCKS', 1_000),
  /** Allocate requests kept in flight. */
  concurrency: env('BENCH_RES_CONCURRENCY', 64),
  seed: env('BENCH_RES_SEED', 42),
  /** A granted task holds its claims for a random time up to this long. */
  maxRunMs: 5,
  /** How long the run may take before it is declared stuck. */
  timeoutSeconds: env('BENCH_TIMEOUT_S', 600),
};

// ---------------------------------------------------------------- workload

/** mulberry32: a small deterministic PRNG, so every run drives the same workload. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type PoolKind = 'concurrency' | 'quantity' | 'rate' | 'budget';

interface PoolDef {
  readonly poolId: string;
  readonly kind: PoolKind;
  readonly capacity: number;
  readonly message: DefinePool;
}

interface TaskDef {
  readonly index: number;
  readonly taskId: string;
  readonly sessionId: string;
  readonly runMs: number;
  readonly message: Allocate;
}

interface Workload {
  readonly pools: readonly PoolDef[];
  readonly tasks: readonly TaskDef[];
  readonly lockNames: readonly string[];
  readonly claims: {
    readonly pool: number;
    readonly lock: number;
    readonly sharedLock: number;
    readonly globLock: number;
  };
}

/**
 * The pools: 60% concurrency (capacity 5-20), 20% quantity (16-64), 10% rate (100-300 per second,
 * bucket as large, so they rarely block), 10% budget (1,000,000 usd, never resets). None implies a
 * claim (defaultAmount 0): tasks get only what they declare.
 */
function poolDefs(pick: (n: number) => number): PoolDef[] {
  const n = config.pools;
  const quantity = Math.round(n * 0.2);
  const rate = Math.round(n * 0.1);
  const budget = Math.round(n * 0.1);
  const concurrency = Math.max(0, n - quantity - rate - budget);
  const defs: PoolDef[] = [];
  const add = (
    kind: PoolKind,
    count: number,
    capacity: () => number,
    extra: MessageInitShape<typeof DefinePoolSchema>,
  ): void => {
    for (let i = 0; i < count; i++) {
      const poolId = `${kind}-${i}`;
      const cap = capacity();
      defs.push({
        poolId,
        kind,
        capacity: cap,
        message: create(DefinePoolSchema, { poolId, kind, capacity: cap, defaultAmount: 0, ...extra }),
      });
    }
  };
  add('concurrency', concurrency, () => 5 + pick(16), {});
  add('quantity', quantity, () => 16 + pick(49), { unit: 'gib' });
  add('rate', rate, () => 100 + pick(201), { windowMs: 1000n });
  add('budget', budget, () => 1_000_000, { windowMs: 0n, unit: 'usd' });
  return defs;
}

/**
 * Lock names over repositories of 50 names each: per repository one glob over its whole `src`
 * (`repo:r17:src/**`), five globs over a directory (`repo:r17:src/d3/**`) and 44 files, so a glob
 * overlaps up to 50 concrete names.
 */
function lockNames(): string[] {
  const repos = Math.max(1, Math.floor(config.locks / 50));
  return Array.from({ length: config.locks }, (_, k) => {
    const repo = k % repos;
    const i = Math.floor(k / repos);
    if (i % 50 === 0) return `repo:r${repo}:src/**`;
    if (i % 10 === 5) return `repo:r${repo}:src/d${Math.floor((i % 50) / 10)}/**`;
    return `repo:r${repo}:src/d${i % 5}/f${i}.ts`;
  });
}

function workload(): Workload {
  const random = prng(config.seed);
  const pick = (n: number): number => Math.floor(random() * n);
  const pools = poolDefs(pick);
  const names = lockNames();
  const sessions = Array.from({ length: 50 }, (_, s) => `bench-session-${s}`);
  const counts = { pool: 0, lock: 0, sharedLock: 0, globLock: 0 };
  const tasks = Array.from({ length: config.tasks }, (_, index): TaskDef => {
    const claims: { pool?: string; amount?: number; lock?: string; mode?: string }[] = [];
    const chosenPools = new Set<number>();
    const nPools = Math.min(pools.length, 1 + pick(3));
    while (chosenPools.size < nPools) chosenPools.add(pick(pools.length));
    for (const p of chosenPools) {
      const pool = pools[p]!;
      const amount =
        pool.kind === 'concurrency'
          ? Math.min(pool.capacity, 1 + pick(2))
          : pool.kind === 'quantity'
            ? 1 + pick(Math.max(1, Math.floor(pool.capacity / 4)))
            : pool.kind === 'rate'
              ? 1
              : Math.round((0.01 + random() * 1.99) * 100) / 100;
      claims.push({ pool: pool.poolId, amount });
    }
    const chosenLocks = new Set<string>();
    const nLocks = pick(3);
    while (chosenLocks.size < nLocks) chosenLocks.add(names[pick(names.length)]!);
    for (const lock of chosenLocks) {
      const glob = lock.endsWith('/**');
      // Globs are mostly read (shared) over a tree; files mostly written (exclusive).
      const mode = random() < (glob ? 0.7 : 0.25) ? 'shared' : 'exclusive';
      claims.push({ lock, mode });
      counts.lock++;
      if (mode === 'shared') counts.sharedLock++;
      if (glob) counts.globLock++;
    }
    counts.pool += chosenPools.size;
    const taskId = `task-${index}`;
    const sessionId = sessions[index % sessions.length]!;
    return {
      index,
      taskId,
      sessionId,
      runMs: random() * config.maxRunMs,
      message: create(AllocateSchema, {
        taskId,
        attempt: 1,
        sessionId,
        priority: pick(10),
        claims,
        incremental: false,
      }),
    };
  });
  return { pools, tasks, lockNames: names, claims: counts };
}

// ---------------------------------------------------------------- the service

/**
 * The command bus and subject naming of @orch/messaging, from its compiled dist/ (built with the
 * services by `npm run build`). The bench runs TypeScript sources through @swc-node/register,
 * which is not set up for decorators here, and the library's entry point also loads its NestJS
 * module; these two plain modules are all the bench needs.
 */
function messaging(): { CommandBus: typeof CommandBus; naming: (namespace: string) => Naming } {
  const dist = join(root, 'libs', 'messaging', 'dist');
  if (!existsSync(join(dist, 'commands.js')))
    throw new Error('libs/messaging/dist is missing: run `npm run build` first');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const commands = require(join(dist, 'commands.js')) as { CommandBus: typeof CommandBus };
  const names = require(join(dist, 'naming.js')) as { naming: (namespace: string) => Naming };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { CommandBus: commands.CommandBus, naming: names.naming };
}

interface Stack {
  readonly namespace: string;
  readonly schemas: { readonly es: string; readonly resources: string };
  readonly process: ChildProcess;
}

async function startService(children: ChildProcess[]): Promise<Stack> {
  const entry = 'services/resources/dist/main.js';
  if (!existsSync(join(root, entry))) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const id = randomUUID().slice(0, 8);
  const namespace = `bench_${id}`;
  const schemas = { es: `bench_es_${id}`, resources: `bench_res_${id}` };
  const port = await freePort();
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const child = startProcess('resources', [...nodeArgs, entry], {
    DATABASE_URL: databaseUrl,
    NATS_URL: natsUrl,
    ORCH_NAMESPACE: namespace,
    EVENTSTORE_SCHEMA: schemas.es,
    RESOURCES_SCHEMA: schemas.resources,
    RESOURCES_OPS_PORT: String(port),
    RESOURCES_OPS_HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
  });
  children.push(child);
  await waitReady(`http://127.0.0.1:${port}/health/ready`, child, 'resources');
  return { namespace, schemas, process: child };
}

// ---------------------------------------------------------------- /proc

/** Busy and total CPU time of the whole machine (all cores), in clock ticks, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/** CPU seconds used so far by every process whose command name is `name` (e.g. all PostgreSQL backends). */
function cpuSecondsOf(name: string): number {
  let sum = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== name) continue;
      sum += cpuSeconds(Number(entry)) ?? 0;
    } catch {
      // the process ended meanwhile
    }
  }
  return sum;
}

interface CpuSample {
  readonly resources: number;
  readonly bench: number;
  /** Every PostgreSQL process on the machine: other work on the same server counts too. */
  readonly postgres: number;
  readonly nats: number;
  readonly machine: { busy: number; total: number };
}

function sampleCpu(pid: number | undefined): CpuSample {
  const own = process.cpuUsage();
  return {
    resources: cpuSeconds(pid) ?? 0,
    bench: (own.user + own.system) / 1e6,
    postgres: cpuSecondsOf('postgres'),
    nats: cpuSecondsOf('nats-server'),
    machine: machineTicks(),
  };
}

// ---------------------------------------------------------------- the run

const histogram = (): hdr.Histogram =>
  hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
  });

/** Percentiles of a histogram recorded in microseconds, as milliseconds. */
function millis(h: hdr.Histogram): { p50: number; p90: number; p99: number; max: number; count: number } {
  const ms = (q: number): number => Math.round(h.getValueAtPercentile(q) / 10) / 100;
  return { p50: ms(50), p90: ms(90), p99: ms(99), max: ms(100), count: h.totalCount };
}

type TaskStatus = 'pending' | 'waiting' | 'granted' | 'released';

interface Drive {
  readonly seconds: number;
  readonly allocates: number;
  readonly releases: number;
  readonly granted: hdr.Histogram;
  readonly waiting: hdr.Histogram;
  readonly refused: number;
  readonly learnt: { allocateReply: number; releaseReply: number; log: number };
  readonly releaseStatuses: Record<string, number>;
  readonly maxWaiting: number;
  /**
   * For tasks granted on their Allocate: how long after this process read the grant from the log
   * the service's reply arrived (the service's work after its append, and its queueing).
   */
  readonly replyAfterLog: hdr.Histogram;
}

/**
 * Keeps `config.concurrency` Allocate requests in flight until every task was asked; runs each
 * granted task for its time, releases it, and releases waiters once they are granted.
 */
async function drive(bus: CommandBus, tasks: readonly TaskDef[], grants: Subscription): Promise<Drive> {
  const allocateInfo = commandInfo('resources.Allocate');
  const releaseInfo = commandInfo('resources.Release');
  const byId = new Map(tasks.map((t) => [t.taskId, t]));
  const status = new Map<string, TaskStatus>();
  const granted = histogram();
  const waiting = histogram();
  const learnt = { allocateReply: 0, releaseReply: 0, log: 0 };
  const releaseStatuses: Record<string, number> = {};
  let allocates = 0;
  let releases = 0;
  let refused = 0;
  let waitingNow = 0;
  let maxWaiting = 0;
  let failure: unknown;
  const seenInLog = new Map<string, bigint>();
  const replyAfterLog = histogram();
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const request = <Res extends AllocationResult | ReleaseResult>(
    info: ReturnType<typeof commandInfo>,
    payload: Allocate | Release,
    correlationId: string,
  ): Promise<Res> => bus.request<Res>(info, payload, { correlationId, timeoutMs: 120_000 });

  const fail = (err: unknown): void => {
    failure ??= err;
    finish();
  };
  const settled = (): void => {
    if (releases === tasks.length) finish();
  };

  const release = (task: TaskDef): void => {
    request<ReleaseResult>(
      releaseInfo,
      create(ReleaseSchema, { taskId: task.taskId, attempt: 1, reason: 'TaskSucceeded' }),
      task.sessionId,
    ).then((reply) => {
      releases++;
      releaseStatuses[reply.status] = (releaseStatuses[reply.status] ?? 0) + 1;
      for (const allocationId of reply.granted) {
        const next = byId.get(allocationId.slice(0, allocationId.lastIndexOf('#')));
        if (next) grant(next, 'releaseReply');
      }
      settled();
    }, fail);
  };

  /** The task holds its claims: it runs, then gives them back. Learnt once, whichever way first. */
  const grant = (task: TaskDef, via: keyof typeof learnt): void => {
    const before = status.get(task.taskId);
    if (before === 'granted' || before === 'released') return;
    if (before === 'waiting') waitingNow--;
    status.set(task.taskId, 'granted');
    learnt[via]++;
    setTimeout(() => {
      status.set(task.taskId, 'released');
      release(task);
    }, task.runMs);
  };

  // Grants made by the allocator's timer (rate refills, aging) reach no reply: the log tells.
  const following = (async () => {
    for await (const event of grants) {
      if (event.type !== 'ResourcesAllocated') continue;
      const task = byId.get((event.data as { taskId?: string }).taskId ?? '');
      if (!task || !status.has(task.taskId)) continue;
      if (status.get(task.taskId) === 'pending') seenInLog.set(task.taskId, process.hrtime.bigint());
      grant(task, 'log');
    }
  })().catch(fail);

  let next = 0;
  const started = process.hrtime.bigint();
  const workers = Array.from({ length: Math.min(config.concurrency, tasks.length) }, async () => {
    while (next < tasks.length && failure === undefined) {
      const task = tasks[next++]!;
      status.set(task.taskId, 'pending');
      const sent = process.hrtime.bigint();
      const reply = await request<AllocationResult>(allocateInfo, task.message, task.sessionId);
      const answered = process.hrtime.bigint();
      const micros = Number((answered - sent) / 1000n);
      const logged = seenInLog.get(task.taskId);
      if (logged !== undefined && reply.status === 'granted')
        replyAfterLog.recordValue(Math.max(1, Number((answered - logged) / 1000n)));
      allocates++;
      if (reply.status === 'granted') {
        granted.recordValue(Math.max(1, micros));
        grant(task, 'allocateReply');
      } else if (reply.status === 'waiting') {
        waiting.recordValue(Math.max(1, micros));
        // A release (or tick) may have granted it already, and been heard first.
        if (status.get(task.taskId) === 'pending') {
          status.set(task.taskId, 'waiting');
          waitingNow++;
          maxWaiting = Math.max(maxWaiting, waitingNow);
        }
      } else {
        refused++;
        status.set(task.taskId, 'released');
        releases++; // nothing to give back: it counts as done
        settled();
      }
    }
  });
  const timeout = setTimeout(
    () =>
      fail(
        new Error(`the run did not finish within ${config.timeoutSeconds} s: ${waitingNow} tasks waiting`),
      ),
    config.timeoutSeconds * 1000,
  );
  await Promise.all(workers).catch(fail);
  await done;
  clearTimeout(timeout);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await grants.close();
  await following;
  if (failure !== undefined) throw failure;
  return {
    seconds,
    allocates,
    releases: releases - refused,
    granted,
    waiting,
    refused,
    learnt,
    releaseStatuses,
    maxWaiting,
    replyAfterLog,
  };
}

// ---------------------------------------------------------------- the stream afterwards

interface StreamCheck {
  readonly events: number;
  readonly byType: Record<string, number>;
  readonly waited: number;
  readonly queueWait: hdr.Histogram;
  readonly preemptions: number;
  readonly overCapacity: string[];
  readonly heldAtEnd: number;
  readonly waitingAtEnd: number;
  readonly audit: string[];
}

/**
 * Folds the whole allocator stream with the decider's `evolve`, checking after every event that no
 * pool it touched is above its capacity (concurrency and quantity: units held; budget: spent plus
 * estimates held; rate: tokens never below zero), and counts what happened after `fromVersion`.
 */
function checkStream(events: readonly AllocatorEvent[], fromVersion: number): StreamCheck {
  const { evolve, initialState } = allocatorDecider();
  let state: AllocatorState = initialState();
  const byType: Record<string, number> = {};
  const blockedAt = new Map<string, number>();
  const queueWait = histogram();
  const overCapacity: string[] = [];
  let preemptions = 0;
  const fits = (used: number, capacity: number): boolean => used <= capacity + 1e-9 * Math.max(1, capacity);
  events.forEach((event, i) => {
    state = evolve(state, event);
    if (i < fromVersion) return;
    byType[event.type] = (byType[event.type] ?? 0) + 1;
    if (event.type === 'AllocationBlocked') {
      if (!blockedAt.has(event.data.allocationId))
        blockedAt.set(event.data.allocationId, Date.parse(event.data.at));
    } else if (event.type === 'PreemptionRequested') {
      preemptions++;
    } else if (event.type === 'ResourcesAllocated') {
      const blocked = blockedAt.get(event.data.allocationId);
      if (blocked !== undefined)
        queueWait.recordValue(Math.max(1, (Date.parse(event.data.at) - blocked) * 1000));
      for (const g of event.data.grants) {
        const pool = state.pools.get(g.poolId);
        if (!pool) continue;
        const { kind, capacity } = pool.spec;
        const ok =
          kind === 'rate'
            ? pool.tokens >= -1e-9
            : kind === 'budget'
              ? fits(pool.used + pool.spent, capacity)
              : fits(pool.used, capacity);
        if (!ok && overCapacity.length < 20)
          overCapacity.push(
            `${g.poolId} (${kind}) after event ${i + 1}: used ${pool.used}, capacity ${capacity}`,
          );
      }
    }
  });
  return {
    events: events.length - fromVersion,
    byType,
    waited: blockedAt.size,
    queueWait,
    preemptions,
    overCapacity,
    heldAtEnd: state.allocations.size,
    waitingAtEnd: state.waiters.size,
    audit: auditAllocator(state),
  };
}

/** The sizes of the allocator's appends after `fromVersion`: events of one transaction share its start time. */
async function appendBatches(pg: Client, schema: string, fromVersion: number): Promise<number[]> {
  const { rows } = await pg.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM "${schema}".events
      WHERE stream_id = $1 AND stream_version > $2
      GROUP BY occurred_at ORDER BY min(global_position)`,
    [ALLOCATOR_STREAM, fromVersion],
  );
  return rows.map((r) => r.n);
}

// ---------------------------------------------------------------- the floor

/**
 * The floor: the run's allocator events (same types, payloads and metadata), INSERTed into a table
 * of the store's shape and indexes in the run's batch sizes, one multi-row INSERT per transaction
 * and one batch at a time (one stream's appends never overlap), each event published to JetStream
 * with its message id (the publishes of a batch overlapping the next INSERT, as a relay would).
 */
async function rawFloor(
  pg: Client,
  esSchema: string,
  fromVersion: number,
  batches: readonly number[],
  nc: NatsConnection,
  namespace: string,
): Promise<{ seconds: number; events: number; eventsPerSecond: number }> {
  const { rows } = await pg.query<{
    type: string;
    data: string;
    metadata: string;
    correlation_id: string | null;
    causation_id: string | null;
  }>(
    `SELECT type, data::text AS data, metadata::text AS metadata, correlation_id, causation_id
       FROM "${esSchema}".events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version`,
    [ALLOCATOR_STREAM, fromVersion],
  );
  const schema = `bench_floor_${randomUUID().slice(0, 8)}`;
  const s = `"${schema}"`;
  const jsm = await jetstreamManager(nc);
  const stream = `${namespace.toUpperCase()}_FLOOR`;
  try {
    await pg.query(`CREATE SCHEMA ${s}`);
    await pg.query(`CREATE TABLE ${s}.events (
      global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
      stream_id text NOT NULL, stream_version bigint NOT NULL, type text NOT NULL,
      schema_version integer NOT NULL DEFAULT 1, source text NOT NULL, data jsonb NOT NULL,
      metadata jsonb NOT NULL, correlation_id text, causation_id text,
      occurred_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream_id, stream_version))`);
    await pg.query(
      `CREATE INDEX ON ${s}.events (correlation_id, global_position) WHERE correlation_id IS NOT NULL`,
    );
    await pg.query(`CREATE INDEX ON ${s}.events (source, global_position)`);
    await jsm.streams.add({
      name: stream,
      subjects: [`${namespace}.floor.>`],
      duplicate_window: 120_000_000_000,
    });
    const js = jetstream(nc);
    const encoder = new TextEncoder();
    let offset = 0;
    let publishing: Promise<unknown> = Promise.resolve();
    const started = process.hrtime.bigint();
    for (const size of batches) {
      const batch = rows.slice(offset, offset + size);
      const ids = batch.map(() => randomUUID());
      await pg.query({
        name: 'floor-batch',
        text: `INSERT INTO ${s}.events (event_id, stream_id, stream_version, type, source, data, metadata, correlation_id, causation_id)
               SELECT e, 'floor', v, t, 'floor', d, m, c, ca
                 FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::jsonb[], $5::jsonb[], $6::text[], $7::text[])
                   AS x(e, v, t, d, m, c, ca)`,
        values: [
          ids,
          batch.map((_, i) => offset + i + 1),
          batch.map((r) => r.type),
          batch.map((r) => r.data),
          batch.map((r) => r.metadata),
          batch.map((r) => r.correlation_id),
          batch.map((r) => r.causation_id),
        ],
      });
      await publishing;
      publishing = Promise.all(
        batch.map((r, i) =>
          js.publish(`${namespace}.floor.${r.type}`, encoder.encode(r.data), { msgID: ids[i]! }),
        ),
      );
      offset += size;
    }
    await publishing;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { seconds, events: offset, eventsPerSecond: offset / seconds };
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
    await pg.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
  }
}

// ---------------------------------------------------------------- run

const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

export async function run(): Promise<void> {
  const children: ChildProcess[] = [];
  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  let stack: Stack | undefined;
  let nc: NatsConnection | undefined;
  let store: PostgresEventStore | undefined;
  try {
    const work = workload();
    const loadBefore = loadavg();
    stack = await startService(children);
    nc = await connect({ servers: natsUrl });
    const { CommandBus, naming } = messaging();
    const bus = new CommandBus(nc, naming(stack.namespace), { defaultTimeoutMs: 120_000 });
    store = await PostgresEventStore.create({
      connectionString: databaseUrl,
      schema: stack.schemas.es,
      source: 'bench',
      migrate: false,
      poolSize: 2,
    });

    console.log(`defining ${work.pools.length} pools...`);
    const define = commandInfo('resources.DefinePool');
    for (const pool of work.pools)
      await bus.request<PoolView>(define, pool.message, { correlationId: 'bench' });
    const setupVersion = (await store.readStream(ALLOCATOR_STREAM)).length;
    const grants = store.subscribeAll(await store.headPosition(), {
      sources: ['resources'],
      types: ['ResourcesAllocated'],
    });

    console.log(
      `${config.tasks} tasks (${work.claims.pool} pool claims, ${work.claims.lock} lock claims over ${config.locks} names), ` +
        `${config.concurrency} Allocate requests in flight...`,
    );
    const cpuBefore = sampleCpu(stack.process.pid);
    const driven = await drive(bus, work.tasks, grants);
    const cpuAfter = sampleCpu(stack.process.pid);
    const memory = memoryMiB(stack.process.pid);
    // The service's one JetStream consumer (attempt ends from distribution): what it was handed.
    const names = naming(stack.namespace);
    const taskEnds = await (
      await jetstreamManager(nc)
    ).consumers
      .info(names.eventsStream, names.durableName('resources', 'task-ends'))
      .then(
        (info) => ({ delivered: info.delivered.consumer_seq, filter: info.config.filter_subject ?? '' }),
        () => undefined,
      );

    const recorded = await store.readStream(ALLOCATOR_STREAM);
    const events = recorded.map((r) => {
      const event = readAllocatorEvent(r.type, r.data);
      if (!event) throw new Error(`the allocator stream holds ${r.type}, which is not an allocator event`);
      return event;
    });
    const check = checkStream(events, setupVersion);
    const batches = await appendBatches(pg, stack.schemas.es, setupVersion);
    console.log(`raw floor: ${check.events} events in ${batches.length} batches...`);
    const floor = await rawFloor(pg, stack.schemas.es, setupVersion, batches, nc, stack.namespace);

    const decisions = driven.allocates + driven.releases;
    const decisionsPerSecond = decisions / driven.seconds;
    const eventsPerDecision = check.events / decisions;
    const floorDecisionsPerSecond = floor.eventsPerSecond / eventsPerDecision;
    const cpu = {
      resources: round(cpuAfter.resources - cpuBefore.resources, 2),
      bench: round(cpuAfter.bench - cpuBefore.bench, 2),
      postgresAllBackends: round(cpuAfter.postgres - cpuBefore.postgres, 2),
      natsServer: round(cpuAfter.nats - cpuBefore.nats, 2),
    };
    const machineBusy =
      (cpuAfter.machine.busy - cpuBefore.machine.busy) / (cpuAfter.machine.total - cpuBefore.machine.total);
    const result = {
      bench: 'resources',
      at: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        loadAverageBefore: loadBefore.map((l) => round(l, 2)),
        loadAverageAfter: loadavg().map((l) => round(l, 2)),
        busyDuringRun: round(machineBusy, 2),
      },
      config,
      workload: {
        pools: work.pools.reduce<Record<string, number>>(
          (acc, p) => ({ ...acc, [p.kind]: (acc[p.kind] ?? 0) + 1 }),
          {},
        ),
        poolClaims: work.claims.pool,
        lockClaims: work.claims.lock,
        sharedLockClaims: work.claims.sharedLock,
        globLockClaims: work.claims.globLock,
      },
      seconds: round(driven.seconds, 2),
      decisions,
      allocates: driven.allocates,
      releases: driven.releases,
      decisionsPerSecond: Math.round(decisionsPerSecond),
      events: check.events,
      eventsPerSecond: Math.round(check.events / driven.seconds),
      eventsPerDecision: round(eventsPerDecision, 2),
      appends: batches.length,
      eventsPerAppend: round(check.events / Math.max(1, batches.length), 2),
      eventsByType: check.byType,
      allocateLatencyMs: { granted: millis(driven.granted), waiting: millis(driven.waiting) },
      grantedReplyAfterLogMs: millis(driven.replyAfterLog),
      queueWaitMs: millis(check.queueWait),
      waited: check.waited,
      maxWaitingAtOnce: driven.maxWaiting,
      refused: driven.refused,
      preemptions: check.preemptions,
      grantsLearntBy: driven.learnt,
      releaseReplies: driven.releaseStatuses,
      invariants: {
        overCapacity: check.overCapacity,
        heldAtEnd: check.heldAtEnd,
        waitingAtEnd: check.waitingAtEnd,
        audit: check.audit.slice(0, 20),
        ok:
          check.overCapacity.length === 0 &&
          check.heldAtEnd === 0 &&
          check.waitingAtEnd === 0 &&
          check.audit.length === 0,
      },
      floor: {
        events: floor.events,
        eventsPerSecond: Math.round(floor.eventsPerSecond),
        decisionsPerSecond: Math.round(floorDecisionsPerSecond),
        seconds: round(floor.seconds, 2),
      },
      ratioToFloor: round(decisionsPerSecond / floorDecisionsPerSecond, 2),
      cpuSeconds: cpu,
      resourcesCpuMicrosPerDecision: Math.round((cpu.resources * 1e6) / decisions),
      memoryMiB: { resources: memory },
      taskEndsConsumer: taskEnds,
    };

    console.table([
      {
        scenario: `${config.tasks} tasks, ${config.pools} pools, ${config.locks} locks, ${config.concurrency} in flight`,
        'decisions/s': result.decisionsPerSecond,
        'events/s': result.eventsPerSecond,
        'floor decisions/s': result.floor.decisionsPerSecond,
        'vs floor': `${(result.ratioToFloor * 100).toFixed(1)}%`,
        'events/decision': result.eventsPerDecision,
        waited: result.waited,
        invariants: result.invariants.ok ? 'ok' : 'VIOLATED',
      },
    ]);
    console.table({
      'Allocate, granted': result.allocateLatencyMs.granted,
      'Allocate, waiting': result.allocateLatencyMs.waiting,
      'queue wait (blocked -> allocated)': result.queueWaitMs,
      'granted reply after the log showed it': result.grantedReplyAfterLogMs,
    });
    console.log(
      'CPU seconds:',
      cpu,
      'machine busy:',
      `${Math.round(machineBusy * 100)}%`,
      'resources RSS MiB:',
      memory,
    );
    console.log(
      'events:',
      check.byType,
      'grants learnt by:',
      driven.learnt,
      'preemptions:',
      check.preemptions,
    );
    if (!result.invariants.ok) console.error('invariants violated:', result.invariants);
    const out = join(root, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `resources-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`results written to ${file}`);
    if (!result.invariants.ok) process.exitCode = 1;
  } finally {
    await store?.close();
    await stopAll(children);
    if (stack && process.env['BENCH_KEEP']) {
      console.log(`BENCH_KEEP: schemas ${Object.values(stack.schemas).join(', ')} left in place`);
    } else if (stack) {
      for (const schema of Object.values(stack.schemas))
        await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      if (nc) {
        const jsm = await jetstreamManager(nc);
        const names = messaging().naming(stack.namespace);
        for (const s of [names.eventsStream, names.deadLetterStream])
          await jsm.streams.delete(s).catch(() => undefined);
      }
    }
    await nc?.close();
    await pg.end();
  }
}
