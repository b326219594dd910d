import { parseRunnerConfig, runFleet, type FleetHandle } from '@orch/agent-runner';
import { workflowDecider } from '@orch/distribution';
import { PostgresEventStore, type RecordedEvent } from '@orch/eventstore';
import {
  defaultStreamKinds,
  parseExportLine,
  verifySession,
  type ReplayEvent,
  type StreamKind,
} from '@orch/replay';
import { testDatabaseUrl } from '@orch/testing';
import { startStack, type TestStack } from './stack';

jest.setTimeout(180_000);

interface TaskJson {
  taskId: string;
  key: string;
  status: string;
  agentId: string;
  attempts: number;
}
interface SessionJson {
  id: string;
  status: string;
  version: string | number;
  tasks: TaskJson[];
}
interface ReplayJson {
  at: string;
  events: number;
  state: { workflow: { status: string; tasks: TaskJson[] } };
  unknownTypes: string[];
}

/** What a person compares between the live API and a replay: each task's status, holder and attempts. */
const tasksOf = (tasks: readonly TaskJson[]) =>
  Object.fromEntries(
    [...tasks]
      .sort((a, b) => a.key.localeCompare(b.key))
      .map((t) => [t.key, { status: t.status, agentId: t.agentId, attempts: t.attempts }]),
  );

/** A DAG with fan-out and fan-in; some attempts fail, so retries are part of the history. */
const dag = Array.from({ length: 12 }, (_, i) => ({
  id: `t${i}`,
  type: i % 3 === 0 ? 'code' : 'test',
  capabilities: [i % 3 === 0 ? 'code' : 'testing'],
  dependsOn: i === 0 ? [] : [`t${Math.floor((i - 1) / 3)}`],
  maxAttempts: 6,
}));

const toReplayEvent = (e: RecordedEvent): ReplayEvent => ({
  position: e.globalPosition,
  eventId: e.eventId,
  type: e.type,
  source: e.source,
  streamId: e.streamId,
  streamVersion: e.streamVersion,
  occurredAt: e.occurredAt,
  data: e.data,
  metadata: e.metadata as Record<string, unknown>,
  schemaVersion: e.schemaVersion,
});

