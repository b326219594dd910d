import { headers as natsHeaders } from '@nats-io/nats-core';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import type { EventStore, RecordedEvent } from '@orch/eventstore';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { encodeRecordedEvent } from './codec';
import { Headers } from './headers';
import type { Naming } from './naming';
import { migrateMessagingSchema, quoteSchema, rowsOf } from './schema';
import { contextFromTraceparent, injectTraceContext, SpanKind, withSpan } from './tracing';

const LAG_SAMPLE_LIMIT = 1_000;

export interface OutboxRelayOptions {
  readonly store: EventStore;
  /** For the leadership lock (one dedicated connection) and the checkpoint table. */
  readonly pool: Pool;
  /** Schema of the messaging tables; default `messaging`. */
  readonly schema?: string;
  /** The service whose events this relay publishes (only events it appended). */
  readonly source: string;
  readonly naming: Naming;
  readonly js: JetStreamClient;
  readonly logger: Logger;
  /** Relay id: the leadership lock and checkpoint key. Default `outbox-<source>`. */
  readonly name?: string;
  /** Events read per store query. Default 256. */
  readonly batchSize?: number;
  /** Publishes awaiting their JetStream ack at once. Default 64. */
  readonly maxInFlight?: number;
  /** Write the checkpoint after this many acknowledged events... Default `batchSize`. */
  readonly checkpointEvery?: number;
  /** ...or after this long with acknowledged events not yet recorded. Default 250 ms. */
  readonly checkpointIntervalMs?: number;
  /** Pause between attempts to become leader. Default 3 s. */
  readonly leaderRetryMs?: number;
  /** How often the leader checks its lock connection is alive. Default 2 s. */
  readonly leaderCheckMs?: number;
  /** Per publish. Default 5 s. */
  readonly publishTimeoutMs?: number;
  /** Backoff after a publish failure: first delay, doubled up to the max. Default 250 ms .. 5 s. */
  readonly retryDelayMs?: number;
  readonly maxRetryDelayMs?: number;
}

/** What the relay is doing, for health checks and metrics. */
export interface RelayStatus {
  readonly relay: string;
  readonly running: boolean;
  /** Holds the leadership lock (only the leader publishes). */
  readonly leader: boolean;
  /** Global position of the last event JetStream acknowledged (all before it are acknowledged too). */
  readonly position: bigint;
  /** Position recorded in the checkpoint table. */
  readonly checkpoint: bigint;
  /** Position of the last event of this source in the store, when last sampled. */
  readonly head: bigint;
  /** Events of this source not yet acknowledged, when last sampled (capped at 1000). */
  readonly lag: bigint;
  /** Events published (acknowledged, duplicates included) since start. */
  readonly published: number;
  /** Of those, how many JetStream already had (dropped by Nats-Msg-Id de-duplication). */
  readonly duplicates: number;
  readonly lastError?: string;
}

/**
 * Publishes the events its service appended to the store onto JetStream, in order, with
 * `Nats-Msg-Id = eventId`. See docs/adr/0004-outbox-relay.md for why this is exactly-once in
 * effect: leadership by advisory lock, checkpoint only after acks, JetStream de-duplication.
 */
