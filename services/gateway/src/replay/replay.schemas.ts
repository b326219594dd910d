import { z } from 'zod';

/** Most events the analytics service gives in one page. */
export const MAX_PAGE = 5_000;
const MAX_UINT64 = (1n << 64n) - 1n;
const POSITION_MESSAGE = 'must be a non-negative integer (a global position)';

/** A global position in a query: a decimal string of a 64-bit unsigned integer, as bigint. */
export const PositionSchema = z.string().transform((s, ctx): bigint => {
  const n = /^\d{1,20}$/.test(s) ? BigInt(s) : undefined;
  if (n === undefined || n > MAX_UINT64) {
    ctx.addIssue({ code: 'custom', message: POSITION_MESSAGE });
    return z.NEVER;
  }
  return n;
});

export const EventsQuerySchema = z.strictObject({
  from: PositionSchema.optional().describe(
    'Events after this position (exclusive); default 0 = from the start',
  ),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).optional().describe('Default 500'),
});
export type EventsQuery = z.output<typeof EventsQuerySchema>;

export const ReplayQuerySchema = z.strictObject({
  at: PositionSchema.optional().describe("A global position; absent or 0 = the session's last"),
});
export type ReplayQuery = z.output<typeof ReplayQuerySchema>;

const position = (what: string) =>
  z.string().regex(/^\d+$/).describe(`${what} (a decimal string: a 64-bit integer)`);

/** One recorded event, as the events page and each NDJSON export line show it. */
export const ReplayEventResponseSchema = z.object({
  position: position('Global position'),
  eventId: z.string(),
  type: z.string(),
  source: z.string().describe('The service that recorded it'),
  streamId: z.string(),
  streamVersion: position('Version within its stream'),
  occurredAt: z.string().nullable().describe('RFC 3339'),
  schemaVersion: z.number().int(),
  data: z.record(z.string(), z.unknown()).describe('The payload in the protobuf JSON mapping'),
  metadata: z
    .record(z.string(), z.unknown())
    .describe('correlationId, causationId, traceparent, principal, command, decision...'),
});
export type ReplayEventResponse = z.output<typeof ReplayEventResponseSchema>;

export const EventPageResponseSchema = z.object({
  items: z.array(ReplayEventResponseSchema),
  nextFrom: position('Ask with from= this for the next page').nullable().describe('null on the last page'),
  lastPosition: position("The session's last position"),
});
export type EventPageResponse = z.output<typeof EventPageResponseSchema>;

export const ReplayResponseSchema = z.object({
  at: position('The position replayed to'),
  events: z.number().int().describe("The session's events folded (those at or before `at`)"),
  state: z
    .record(z.string(), z.unknown())
    .describe('session, workflow (tasks), agents, resources and conflicts as they were (docs/replay.md)'),
  unknownTypes: z.array(z.string()).describe('Event types no fold knows (reported, skipped)'),
});
export type ReplayResponse = z.output<typeof ReplayResponseSchema>;

const recordedEvent = z.object({ type: z.string(), data: z.unknown() });

export const VerifyResponseSchema = z.object({
  divergences: z.array(
    z.object({
      position: position('Position of the decision'),
      streamId: z.string(),
      command: z.string().describe("The recorded command's type"),
      expected: z.array(recordedEvent).describe('The events recorded'),
      actual: z.array(recordedEvent).describe("The events today's code decides"),
      reason: z.string(),
    }),
  ),
  checked: z.number().int().describe('Decisions decided again'),
  skipped: z.number().int().describe('Event groups without a recorded command (not checked)'),
  unknownTypes: z.array(z.string()),
});
export type VerifyResponse = z.output<typeof VerifyResponseSchema>;
