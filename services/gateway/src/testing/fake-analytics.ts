import { create, fromJson, type JsonValue, type Message } from '@bufbuild/protobuf';
import { ListValueSchema, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { NatsConnection } from '@nats-io/nats-core';
import {
  AnalyticsDocumentSchema,
  RebuildResultSchema,
  ReplayEventSchema,
  ReplayStateSchema,
  SessionEventPageSchema,
  VerifyReportSchema,
  commandInfo,
  type GetMetrics,
  type GetPredictions,
  type ListSessionEvents,
  type ReplayEvent,
  type ReplaySession,
  type VerifySession,
} from '@orch/contracts';
import { NotFoundError, ValidationError } from '@orch/domain-kit';
import { CommandServer, type Naming } from '@orch/messaging';
import { testLogger } from '@orch/messaging/testing';

const AT = new Date('2026-03-01T14:00:30Z');

/**
 * The analytics service's commands as a real CommandServer on NATS with canned, recorded answers,
 * so gateway tests pin what each route sends and how it shows the reply.
 *
 * Sessions: {@link FakeAnalytics.SESSION} has {@link FakeAnalytics.EVENTS} events at positions
 * beyond 2^53, served at most {@link FakeAnalytics.PAGE_CAP} per page whatever the limit asked
 * (so an export takes several pages); {@link FakeAnalytics.BROKEN_SESSION} has as many but its
 * second page fails; any other session has no events (not found). A replay beyond the last
 * position is refused at `at`, as the service does.
 */
export class FakeAnalytics {
  static readonly SESSION = '0b6c3c1e-7d1f-4a52-9a8e-2f3d4c5b6a79';
  static readonly BROKEN_SESSION = '5d0e1f2a-3b4c-4d5e-8f60-718293a4b5c6';
  static readonly EVENTS = 7;
  static readonly PAGE_CAP = 3;
  /** Position of the first event: above Number.MAX_SAFE_INTEGER, so precision loss would show. */
  static readonly FIRST_POSITION = 9_007_199_254_740_993n;

  readonly calls = new Map<string, Message[]>();
  private readonly server: CommandServer;

  constructor(nc: NatsConnection, naming: Naming) {
    this.server = new CommandServer(nc, naming, 'analytics', testLogger());
    const serve = <T extends Message>(name: string, handler: (p: T) => Message) =>
      this.server.handle<T, never>(commandInfo(`analytics.${name}`), async (p) => {
        this.calls.set(name, [...(this.calls.get(name) ?? []), p]);
        return handler(p) as never;
      });
    serve<GetMetrics>('GetMetrics', (p) => FakeAnalytics.document(FakeAnalytics.metricsBody(p)));
    serve<GetPredictions>('GetPredictions', (p) =>
      FakeAnalytics.document({
        horizons: (p.horizonHours === 0 ? [6, 12, 24, 48, 168] : [p.horizonHours]).map((h) => ({
          horizonHours: h,
          forecasts: [{ pool: 'gpu', demand: 3.5, lower: 2, upper: 5, mape: 0.12 }],
        })),
      }),
    );
    serve('GetInsights', () =>
      FakeAnalytics.document({
        insights: [
          { severity: 'warning', kind: 'bottleneck', subject: 'pool gpu', evidence: { waitP99Ms: 42_000 } },
        ],
      }),
    );
    serve('GetRecommendations', () =>
      FakeAnalytics.document({
        recommendations: [{ kind: 'raise_pool', pool: 'gpu', to: 6, expectedEffect: 'p99 wait -40%' }],
      }),
    );
    serve('RebuildProjections', () =>
      create(RebuildResultSchema, { events: 42n, position: 9_007_199_254_740_999n, durationMs: 1_234n }),
    );
    serve<ListSessionEvents>('ListSessionEvents', (p) => this.page(p));
    serve<ReplaySession>('ReplaySession', (p) => FakeAnalytics.replay(p));
    serve<VerifySession>('VerifySession', (p) => FakeAnalytics.verify(p));
  }

  /** The payloads `name` received, oldest first. */
  received<T extends Message>(name: string): T[] {
    return (this.calls.get(name) ?? []) as T[];
  }

  /** The session's events as the service records them. */
  static events(sessionId: string): ReplayEvent[] {
    return Array.from({ length: FakeAnalytics.EVENTS }, (_, i) =>
      create(ReplayEventSchema, {
        // Every other position: other sessions' events sit between a session's.
        position: FakeAnalytics.FIRST_POSITION + BigInt(i * 2),
        eventId: `00000000-0000-4000-8000-00000000000${i}`,
        type: i === 0 ? 'SessionStarted' : 'TaskSubmitted',
        source: i === 0 ? 'coordination' : 'distribution',
        streamId: i === 0 ? `session-${sessionId}` : `workflow-${sessionId}`,
        streamVersion: BigInt(i === 0 ? 1 : i),
        occurredAt: timestampFromDate(new Date(Date.UTC(2026, 2, 1, 14, 0, i, i === 3 ? 250 : 0))),
        data: i === 0 ? { sessionId, goal: 'ship it' } : { taskId: `t${i}`, key: `k${i}` },
        metadata: { correlationId: sessionId, causationId: `cmd-${i}` },
        schemaVersion: 1,
      }),
    );
  }

  private page(p: ListSessionEvents): Message {
    const known = p.sessionId === FakeAnalytics.SESSION || p.sessionId === FakeAnalytics.BROKEN_SESSION;
    if (!known) throw new NotFoundError(`session ${p.sessionId} has no events`, { sessionId: p.sessionId });
    if (p.sessionId === FakeAnalytics.BROKEN_SESSION && p.from > 0n) throw new Error('the store went away');
    const all = FakeAnalytics.events(p.sessionId);
    const after = all.filter((e) => e.position > p.from);
    const limit = Math.min(p.limit || 500, FakeAnalytics.PAGE_CAP);
    const items = after.slice(0, limit);
    return create(SessionEventPageSchema, {
      items,
      nextFrom: after.length > limit ? items[items.length - 1]!.position : 0n,
      lastPosition: all[all.length - 1]!.position,
    });
  }

  private static replay(p: ReplaySession): Message {
    if (p.sessionId !== FakeAnalytics.SESSION)
      throw new NotFoundError(`session ${p.sessionId} has no events`);
    const last = FakeAnalytics.events(p.sessionId).at(-1)!.position;
    if (p.at > last) {
      throw new ValidationError(`at ${p.at} is beyond the session's last position ${last}`, [
        { path: 'at', message: `must be at most ${last}, the session's last position (0 = the last)` },
      ]);
    }
    const at = p.at === 0n ? last : p.at;
    return create(ReplayStateSchema, {
      at,
      events: FakeAnalytics.events(p.sessionId).filter((e) => e.position <= at).length,
      state: {
        session: { id: p.sessionId, status: 'running', goal: 'ship it' },
        workflow: { status: 'running', tasks: [{ taskId: 't1', status: 'ready', attempts: 0 }] },
        agents: [],
        conflicts: [],
      },
      unknownTypes: ['LegacyThing'],
    });
  }

  private static verify(p: VerifySession): Message {
    if (p.sessionId !== FakeAnalytics.SESSION)
      throw new NotFoundError(`session ${p.sessionId} has no events`);
    const events = (list: JsonValue[]) => fromJson(ListValueSchema, list);
    return create(VerifyReportSchema, {
      divergences: [
        {
          position: FakeAnalytics.FIRST_POSITION + 4n,
          streamId: `workflow-${p.sessionId}`,
          command: 'MarkReady',
          expected: events([{ type: 'TaskReady', data: { taskId: 't2' } }]),
          actual: events([]),
          reason: 'today the task is not ready yet',
        },
      ],
      checked: 5,
      skipped: 1,
      unknownTypes: ['LegacyThing'],
    });
  }

  /** A metrics body shaped like @orch/analytics `metricsView` (or its session form). */
  static metricsBody(p: GetMetrics): Record<string, JsonValue> {
    const entity = {
      counts: { submitted: 10, succeeded: 8, failed: 2 },
      successRate: 0.8,
      queueWaitMs: { count: 10, mean: 20, p50: 12, p90: 40, p99: 95, max: 120 },
      runTimeMs: { count: 10, mean: 900, p50: 800, p90: 1500, p99: 2400, max: 2600 },
      costUsd: 1.5,
    };
    if (p.sessionId !== '') {
      return { asOf: AT.toISOString(), position: '77', session: { sessionId: p.sessionId, ...entity } };
    }
    return {
      asOf: AT.toISOString(),
      position: '77',
      totals: entity,
      series: {
        windowMinutes: p.windowMinutes || 60,
        points: [
          { at: '2026-03-01T13:59:00Z', submitted: 6, succeeded: 4, failed: 2, costUsd: 0.25 },
          { at: '2026-03-01T14:00:00Z', submitted: 3, succeeded: 3, failed: 0, costUsd: 0.5 },
        ],
      },
    };
  }

  static document(body: Record<string, JsonValue>): Message {
    return create(AnalyticsDocumentSchema, { body, position: 77n, at: timestampFromDate(AT) });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}
