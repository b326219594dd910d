import { timestampDate } from '@bufbuild/protobuf/wkt';
import type { AnalyticsDocument, RebuildResult } from '@orch/contracts';
import { rfc3339 } from '@orch/domain-kit';
import type { DocumentResponse, MetricsSummary, RebuildResponse } from './analytics.schemas';

const MINUTE_MS = 60_000;

/** A view as the API answers it: `{position, at, data}` (the view itself under `data`, never spread). */
export function toDocumentResponse(doc: AnalyticsDocument): DocumentResponse {
  return {
    position: doc.position.toString(),
    at: doc.at ? rfc3339(timestampDate(doc.at)) : null,
    data: doc.body ?? {},
  };
}

export function toRebuildResponse(r: RebuildResult): RebuildResponse {
  return { events: Number(r.events), position: r.position.toString(), durationMs: Number(r.durationMs) };
}

// ------------------------------------------------------------------ the live summary

type Json = Readonly<Record<string, unknown>>;

const objectAt = (v: unknown): Json | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
const numberAt = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;
const round = (n: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

function percentilesOf(v: unknown): MetricsSummary['queueWaitMs'] {
  const o = objectAt(v);
  const p50 = numberAt(o?.['p50']);
  const p99 = numberAt(o?.['p99']);
  return p50 === undefined || p99 === undefined ? null : { p50, p99 };
}

/** One minute of the system series, as the summary reads it. */
export interface MinutePoint {
  readonly start: number;
  readonly finished: number;
  readonly costUsd: number;
}

/** The per-minute points of a metrics document's `series` (malformed points are left out). */
export function minutePoints(series: Json | undefined): MinutePoint[] {
  const points = series?.['points'];
  if (!Array.isArray(points)) return [];
  return points.flatMap((p): MinutePoint[] => {
    const o = objectAt(p);
    const start = typeof o?.['at'] === 'string' ? Date.parse(o['at']) : NaN;
    if (!o || Number.isNaN(start)) return [];
    return [
      {
        start,
        finished: (numberAt(o['succeeded']) ?? 0) + (numberAt(o['failed']) ?? 0),
        costUsd: numberAt(o['costUsd']) ?? 0,
      },
    ];
  });
}

/**
 * Attempts finished per second over the minute before `nowMs`, from per-minute counts. The minute
 * in progress counts whole (its events all happened before now); an older minute counts for the
 * share of it inside the last 60 s, as if its events were spread evenly. A clock behind the
 * service's is moved up to the newest minute, so skew shifts the window instead of emptying it.
 */
export function lastMinuteRate(points: readonly MinutePoint[], nowMs: number): number {
  const newest = Math.max(-Infinity, ...points.map((p) => p.start));
  const now = Math.max(nowMs, newest + 1);
  const from = now - MINUTE_MS;
  let finished = 0;
  for (const p of points) {
    const end = Math.min(p.start + MINUTE_MS, now);
    const overlap = end - Math.max(p.start, from);
    if (overlap > 0) finished += (p.finished * overlap) / (end - p.start);
  }
  return round(finished / 60, 3);
}

/**
 * The compact summary an SSE stream carries as `event: metrics`, from a GetMetrics document
 * (@orch/analytics `metricsView`): throughput over the minute before the document's time (`now`
 * when it has none), the success rate and latency percentiles of the totals, and the cost of the
 * series' window. A session's document has its figures under `session` and no series: its rate
 * and window are null and its cost is the session's so far. Fields the document lacks come out
 * as null (0 for the cost), never as an error.
 */
export function toMetricsSummary(
  doc: DocumentResponse,
  sessionId: string | undefined,
  now: Date,
): MetricsSummary {
  const figures = objectAt(doc.data['totals']) ?? objectAt(doc.data['session']);
  const series = objectAt(doc.data['series']);
  const points = series ? minutePoints(series) : undefined;
  const at = doc.at === null ? NaN : Date.parse(doc.at);
  return {
    position: doc.position,
    at: doc.at,
    sessionId: sessionId ?? null,
    windowMinutes: points ? (numberAt(series?.['windowMinutes']) ?? points.length) : null,
    tasksPerSecond: points ? lastMinuteRate(points, Number.isNaN(at) ? now.getTime() : at) : null,
    successRate: numberAt(figures?.['successRate']) ?? null,
    queueWaitMs: percentilesOf(figures?.['queueWaitMs']),
    runTimeMs: percentilesOf(figures?.['runTimeMs']),
    costUsd: round(
      points ? points.reduce((sum, p) => sum + p.costUsd, 0) : (numberAt(figures?.['costUsd']) ?? 0),
      6,
    ),
  };
}
