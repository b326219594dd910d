import { once } from 'node:events';
import { Controller, Get, Inject, Query, Req, Res, type BeforeApplicationShutdown } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiHeader,
  ApiOperation,
  ApiProduces,
  ApiQuery,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import {
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type Consumer,
  type ConsumerMessages,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { ValidationError } from '@orch/domain-kit';
import { decodeEventMessage, Headers, MESSAGING_NAMING, NATS_CONNECTION, type Naming } from '@orch/messaging';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { z } from 'zod';
import { MAX_WINDOW_MINUTES, MetricsSummarySchema } from '../analytics/analytics.schemas';
import { LiveMetrics, type MetricsUpdate } from '../analytics/live-metrics';
import { Allow, READERS } from '../auth/access';
import type { GatewayConfig } from '../config';
import { CORRELATION_HEADER } from '../http/correlation';
import { finishSpan } from '../http/edge-hooks';
import { ApiProblems } from '../openapi/openapi';
import { DependencyUnavailableError } from '../problem/errors';
import { GATEWAY_CONFIG, LOGGER } from '../tokens';
import { ZodPipe } from '../validation/zod.pipe';
import { eventData, sseComment, sseEvent, sseFrame } from './sse';
import { METRICS_TYPE, streamSelection, type StreamSelection } from './stream-selection';

const TYPE = /^[A-Za-z0-9_-]+$/;
const SEQUENCE = /^\d{1,15}$/;

export const StreamQuerySchema = z.strictObject({
  sessionId: z.string().min(1).max(200).optional(),
  types: z
    .string()
    .max(2000)
    .transform((s) =>
      s
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== ''),
    )
    .refine((types) => types.every((t) => TYPE.test(t)), 'comma-separated event type names ([A-Za-z0-9_-])')
    .optional(),
  lastEventId: z.string().regex(SEQUENCE, 'a JetStream sequence number').optional(),
  metrics: z
    .enum(['1', 'true', '0', 'false'], { message: 'must be 1, true, 0 or false' })
    .transform((v) => v === '1' || v === 'true')
    .optional(),
  metricsWindowMinutes: z.coerce.number().int().min(1).max(MAX_WINDOW_MINUTES).optional(),
});
export type StreamQuery = z.output<typeof StreamQuerySchema>;

/**
 * Live events as Server-Sent Events, read from the JetStream events stream through an ordered
 * (ephemeral, unacknowledged) consumer per client: nothing durable is left behind, and the
 * consumer is deleted when the client goes away. A client that opts in also gets live metrics
 * summaries ({@link LiveMetrics}, one poll of the analytics service shared by every such client).
 */
