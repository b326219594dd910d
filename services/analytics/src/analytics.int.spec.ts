import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { create } from '@bufbuild/protobuf';
import type { LatencyView, MetricsView, SessionMetricsView } from '@orch/analytics';
import {
  GetInsightsSchema,
  GetPredictionsSchema,
  GetRecommendationsSchema,
  RebuildProjectionsSchema,
  type AnalyticsDocument,
  type RebuildResult,
} from '@orch/contracts';
import type { RecordedEvent } from '@orch/eventstore';
import { eventually } from '@orch/testing';
import { TestAnalytics } from './testing/harness';
import { AGENT_A, AGENT_B, recordCompletedSession, recordRunningSession } from './testing/scenario';

let t: TestAnalytics;
let sessionId: string;
const origin = new Date(Date.now() - 30 * 60_000);

beforeAll(async () => {
  // Checkpoints every 10 events; the interval is long so only the event count triggers them.
  t = await TestAnalytics.create({
    ANALYTICS_CHECKPOINT_EVERY: '10',
    ANALYTICS_CHECKPOINT_INTERVAL_MS: '3600000',
  });
  await t.startService();
  // Appended while the service runs: it follows the log.
  sessionId = await recordCompletedSession(t.writer, origin);
});
afterAll(() => t.close());

// ---------------------------------------------------------------- expectations from the events

async function allEvents(): Promise<RecordedEvent[]> {
  return t.writer.store.readAll(0n, 10_000);
}

const ms = (iso: unknown): number => Date.parse(String(iso));
const data = (e: RecordedEvent) => e.data as Record<string, unknown>;

/** Durations the events imply: queue waits, run times and end-to-end times, in ms. */
function durations(events: readonly RecordedEvent[], filter: (e: RecordedEvent) => boolean = () => true) {
  const readyAt = new Map<string, number>();
  const startedAt = new Map<string, number>();
  const submittedAt = new Map<string, number>();
  const queue: number[] = [];
  const run: number[] = [];
  const endToEnd: number[] = [];
  for (const e of events) {
    const d = data(e);
    const taskId = String(d['taskId']);
    switch (e.type) {
      case 'TaskSubmitted':
        submittedAt.set(taskId, ms(d['submittedAt']));
        break;
      case 'TaskReady':
        if (!readyAt.has(taskId)) readyAt.set(taskId, ms(d['readyAt']));
        break;
      case 'TaskAssigned':
        if (filter(e)) queue.push(ms(d['assignedAt']) - readyAt.get(taskId)!);
        readyAt.delete(taskId);
        break;
      case 'TaskStarted':
        startedAt.set(taskId, ms(d['startedAt']));
        break;
      case 'TaskSucceeded':
        if (filter(e)) {
          run.push(ms(d['completedAt']) - startedAt.get(taskId)!);
          endToEnd.push(ms(d['completedAt']) - submittedAt.get(taskId)!);
        }
        break;
      case 'TaskFailed':
        if (filter(e)) run.push(ms(d['failedAt']) - startedAt.get(taskId)!);
        break;
    }
  }
  return { queue, run, endToEnd };
}

const countOf = (
  events: readonly RecordedEvent[],
  type: string,
  filter: (e: RecordedEvent) => boolean = () => true,
) => events.filter((e) => e.type === type && filter(e)).length;

/** An HDR percentile: the recorded value at that rank, within the histogram's 1%. */
function expectPercentiles(summary: LatencyView | null, values: readonly number[]): void {
  expect(summary).not.toBeNull();
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  expect(summary!.count).toBe(values.length);
  for (const [p, got] of [
    [50, summary!.p50],
    [90, summary!.p90],
    [100, summary!.max],
  ] as const) {
    expect(Math.abs(got - at(p))).toBeLessThanOrEqual(at(p) * 0.01 + 1);
  }
}

async function metricsAtHead(): Promise<MetricsView> {
  const head = await t.writer.store.headPosition();
  return eventually(
    async () => {
      const view = (await t.metrics()) as unknown as MetricsView;
      return view.position === head.toString() ? view : undefined;
    },
    { what: `the projection at position ${head}` },
  );
}

