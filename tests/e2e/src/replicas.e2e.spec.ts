import { parseRunnerConfig, runFleet, type FleetHandle } from '@orch/agent-runner';
import type { RunningService } from '@orch/service-kit';
import { eventually, testDatabaseUrl } from '@orch/testing';
import fc from 'fast-check';
import { Client } from 'pg';
import {
  CHECKED_TYPES,
  checkAttempts,
  checkRunningAttempts,
  checkSessionEnds,
  checkSlots,
  heldSlots,
  type LoggedEvent,
} from './log-invariants';
import { startStack, type TestStack } from './stack';

jest.setTimeout(120_000);

/**
 * The requirement: "A task never runs on two agents at once and an agent never exceeds
 * its capacity, whatever the number of dispatcher replicas". Two replicas of coordination and of
 * distribution share one store; random workloads run on a fleet of small, partly flaky agents;
 * the invariants are then checked on the event log the replicas wrote.
 */

const PATTERNS = ['swarm', 'solo', 'pair'] as const;
/** The 'steady' and 'wide' agents cover both, so every DAG has a solo agent and a pair driver. */
const CAPABILITIES = [['code'], ['testing'], ['code', 'testing']];

interface TaskInput {
  id: string;
  type: string;
  capabilities: string[];
  dependsOn: string[];
  maxAttempts: number;
}
interface SessionInput {
  pattern: (typeof PATTERNS)[number];
  tasks: TaskInput[];
}

/** A DAG of 5 to 30 tasks, each depending on up to three earlier ones. */
const dagArb = fc
  .array(
    fc.record({
      deps: fc.uniqueArray(fc.nat(), { maxLength: 3 }),
      capabilities: fc.constantFrom(...CAPABILITIES),
      maxAttempts: fc.integer({ min: 2, max: 3 }),
    }),
    { minLength: 5, maxLength: 30 },
  )
  .map((specs) =>
    specs.map(({ deps, capabilities, maxAttempts }, i) => ({
      id: `t${i}`,
      type: capabilities.join('+'),
      capabilities,
      dependsOn: i === 0 ? [] : [...new Set(deps.map((d) => `t${d % i}`))],
      maxAttempts,
    })),
  );
const sessionArb: fc.Arbitrary<SessionInput> = fc.record({
  pattern: fc.constantFrom(...PATTERNS),
  tasks: dagArb,
});
/** Sessions started together. */
const workloadArb = fc.array(sessionArb, { minLength: 2, maxLength: 4 });

/** A sim executor taking 0 to `maxMs` ms and failing (retryably) at `failureRate`. */
const sim = (maxMs: number, failureRate: number, changesRequestedRate = 0) => ({
  kind: 'sim',
  durationMs: { dist: 'uniform', min: 0, max: maxMs },
  failureRate,
  changesRequestedRate,
});

