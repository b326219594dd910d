/**
 * Session replay and the analytics projection against the real PostgreSQL and NATS, beside the raw
 * read floor of the same events measured in the same run (DESIGN.md targets: replay at least 60% of
 * the raw read rate; a 100,000-event session replayed in about 1 s).
 *
 * Built first, in a fresh event store schema, by the real deciders through AggregateCache (so
 * `metadata.decision` is recorded as in production): per session, the session stream
 * (sessionDecider, source coordination), a swarm workflow of BENCH_REPLAY_TASKS independent tasks
 * (workflowDecider, source distribution; tasks beyond the 1,000 a session starts with are added by
 * AdaptWorkflow) and BENCH_REPLAY_AGENTS agent streams whose slots the tasks take and give back
 * (agentDecider, source coordination), everything with the session id as correlation id. Tasks run
 * in waves of agents x 4 slots: assigned, started, progressed P times, completed; every 10th task's
 * first attempt fails after P/2 progress reports and is retried in the next wave. P is chosen so
 * the workflow stream holds about BENCH_REPLAY_EVENTS events. A second session of
 * BENCH_REPLAY_COMPARE_TASKS tasks and the same number of events shows what the task count alone
 * does to the fold (0 skips it). Commands are sent BENCH_REPLAY_IN_FLIGHT at a time, so the cache
 * decides up to 64 of a stream's commands together and appends them in one round trip.
 *
 * Measured per session:
 * - the raw floor, in a process of its own (as the service reads; this process's heap would slow
 *   its reads): the bare SELECT of the session's rows through pg (rows as the driver returns them,
 *   jsonb parsed) and `store.readByCorrelation`, both in pages of 5,000 (the service's page),
 *   best of BENCH_REPLAY_FLOOR_RUNS (5) alternate runs after a warm-up;
 * - pure folds over the events in memory: `replaySession` (with the agent streams read whole, as
 *   the service passes them), the workflow's own evolve alone, `verifySession`, and the analytics
 *   `evolve`; median of BENCH_REPLAY_RUNS after a warm-up run (verify: one run), wall and CPU time;
 * - ReplaySession's other stages, timed here: the shared streams read, the reply mapped with the
 *   service's own mapping and encoded, and decoded;
 * - end to end: services/analytics from its dist/ as a process on that store; `ReplaySession` at
 *   the last position and `VerifySession` over NATS (request to reply, in this process),
 *   BENCH_REPLAY_RUNS and 2 times, the first one cold; the service's CPU time per call (/proc);
 * - CPU profiles of `replaySession` and `verifySession` in this process (node:inspector): top
 *   frames by self time.
 * Once, over the whole log: its floor (bare SELECT and store.readAll in the projection's pages of
 * 2,000, in a process of their own), how long the service takes at start to fold it (its log
 * line), the same after a restart from its checkpoint, and `RebuildProjections` (the analytics
 * rebuild from position 0; its reply's durationMs).
 *
 * BENCH_NODE_ARGS adds Node.js flags to the service; with `--cpu-prof --cpu-prof-dir=<dir>` the
 * service's profile is cut by call (start, each ReplaySession/VerifySession, the rebuild) and the
 * top frames of each are reported (the profiler slows the service: time such runs separately).
 * BENCH_KEEP=1 leaves the run's schemas in place.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { create, fromBinary, toBinary, type Message } from '@bufbuild/protobuf';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { evolve as analyticsEvolve, initialAnalyticsState, type AnalyticsEvent } from '@orch/analytics';
import {
  RebuildProjectionsSchema,
  ReplaySessionSchema,
  ReplayStateSchema,
  VerifyReportSchema,
  VerifySessionSchema,
  commandInfo,
  type RebuildResult,
  type ReplayState,
  type VerifyReport,
} from '@orch/contracts';
import {
  agentDecider,
  toAgentEvent,
  agentStreamId,
  sessionDecider,
  toSessionEvent,
  sessionStreamId,
  type AgentCommand,
  type AgentEvent,
  type AgentState,
  type SessionCommand,
  type SessionEvent,
  type SessionState,
} from '@orch/coordination';
import {
  PersistentMap,
  taskIdFor,
  taskSpec,
  toWorkflowEvent,
  workflowDecider,
  workflowStreamId,
  type TaskSpecData,
  type WorkflowCommand,
  type WorkflowEvent,
  type WorkflowPolicy,
  type WorkflowState,
} from '@orch/distribution';
import {
  AggregateCache,
  PostgresEventStore,
  migrate,
  type EventMetadataInput,
  type EventStore,
  type RecordedEvent,
} from '@orch/eventstore';
import type { CommandBus, Naming } from '@orch/messaging';
import {
  replaySession,
  sharedStreamsOf,
  verifySession,
  type ReplayEvent,
  type SessionReplay,
} from '@orch/replay';
import { Client, Pool } from 'pg';
import {
  cpuSeconds,
  databaseUrl,
  freePort,
  memoryMiB,
  natsUrl,
  root,
  stopAll,
  waitReady,
} from './support/processes';

const count = (name: string, fallback: number, min = 1): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}`);
  return value;
};

const config = {
  tasks: count('BENCH_REPLAY_TASKS', 2_000),
  compareTasks: count('BENCH_REPLAY_COMPARE_TASKS', 200, 0),
  workflowEvents: count('BENCH_REPLAY_EVENTS', 100_000),
  agents: count('BENCH_REPLAY_AGENTS', 8),
  slotsPerAgent: 4,
  /** Every n-th task's first attempt fails (retryable) and is retried. */
  failEvery: 10,
  runs: count('BENCH_REPLAY_RUNS', 3),
  /** Rounds of each floor read (best of): reads move most with the machine's load. */
  floorRuns: count('BENCH_REPLAY_FLOOR_RUNS', 5),
  inFlight: count('BENCH_REPLAY_IN_FLIGHT', 4_096),
  /** The analytics service's page for a session's history (session-history.ts READ_PAGE). */
  sessionPage: 5_000,
  /** The analytics projection's page while catching up or rebuilding (projection-host.ts PAGE). */
  logPage: 2_000,
  requestTimeoutMs: 300_000,
};

/** What a session starts with at most (coordination's MAX_SESSION_TASKS); the rest is added later. */
const SESSION_START_TASKS = 1_000;
const STEP_MS = 20;

const POLICY: WorkflowPolicy = {
  defaultTimeoutMs: 600_000,
  defaultMaxAttempts: 3,
  retryBaseMs: 1_000,
  retryMaxMs: 8_000,
  maxTasks: 100_000,
};

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

// ---------------------------------------------------------------- measuring

interface Measured {
  readonly events: number;
  readonly ms: number;
  readonly eventsPerSecond: number;
}

const measured = (events: number, ms: number): Measured => ({
  events,
  ms: round(ms, 1),
  eventsPerSecond: Math.round(events / (ms / 1000)),
});

