import { nanos } from '@nats-io/nats-core';
import {
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { Naming } from './naming';

export interface ProvisionStreamsOptions {
  /** How long events stay in JetStream. Default 7 days; the event store keeps them forever. */
  eventsMaxAgeMs?: number;
  /** How long dead letters stay. Default 30 days. */
  deadLetterMaxAgeMs?: number;
  /**
   * Window in which a repeated `Nats-Msg-Id` is dropped. At least 2 minutes (a relay fail-over
   * must fit in it); default 10 minutes.
   */
  duplicateWindowMs?: number;
  /** Replicas per stream (a JetStream cluster); default 1. */
  replicas?: number;
}

export const MIN_DUPLICATE_WINDOW_MS = 2 * 60_000;
const DAY_MS = 24 * 3_600_000;

/**
 * Creates or updates the events and dead-letter streams. Idempotent and safe to run from every
 * replica at start-up: a concurrent creation by another replica is treated as success.
 */
export async function provisionStreams(
  jsm: JetStreamManager,
  naming: Naming,
  options: ProvisionStreamsOptions = {},
): Promise<{ events: StreamInfo; deadLetters: StreamInfo }> {
  const duplicateWindowMs = Math.max(options.duplicateWindowMs ?? 10 * 60_000, MIN_DUPLICATE_WINDOW_MS);
  const eventsMaxAgeMs = options.eventsMaxAgeMs ?? 7 * DAY_MS;
  const common: Partial<StreamConfig> = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: options.replicas ?? 1,
  };
  const events = await ensureStream(jsm, {
    ...common,
    name: naming.eventsStream,
    description: 'Domain events published by the outbox relays',
    subjects: [naming.allEvents],
    max_age: nanos(eventsMaxAgeMs),
    // A window longer than max_age is refused by the server.
    duplicate_window: nanos(Math.min(duplicateWindowMs, eventsMaxAgeMs)),
  });
  const deadLetters = await ensureStream(jsm, {
    ...common,
    name: naming.deadLetterStream,
    description: 'Messages consumers gave up on, with the reason',
    subjects: [naming.allDeadLetters],
    max_age: nanos(options.deadLetterMaxAgeMs ?? 30 * DAY_MS),
    duplicate_window: nanos(MIN_DUPLICATE_WINDOW_MS),
  });
  return { events, deadLetters };
}

async function ensureStream(
  jsm: JetStreamManager,
  config: Partial<StreamConfig> & { name: string },
): Promise<StreamInfo> {
  for (let attempt = 0; ; attempt++) {
    const existing = await jsm.streams.info(config.name).catch((err: unknown) => {
      if (isStreamNotFound(err)) return undefined;
      throw err;
    });
    try {
      if (!existing) return await jsm.streams.add(config);
      if (!differs(existing.config, config)) return existing;
      const { name, storage: _s, retention: _r, ...update } = config;
      return await jsm.streams.update(name, update);
    } catch (err) {
      // Another replica created it between our info and add: read it again once.
      if (attempt === 0 && /already in use|already exists/i.test((err as Error).message)) continue;
      throw err;
    }
  }
}

function differs(current: StreamConfig, wanted: Partial<StreamConfig>): boolean {
  return (Object.keys(wanted) as (keyof StreamConfig)[]).some(
    (k) => JSON.stringify(current[k]) !== JSON.stringify(wanted[k]),
  );
}

/** True for the JetStream "stream not found" API error. */
export function isStreamNotFound(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'StreamNotFoundError' || /stream not found/i.test(err.message))
  );
}

/** True for the JetStream "consumer not found" API error. */
export function isConsumerNotFound(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === 'ConsumerNotFoundError' || /consumer not found/i.test(err.message))
  );
}