export class OutboxRelay {
  readonly name: string;
  private readonly schema: string;
  private main: Promise<void> | undefined;
  private stopped = true;
  private wake: (() => void) | undefined;
  private leadership: AbortController | undefined;
  private state = {
    leader: false,
    position: 0n,
    checkpoint: 0n,
    head: 0n,
    lag: 0n,
    published: 0,
    duplicates: 0,
    lastError: undefined as string | undefined,
  };
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly options: OutboxRelayOptions) {
    this.name = options.name ?? `outbox-${options.source}`;
    this.schema = quoteSchema(options.schema ?? 'messaging');
  }

  status(): RelayStatus {
    const s = this.state;
    return {
      relay: this.name,
      running: !this.stopped,
      leader: s.leader,
      position: s.position,
      checkpoint: s.checkpoint,
      head: s.head,
      lag: s.lag,
      published: s.published,
      duplicates: s.duplicates,
      ...(s.lastError ? { lastError: s.lastError } : {}),
    };
  }

  /** Starts competing for leadership and relaying in the background; returns at once. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.main = this.runForever();
  }

  /** Stops publishing, records the checkpoint of what was acknowledged, releases leadership. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.leadership?.abort(new Error('relay stopping'));
    this.wake?.();
    await this.main;
  }

  private async runForever(): Promise<void> {
    const { logger } = this.options;
    while (!this.stopped) {
      try {
        await migrateMessagingSchema(this.options.pool, this.options.schema ?? 'messaging');
        break;
      } catch (err) {
        this.fail(err, 'could not create the messaging tables');
        await this.pause(this.options.leaderRetryMs ?? 3_000);
      }
    }
    while (!this.stopped) {
      const client = await this.acquireLeadership();
      if (!client) break;
      const lost = new AbortController();
      this.leadership = lost;
      let broken: Error | undefined;
      const onError = (err: Error): void => {
        broken = err;
        lost.abort(err);
      };
      client.on('error', onError);
      // A dead session has released the lock server-side: notice it even when idle.
      const check = setInterval(() => {
        client.query('SELECT 1').catch((err: Error) => onError(err));
        void this.sampleLag();
      }, this.options.leaderCheckMs ?? 2_000);
      this.state.leader = true;
      logger.info({ relay: this.name }, 'outbox relay is leader');
      try {
        await this.lead(client, lost.signal);
      } catch (err) {
        this.fail(err, 'outbox relay leadership ended by an error');
      } finally {
        clearInterval(check);
        this.state.leader = false;
        this.leadership = undefined;
        if (broken || (lost.signal.aborted && !this.stopped)) {
          logger.warn(
            { relay: this.name, err: broken?.message },
            'outbox relay lost its leadership connection',
          );
          client.release(broken ?? true);
          // Give a standby the first chance rather than racing it for the lock at once.
          await this.pause(this.options.leaderRetryMs ?? 3_000);
        } else {
          await client
            .query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', [this.schema, this.name])
            .catch(() => undefined);
          client.removeListener('error', onError);
          client.release();
        }
      }
    }
  }

  /** Waits until this replica holds the lock; undefined when stopped first. */
  private async acquireLeadership(): Promise<PoolClient | undefined> {
    let logged = false;
    while (!this.stopped) {
      let client: PoolClient | undefined;
      try {
        client = await this.options.pool.connect();
        const [row] = rowsOf<{ locked: boolean }>(
          await client.query('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked', [
            this.schema,
            this.name,
          ]),
        );
        if (row?.locked) return client;
        client.release();
        if (!logged)
          this.options.logger.info(
            { relay: this.name },
            'another replica leads the outbox relay; standing by',
          );
        logged = true;
      } catch (err) {
        client?.release(true);
        this.fail(err, 'could not try the outbox relay leadership lock');
      }
      await this.pause(this.options.leaderRetryMs ?? 3_000);
    }
    return undefined;
  }

  private async lead(client: PoolClient, lost: AbortSignal): Promise<void> {
    const [row] = rowsOf<{ position: string }>(
      await client.query(`SELECT position FROM ${this.schema}.relay_checkpoints WHERE relay = $1`, [
        this.name,
      ]),
    );
    this.state.checkpoint = row ? BigInt(row.position) : 0n;
    this.state.position = this.state.checkpoint;
    let delay = this.options.retryDelayMs ?? 250;
    while (!this.stopped && !lost.aborted) {
      try {
        await this.pump(client, lost);
        delay = this.options.retryDelayMs ?? 250;
      } catch (err) {
        if (this.stopped || lost.aborted) break;
        this.fail(
          err,
          `outbox relay could not publish, retrying in ${delay} ms from position ${this.state.position}`,
        );
        await this.pause(delay);
        delay = Math.min(delay * 2, this.options.maxRetryDelayMs ?? 5_000);
      }
    }
    if (!lost.aborted || this.stopped)
      await this.flush(client).catch((err) => this.fail(err, 'could not record the relay checkpoint'));
  }

  /**
   * One pass: follows the store from the acknowledged position, publishes with up to maxInFlight
   * acks pending, advances the position strictly in order. On the first failed publish it stops
   * reading, lets the in-flight ones settle and throws; the caller restarts from the position,
   * republishing what followed the failure (JetStream drops the ones it already has).
   */
  private async pump(client: PoolClient, lost: AbortSignal): Promise<void> {
    const { store, source } = this.options;
    const maxInFlight = Math.max(1, this.options.maxInFlight ?? 64);
    const checkpointEvery = BigInt(
      Math.max(1, this.options.checkpointEvery ?? this.options.batchSize ?? 256),
    );
    const sub = store.subscribeAll(this.state.position, {
      sources: [source],
      batchSize: this.options.batchSize ?? 256,
    });
    let failure: unknown;
    let inFlight = 0;
    let slotFreed: (() => void) | undefined;
    let acks: Promise<void> = Promise.resolve();
    const close = (): void => void sub.close().catch(() => undefined);
    const stopSignal = (): void => close();
    lost.addEventListener('abort', stopSignal);
    this.wake = close;
    const timer = setInterval(() => {
      if (this.state.position > this.state.checkpoint)
        void this.flush(client).catch((err) => this.fail(err, 'could not record the relay checkpoint'));
    }, this.options.checkpointIntervalMs ?? 250);
    try {
      for await (const event of sub) {
        if (failure || this.stopped || lost.aborted) break;
        while (inFlight >= maxInFlight) await new Promise<void>((r) => (slotFreed = r));
        if (failure) break;
        inFlight++;
        const published = this.publish(event);
        published.catch(() => undefined);
        acks = acks.then(async () => {
          try {
            const ack = await published;
            if (!failure) {
              this.state.position = event.globalPosition;
              this.state.published++;
              if (ack.duplicate) this.state.duplicates++;
              if (this.state.position - this.state.checkpoint >= checkpointEvery) {
                void this.flush(client).catch((err) =>
                  this.fail(err, 'could not record the relay checkpoint'),
                );
              }
            }
          } catch (err) {
            if (!failure) {
              failure = err;
              close();
            }
          } finally {
            inFlight--;
            slotFreed?.();
            slotFreed = undefined;
          }
        });
      }
    } finally {
      clearInterval(timer);
      lost.removeEventListener('abort', stopSignal);
      this.wake = undefined;
      close();
      await acks;
    }
    if (failure) throw failure;
  }

  private async publish(event: RecordedEvent): Promise<PubAck> {
    const { naming } = this.options;
    let encoded: ReturnType<typeof encodeRecordedEvent>;
    try {
      encoded = encodeRecordedEvent(event);
    } catch (err) {
      // Data its proto message rejects must not block the log forever: it travels as JSON.
      this.options.logger.error(
        { err, eventId: event.eventId, type: event.type },
        'event does not match its proto message, publishing it as JSON',
      );
      encoded = encodeRecordedEvent(event, { json: true });
    }
    const h = natsHeaders();
    h.set(Headers.eventType, event.type);
    h.set(Headers.globalPosition, event.globalPosition.toString());
    h.set(Headers.streamId, event.streamId);
    h.set(Headers.streamVersion, event.streamVersion.toString());
    if (event.metadata.correlationId) h.set(Headers.correlationId, event.metadata.correlationId);
    if (event.metadata.causationId) h.set(Headers.causationId, event.metadata.causationId);
    if (encoded.encoding === 'json') h.set(Headers.payloadEncoding, 'json');
    const subject = naming.eventSubject(event.source, event.type);
    const parent = contextFromTraceparent(event.metadata.traceparent, event.metadata.tracestate);
    return withSpan(
      `publish ${event.type}`,
      SpanKind.PRODUCER,
      parent,
      {
        'messaging.system': 'nats',
        'messaging.destination.name': subject,
        'messaging.message.id': event.eventId,
        'orch.global_position': event.globalPosition.toString(),
      },
      async (_span, ctx) => {
        injectTraceContext(ctx, h);
        return this.options.js.publish(subject, encoded.bytes, {
          msgID: event.eventId,
          headers: h,
          timeout: this.options.publishTimeoutMs ?? 5_000,
          expect: { streamName: naming.eventsStream },
        });
      },
    );
  }

  /** Records the acknowledged position; never moves the checkpoint backwards. Serialised. */
  private flush(client: PoolClient): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const position = this.state.position;
      if (position <= this.state.checkpoint) return;
      await client.query(
        `INSERT INTO ${this.schema}.relay_checkpoints AS c (relay, position, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (relay) DO UPDATE SET position = GREATEST(c.position, EXCLUDED.position), updated_at = now()`,
        [this.name, position.toString()],
      );
      this.state.checkpoint = position;
    });
    const p = this.flushing;
    this.flushing = p.catch(() => undefined);
    return p;
  }

  /** Counts this source's events after the acknowledged position, up to LAG_SAMPLE_LIMIT. */
  private async sampleLag(): Promise<void> {
    try {
      const position = this.state.position;
      const ahead = await this.options.store.readAll(position, LAG_SAMPLE_LIMIT, {
        sources: [this.options.source],
      });
      this.state.lag = BigInt(ahead.length);
      this.state.head = ahead.at(-1)?.globalPosition ?? position;
    } catch {
      // Keep the last sample; the relay loop reports store failures itself.
    }
  }

  private fail(err: unknown, message: string): void {
    this.state.lastError = err instanceof Error ? err.message : String(err);
    this.options.logger.warn({ relay: this.name, err: this.state.lastError }, message);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