async function time(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

interface Timed {
  readonly events: number;
  /** Every timed run, wall-clock ms. */
  readonly runsMs: number[];
  readonly wallMs: number;
  /** CPU ms of this process (user + system, GC threads included) in the median run. */
  readonly cpuMs: number;
  readonly eventsPerSecond: number;
  readonly eventsPerCpuSecond: number;
}

/** One warm-up run, then the median of `runs` timed runs of a synchronous fold. */
function fold(events: number, runs: number, work: () => unknown): Timed {
  work();
  const samples: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    work();
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    samples.push({ wall, cpu: (used.user + used.system) / 1000 });
  }
  const sorted = [...samples].sort((a, b) => a.wall - b.wall);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  return {
    events,
    runsMs: samples.map((s) => round(s.wall, 1)),
    wallMs: round(mid.wall, 1),
    cpuMs: round(mid.cpu, 1),
    eventsPerSecond: Math.round(events / (mid.wall / 1000)),
    eventsPerCpuSecond: Math.round(events / (mid.cpu / 1000)),
  };
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (n: number, digits = 0): number => Math.round(n * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------- building the history

const strict =
  <E>(read: (type: string, data: unknown) => E | undefined) =>
  (r: RecordedEvent): E => {
    const event = read(r.type, r.data);
    if (!event) throw new Error(`stream ${r.streamId} holds ${r.type}`);
    return event;
  };

const selection = (agentId: string) => ({
  strategy: 'weighted',
  agentId,
  candidates: [{ agentId, score: 1, reasons: ['free slot', 'capability code 0.9'] }],
  eligible: 1,
  notes: [],
});

/** One command of the plan, for the workflow stream or an agent's. */
type Step =
  | { readonly kind: 'workflow'; readonly command: WorkflowCommand }
  | { readonly kind: 'agent'; readonly agentId: string; readonly command: AgentCommand };

interface SessionSpec {
  readonly sessionId: string;
  readonly tasks: number;
  /** Progress reports per successful attempt (half of them in a failing one). */
  readonly progress: number;
  readonly agentIds: readonly string[];
}

/** Progress reports per attempt so that the workflow stream holds about `events` events. */
function progressFor(tasks: number, events: number): number {
  const failing = Math.floor(tasks / config.failEvery);
  // Per task: TaskSubmitted, TaskReady, TaskAssigned, TaskStarted, TaskSucceeded + P progress; per
  // failing attempt: TaskAssigned, TaskStarted, TaskFailed, TaskRetryScheduled, TaskReady + P/2.
  const fixed = 2 + tasks * 5 + failing * 5;
  return Math.max(0, Math.round((events - fixed) / (tasks + failing / 2)));
}

const specOf = (i: number): TaskSpecData =>
  taskSpec({
    key: `t${i}`,
    type: i % 3 === 0 ? 'review' : 'coder',
    description: `Change module ${i} of the service and keep its tests green`,
    input: { path: `src/module-${i}.ts`, ticket: `ENG-${1000 + i}` },
    capabilities: ['code'],
    priority: i % 5,
  });

/**
 * The commands after the workflow was submitted, in the order the services would decide them:
 * waves of agents x slots tasks run side by side (assign, start, progress reports interleaved,
 * then their ends); a failed first attempt is made ready again and retried in the next wave.
 */
function* workflowPlan(s: SessionSpec, clock: { ms: number }): Generator<Step> {
  const tick = (): Date => new Date((clock.ms += STEP_MS));
  const wave = s.agentIds.length * config.slotsPerAgent;
  interface Run {
    readonly index: number;
    readonly taskId: string;
    attempt: number;
    failedAt: number;
  }
  const todo: Run[] = Array.from({ length: s.tasks }, (_, i) => ({
    index: i,
    taskId: taskIdFor(s.sessionId, `t${i}`),
    attempt: 0,
    failedAt: 0,
  }));
  let retries: Run[] = [];
  let next = 0;
  while (next < todo.length || retries.length > 0) {
    const runs = [...retries, ...todo.slice(next, next + wave - retries.length)];
    next += runs.length - retries.length;
    retries = [];
    for (const r of runs)
      if (r.attempt > 0) {
        clock.ms = Math.max(clock.ms, r.failedAt + POLICY.retryMaxMs);
        yield { kind: 'workflow', command: { type: 'MakeReady', taskId: r.taskId, at: tick() } };
      }
    const agentOf = (i: number): string => s.agentIds[i % s.agentIds.length]!;
    for (const [i, r] of runs.entries()) {
      r.attempt++;
      const agentId = agentOf(i);
      const at = tick();
      yield {
        kind: 'agent',
        agentId,
        command: {
          type: 'AssignTask',
          agentId,
          taskId: r.taskId,
          attempt: r.attempt,
          sessionId: s.sessionId,
          selection: selection(agentId),
          at,
        },
      };
      yield {
        kind: 'workflow',
        command: {
          type: 'MarkAssigned',
          taskId: r.taskId,
          agentId,
          attempt: r.attempt,
          deadline: new Date(at.getTime() + POLICY.defaultTimeoutMs),
          selection: selection(agentId),
          at,
        },
      };
    }
    for (const [i, r] of runs.entries())
      yield {
        kind: 'workflow',
        command: { type: 'StartTask', taskId: r.taskId, agentId: agentOf(i), at: tick() },
      };
    const fails = (r: Run): boolean => r.attempt === 1 && r.index % config.failEvery === config.failEvery - 1;
    const reports = (r: Run): number => (fails(r) ? Math.floor(s.progress / 2) : s.progress);
    for (let p = 1; p <= s.progress; p++)
      for (const [i, r] of runs.entries())
        if (p <= reports(r))
          yield {
            kind: 'workflow',
            command: {
              type: 'ReportTaskProgress',
              taskId: r.taskId,
              agentId: agentOf(i),
              percent: Math.floor((100 * p) / (reports(r) + 1)),
              message: `step ${p} of ${reports(r)}: editing src/module-${r.index}.ts`,
              at: tick(),
            },
          };
    for (const [i, r] of runs.entries()) {
      const agentId = agentOf(i);
      const at = tick();
      if (fails(r)) {
        r.failedAt = at.getTime();
        retries.push(r);
        yield {
          kind: 'workflow',
          command: {
            type: 'FailTask',
            taskId: r.taskId,
            agentId,
            error: 'tests failed: 3 of 120',
            retryable: true,
            policy: POLICY,
            jitter: 0,
            at,
          },
        };
      } else {
        yield {
          kind: 'workflow',
          command: {
            type: 'CompleteTask',
            taskId: r.taskId,
            agentId,
            output: { ok: true, files: [`src/module-${r.index}.ts`], summary: 'done, tests green' },
            usage: { inputTokens: '12000', outputTokens: '3400', costUsd: 0.042 },
            policy: POLICY,
            jitter: 0,
            at,
          },
        };
      }
      yield {
        kind: 'agent',
        agentId,
        command: {
          type: 'ReleaseTask',
          agentId,
          taskId: r.taskId,
          attempt: r.attempt,
          reason: fails(r) ? 'TaskFailed' : 'TaskSucceeded',
          at: tick(),
        },
      };
    }
  }
}

/** The services' write side on one store: each aggregate by its own decider, with its source. */
class Writers {
  readonly agents: AggregateCache<AgentCommand, AgentEvent, AgentState>;
  readonly sessions: AggregateCache<SessionCommand, SessionEvent, SessionState>;
  readonly workflows: AggregateCache<WorkflowCommand, WorkflowEvent, WorkflowState>;

  constructor(
    readonly coordination: PostgresEventStore,
    readonly distribution: PostgresEventStore,
  ) {
    this.agents = new AggregateCache(coordination, {
      decider: agentDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: strict(toAgentEvent),
    });
    this.sessions = new AggregateCache(coordination, {
      decider: sessionDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: strict(toSessionEvent),
    });
    this.workflows = new AggregateCache(distribution, {
      decider: workflowDecider,
      toNewEvent: (e) => ({ type: e.type, data: e.data }),
      fromRecorded: strict(toWorkflowEvent),
    });
  }

  async close(): Promise<void> {
    await this.coordination.close();
    await this.distribution.close();
  }
}

const metaFor = (sessionId: string, principal: string): EventMetadataInput => ({
  correlationId: sessionId,
  causationId: randomUUID(),
  traceparent: TRACEPARENT,
  principal: { id: principal, role: principal.startsWith('agent') ? 'agent' : 'operator' },
});

interface Built {
  readonly sessionId: string;
  readonly tasks: number;
  readonly progressPerAttempt: number;
  readonly commands: number;
  readonly workflowEvents: number;
  readonly sessionEvents: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

/** Writes one session's history as the services would, `config.inFlight` commands at a time. */
async function buildSession(w: Writers, tasks: number, origin: number): Promise<Built> {
  const sessionId = randomUUID();
  const spec: SessionSpec = {
    sessionId,
    tasks,
    progress: progressFor(tasks, config.workflowEvents),
    agentIds: Array.from({ length: config.agents }, () => `agent-${randomUUID()}`),
  };
  const clock = { ms: origin };
  const tick = (): Date => new Date((clock.ms += STEP_MS));
  const started = performance.now();
  let commands = 0;
  const run = async <T>(p: Promise<T>): Promise<T> => {
    commands++;
    return p;
  };

  await Promise.all(
    spec.agentIds.map((agentId, i) =>
      run(
        w.agents.execute(
          agentStreamId(agentId),
          {
            type: 'RegisterAgent',
            agentId,
            name: `sim ${i}`,
            provider: ['anthropic', 'openai', 'mistral'][i % 3]!,
            model: 'sim-1',
            capabilities: [{ name: 'code', level: 0.9 }],
            maxConcurrency: config.slotsPerAgent,
            cost: { per1kInputTokensUsd: 0.003, per1kOutputTokensUsd: 0.015 },
            labels: { bench: 'replay' },
            agentType: 'generic',
            at: tick(),
          },
          { correlationId: randomUUID(), causationId: randomUUID() },
        ),
      ),
    ),
  );

  const specs = Array.from({ length: tasks }, (_, i) => specOf(i));
  const first = specs.slice(0, SESSION_START_TASKS);
  const meta = (principal = 'operator-1'): EventMetadataInput => metaFor(sessionId, principal);
  const startedSession = await run(
    w.sessions.execute(
      sessionStreamId(sessionId),
      {
        type: 'StartSession',
        sessionId,
        goal: `replay bench: ${tasks} tasks`,
        pattern: 'swarm',
        tasks: first,
        agentIds: [],
        budgetUsd: 0,
        strategy: '',
        maxRounds: 0,
        resolved: {
          pattern: 'swarm',
          reason: '',
          roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
        },
        fleet: { offers: () => true, isRegistered: () => true },
        at: tick(),
      },
      meta(),
    ),
  );
  const data = startedSession.events[0]!.data as Extract<SessionEvent, { type: 'SessionStarted' }>['data'];
  const workflowId = workflowStreamId(sessionId);
  await run(
    w.workflows.execute(
      workflowId,
      {
        type: 'SubmitWorkflow',
        sessionId,
        goal: data.goal,
        pattern: data.pattern,
        patternReason: data.patternReason,
        roles: data.roles,
        agentIds: [...data.agentIds],
        strategy: data.strategy,
        maxRounds: data.maxRounds,
        tasks: data.tasks,
        policy: POLICY,
        at: tick(),
      },
      meta(),
    ),
  );
  // Beyond what a session starts with, tasks are added to the running workflow.
  for (let i = SESSION_START_TASKS; i < tasks; i += SESSION_START_TASKS)
    await run(
      w.workflows.execute(
        workflowId,
        {
          type: 'AdaptWorkflow',
          add: specs.slice(i, i + SESSION_START_TASKS),
          remove: [],
          replace: [],
          policy: POLICY,
          at: tick(),
        },
        meta(),
      ),
    );

  let inFlight: Promise<unknown>[] = [];
  const rejected: unknown[] = [];
  const settle = async (): Promise<void> => {
    for (const outcome of await Promise.allSettled(inFlight))
      if (outcome.status === 'rejected') rejected.push(outcome.reason);
    inFlight = [];
    if (rejected.length > 0)
      throw new Error(`${rejected.length} commands were rejected; first: ${String(rejected[0])}`);
  };
  for (const step of workflowPlan(spec, clock)) {
    inFlight.push(
      run<unknown>(
        step.kind === 'workflow'
          ? w.workflows.execute(workflowId, step.command, meta())
          : w.agents.execute(agentStreamId(step.agentId), step.command, meta(step.agentId)),
      ),
    );
    if (inFlight.length >= config.inFlight) await settle();
  }
  await settle();
  const workflow = w.workflows.peek(workflowId);
  if (workflow?.state.status !== 'completed')
    throw new Error(`the workflow of session ${sessionId} ended ${workflow?.state.status ?? 'unknown'}`);
  await run(
    w.sessions.execute(
      sessionStreamId(sessionId),
      { type: 'CloseSession', sessionId, status: 'completed', reason: 'workflow completed', at: tick() },
      meta('distribution'),
    ),
  );
  const seconds = (performance.now() - started) / 1000;
  const sessionEvents = await countByCorrelation(w.coordination, sessionId);
  return {
    sessionId,
    tasks,
    progressPerAttempt: spec.progress,
    commands,
    workflowEvents: Number(workflow.version),
    sessionEvents,
    seconds: round(seconds, 1),
    eventsPerSecond: Math.round(sessionEvents / seconds),
  };
}

async function countByCorrelation(store: PostgresEventStore, sessionId: string): Promise<number> {
  let n = 0;
  let from = 0n;
  for (;;) {
    const page = await store.readByCorrelation(sessionId, { fromPosition: from, limit: config.sessionPage });
    n += page.length;
    if (page.length < config.sessionPage) return n;
    from = page[page.length - 1]!.globalPosition;
  }
}

// ---------------------------------------------------------------- reading

/** A recorded event as replay reads it (as services/analytics session-history.ts maps it). */
const toReplayEvent = (r: RecordedEvent): ReplayEvent => ({
  position: r.globalPosition,
  eventId: r.eventId,
  type: r.type,
  source: r.source,
  streamId: r.streamId,
  streamVersion: r.streamVersion,
  occurredAt: r.occurredAt,
  data: r.data,
  metadata: r.metadata as Readonly<Record<string, unknown>>,
  schemaVersion: r.schemaVersion,
});

/** A recorded event as the analytics projection reads it (services/analytics log-from.ts). */
const toAnalyticsEvent = (r: RecordedEvent): AnalyticsEvent => ({
  type: r.type,
  data: r.data,
  occurredAt: r.occurredAt,
  globalPosition: r.globalPosition,
  streamId: r.streamId,
  ...(r.metadata.correlationId ? { correlationId: r.metadata.correlationId } : {}),
});

/** A session's whole history through the store, in pages of `page` (the service's way). */
async function readSession(store: EventStore, sessionId: string, page: number): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  let from = 0n;
  for (;;) {
    const read = await store.readByCorrelation(sessionId, { fromPosition: from, limit: page });
    for (const e of read) events.push(e);
    if (read.length < page) return events;
    from = read[read.length - 1]!.globalPosition;
  }
}

/** The whole log through the store's readAll, in pages of `page` (the projection's way). */
async function readLog(store: EventStore, page: number): Promise<number> {
  let n = 0;
  let from = 0n;
  for (;;) {
    const read = await store.readAll(from, page);
    n += read.length;
    if (read.length < page) return n;
    from = read[read.length - 1]!.globalPosition;
  }
}

const EVENT_COLUMNS =
  'global_position, event_id, stream_id, stream_version, type, schema_version, source, data, metadata, correlation_id, causation_id, occurred_at';

/**
 * The bare SELECT of a session's rows (`sessionId`) or of the whole log (''), paged like the store
 * reads them; rows as pg returns them (jsonb parsed, timestamps as Dates), nothing mapped.
 */
async function select(pg: Pool, schema: string, sessionId: string, page: number): Promise<number> {
  const where = sessionId ? 'correlation_id = $3 AND global_position > $1' : 'global_position > $1';
  const text = `SELECT ${EVENT_COLUMNS} FROM "${schema}".events WHERE ${where} ORDER BY global_position LIMIT $2`;
  let n = 0;
  let cursor = '0';
  for (;;) {
    const { rows } = await pg.query<{ global_position: string }>({
      name: sessionId ? 'raw-session' : 'raw-log',
      text,
      values: sessionId ? [cursor, page, sessionId] : [cursor, page],
    });
    n += rows.length;
    if (rows.length < page) return n;
    cursor = rows[rows.length - 1]!.global_position;
  }
}

/** What a floor process reads: a session's history, or the whole log when `sessionId` is ''. */
interface FloorJob {
  readonly schema: string;
  readonly sessionId: string;
  readonly page: number;
  readonly runs: number;
}

interface FloorRuns {
  readonly events: number;
  readonly storeMs: number[];
  readonly selectMs: number[];
  /** A session's job only: the service's ReplaySession path run here (see replayPath). */
  readonly replayPath?: ReplayPathRuns;
}

/** Each run of the service's ReplaySession path, ms, and its stages. */
interface ReplayPathRuns {
  readonly totalMs: number[];
  readonly historyMs: number[];
  readonly sharedStreamsMs: number[];
  readonly foldMs: number[];
  readonly replyMs: number[];
}

/**
 * The read floor in a process of its own (as the service reads, with nothing else on its heap):
 * one warm-up pass, then `runs` rounds of the store's read and the bare SELECT, alternately. For a
 * session, then the service's ReplaySession path (replayPath) the same number of times.
 */
async function floorWorker(job: FloorJob): Promise<FloorRuns> {
  const pool = new Pool({ connectionString: databaseUrl, max: 2 });
  const store = await PostgresEventStore.create({
    pool,
    schema: job.schema,
    source: 'bench',
    migrate: false,
  });
  try {
    const storeRead = (): Promise<unknown> =>
      job.sessionId ? readSession(store, job.sessionId, job.page) : readLog(store, job.page);
    const bare = (): Promise<number> => select(pool, job.schema, job.sessionId, job.page);
    const events = await bare();
    await storeRead();
    const storeMs: number[] = [];
    const selectMs: number[] = [];
    for (let i = 0; i < job.runs; i++) {
      storeMs.push(round(await time(storeRead), 1));
      selectMs.push(round(await time(bare), 1));
    }
    if (!job.sessionId) return { events, storeMs, selectMs };
    const path = replayPath(store, job.sessionId);
    await path();
    const runs: ReplayPathRuns = { totalMs: [], historyMs: [], sharedStreamsMs: [], foldMs: [], replyMs: [] };
    for (let i = 0; i < job.runs; i++) {
      const t = await path();
      runs.totalMs.push(round(t.history + t.sharedStreams + t.fold + t.reply, 1));
      runs.historyMs.push(round(t.history, 1));
      runs.sharedStreamsMs.push(round(t.sharedStreams, 1));
      runs.foldMs.push(round(t.fold, 1));
      runs.replyMs.push(round(t.reply, 1));
    }
    return { events, storeMs, selectMs, replayPath: runs };
  } finally {
    await store.close();
    await pool.end();
  }
}

/**
 * What the analytics service's ReplaySession handler does, with its own history reads and reply
 * mapping (from its dist/), minus NestJS and NATS: the session's history, the shared streams up to
 * its last position, the fold, the reply mapped and encoded. Timed stage by stage, in sequence, so
 * the read's garbage weighs on the fold as it does in the service.
 */
function replayPath(
  store: EventStore,
  sessionId: string,
): () => Promise<{ history: number; sharedStreams: number; fold: number; reply: number }> {
  const dist = join(root, 'services', 'analytics', 'dist', 'replay', 'session-history.js');
  if (!existsSync(dist)) throw new Error('services/analytics/dist is missing: run `npm run build` first');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const history = require(dist) as {
    readSession(store: EventStore, sessionId: string): Promise<ReplayEvent[]>;
    readStreamsUpTo(
      store: EventStore,
      ids: readonly string[],
      at: bigint,
    ): Promise<Map<string, ReplayEvent[]>>;
  };
  const { toReplayState } = serviceMapping();
  return async () => {
    const t0 = performance.now();
    const events = await history.readSession(store, sessionId);
    const at = events[events.length - 1]!.position;
    const sessionEvents = events.filter((e) => e.position <= at);
    const t1 = performance.now();
    const sharedStreams = await history.readStreamsUpTo(store, sharedStreamsOf(sessionEvents), at);
    const t2 = performance.now();
    const replay = replaySession({ sessionId, at, sessionEvents, sharedStreams });
    const t3 = performance.now();
    toBinary(ReplayStateSchema, toReplayState(at, replay));
    const t4 = performance.now();
    return { history: t1 - t0, sharedStreams: t2 - t1, fold: t3 - t2, reply: t4 - t3 };
  };
}

interface Floor {
  readonly store: Measured;
  readonly select: Measured;
  /** store events/s over SELECT events/s. */
  readonly storeToSelect: number;
  /**
   * The service's ReplaySession path run in the floor's process (no NestJS, no NATS): the median
   * run, and each stage's median.
   */
  readonly replayPath?: {
    readonly medianMs: number;
    readonly historyMs: number;
    readonly sharedStreamsMs: number;
    readonly foldMs: number;
    readonly replyMs: number;
  };
  readonly runs: FloorRuns;
}

/** Runs {@link floorWorker} in a child process (this file, through the same TypeScript loader). */
async function floor(job: FloorJob): Promise<Floor> {
  const child = spawn(
    process.execPath,
    ['--conditions=@orch/source', '-r', '@swc-node/register', __filename, 'floor', JSON.stringify(job)],
    { cwd: join(root, 'bench'), stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the floor process exited with ${code}`);
  const runs = JSON.parse(out) as FloorRuns;
  const store = measured(runs.events, Math.min(...runs.storeMs));
  const bare = measured(runs.events, Math.min(...runs.selectMs));
  const path = runs.replayPath;
  return {
    store,
    select: bare,
    storeToSelect: round(store.eventsPerSecond / bare.eventsPerSecond, 2),
    ...(path
      ? {
          replayPath: {
            medianMs: median(path.totalMs),
            historyMs: median(path.historyMs),
            sharedStreamsMs: median(path.sharedStreamsMs),
            foldMs: median(path.foldMs),
            replyMs: median(path.replyMs),
          },
        }
      : {}),
    runs,
  };
}

/**
 * The store's query for a page of a session's history (readByCorrelation, first page), run as a
 * prepared statement on a fresh connection `times` times, ms each. PostgreSQL plans the first five
 * executions of a prepared statement for their parameters (custom plans) and may then switch to a
 * generic plan, so the first five show what a connection's first reads of a session cost.
 */
async function firstPages(schema: string, sessionId: string, times = 7): Promise<number[]> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const ms: number[] = [];
    for (let i = 0; i < times; i++)
      ms.push(
        round(
          await time(() =>
            client.query({
              name: 'first-page',
              text: `SELECT ${EVENT_COLUMNS} FROM "${schema}".events WHERE correlation_id = $1 AND global_position > $2
                     ORDER BY global_position LIMIT $3`,
              values: [sessionId, '0', config.sessionPage],
            }),
          ),
          1,
        ),
      );
    return ms;
  } finally {
    await client.end();
  }
}

/** What the session's events weigh: mean JSON text per event and stored row size. */
async function eventSizes(pg: Pool, schema: string, sessionId: string) {
  const { rows } = await pg.query<Record<string, number>>(
    `SELECT avg(octet_length(data::text))::int AS data,
            avg(octet_length(metadata::text))::int AS metadata,
            avg(coalesce(octet_length((metadata->'decision')::text), 0))::int AS decision,
            (count(*) FILTER (WHERE metadata ? 'decision'))::int AS decisions,
            avg(pg_column_size(e.*))::int AS row
       FROM "${schema}".events e WHERE correlation_id = $1`,
    [sessionId],
  );
  const r = rows[0]!;
  return {
    /** Mean bytes of the data as JSON text. */
    dataBytes: r['data']!,
    /** Mean bytes of the metadata as JSON text (the recorded decision included). */
    metadataBytes: r['metadata']!,
    /** Mean bytes of `metadata.decision` over all events (it is on the first event of each decision). */
    decisionBytes: r['decision']!,
    eventsWithDecision: r['decisions']!,
    /** Mean stored row size (pg_column_size of the row, after TOAST compression). */
    rowBytes: r['row']!,
  };
}

/**
 * The known suspect in isolation: what one `PersistentMap.set` (the workflow state's task map; it
 * copies the key's bucket, size/64 entries) costs with `size` entries, µs per write.
 */
function persistentMapSetMicros(size: number): number {
  const keys = Array.from({ length: size }, (_, i) =>
    taskIdFor('9b2d5f0e-6a51-4c8e-8f1e-3c1b7a0d2e44', `t${i}`),
  );
  let map = PersistentMap.empty<{ readonly n: number }>();
  for (const k of keys) map = map.set(k, { n: 0 });
  const writes = 100_000;
  const once = (): number => {
    const started = performance.now();
    for (let i = 0; i < writes; i++) map = map.set(keys[i % size]!, { n: i });
    return performance.now() - started;
  };
  once();
  return round((Math.min(once(), once()) * 1000) / writes, 2);
}

// ---------------------------------------------------------------- profiling

interface Frame {
  readonly frame: string;
  readonly selfMs: number;
  readonly selfPct: number;
  readonly totalPct: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: number[];
}

interface CpuProfile {
  readonly nodes: ProfileNode[];
  /** Monotonic clock, microseconds. */
  readonly startTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

interface ProfileSummary {
  /** Sampled time kept, ms. */
  readonly sampledMs: number;
  readonly top: Frame[];
}

/**
 * The frames of the samples `keep` accepts, by self time, with their share of the kept samples (self
 * and anywhere on the stack). `keep` sees the sample's time (monotonic µs) and its stack, leaf first.
 */
function topFrames(
  p: CpuProfile,
  keep: (timeUs: number, stack: readonly ProfileNode[]) => boolean,
  limit = 12,
): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n: ProfileNode): string => {
    const { functionName, url, lineNumber } = n.callFrame;
    const path =
      url.startsWith('file://') || url.startsWith('/') ? relative(root, url.replace(/^file:\/\//, '')) : url;
    const where = path ? `${path}:${lineNumber + 1}` : '';
    return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  let at = p.startTime;
  p.samples.forEach((id, i) => {
    const us = p.timeDeltas[i] ?? 0;
    at += us;
    const stack: ProfileNode[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) stack.push(byId.get(n)!);
    if (stack.length === 0 || !keep(at, stack)) return;
    all += us;
    const labels = stack.map(label);
    self.set(labels[0]!, (self.get(labels[0]!) ?? 0) + us);
    for (const k of new Set(labels)) total.set(k, (total.get(k) ?? 0) + us);
  });
  const top = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([frame, us]) => ({
      frame,
      selfMs: round(us / 1000, 1),
      selfPct: round((100 * us) / all, 1),
      totalPct: round((100 * (total.get(frame) ?? 0)) / all, 1),
    }));
  return { sampledMs: round(all / 1000, 1), top };
}

/**
 * CPU profile of `work` run `repeat` times in this process (node:inspector): the top frames by self
 * time as shares of the samples taken while it ran (garbage collection included, the profiler's
 * own start and stop left out); the whole profile is written to the temporary directory.
 */
async function profile(
  work: () => unknown,
  name: string,
  repeat: number,
): Promise<ProfileSummary & { file: string }> {
  const session = new Session();
  session.connect();
  // Named, so the samples taken inside it are found in the profile.
  function profiled(): void {
    for (let i = 0; i < repeat; i++) work();
  }
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
    profiled();
    const { profile: p } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    const file = join(tmpdir(), `replay-${name}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(p));
    const summary = topFrames(
      p,
      (_, stack) =>
        stack[0]!.callFrame.functionName === '(garbage collector)' ||
        stack.some((n) => n.callFrame.functionName === 'profiled'),
    );
    return { ...summary, file };
  } finally {
    session.disconnect();
  }
}

/** Monotonic time in µs, the clock of V8's CPU profiles (of any process on this machine). */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** The service's own CPU profile (BENCH_NODE_ARGS with --cpu-prof), newest in its directory. */
function serviceProfile(since: number): CpuProfile | undefined {
  const args = process.env['BENCH_NODE_ARGS'] ?? '';
  if (!args.includes('--cpu-prof')) return undefined;
  const dir = /--cpu-prof-dir=(\S+)/.exec(args)?.[1] ?? root;
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => ({ f: join(dir, f), t: statSync(join(dir, f)).mtimeMs }))
    .filter((x) => x.t >= since)
    .sort((a, b) => b.t - a.t);
  return files[0] ? (JSON.parse(readFileSync(files[0].f, 'utf8')) as CpuProfile) : undefined;
}

// ---------------------------------------------------------------- the service

/**
 * The command bus and subject naming of @orch/messaging, from its compiled dist/ (built with the
 * services by `npm run build`): the library's entry point also loads its NestJS module, which the
 * bench's TypeScript loader is not set up for.
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

/**
 * The service's mapping of a replay to its reply message, from its compiled dist/ (a plain module;
 * the service's entry point loads NestJS).
 */
function serviceMapping(): { toReplayState(at: bigint, replay: SessionReplay): ReplayState } {
  const file = join(root, 'services', 'analytics', 'dist', 'replay', 'replay.mapping.js');
  if (!existsSync(file)) throw new Error('services/analytics/dist is missing: run `npm run build` first');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(file) as { toReplayState(at: bigint, replay: SessionReplay): ReplayState };
}

interface Started {
  readonly child: ChildProcess;
  /** From spawn to /health/ready. */
  readonly readyMs: number;
  /** The service's own line: events folded at start and how long restoring and catching up took. */
  readonly caughtUp: { events: number; ms: number; checkpoint: string; position: string } | undefined;
}

/** services/analytics from its dist/, its JSON log read for the catch-up line. */
async function startAnalytics(env: Record<string, string>): Promise<Started> {
  const entry = 'services/analytics/dist/main.js';
  if (!existsSync(join(root, entry))) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const nodeArgs = (process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
  const started = performance.now();
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let caughtUp: Started['caughtUp'];
  let buffered = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.includes('restored and caught up')) continue;
      try {
        const entry = JSON.parse(line) as {
          events: number;
          ms: number;
          checkpoint: string;
          position: string;
        };
        caughtUp = {
          events: entry.events,
          ms: entry.ms,
          checkpoint: entry.checkpoint,
          position: entry.position,
        };
      } catch {
        // Not a JSON line: the figure stays unknown.
      }
    }
  });
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') console.error(`analytics exited (${signal ?? code})`);
  });
  await waitReady(`http://127.0.0.1:${env['ANALYTICS_OPS_PORT']}/health/ready`, child, 'analytics');
  const readyMs = performance.now() - started;
  // The line is written just before the service reports ready; give the pipe a moment.
  for (let i = 0; i < 20 && !caughtUp; i++) await new Promise((r) => setTimeout(r, 50));
  return { child, readyMs: Math.round(readyMs), caughtUp };
}

