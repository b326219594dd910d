import { headers as natsHeaders, nanos, type MsgHdrs, type NatsConnection } from '@nats-io/nats-core';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type ConsumerMessages,
  type JetStreamClient,
  type JsMsg,
} from '@nats-io/jetstream';
import { isDomainError } from '@orch/domain-kit';
import type { Logger } from 'pino';
import { decodeEventMessage, type DecodedEvent } from './codec';
import { Headers } from './headers';
import type { Naming } from './naming';
import { notify, type MessagingObserver } from './observer';
import { isConsumerNotFound } from './streams';
import { contextFromTraceparent, extractTraceContext, SpanKind, withSpan } from './tracing';

/**
 * Where a new durable consumer starts. Ignored when the durable exists: it resumes from its ack
 * floor.
 */
export type StartPosition =
  'all' | 'new' | { readonly streamSequence: number } | { readonly time: Date | string };

export interface EventConsumerOptions {
  /** The consuming service; replicas of a service share its durables. */
  readonly service: string;
  /** Consumer name, unique within the service; the durable is `<service>-<consumer>`. */
  readonly consumer: string;
  /** Event types to receive (subjects `events.*.<type>`). */
  readonly types?: readonly string[];
  /** Explicit subjects, without the namespace prefix (e.g. `events.coordination.>`). */
  readonly subjects?: readonly string[];
  /** How long the server waits for an ack before redelivering. Default 30 s; long handlers are kept alive. */
  readonly ackWaitMs?: number;
  /** Deliveries before a failing message is dead-lettered. Default 5. */
  readonly maxDeliver?: number;
  /** Delay before redelivery after the n-th failure (the last entry repeats). Default 1 s, 5 s, 15 s, 30 s, 60 s. */
  readonly backoffMs?: readonly number[];
  /** Unacknowledged messages the server lets this durable have out. Default 256. */
  readonly maxAckPending?: number;
  /** Messages buffered per pull. Default 32. */
  readonly batchSize?: number;
  readonly startPosition?: StartPosition;
}

/** How the message reached the handler. */
export interface EventDelivery {
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  readonly streamSequence: number;
  readonly subject: string;
  readonly redelivered: boolean;
  /** The message headers (Orch-*, traceparent...). */
  readonly headers: MsgHdrs | undefined;
}

export type EventHandlerFn = (event: DecodedEvent, delivery: EventDelivery) => Promise<void>;

export type ConsumerState = 'running' | 'stopped';

export const DEFAULT_BACKOFF_MS: readonly number[] = [1_000, 5_000, 15_000, 30_000, 60_000];

/** Delay before the next delivery after the `deliveryCount`-th failed one (1-based). */
export function backoffDelay(schedule: readonly number[], deliveryCount: number): number {
  if (schedule.length === 0) return 0;
  const i = Math.min(Math.max(deliveryCount, 1), schedule.length) - 1;
  return schedule[i] ?? 0;
}

/** True when `subject` matches the NATS subject `pattern` (`*` one token, `>` the rest). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** The server-side filter of a durable, and the client-side one when the server cannot filter on several subjects. */
export interface FilterPlan {
  readonly filter_subject?: string;
  readonly filter_subjects?: string[];
  /** Subjects the client must check itself (messages outside them are acked and skipped). */
  readonly clientFilter?: string[];
}

/**
 * Plans the filter. Several filter subjects need nats-server 2.10; on older servers the durable
 * filters on every event and the client skips the rest, which costs bandwidth but keeps one
 * durable (and one ack floor) per consumer.
 */
export function planFilter(
  subjects: readonly string[],
  allEvents: string,
  multiFilterSupported: boolean,
): FilterPlan {
  const unique = [...new Set(subjects)];
  if (unique.length === 0) return { filter_subject: allEvents };
  if (unique.length === 1) return { filter_subject: unique[0] as string };
  if (multiFilterSupported) return { filter_subjects: unique };
  return { filter_subject: allEvents, clientFilter: unique };
}

/** True when the server version is at least `major.minor`. */
export function serverAtLeast(version: string | undefined, major: number, minor: number): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '');
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj > major || (maj === major && min >= minor);
}

export function deliverPolicyOf(
  start: StartPosition,
): Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_seq' | 'opt_start_time'> {
  if (start === 'all') return { deliver_policy: DeliverPolicy.All };
  if (start === 'new') return { deliver_policy: DeliverPolicy.New };
  if ('streamSequence' in start)
    return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.streamSequence };
  const time = start.time instanceof Date ? start.time : new Date(start.time);
  if (Number.isNaN(time.getTime())) throw new RangeError(`invalid start time ${String(start.time)}`);
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: time.toISOString() };
}

/**
 * A durable pull consumer on the events stream with explicit acks.
 *
 * Outcome of a handler: success -> ack; DomainError (a business rejection, retrying cannot help)
 * -> dead letter + term; any other error -> nak with a backoff delay, and dead letter + term
 * once `maxDeliver` deliveries failed. Undecodable messages are dead-lettered. A message is
 * only terminated after its dead letter was stored; if that fails it is nak'd and comes back.
 */