/** The figures a rebuild or a restart must give again (not the redeliveries counter, nor "now"). */
const figures = (v: MetricsView) => ({
  applied: v.events.applied,
  unhandled: v.events.unhandled,
  totals: v.totals,
  agents: v.agents,
  providers: v.providers,
  taskTypes: v.taskTypes,
  sessions: v.sessions,
  pools: v.pools,
  locks: v.locks,
});

// ---------------------------------------------------------------- the specs

describe('the analytics projection', () => {
  it('folds every event as it is appended: counts and percentiles match the events', async () => {
    const view = await metricsAtHead();
    const events = await allEvents();
    expect(view.events.applied).toBe(events.length);
    const counts = view.totals.counts;
    expect(counts.submitted).toBe(countOf(events, 'TaskSubmitted'));
    expect(counts.assigned).toBe(countOf(events, 'TaskAssigned'));
    expect(counts.started).toBe(countOf(events, 'TaskStarted'));
    expect(counts.succeeded).toBe(countOf(events, 'TaskSucceeded'));
    expect(counts.failed).toBe(countOf(events, 'TaskFailed'));
    expect(view.totals.successRate).toBeCloseTo(counts.succeeded / (counts.succeeded + counts.failed), 4);
    const all = durations(events);
    expectPercentiles(view.totals.queueWaitMs, all.queue);
    expectPercentiles(view.totals.runTimeMs, all.run);
    expectPercentiles(view.totals.endToEndMs, all.endToEnd);
    const costs = events
      .filter((e) => e.type === 'TaskSucceeded')
      .reduce((sum, e) => sum + Number((data(e)['usage'] as Record<string, unknown>)['costUsd']), 0);
    expect(view.totals.costUsd).toBeCloseTo(costs, 6);
  });

  it('attributes work to agents and their providers', async () => {
    const view = await metricsAtHead();
    const events = await allEvents();
    for (const [agentId, provider] of [
      [AGENT_A, 'anthropic'],
      [AGENT_B, 'openai'],
    ] as const) {
      const byAgent = (e: RecordedEvent) => data(e)['agentId'] === agentId;
      const agent = view.agents.find((a) => a.agentId === agentId);
      expect(agent).toMatchObject({ provider, status: 'idle' });
      expect(agent!.counts.assigned).toBe(countOf(events, 'TaskAssigned', byAgent));
      expect(agent!.counts.succeeded).toBe(countOf(events, 'TaskSucceeded', byAgent));
      expect(agent!.counts.failed).toBe(countOf(events, 'TaskFailed', byAgent));
      expectPercentiles(agent!.runTimeMs, durations(events, byAgent).run);
      expect(view.providers.find((p) => p.provider === provider)!.counts).toEqual(agent!.counts);
    }
  });

  it("answers one session's figures, and not found for a session it never saw", async () => {
    await metricsAtHead();
    const body = await t.metrics({ sessionId });
    const session = body['session'] as unknown as SessionMetricsView;
    expect(session).toMatchObject({ sessionId, status: 'completed', pattern: 'swarm' });
    expect(session.counts.succeeded).toBe(3);
    await expect(t.metrics({ sessionId: '00000000-0000-4000-8000-000000000000' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(t.metrics({ sessionId: 'not-a-session' })).rejects.toMatchObject({ code: 'validation' });
  });

  it('checkpoints every N events while it runs', async () => {
    const head = await t.writer.store.headPosition();
    const row = await eventually(async () => {
      const r = await t.checkpointRow();
      return r && head - r.position < 10n ? r : undefined;
    });
    expect(row.position).toBeGreaterThan(0n);
  });

  it('restarts from its checkpoint: folds only what was appended meanwhile, same numbers', async () => {
    const before = figures(await metricsAtHead());
    await t.stopService();
    const stoppedAt = await t.writer.store.headPosition();
    expect((await t.checkpointRow())?.position).toBe(stoppedAt);

    const running = await recordRunningSession(t.writer, new Date(origin.getTime() + 60_000));
    const head = await t.writer.store.headPosition();
    await t.startService();

    // Caught up before answering: only the events appended while stopped were folded.
    expect(await t.scrape('orch_analytics_position')).toBe(Number(head));
    expect(await t.scrape('orch_analytics_events_total')).toBe(Number(head - stoppedAt));
    expect(await t.scrape('orch_analytics_lag_events')).toBe(0);
    // What it caught up with is checkpointed before it answers.
    expect(await t.scrape('orch_analytics_checkpoint_position')).toBe(Number(head));
    const after = figures(await metricsAtHead());
    expect(after.sessions.find((s) => s.sessionId === sessionId)).toEqual(
      before.sessions.find((s) => s.sessionId === sessionId),
    );
    expect(after.sessions.find((s) => s.sessionId === running)).toMatchObject({ status: 'running' });
    expect(after.totals.counts.submitted).toBe(before.totals.counts.submitted + 2);
    expect(after.applied).toBe(before.applied + Number(head - stoppedAt));
  });

  it('rebuilds from position 0 to the same numbers as the live projection, whatever its checkpoint held', async () => {
    const live = figures(await metricsAtHead());
    const head = await t.writer.store.headPosition();
    // A checkpoint that disagrees with the log: the restarted service serves what it holds...
    await t.stopService();
    await t.sql(
      `UPDATE {schema}.projection_checkpoint SET snapshot = jsonb_set(snapshot, '{totals,n,submitted}', '0')`,
    );
    await t.startService();
    expect((await metricsAtHead()).totals.counts.submitted).toBe(0);
    // ...until the rebuild folds the log again from the start.
    const result = await t.request<RebuildResult>('RebuildProjections', create(RebuildProjectionsSchema, {}));
    expect(result.events).toBe(BigInt((await allEvents()).length));
    expect(result.position).toBe(head);
    const rebuilt = figures(await metricsAtHead());
    expect(rebuilt).toEqual(live);
    expect((await t.checkpointRow())?.position).toBe(head);
  });

  it('folds the log from the start when its checkpoint lies beyond the head of the log', async () => {
    const live = figures(await metricsAtHead());
    await t.stopService();
    await t.sql(
      `UPDATE {schema}.projection_checkpoint
          SET snapshot = jsonb_set(jsonb_set(snapshot, '{position}', '"999999999"'), '{totals,n,submitted}', '0'),
              position = 999999999`,
    );
    await t.startService();
    expect(figures(await metricsAtHead())).toEqual(live);
  });

  it('checkpoints once the interval passed when fewer than N events arrived', async () => {
    await t.stopService();
    await t.startService({ ANALYTICS_CHECKPOINT_EVERY: '1000000', ANALYTICS_CHECKPOINT_INTERVAL_MS: '200' });
    await recordRunningSession(t.writer, new Date(origin.getTime() + 120_000));
    const head = await t.writer.store.headPosition();
    await eventually(async () => ((await t.checkpointRow())?.position === head ? true : undefined));
  });
});

describe('the analytics views', () => {
  it('forecasts demand for one horizon or every horizon, and names a bad horizon', async () => {
    const one = await t.request<AnalyticsDocument>(
      'GetPredictions',
      create(GetPredictionsSchema, { horizonHours: 24 }),
    );
    const horizons = one.body?.['horizons'] as { horizonHours: number }[];
    expect(horizons.map((h) => h.horizonHours)).toEqual([24]);
    expect(one.position).toBe(await t.writer.store.headPosition());
    const every = await t.request<AnalyticsDocument>('GetPredictions', create(GetPredictionsSchema, {}));
    expect((every.body?.['horizons'] as { horizonHours: number }[]).map((h) => h.horizonHours)).toEqual([
      6, 12, 24, 48, 168,
    ]);
    await expect(
      t.request('GetPredictions', create(GetPredictionsSchema, { horizonHours: 500 })),
    ).rejects.toMatchObject({
      code: 'validation',
      errors: [expect.objectContaining({ path: 'horizonHours' })],
    });
  });

  it('answers insights and recommendations as documents at the time asked', async () => {
    const before = Date.now();
    const insights = await t.request<AnalyticsDocument>('GetInsights', create(GetInsightsSchema, {}));
    expect(insights.body).toEqual(
      expect.objectContaining({ bottlenecks: expect.any(Array), anomalies: expect.any(Array) }),
    );
    expect(Number(insights.at!.seconds) * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    const recommendations = await t.request<AnalyticsDocument>(
      'GetRecommendations',
      create(GetRecommendationsSchema, {}),
    );
    expect(recommendations.body).toEqual(expect.objectContaining({ items: expect.any(Array) }));
  });
});