interface ServiceCall {
  readonly runsMs: number[];
  readonly coldMs: number;
  readonly medianMs: number;
  readonly bestMs: number;
  /** The analytics process's CPU time per call (10 ms resolution), median. */
  readonly serviceCpuMs: number;
  readonly replyBytes: number;
}

/** When each kind of call to the service ran (monotonic µs), to cut its CPU profile by call. */
type Windows = Map<string, [number, number][]>;

/** `runs` calls one after another, the first one cold; the reply of the last. */
async function callRepeatedly<R>(
  runs: number,
  pid: number | undefined,
  call: () => Promise<R>,
  size: (reply: R) => number,
  windows: [number, number][],
): Promise<{ timing: ServiceCall; reply: R }> {
  const runsMs: number[] = [];
  const cpu: number[] = [];
  let reply: R | undefined;
  for (let i = 0; i < runs; i++) {
    const before = cpuSeconds(pid) ?? 0;
    const started = performance.now();
    const from = monotonicUs();
    reply = await call();
    windows.push([from, monotonicUs()]);
    runsMs.push(round(performance.now() - started, 1));
    cpu.push(((cpuSeconds(pid) ?? 0) - before) * 1000);
  }
  return {
    timing: {
      runsMs,
      coldMs: runsMs[0]!,
      medianMs: median(runsMs),
      bestMs: Math.min(...runsMs),
      serviceCpuMs: Math.round(median(cpu)),
      replyBytes: size(reply!),
    },
    reply: reply!,
  };
}