export class EventConsumer {
  private readonly js: JetStreamClient;
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  private stopping = false;
  private clientFilter: string[] | undefined;
  private termWithReason = false;
  private _state: ConsumerState = 'stopped';
  readonly durable: string;
  private readonly ackWaitMs: number;
  private readonly maxDeliver: number;
  private readonly backoffMs: readonly number[];

  constructor(
    private readonly nc: NatsConnection,
    private readonly naming: Naming,
    readonly options: EventConsumerOptions,
    private readonly handler: EventHandlerFn,
    private readonly logger: Logger,
    private readonly observer: MessagingObserver = {},
  ) {
    this.js = jetstream(nc);
    this.durable = naming.durableName(options.service, options.consumer);
    this.ackWaitMs = options.ackWaitMs ?? 30_000;
    this.maxDeliver = Math.max(1, options.maxDeliver ?? 5);
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
  }

  get state(): ConsumerState {
    return this._state;
  }

  /** Subjects this consumer receives, with the namespace prefix. */
  get subjects(): string[] {
    const prefix = this.naming.namespace === '' ? '' : `${this.naming.namespace}.`;
    return [
      ...(this.options.types ?? []).map((t) => this.naming.eventSubject('*', t)),
      ...(this.options.subjects ?? []).map((s) => `${prefix}${s}`),
    ];
  }

  /** Creates or updates the durable, then starts pulling. */
  async start(): Promise<void> {
    if (this._state === 'running') return;
    await this.ensureDurable();
    const consumer = await this.js.consumers.get(this.naming.eventsStream, this.durable);
    this.messages = await consumer.consume({ max_messages: this.options.batchSize ?? 32 });
    this.stopping = false;
    this._state = 'running';
    this.loop = this.run(this.messages);
    this.logger.info({ durable: this.durable, subjects: this.subjects }, 'event consumer started');
  }

  /** Finishes the message being handled, then stops pulling; unprocessed buffered messages are redelivered. */
  async stop(): Promise<void> {
    const messages = this.messages;
    if (!messages) return;
    this.stopping = true;
    await this.current;
    await messages.close().catch(() => undefined);
    await this.loop;
    // Acks are fire-and-forget: a round trip to the server makes sure the last ones arrived
    // before the caller (a shutting-down service) closes the connection.
    if (!this.nc.isClosed()) await this.nc.flush().catch(() => undefined);
    this.messages = undefined;
    this._state = 'stopped';
    this.logger.info({ durable: this.durable }, 'event consumer stopped');
  }