@ApiTags('events')
@ApiBearerAuth()
@Controller('api/events')
export class EventsController implements BeforeApplicationShutdown {
  /** Open streams, closed at shutdown: an endless response would otherwise keep the server from closing. */
  private readonly open = new Set<() => void>();

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(MESSAGING_NAMING) private readonly naming: Naming,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(LiveMetrics) private readonly liveMetrics: LiveMetrics,
  ) {}

  @Get('stream')
  @Allow(...READERS)
  @ApiOperation({
    summary:
      'Server-Sent Events: `id` = stream sequence, `event` = type, `data` = event JSON; resumes after Last-Event-ID',
    description:
      'With `metrics=1` (or `metrics` among `types`) the stream also carries, every ANALYTICS_SSE_INTERVAL_MS ' +
      '(5 s by default), an `event: metrics` frame without an id whose `data` is ' +
      `{${Object.keys(MetricsSummarySchema.shape).join(', ')}}` +
      ' (positions as decimal strings, durations in ms, cost in USD), or `event: metrics-error` with ' +
      '{status, type, detail} when the analytics service could not answer. `types=metrics` alone carries ' +
      'metrics only. Figures are limited to `sessionId` when one is given.',
  })
  @ApiProduces('text/event-stream')
  @ApiQuery({
    name: 'sessionId',
    required: false,
    description: 'Only events of this session (correlation id)',
  })
  @ApiQuery({
    name: 'types',
    required: false,
    description: 'Comma-separated event types, e.g. TaskAssigned,TaskSucceeded; `metrics` adds live metrics',
  })
  @ApiQuery({
    name: 'lastEventId',
    required: false,
    description: 'Resume after this id (when the header cannot be set)',
  })
  @ApiQuery({
    name: 'metrics',
    required: false,
    description: 'Add live metrics summaries (1 or true)',
    schema: { type: 'string', enum: ['1', 'true', '0', 'false'] },
  })
  @ApiQuery({
    name: 'metricsWindowMinutes',
    required: false,
    description: 'Window of the cost in the metrics summaries (default 60)',
    schema: { type: 'integer', minimum: 1, maximum: MAX_WINDOW_MINUTES },
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false })
  @ApiResponse({ status: 200, description: 'An endless text/event-stream' })
  @ApiProblems(400, 401, 403, 429, 503)
  async stream(
    @Query(new ZodPipe(StreamQuerySchema, 'query')) query: StreamQuery,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const resumeAfter = this.lastEventId(req, query);
    const selection = streamSelection(query);
    let consumer: Consumer | undefined;
    let messages: ConsumerMessages | undefined;
    if (selection.events) {
      consumer = await this.openConsumer(resumeAfter, selection.eventTypes);
      try {
        messages = await consumer.consume({ max_messages: 256 });
      } catch (cause) {
        await consumer.delete().catch(() => undefined);
        throw new DependencyUnavailableError('the events stream', { cause });
      }
    }

    // From here on the response is ours: headers go out now so the client knows it is connected.
    void reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Stops nginx-style proxies from buffering the stream.
      'x-accel-buffering': 'no',
      [CORRELATION_HEADER]: req.id,
    });
    raw.write(sseComment('connected'));
    const heartbeat = setInterval(() => raw.write(sseComment('heartbeat')), this.config.sseHeartbeatMs);

    let closed = false;
    let ended!: () => void;
    const whenClosed = new Promise<void>((resolve) => (ended = resolve));
    const stopMetrics = selection.metrics
      ? this.liveMetrics.subscribe(
          {
            ...(query.sessionId !== undefined ? { sessionId: query.sessionId } : {}),
            ...(query.metricsWindowMinutes !== undefined
              ? { windowMinutes: query.metricsWindowMinutes }
              : {}),
          },
          (update) => {
            // A client not reading misses a summary rather than making the gateway buffer it.
            if (!closed && !raw.writableNeedDrain) raw.write(metricsFrame(update));
          },
        )
      : undefined;
    const close = (): void => {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      stopMetrics?.();
      if (messages) void messages.close();
      consumer?.delete().catch(() => undefined);
      finishSpan(req, 200);
      if (!raw.writableEnded) raw.end();
      ended();
    };
    req.raw.once('close', close);
    raw.once('close', close);
    this.open.add(close);

    try {
      if (messages) await this.relay(messages, selection, query.sessionId, raw, () => closed);
      else await whenClosed;
    } catch (err) {
      if (!closed) this.logger.warn({ err }, 'event stream ended with an error');
    } finally {
      close();
      this.open.delete(close);
    }
  }

  /** Writes the consumer's events that match the selection until the stream closes. */
  private async relay(
    messages: ConsumerMessages,
    selection: StreamSelection,
    sessionId: string | undefined,
    raw: FastifyReply['raw'],
    isClosed: () => boolean,
  ): Promise<void> {
    const filterTypes = selection.eventTypes.length > 1 ? new Set(selection.eventTypes) : undefined;
    for await (const m of messages) {
      if (isClosed()) break;
      // Headers let most non-matching events be skipped without decoding them; the envelope
      // decides for publishers that did not set them.
      const headerType = m.headers?.get(Headers.eventType) ?? '';
      const headerSession = m.headers?.get(Headers.correlationId) ?? '';
      if (filterTypes && headerType !== '' && !filterTypes.has(headerType)) continue;
      if (sessionId !== undefined && headerSession !== '' && headerSession !== sessionId) continue;
      let event;
      try {
        event = decodeEventMessage(m.data);
      } catch (err) {
        this.logger.warn(
          { err, seq: m.seq, subject: m.subject },
          'skipping an event the stream cannot decode',
        );
        continue;
      }
      if (filterTypes && !filterTypes.has(event.type)) continue;
      if (sessionId !== undefined && event.correlationId !== sessionId) continue;
      // A slow client holds its consumer back instead of buffering without bound here.
      if (!raw.write(sseFrame(m.seq, event.type, eventData(event)))) await once(raw, 'drain');
    }
  }

  beforeApplicationShutdown(): void {
    for (const close of this.open) close();
    this.open.clear();
  }

  /** Last-Event-ID header, else the lastEventId query parameter; undefined means "new events only". */
  private lastEventId(req: FastifyRequest, query: StreamQuery): number | undefined {
    const header = req.headers['last-event-id'];
    const value = (Array.isArray(header) ? header[0] : header) ?? query.lastEventId;
    if (value === undefined) return undefined;
    if (!SEQUENCE.test(value)) {
      throw new ValidationError('Last-Event-ID is invalid', [
        { path: 'Last-Event-ID', message: 'must be an id this stream sent (a sequence number)' },
      ]);
    }
    return Number(value);
  }

  /**
   * An ordered consumer starting right after `resumeAfter`, or after the stream's current last
   * message: computed here rather than with DeliverPolicy.New so an event published between
   * the client's connection and the consumer's creation on the server is not missed.
   */
  private async openConsumer(resumeAfter: number | undefined, types: readonly string[]) {
    const stream = this.naming.eventsStream;
    try {
      let start = resumeAfter !== undefined ? resumeAfter + 1 : undefined;
      if (start === undefined) {
        const jsm = await jetstreamManager(this.nc);
        start = (await jsm.streams.info(stream)).state.last_seq + 1;
      }
      // One type is filtered by the server; several need NATS 2.10 filter_subjects, so they are
      // filtered here from the event-type header, which works on every server version.
      const filter =
        types.length === 1 ? this.naming.eventSubject('*', types[0] ?? '') : this.naming.allEvents;
      return await jetstream(this.nc).consumers.get(stream, {
        filter_subjects: filter,
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: start,
      });
    } catch (cause) {
      throw new DependencyUnavailableError('the events stream', { cause });
    }
  }
}

/** A live-metrics frame: no id, so a reconnecting client still resumes after the last event. */
function metricsFrame(update: MetricsUpdate): string {
  return update.kind === 'summary'
    ? sseEvent(METRICS_TYPE, update.summary)
    : sseEvent('metrics-error', { status: update.status, type: update.type, detail: update.detail });
}