// ---------------------------------------------------------------- the run

interface SessionResult {
  readonly build: Built;
  readonly history: {
    readonly events: number;
    readonly workflow: number;
    readonly agents: number;
    readonly session: number;
    /** Agent streams the replay reads whole, and their events. */
    readonly sharedStreams: number;
    readonly sharedStreamEvents: number;
  };
  readonly sizes: Awaited<ReturnType<typeof eventSizes>>;
  /** The raw floor and the store's read of the session's history, in a process of their own. */
  readonly rawRead: Floor;
  /** Folds over the events in memory, in this process. */
  readonly fold: {
    readonly replaySession: Timed;
    readonly workflowEvolve: Timed;
    readonly verifySession: Timed & { readonly checked: number; readonly divergences: number };
    readonly analyticsEvolve: Timed;
  };
  /**
   * What the service's ReplaySession does besides reading the history (rawRead.store) and folding
   * (fold.replaySession), timed in this process: reading the shared streams whole, the replay
   * document mapped to its protobuf message and encoded, and the reply decoded by the caller.
   */
  readonly stages: {
    readonly readSharedStreamsMs: number;
    readonly replyEncodeMs: number;
    readonly replyDecodeMs: number;
    /** History read + shared streams + fold + encode + decode. */
    readonly sumMs: number;
  };
  readonly profiles: {
    readonly replaySession: ProfileSummary & { file: string };
    readonly verifySession: ProfileSummary & { file: string };
  };
  readonly service?: {
    readonly replay: ServiceCall & {
      readonly eventsPerSecond: number;
      readonly ratioToSelect: number;
      readonly ratioToStoreRead: number;
    };
    readonly verify: ServiceCall & {
      readonly eventsPerSecond: number;
      readonly checked: number;
      readonly divergences: number;
    };
  };
}

