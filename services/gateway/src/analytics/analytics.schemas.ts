import { z } from 'zod';

/** Forecast horizons the analytics service computes, in hours. */
export const FORECAST_HORIZONS = ['6', '12', '24', '48', '168'] as const;

/** Longest per-minute series a client may ask for (the service caps it to its retention, 24 h by default). */
export const MAX_WINDOW_MINUTES = 10_080;

/** A session id as sessions are issued (a UUID). */
export const SessionIdSchema = z.uuid({ message: 'must be a session id (a UUID)' });

export const MetricsQuerySchema = z.strictObject({
  windowMinutes: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_WINDOW_MINUTES)
    .optional()
    .describe('Minutes of per-minute series (default 60; capped to the retention)'),
  sessionId: SessionIdSchema.optional().describe("Only this session's figures"),
});
export type MetricsQuery = z.output<typeof MetricsQuerySchema>;

export const PredictionsQuerySchema = z.strictObject({
  horizonHours: z
    .enum(FORECAST_HORIZONS, { message: `must be one of ${FORECAST_HORIZONS.join(', ')}` })
    .transform(Number)
    .optional()
    .describe('One horizon (hours); absent = every horizon'),
});
export type PredictionsQuery = z.output<typeof PredictionsQuerySchema>;

/** The answer of every analytics view: the view under `data`, and the log position it reflects. */
export const documentResponseSchema = (what: string) =>
  z.object({
    position: z
      .string()
      .regex(/^\d+$/)
      .describe('Global position of the last event the view reflects (a decimal string: a 64-bit integer)'),
    at: z.string().nullable().describe('When the view was computed (RFC 3339)'),
    data: z.record(z.string(), z.unknown()).describe(what),
  });
export type DocumentResponse = z.output<ReturnType<typeof documentResponseSchema>>;

export const RebuildResponseSchema = z.object({
  events: z.number().int().describe('Events folded'),
  position: z.string().describe('Global position the new projections reached (decimal string)'),
  durationMs: z.number().int(),
});
export type RebuildResponse = z.output<typeof RebuildResponseSchema>;

const percentiles = z.object({ p50: z.number(), p99: z.number() }).nullable();

/** The `data` of an SSE `event: metrics` frame. */
export const MetricsSummarySchema = z.object({
  position: z.string().describe('Global position the figures reflect (decimal string)'),
  at: z.string().nullable().describe('When the analytics service computed them (RFC 3339)'),
  sessionId: z.string().nullable().describe('The session the figures are limited to, or null for all'),
  windowMinutes: z
    .number()
    .int()
    .nullable()
    .describe("The window of `costUsd`; null for a session's figures (they have no series)"),
  tasksPerSecond: z
    .number()
    .nullable()
    .describe(
      "Task attempts finished (succeeded or failed) per second over the last minute; null for a session's figures",
    ),
  successRate: z
    .number()
    .nullable()
    .describe(
      'succeeded / (succeeded + failed + timed out), since the projection started; null before any outcome',
    ),
  queueWaitMs: percentiles.describe('Ready -> assigned, p50 and p99 (ms), since the projection started'),
  runTimeMs: percentiles.describe('Started -> outcome, p50 and p99 (ms), since the projection started'),
  costUsd: z.number().describe("Cost reported in the window (USD); for a session, the session's cost so far"),
});
export type MetricsSummary = z.output<typeof MetricsSummarySchema>;
