import type { NatsConnection } from '@nats-io/nats-core';
import { pino, type Logger } from 'pino';
import {
  connectNats,
  EventConsumer,
  Headers,
  naming,
  type DecodedEvent,
  type EventDelivery,
  type StartPosition,
} from '@orch/messaging';

export interface SubscriberOptions {
  readonly natsUrl: string;
  /** Messaging namespace of the installation ('' for none). */
  readonly namespace?: string;
  /** Durable consumer name: runs with the same name share and resume one position. */
  readonly durable: string;
  /** Subjects without the namespace prefix; default `events.coordination.>`. */
  readonly subjects?: readonly string[];
  /** For a new durable: start at this JetStream stream sequence. */
  readonly fromSequence?: number;
  /** For a new durable: start at the first event stored at or after this time (ISO 8601). */
  readonly fromTime?: string;
  /** Skip (acknowledge without printing) events whose global position is below this. */
  readonly fromPosition?: bigint;
  /** Stop after printing this many events. */
  readonly maxEvents?: number;
  /** Stops the subscriber when aborted. */
  readonly signal?: AbortSignal;
  /** Where lines go; default stdout. */
  readonly out?: (line: string) => void;
  readonly logger?: Logger;
}

/** One human-readable line per event. */
export function formatEvent(event: DecodedEvent, delivery: Pick<EventDelivery, 'streamSequence'>): string {
  const data = JSON.stringify(event.data);
  return [
    `#${event.globalPosition}`,
    event.occurredAt.toISOString(),
    `${event.source}.${event.type}`,
    `stream=${event.streamId}@${event.streamVersion}`,
    `seq=${delivery.streamSequence}`,
    event.correlationId ? `correlation=${event.correlationId}` : '',
    data.length > 200 ? `${data.slice(0, 197)}...` : data,
  ]
    .filter(Boolean)
    .join(' ');
}

/** The global position of a delivery: the Orch-Global-Position header, else the envelope's. */
function globalPositionOf(event: DecodedEvent, delivery: EventDelivery): bigint {
  const header = delivery.headers?.get(Headers.globalPosition);
  return header ? BigInt(header) : event.globalPosition;
}

/**
 * Subscribes with a durable consumer and prints events until `maxEvents` were printed or the
 * signal aborts. Resolves with the number printed. Each event is acknowledged after it was
 * printed, so a restart resumes after the last printed one (the durable's ack floor).
 */
export async function run(options: SubscriberOptions): Promise<{ printed: number }> {
  const logger = options.logger ?? pino({ level: 'warn' }, pino.destination(2));
  const out = options.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ns = naming(options.namespace ?? '');
  const startPosition: StartPosition =
    options.fromSequence !== undefined
      ? { streamSequence: options.fromSequence }
      : options.fromTime !== undefined
        ? { time: options.fromTime }
        : 'all';
  const nc: NatsConnection = await connectNats({
    servers: options.natsUrl,
    name: `event-subscriber-${options.durable}`,
    logger,
    signal: options.signal,
  });
  let printed = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const consumer = new EventConsumer(
    nc,
    ns,
    {
      service: 'event-subscriber',
      consumer: options.durable,
      subjects: options.subjects ?? ['events.coordination.>'],
      startPosition,
      // One at a time: the ack floor is exactly "printed so far".
      batchSize: 1,
      maxAckPending: 1,
    },
    async (event, delivery) => {
      if (options.maxEvents !== undefined && printed >= options.maxEvents)
        throw new Error('subscriber is stopping');
      if (options.fromPosition === undefined || globalPositionOf(event, delivery) >= options.fromPosition) {
        out(formatEvent(event, delivery));
        printed++;
      }
      if (options.maxEvents !== undefined && printed >= options.maxEvents) finish();
    },
    logger,
  );
  const onAbort = (): void => finish();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await consumer.start();
    if (options.signal?.aborted || options.maxEvents === 0) finish();
    await finished;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.stop();
    await nc.drain();
  }
  return { printed };
}