async function measureSession(
  pg: Pool,
  store: EventStore,
  schema: string,
  build: Built,
): Promise<Omit<SessionResult, 'service'>> {
  const { sessionId } = build;
  const rawRead = await floor({ schema, sessionId, page: config.sessionPage, runs: config.floorRuns });
  const sizes = await eventSizes(pg, schema, sessionId);
  const recorded = await readSession(store, sessionId, config.sessionPage);
  const events = recorded.length;

  const sessionEvents = recorded.map(toReplayEvent);
  const at = sessionEvents[sessionEvents.length - 1]!.position;
  const shared = sharedStreamsOf(sessionEvents);
  const readShared = async (): Promise<Map<string, ReplayEvent[]>> => {
    const read = await Promise.all(shared.map((id) => store.readStream(id)));
    return new Map(shared.map((id, i) => [id, read[i]!.map(toReplayEvent)]));
  };
  let sharedStreams = new Map<string, ReplayEvent[]>();
  const sharedReads: number[] = [];
  for (let i = 0; i < config.runs; i++)
    sharedReads.push(await time(async () => (sharedStreams = await readShared())));
  const workflowId = workflowStreamId(sessionId);
  const workflowEvents = sessionEvents.filter((e) => e.streamId === workflowId);

  const input = { sessionId, at, sessionEvents, sharedStreams };
  let replayed = '';
  const replay = fold(events, config.runs, () => {
    replayed = replaySession(input).workflow.status;
  });
  if (replayed !== 'completed') throw new Error(`the replayed workflow is ${replayed}`);
  const workflowEvolve = fold(workflowEvents.length, config.runs, () => {
    let state = workflowDecider.initialState();
    for (const e of workflowEvents) state = workflowDecider.evolve(state, toWorkflowEvent(e.type, e.data)!);
    return state;
  });
  // Verify gets every stream whole, as the service reads them.
  const streams = new Map<string, ReplayEvent[]>();
  for (const e of sessionEvents) {
    if (sharedStreams.has(e.streamId)) continue;
    const stream = streams.get(e.streamId);
    if (stream) stream.push(e);
    else streams.set(e.streamId, [e]);
  }
  for (const [id, stream] of sharedStreams) streams.set(id, stream);
  let report = { checked: 0, divergences: 0 };
  const verify = fold(events, 1, () => {
    const r = verifySession({ sessionId, streams });
    report = { checked: r.checked, divergences: r.divergences.length };
  });
  const analyticsEvents = recorded.map(toAnalyticsEvent);
  const analytics = fold(events, config.runs, () => {
    const state = initialAnalyticsState();
    for (const e of analyticsEvents) analyticsEvolve(state, e);
    return state;
  });

  const { toReplayState } = serviceMapping();
  const document = replaySession(input);
  let bytes = new Uint8Array();
  const encode = fold(events, config.runs, () => {
    bytes = toBinary(ReplayStateSchema, toReplayState(at, document));
  });
  const decode = fold(events, config.runs, () => fromBinary(ReplayStateSchema, bytes));
  const readSharedStreamsMs = round(Math.min(...sharedReads), 1);

  const profiles = {
    replaySession: await profile(() => replaySession(input), `replay-${build.tasks}-tasks`, 3),
    verifySession: await profile(
      () => verifySession({ sessionId, streams }),
      `verify-${build.tasks}-tasks`,
      1,
    ),
  };
  const agentEvents = sessionEvents.filter((e) => e.streamId.startsWith('agent-')).length;
  return {
    build,
    history: {
      events,
      workflow: workflowEvents.length,
      agents: agentEvents,
      session: events - workflowEvents.length - agentEvents,
      sharedStreams: shared.length,
      sharedStreamEvents: [...sharedStreams.values()].reduce((n, s) => n + s.length, 0),
    },
    sizes,
    rawRead,
    fold: {
      replaySession: replay,
      workflowEvolve,
      verifySession: { ...verify, ...report },
      analyticsEvolve: analytics,
    },
    stages: {
      readSharedStreamsMs,
      replyEncodeMs: encode.wallMs,
      replyDecodeMs: decode.wallMs,
      sumMs: round(rawRead.store.ms + readSharedStreamsMs + replay.wallMs + encode.wallMs + decode.wallMs, 1),
    },
    profiles,
  };
}