describe('two replicas of coordination and of distribution on one store', () => {
  let stack: TestStack;
  let fleet: FleetHandle;
  let pg: Client;

  beforeAll(async () => {
    stack = await startStack({ replicas: 2 });
    pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    fleet = await runFleet(
      parseRunnerConfig({
        gateway: { url: stack.baseUrl, apiKey: stack.adminKey },
        polling: { waitMs: 1000, heartbeatIntervalMs: 300, shutdownGraceMs: 2000 },
        // Each provider apart, so one flaky agent cannot open another's provider circuit.
        agents: [
          {
            name: 'steady',
            count: 2,
            provider: 'anthropic',
            model: 'sim',
            capabilities: ['code', 'testing'],
            maxConcurrency: 1,
            executor: sim(3, 0),
          },
          {
            name: 'flaky',
            count: 2,
            provider: 'openai',
            model: 'sim',
            capabilities: ['code'],
            maxConcurrency: 2,
            executor: sim(3, 0.2),
          },
          {
            name: 'wide',
            provider: 'mistral',
            model: 'sim',
            capabilities: ['code', 'testing'],
            maxConcurrency: 3,
            executor: sim(5, 0.1),
          },
          {
            name: 'reviewer',
            count: 2,
            provider: 'local',
            model: 'sim',
            capabilities: ['review'],
            maxConcurrency: 2,
            executor: sim(2, 0, 0.2),
          },
        ],
      }),
    );
  });

  afterAll(async () => {
    await fleet?.stop();
    await pg?.end();
    await stack?.close();
  });

  async function startSession(session: SessionInput, n: number): Promise<string> {
    const res = await stack.call(stack.adminKey, 'POST', '/api/orchestration/sessions', {
      goal: `replicas workload ${n}: ${session.tasks.length} tasks, ${session.pattern}`,
      ...session,
    });
    if (res.status !== 201) throw new Error(`start answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { sessionId: string }).sessionId;
  }

  /** Polls the session until it leaves `running` (it is created asynchronously, so 404 at first). */
  const finished = (sessionId: string) =>
    eventually(
      async () => {
        const res = await stack.call(stack.adminKey, 'GET', `/api/orchestration/sessions/${sessionId}`);
        if (!res.ok) {
          await res.body?.cancel();
          return undefined;
        }
        const { status } = (await res.json()) as { status: string };
        return status === 'running' ? undefined : status;
      },
      { timeoutMs: 45_000, intervalMs: 100, what: `session ${sessionId} to end` },
    );

  /** The events the checks read, in global order. */
  async function readLog(): Promise<LoggedEvent[]> {
    const { rows } = await pg.query<{ position: string; stream_id: string; type: string; data: object }>(
      `SELECT global_position AS position, stream_id, type, data FROM "${stack.eventStoreSchema}".events
        WHERE type = ANY($1) ORDER BY global_position`,
      [CHECKED_TYPES],
    );
    return rows.map((r) => ({
      position: Number(r.position),
      streamId: r.stream_id,
      type: r.type,
      data: r.data as LoggedEvent['data'],
    }));
  }

  /** The log once coordination closed every session (it does so after the workflow ended). */
  const logAfterClosing = (sessionIds: readonly string[]) =>
    eventually(
      async () => {
        const log = await readLog();
        const closed = new Set(log.filter((e) => e.type === 'SessionClosed').map((e) => e.streamId));
        return sessionIds.every((id) => closed.has(`session-${id}`)) ? log : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'every session closed' },
    );

  /** Slots are released after the attempts end; a slot still held long after is leaked capacity. */
  const slotsReleased = () =>
    eventually(
      async () => {
        const held = heldSlots(await readLog());
        if (held.length > 0) throw new Error(`slots never released:\n  ${held.join('\n  ')}`);
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'every slot released' },
    );

  /** What one replica's counter says it did with outcome `assigned`. */
  async function assignedBy(service: RunningService, metric: string): Promise<number> {
    const values = (await service.metrics.registry.getSingleMetric(metric)?.get())?.values ?? [];
    return values.filter((v) => v.labels['outcome'] === 'assigned').reduce((n, v) => n + v.value, 0);
  }

  it('never runs a task on two agents at once nor takes slots over capacity, whatever the workload', async () => {
    await fc.assert(
      fc.asyncProperty(workloadArb, async (workload) => {
        const sessionIds = await Promise.all(workload.map(startSession));
        await Promise.all(sessionIds.map(finished));
        const log = await logAfterClosing(sessionIds);
        expect([
          ...checkAttempts(log),
          ...checkSlots(log),
          ...checkRunningAttempts(log),
          ...checkSessionEnds(log, sessionIds),
        ]).toEqual([]);
        await slotsReleased();
      }),
      // Each run is a real workload on the shared stack: few runs, and no shrinking.
      { numRuns: 4, endOnFailure: true },
    );

    // Both replicas of each service took part: each coordination took slots for AssignAgent,
    // each distribution dispatcher recorded assignments.
    for (const c of stack.coordinations)
      expect(await assignedBy(c, 'orch_agent_assignments_total')).toBeGreaterThan(0);
    for (const d of stack.distributions)
      expect(await assignedBy(d, 'orch_dispatch_offers_total')).toBeGreaterThan(0);
  });
});