  private async ensureDurable(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const stream = this.naming.eventsStream;
    const modern = serverAtLeast(this.nc.info?.version, 2, 10);
    this.termWithReason = modern;
    const plan = planFilter(this.subjects, this.naming.allEvents, modern);
    this.clientFilter = plan.clientFilter;
    const filter = {
      ...(plan.filter_subject ? { filter_subject: plan.filter_subject } : {}),
      ...(plan.filter_subjects ? { filter_subjects: plan.filter_subjects } : {}),
    };
    const settings = {
      description: `${this.options.service} ${this.options.consumer}`,
      ack_wait: nanos(this.ackWaitMs),
      // Unlimited on the server: the client dead-letters after maxDeliver, so a message is never
      // silently dropped by the server (e.g. when the last delivery timed out).
      max_deliver: -1,
      max_ack_pending: this.options.maxAckPending ?? 256,
    };
    const existing = await jsm.consumers.info(stream, this.durable).catch((err: unknown) => {
      if (isConsumerNotFound(err)) return undefined;
      throw err;
    });
    if (existing) {
      const c = existing.config;
      const sameFilter =
        (c.filter_subject ?? '') === (filter.filter_subject ?? '') &&
        JSON.stringify(c.filter_subjects ?? []) === JSON.stringify(filter.filter_subjects ?? []);
      const sameSettings =
        c.ack_wait === settings.ack_wait &&
        c.max_ack_pending === settings.max_ack_pending &&
        c.description === settings.description &&
        c.max_deliver === settings.max_deliver;
      if (!sameFilter || !sameSettings) {
        await jsm.consumers.update(stream, this.durable, { ...settings, ...(sameFilter ? {} : filter) });
      }
      return;
    }
    try {
      await jsm.consumers.add(stream, {
        durable_name: this.durable,
        ack_policy: AckPolicy.Explicit,
        ...deliverPolicyOf(this.options.startPosition ?? 'all'),
        ...settings,
        ...filter,
      });
    } catch (err) {
      // A replica created it concurrently: fine when it now exists.
      await jsm.consumers.info(stream, this.durable).catch(() => {
        throw err;
      });
    }
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        if (this.stopping) {
          // Hand it back so another replica gets it now rather than after ack_wait.
          safely(() => m.nak());
          continue;
        }
        this.current = this.process(m).catch((err: unknown) => {
          // process() settles handler errors itself; reaching here means a bug or a broken connection.
          this.logger.error(
            { err, durable: this.durable, seq: m.seq },
            'event consumer failed to settle a message',
          );
          safely(() => m.nak(backoffDelay(this.backoffMs, m.info.deliveryCount)));
        });
        await this.current;
        this.current = undefined;
      }
    } catch (err) {
      this.logger.error({ err, durable: this.durable }, 'event consumer stopped unexpectedly');
    } finally {
      this._state = 'stopped';
    }
  }

  private async process(m: JsMsg): Promise<void> {
    const delivery: EventDelivery = {
      deliveryCount: m.info.deliveryCount,
      streamSequence: m.info.streamSequence,
      subject: m.subject,
      redelivered: m.redelivered,
      headers: m.headers,
    };
    if (this.clientFilter && !this.clientFilter.some((p) => subjectMatches(p, m.subject))) {
      m.ack();
      return;
    }
    let event: DecodedEvent;
    try {
      event = decodeEventMessage(m.data);
    } catch (err) {
      await this.deadLetter(m, `undecodable: ${(err as Error).message}`);
      return;
    }
    if (delivery.deliveryCount > this.maxDeliver) {
      // Earlier deliveries timed out (handler hung or the process died): give up on it.
      await this.deadLetter(m, `not acknowledged after ${this.maxDeliver} deliveries`);
      return;
    }
    const parent = m.headers?.has(Headers.traceparent)
      ? extractTraceContext(m.headers)
      : contextFromTraceparent(event.traceparent);
    const keepAlive = setInterval(() => safely(() => m.working()), Math.max(this.ackWaitMs / 2, 500));
    const started = performance.now();
    const report = (outcome: 'ok' | 'retry' | 'dead_letter'): void =>
      notify(
        this.observer.eventHandled,
        this.options.consumer,
        event.type,
        outcome,
        (performance.now() - started) / 1000,
      );
    try {
      await withSpan(
        `process ${event.type}`,
        SpanKind.CONSUMER,
        parent,
        {
          'messaging.system': 'nats',
          'messaging.destination.name': m.subject,
          'messaging.consumer.group.name': this.durable,
          'messaging.message.id': event.eventId,
          'orch.correlation_id': event.correlationId,
          'orch.delivery_count': delivery.deliveryCount,
        },
        () => this.handler(event, delivery),
      );
      clearInterval(keepAlive);
      m.ack();
      report('ok');
    } catch (err) {
      clearInterval(keepAlive);
      if (isDomainError(err)) {
        report('dead_letter');
        this.logger.warn(
          { durable: this.durable, eventId: event.eventId, code: err.code, err: err.message },
          'event rejected by handler, dead-lettering',
        );
        await this.deadLetter(m, `rejected (${err.code}): ${err.message}`);
      } else if (delivery.deliveryCount >= this.maxDeliver) {
        report('dead_letter');
        this.logger.error(
          { durable: this.durable, eventId: event.eventId, err, deliveries: delivery.deliveryCount },
          'event handler failed on every delivery, dead-lettering',
        );
        await this.deadLetter(
          m,
          `failed ${delivery.deliveryCount} times: ${(err as Error)?.message ?? String(err)}`,
        );
      } else {
        const delay = backoffDelay(this.backoffMs, delivery.deliveryCount);
        report('retry');
        this.logger.warn(
          {
            durable: this.durable,
            eventId: event.eventId,
            err: (err as Error)?.message,
            delay,
            delivery: delivery.deliveryCount,
          },
          'event handler failed, will retry',
        );
        m.nak(delay);
      }
    }
  }

  /** Stores the message in the dead-letter stream, then terminates it; on failure it is nak'd instead. */
  private async deadLetter(m: JsMsg, reason: string): Promise<void> {
    const h = natsHeaders();
    if (m.headers) {
      for (const [key, values] of m.headers) {
        // Nats-* headers steer JetStream (de-duplication, expectations); they must not act on the DLQ publish.
        if (/^nats-/i.test(key)) continue;
        for (const v of values) h.append(key, v);
      }
    }
    const originalMsgId = m.headers?.get(Headers.msgId) ?? '';
    h.set(Headers.deadLetterReason, reason.slice(0, 1_024));
    h.set(Headers.originalSubject, m.subject);
    h.set(Headers.originalStreamSequence, String(m.info.streamSequence));
    h.set(Headers.deliveryCount, String(m.info.deliveryCount));
    h.set(Headers.consumer, this.durable);
    if (originalMsgId) h.set(Headers.originalMsgId, originalMsgId);
    try {
      await this.js.publish(
        this.naming.deadLetterSubject(this.options.service, this.options.consumer),
        m.data,
        {
          headers: h,
          // Per consumer and message: a crash between this publish and term() cannot duplicate it.
          msgID: `${this.durable}:${m.info.stream}:${m.info.streamSequence}`,
        },
      );
    } catch (err) {
      this.logger.error(
        { err, durable: this.durable, seq: m.info.streamSequence },
        'could not dead-letter, will retry',
      );
      safely(() => m.nak(backoffDelay(this.backoffMs, m.info.deliveryCount)));
      return;
    }
    // nats-server < 2.10 ignores `+TERM <reason>` entirely (the message would stay pending).
    if (this.termWithReason) m.term(reason.slice(0, 256));
    else m.term();
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // The connection is gone; the server redelivers after ack_wait.
  }
}