async function describeMachine(pg: Pool) {
  const show = async (name: string): Promise<string> =>
    (await pg.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: await show('server_version'),
    sharedBuffers: await show('shared_buffers'),
  };
}

/**
 * Runs the bench (`npm run bench -- replay`): builds the histories, measures, prints the tables and
 * writes bench/results/replay-<time>.json; the schemas and JetStream streams it made are removed.
 */
export async function run(): Promise<void> {
  const id = randomUUID().slice(0, 8);
  const schemas = { es: `bench_replay_es_${id}`, analytics: `bench_replay_an_${id}` };
  const namespace = `bench_replay_${id}`;
  const pg = new Pool({ connectionString: databaseUrl, max: 4 });
  const machine = await describeMachine(pg);
  const loadBefore = loadavg().map((l) => round(l, 2));
  const benchStarted = performance.now();
  const children: ChildProcess[] = [];
  const nc = await connect({ servers: natsUrl });
  let writers: Writers | undefined;
  let reader: PostgresEventStore | undefined;
  try {
    await migrate(pg, schemas.es);
    const open = (source: string) =>
      PostgresEventStore.create({
        connectionString: databaseUrl,
        schema: schemas.es,
        source,
        poolSize: 4,
        migrate: false,
      });
    writers = new Writers(await open('coordination'), await open('distribution'));

    // 1. The histories. Their times end about now, so the projection's retention keeps them.
    const sizes = [config.tasks, ...(config.compareTasks > 0 ? [config.compareTasks] : [])];
    const built: Built[] = [];
    for (const tasks of sizes) {
      const progress = progressFor(tasks, config.workflowEvents);
      const steps = tasks * 1.1 * (progress + 6);
      const origin = Date.now() - steps * STEP_MS - 60_000;
      console.log(`building a session of ${tasks} tasks (${progress} progress reports per attempt)...`);
      const b = await buildSession(writers, tasks, origin);
      console.log(
        `  ${n(b.sessionEvents)} events (workflow ${n(b.workflowEvents)}) from ${n(b.commands)} commands in ${b.seconds} s`,
      );
      built.push(b);
    }
    // The writers' caches are dropped: what follows reads with as little on this heap as it can.
    await writers.close();
    writers = undefined;
    reader = await open('bench');
    const head = Number(await reader.headPosition());
    // Autovacuum may be off (it is on the test database): the table would then never be analyzed,
    // which production's autoanalyze would have done after such a load. The first pages of a
    // session on a fresh connection, before and after, show what stale statistics cost.
    const analyze = {
      firstPagesBeforeMs: await firstPages(schemas.es, built[0]!.sessionId),
      firstPagesAfterMs: [0],
    };
    await pg.query(`ANALYZE "${schemas.es}".events`);
    analyze.firstPagesAfterMs = await firstPages(schemas.es, built[0]!.sessionId);

    // 2.-3. Raw reads and pure folds, one session at a time (their events are large in memory).
    const sessions: Omit<SessionResult, 'service'>[] = [];
    for (const b of built) {
      console.log(`reading and folding the ${b.tasks}-task session...`);
      sessions.push(await measureSession(pg, reader, schemas.es, b));
    }
    const mapSetMicros = Object.fromEntries(
      [200, 2_000, 20_000].map((size) => [size, persistentMapSetMicros(size)]),
    );
    console.log('reading the whole log...');
    const logFloor = await floor({
      schema: schemas.es,
      sessionId: '',
      page: config.logPage,
      runs: config.floorRuns,
    });

    // 4. End to end: the analytics service on this store.
    const port = await freePort();
    const env = {
      DATABASE_URL: databaseUrl,
      NATS_URL: natsUrl,
      ORCH_NAMESPACE: namespace,
      EVENTSTORE_SCHEMA: schemas.es,
      ANALYTICS_SCHEMA: schemas.analytics,
      ANALYTICS_OPS_PORT: String(port),
      ANALYTICS_OPS_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
    };
    console.log(`starting the analytics service on a log of ${n(head)} events...`);
    const serviceStarted = Date.now();
    const startWindow: [number, number] = [monotonicUs(), 0];
    const first = await startAnalytics(env);
    startWindow[1] = monotonicUs();
    children.push(first.child);
    const { CommandBus, naming } = messaging();
    const bus = new CommandBus(nc, naming(namespace), { defaultTimeoutMs: config.requestTimeoutMs });
    const request = <R extends Message>(name: string, payload: Message): Promise<R> =>
      bus.request<R>(commandInfo(`analytics.${name}`), payload, {
        correlationId: randomUUID(),
        timeoutMs: config.requestTimeoutMs,
      });

    const windows: Windows = new Map([['start (boot and catch-up)', [startWindow]]]);
    const windowsOf = (name: string): [number, number][] => {
      const list = windows.get(name) ?? [];
      windows.set(name, list);
      return list;
    };
    const results: SessionResult[] = [];
    for (const s of sessions) {
      const { sessionId } = s.build;
      console.log(`replaying and verifying the ${s.build.tasks}-task session through the service...`);
      const replay = await callRepeatedly(
        config.runs,
        first.child.pid,
        () => request<ReplayState>('ReplaySession', create(ReplaySessionSchema, { sessionId, at: 0n })),
        (r) => toBinary(ReplayStateSchema, r).length,
        windowsOf(`ReplaySession ${s.build.tasks} tasks`),
      );
      if (replay.reply.events !== s.history.events)
        throw new Error(
          `the service replayed ${replay.reply.events} events, the session has ${s.history.events}`,
        );
      const verify = await callRepeatedly(
        Math.min(config.runs, 2),
        first.child.pid,
        () => request<VerifyReport>('VerifySession', create(VerifySessionSchema, { sessionId })),
        (r) => toBinary(VerifyReportSchema, r).length,
        windowsOf(`VerifySession ${s.build.tasks} tasks`),
      );
      const replayRate = s.history.events / (replay.timing.medianMs / 1000);
      results.push({
        ...s,
        service: {
          replay: {
            ...replay.timing,
            eventsPerSecond: Math.round(replayRate),
            ratioToSelect: round(replayRate / s.rawRead.select.eventsPerSecond, 2),
            ratioToStoreRead: round(replayRate / s.rawRead.store.eventsPerSecond, 2),
          },
          verify: {
            ...verify.timing,
            eventsPerSecond: Math.round(s.history.events / (verify.timing.medianMs / 1000)),
            checked: verify.reply.checked,
            divergences: verify.reply.divergences.length,
          },
        },
      });
    }

    console.log('rebuilding the projection from the start of the log...');
    const rebuildCpu = cpuSeconds(first.child.pid) ?? 0;
    const rebuildWindow: [number, number] = [monotonicUs(), 0];
    const rebuildStarted = performance.now();
    const rebuilt = await request<RebuildResult>('RebuildProjections', create(RebuildProjectionsSchema, {}));
    const rebuildMs = performance.now() - rebuildStarted;
    rebuildWindow[1] = monotonicUs();
    windows.set('RebuildProjections', [rebuildWindow]);
    const rebuildServiceCpuMs = Math.round(((cpuSeconds(first.child.pid) ?? 0) - rebuildCpu) * 1000);
    const memory = memoryMiB(first.child.pid);
    await stopAll([first.child]);
    const cpuProfile = serviceProfile(serviceStarted);
    const serviceProfiles = cpuProfile
      ? Object.fromEntries(
          [...windows].map(([name, list]) => [
            name,
            topFrames(cpuProfile, (t) => list.some(([from, to]) => t >= from && t <= to)),
          ]),
        )
      : undefined;

    console.log('restarting the service from its checkpoint...');
    const second = await startAnalytics(env);
    children.push(second.child);
    await stopAll([second.child]);

    const rebuildEvents = Number(rebuilt.events);
    const rebuildDurationMs = Number(rebuilt.durationMs);
    const rebuildRate = rebuildEvents / (rebuildDurationMs / 1000);
    const startRate = first.caughtUp ? first.caughtUp.events / (first.caughtUp.ms / 1000) : undefined;
    const result = {
      bench: 'replay',
      at: new Date().toISOString(),
      machine: {
        ...machine,
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadavg().map((l) => round(l, 2)),
      },
      config: {
        ...config,
        stepMs: STEP_MS,
        serviceNodeArgs: process.env['BENCH_NODE_ARGS'] ?? '',
        databaseUrl: databaseUrl.replace(/\/\/[^@/]*@/, '//'),
      },
      logEvents: head,
      /** readByCorrelation's first page, 7 times on a fresh connection, before and after ANALYZE. */
      analyze,
      sessions: results,
      /** µs per PersistentMap.set with 200, 2,000 and 20,000 entries (this process). */
      persistentMapSetMicros: mapSetMicros,
      log: {
        /** The whole log read in the projection's pages, in a process of its own. */
        floor: logFloor,
        start: {
          readyMs: first.readyMs,
          caughtUp: first.caughtUp,
          eventsPerSecond: startRate === undefined ? undefined : Math.round(startRate),
          ratioToSelect:
            startRate === undefined ? undefined : round(startRate / logFloor.select.eventsPerSecond, 2),
        },
        restartFromCheckpoint: { readyMs: second.readyMs, caughtUp: second.caughtUp },
        rebuild: {
          events: rebuildEvents,
          durationMs: rebuildDurationMs,
          requestMs: round(rebuildMs, 1),
          serviceCpuMs: rebuildServiceCpuMs,
          eventsPerSecond: Math.round(rebuildRate),
          ratioToSelect: round(rebuildRate / logFloor.select.eventsPerSecond, 2),
          ratioToStoreReadAll: round(rebuildRate / logFloor.store.eventsPerSecond, 2),
        },
        serviceMemoryMiB: memory,
      },
      ...(serviceProfiles ? { serviceProfiles } : {}),
      wallSeconds: round((performance.now() - benchStarted) / 1000, 1),
    };
    printTable(result);
    const out = join(root, 'bench', 'results');
    mkdirSync(out, { recursive: true });
    const file = join(out, `replay-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`\nwrote ${relative(process.cwd(), file)} (${result.wallSeconds} s)`);
  } finally {
    await stopAll(children);
    await writers?.close();
    await reader?.close();
    if (process.env['BENCH_KEEP']) {
      console.log(`BENCH_KEEP: schemas ${schemas.es}, ${schemas.analytics} left in place`);
    } else {
      for (const schema of Object.values(schemas))
        await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
    const jsm = await jetstreamManager(nc);
    for (const s of [`${namespace.toUpperCase()}_EVENTS`, `${namespace.toUpperCase()}_DLQ`])
      await jsm.streams.delete(s).catch(() => undefined);
    await nc.close();
    await pg.end();
  }
}

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

function printFrames(title: string, summary: ProfileSummary, limit = 8): void {
  console.log(`${title} (self time; of ${n(summary.sampledMs)} ms sampled):`);
  for (const f of summary.top.slice(0, limit))
    console.log(
      `  ${f.selfPct.toFixed(1).padStart(5)}% self ${f.totalPct.toFixed(1).padStart(5)}% total  ${f.frame}`,
    );
}

function printTable(result: {
  machine: { cpus: number; cpuModel: string; node: string; postgres: string; loadAverageBefore: number[] };
  logEvents: number;
  sessions: SessionResult[];
  persistentMapSetMicros: Record<string, number>;
  analyze: { firstPagesBeforeMs: number[]; firstPagesAfterMs: number[] };
  log: {
    floor: Floor;
    start: {
      readyMs: number;
      caughtUp: Started['caughtUp'];
      eventsPerSecond: number | undefined;
      ratioToSelect: number | undefined;
    };
    restartFromCheckpoint: { readyMs: number; caughtUp: Started['caughtUp'] };
    rebuild: { events: number; durationMs: number; eventsPerSecond: number; ratioToSelect: number };
  };
  serviceProfiles?: Record<string, ProfileSummary>;
}): void {
  const m = result.machine;
  console.log(
    `\nmachine: ${m.cpus} cpus (${m.cpuModel}), node ${m.node}, PostgreSQL ${m.postgres}, load average before ${m.loadAverageBefore.join(' ')}`,
  );
  for (const s of result.sessions) {
    const h = s.history;
    const select = s.rawRead.select.eventsPerSecond;
    console.log(
      `\n${n(s.build.tasks)} tasks: ${n(h.events)} session events (workflow ${n(h.workflow)}, agents ${n(h.agents)}, session ${n(h.session)}), ` +
        `${n(s.sizes.dataBytes + s.sizes.metadataBytes)} B of JSON per event (metadata ${n(s.sizes.metadataBytes)}, of it decision ${n(s.sizes.decisionBytes)}); ` +
        `built in ${s.build.seconds} s (${n(s.build.eventsPerSecond)} ev/s)`,
    );
    const row = (what: string, ms: number, events = h.events): Record<string, string> => ({
      what,
      ms: n(ms),
      'events/s': n(events / (ms / 1000)),
      'vs SELECT': (events / (ms / 1000) / select).toFixed(2),
    });
    const rows = [
      row('floor: bare SELECT by correlation, pages of 5,000', s.rawRead.select.ms),
      row('store.readByCorrelation, pages of 5,000', s.rawRead.store.ms),
      row('fold: replaySession (in memory)', s.fold.replaySession.wallMs),
      row('fold: workflow evolve alone', s.fold.workflowEvolve.wallMs, s.fold.workflowEvolve.events),
      row('fold: verifySession (in memory)', s.fold.verifySession.wallMs),
      row('fold: analytics evolve', s.fold.analyticsEvolve.wallMs),
    ];
    const path = s.rawRead.replayPath;
    if (path) rows.push(row("the service's ReplaySession path, own process, no NATS", path.medianMs));
    if (s.service) {
      rows.push(
        row(`service: ReplaySession (cold ${n(s.service.replay.coldMs)} ms)`, s.service.replay.medianMs),
      );
      rows.push(
        row(
          `service: VerifySession (${s.service.verify.divergences} divergences)`,
          s.service.verify.medianMs,
        ),
      );
    }
    console.table(rows);
    const st = s.stages;
    if (path)
      console.log(
        `ReplaySession's path in a process of its own: history ${n(path.historyMs)} + shared streams ${n(path.sharedStreamsMs)} + ` +
          `fold ${n(path.foldMs)} + reply ${n(path.replyMs)} ms (medians)`,
      );
    console.log(
      `the same stages timed apart, warm: history read ${n(s.rawRead.store.ms)} + shared streams ${n(st.readSharedStreamsMs)} + fold ${n(s.fold.replaySession.wallMs)} + ` +
        `reply encode ${n(st.replyEncodeMs)} + decode ${n(st.replyDecodeMs)} = ${n(st.sumMs)} ms` +
        (s.service
          ? `; the service answered in ${n(s.service.replay.medianMs)} ms (${n(s.service.replay.replyBytes)} B)`
          : ''),
    );
    printFrames('top frames of replaySession', s.profiles.replaySession);
    printFrames('top frames of verifySession', s.profiles.verifySession, 6);
  }
  console.log(
    `\nthe first page of 5,000 of the ${n(result.sessions[0]?.build.tasks ?? 0)}-task session, 7 times on a fresh connection: ` +
      `${result.analyze.firstPagesBeforeMs.map(n).join(', ')} ms before ANALYZE; ${result.analyze.firstPagesAfterMs.map(n).join(', ')} ms after`,
  );
  console.log(
    `PersistentMap.set, µs per write: ${Object.entries(result.persistentMapSetMicros)
      .map(([size, us]) => `${n(Number(size))} entries ${us}`)
      .join(', ')}`,
  );
  const { floor: logFloor, start, restartFromCheckpoint: restart, rebuild } = result.log;
  const select = logFloor.select.eventsPerSecond;
  console.log(`\nanalytics projection over the whole log (${n(result.logEvents)} events):`);
  console.table([
    {
      what: 'floor: bare SELECT of the log, pages of 2,000',
      ms: n(logFloor.select.ms),
      'events/s': n(select),
      'vs SELECT': '1.00',
    },
    {
      what: 'store.readAll, pages of 2,000',
      ms: n(logFloor.store.ms),
      'events/s': n(logFloor.store.eventsPerSecond),
      'vs SELECT': logFloor.storeToSelect.toFixed(2),
    },
    {
      what: `service start from zero: caught up (ready after ${n(start.readyMs)} ms)`,
      ms: start.caughtUp ? n(start.caughtUp.ms) : '?',
      'events/s': start.eventsPerSecond === undefined ? '?' : n(start.eventsPerSecond),
      'vs SELECT': start.ratioToSelect?.toFixed(2) ?? '?',
    },
    {
      what: `restart from checkpoint (ready after ${n(restart.readyMs)} ms)`,
      ms: restart.caughtUp ? n(restart.caughtUp.ms) : '?',
      'events/s': restart.caughtUp ? `${n(restart.caughtUp.events)} events` : '?',
      'vs SELECT': '',
    },
    {
      what: 'RebuildProjections (durationMs of its reply)',
      ms: n(rebuild.durationMs),
      'events/s': n(rebuild.eventsPerSecond),
      'vs SELECT': rebuild.ratioToSelect.toFixed(2),
    },
  ]);
  for (const [name, summary] of Object.entries(result.serviceProfiles ?? {}))
    printFrames(`service profile, ${name}`, summary, 10);
}

// A floor process (see `floor`): reads, prints its timings as JSON and exits.
if (require.main === module && process.argv[2] === 'floor') {
  floorWorker(JSON.parse(process.argv[3]!) as FloorJob).then(
    (runs) => process.stdout.write(JSON.stringify(runs)),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