describe('replay and analytics end to end', () => {
  let stack: TestStack;
  let fleet: FleetHandle;
  let store: PostgresEventStore;
  let sessionId: string;
  /** GET session answers seen while the session ran, one per workflow version. */
  const seen = new Map<string, SessionJson>();
  let final: SessionJson;

  const json = async <T>(res: Response): Promise<T> => (await res.json()) as T;
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await stack.call(stack.adminKey, method, path, body);
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
    return json<T>(res);
  }

  beforeAll(async () => {
    stack = await startStack();
    store = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: stack.eventStoreSchema,
      source: 'e2e',
      migrate: false,
      poolSize: 2,
    });
    fleet = await runFleet(
      parseRunnerConfig({
        gateway: { url: stack.baseUrl, apiKey: stack.adminKey },
        polling: { waitMs: 500, heartbeatIntervalMs: 300, shutdownGraceMs: 2000 },
        agents: [
          {
            name: 'worker',
            count: 3,
            provider: 'anthropic',
            model: 'sim',
            capabilities: ['code', 'testing'],
            maxConcurrency: 2,
            costPer1kInputTokens: 0.003,
            costPer1kOutputTokens: 0.015,
            executor: { kind: 'sim', durationMs: 40, failureRate: 0.25, seed: 11 },
          },
        ],
      }),
    );

    // Run one session to its end, recording what the live API showed at each version.
    const started = await call<{ sessionId: string }>('POST', '/api/orchestration/sessions', {
      goal: 'replay e2e',
      pattern: 'swarm',
      tasks: dag,
    });
    sessionId = started.sessionId;
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the session did not finish in 90 s');
      const res = await stack.call(stack.adminKey, 'GET', `/api/orchestration/sessions/${sessionId}`);
      if (res.ok) {
        const s = await json<SessionJson>(res);
        seen.set(String(s.version), s);
        if (s.status !== 'running') {
          final = s;
          break;
        }
      } else await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  afterAll(async () => {
    await fleet?.stop();
    await store?.close();
    await stack?.close();
  });

  it('replays the session: its end equals the live read model, each moment equals what the API showed then', async () => {
    expect(final.status).toBe('completed');
    const end = await call<ReplayJson>('GET', `/api/sessions/${sessionId}/replay`);
    expect(end.unknownTypes).toEqual([]);
    expect(end.state.workflow.status).toBe('completed');
    expect(tasksOf(end.state.workflow.tasks)).toEqual(tasksOf(final.tasks));

    // The workflow stream's version n is the n-th event of workflow-<id>: its global position is the
    // moment the live answer showed.
    const stream = await store.readStream(`workflow-${sessionId}`);
    const positionOf = new Map(stream.map((e) => [e.streamVersion.toString(), e.globalPosition]));
    const moments = [...seen.entries()].filter(([version]) => positionOf.has(version));
    expect(moments.length).toBeGreaterThan(3);
    for (const [version, live] of moments) {
      const then = await call<ReplayJson>(
        'GET',
        `/api/sessions/${sessionId}/replay?at=${positionOf.get(version)!.toString()}`,
      );
      expect({ version, tasks: tasksOf(then.state.workflow.tasks) }).toEqual({
        version,
        tasks: tasksOf(live.tasks),
      });
    }
  });

  it('answers a position beyond the session as a client error naming it', async () => {
    const res = await stack.call(stack.adminKey, 'GET', `/api/sessions/${sessionId}/replay?at=999999999999`);
    expect(res.status).toBe(400);
    const problem = await json<{ errors: { path: string }[] }>(res);
    expect(problem.errors.map((e) => e.path)).toContain('at');
  });

  it('verifies with no divergence, and reports the divergence of a changed decider', async () => {
    const report = await call<{ divergences: unknown[]; checked: number; skipped: number }>(
      'POST',
      `/api/sessions/${sessionId}/replay/verify`,
    );
    expect(report.divergences).toEqual([]);
    expect(report.checked).toBeGreaterThan(20);

    // The same history against a workflow decider that no longer makes tasks ready.
    const sessionEvents = (await store.readByCorrelation(sessionId)).map(toReplayEvent);
    const streams = new Map<string, ReplayEvent[]>();
    for (const streamId of new Set(sessionEvents.map((e) => e.streamId)))
      streams.set(streamId, (await store.readStream(streamId)).map(toReplayEvent));
    const noReady: typeof workflowDecider = {
      ...workflowDecider,
      decide: (c, st) => workflowDecider.decide(c, st).filter((e) => e.type !== 'TaskReady'),
    };
    const changed = defaultStreamKinds().map((k): StreamKind =>
      k.name === 'workflow' ? { ...k, decider: noReady } : k,
    );
    const unchanged = verifySession({ sessionId, streams });
    expect(unchanged.divergences).toEqual([]);
    const diverged = verifySession({ sessionId, streams }, changed);
    expect(diverged.divergences.length).toBeGreaterThan(0);
    const first = diverged.divergences[0]!;
    expect(first.streamId).toBe(`workflow-${sessionId}`);
    expect(first.expected.map((e) => e.type)).toContain('TaskReady');
    expect(first.actual.map((e) => e.type)).not.toContain('TaskReady');
    // the first decision that made a task ready: the workflow's submission
    const submitted = stream0(sessionEvents);
    expect(first.position).toBe(submitted);
  });

  /** Position of the session's WorkflowSubmitted. */
  const stream0 = (events: readonly ReplayEvent[]): bigint =>
    events.find((e) => e.type === 'WorkflowSubmitted')!.position;

  it('exports the history as NDJSON, every line readable back', async () => {
    const res = await stack.call(stack.adminKey, 'GET', `/api/sessions/${sessionId}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await res.text()).split('\n').filter((l) => l !== '');
    const events = lines.map((line, i) => parseExportLine(line, i + 1));
    const recorded = await store.readByCorrelation(sessionId);
    expect(events.map((e) => e.eventId)).toEqual(recorded.map((e) => e.eventId));
  });

  it('rebuilds analytics from zero to the numbers of the live projection', async () => {
    interface Metrics {
      position: string;
      data: {
        totals: unknown;
        agents: { circuit?: unknown }[];
        providers: unknown;
        taskTypes: unknown;
        sessions: unknown;
      };
    }
    const head = await store.headPosition();
    const live = await (async () => {
      for (let i = 0; i < 100; i++) {
        const m = await call<Metrics>('GET', '/api/analytics/metrics');
        if (BigInt(m.position) >= head) return m;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('analytics did not catch up with the log');
    })();
    const rebuilt = await call<{ events: string | number }>('POST', '/api/analytics/rebuild');
    expect(Number(rebuilt.events)).toBeGreaterThan(0);
    const after = await call<Metrics>('GET', '/api/analytics/metrics');
    // A circuit's state depends on when it is asked; everything else is folded from the same log.
    const comparable = (m: Metrics) => ({
      totals: m.data.totals,
      agents: m.data.agents.map(({ circuit: _, ...rest }) => rest),
      providers: m.data.providers,
      taskTypes: m.data.taskTypes,
      sessions: m.data.sessions,
    });
    expect(BigInt(after.position)).toBeGreaterThanOrEqual(BigInt(live.position));
    expect(comparable(after)).toEqual(comparable(live));
    const session = (live.data.sessions as { sessionId: string; succeeded?: number }[]).find(
      (s) => s.sessionId === sessionId,
    );
    expect(session).toBeDefined();
  });
});
