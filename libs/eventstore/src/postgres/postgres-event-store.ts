import { createHash } from 'node:crypto';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Pool, type PoolClient, type QueryResult } from 'pg';
import pino, { type Logger } from 'pino';
import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  Snapshot,
  SubscribeOptions,
  Subscription,
  Upcaster,
} from '../contract';
import {
  EventStoreUnavailableError,
  IdempotencyConflictError,
  InvalidSnapshotError,
  WrongExpectedVersionError,
} from '../errors';
import { upcasterChain, type Upcast } from '../upcasting';
import { prepareAppend, validateStreamId, type PreparedEvent } from '../validation';
import {
  assumeSnapshot,
  planBatch,
  resolvePlan,
  writesOnly,
  type AppendRequest,
  type BatchPlan,
  type BatchSnapshot,
  type StoredEvent,
} from './batch-planner';
import { GroupCommitQueue, type Queued } from './group-commit';
import { LogNotifier } from './log-notifier';
import { migrate } from './migrations';
import { isConnectionError, isEventIdConflict } from './pg-errors';
import {
  EVENT_COLUMNS,
  toBigint,
  toRecordedEvent,
  toSnapshot,
  type EventRow,
  type SnapshotRow,
} from './row-mapping';
import { notifyChannel, quoteLiteral, quoteSchema } from './sql';
import { StreamVersions } from './stream-versions';
import { LogSubscription } from './subscription';

const tracer = trace.getTracer('@orch/eventstore');

export interface PostgresEventStoreOptions {
  /** Used to create (and, on close, end) a pool when `pool` is not given. */
  readonly connectionString?: string;
  /** A pool owned by the caller; the store never ends it. */
  readonly pool?: Pool;
  /**
   * Size of the pool the store creates from `connectionString`; defaults to 10. Its connections
   * are named `orch-eventstore/<source>` (application_name, visible in pg_stat_activity).
   */
  readonly poolSize?: number;
  /** Schema holding the store's tables; defaults to 'eventstore'. */
  readonly schema?: string;
  /** The appending service's name, stamped on every event this store appends. */
  readonly source: string;
  readonly upcasters?: readonly Upcaster[];
  readonly groupCommit?: {
    /** Most events per transaction; defaults to 2000. */
    readonly maxBatchEvents?: number;
    /** Most appends per transaction; defaults to 500. */
    readonly maxBatchAppends?: number;
  };
  /** Subscriptions re-read at least this often when no NOTIFY arrives; defaults to 500 ms. */
  readonly pollIntervalMs?: number;
  /** Events per subscription read; defaults to 500. */
  readonly subscriptionBatchSize?: number;
  readonly logger?: Logger;
  /** Run the schema migrations on create; defaults to true. */
  readonly migrate?: boolean;
}

interface PendingAppend extends Queued, AppendRequest {
  readonly events: readonly PreparedEvent[];
  resolve(result: AppendResult): void;
}

/** A failed flush is split into single appends; a single one is retried this often after an id race. */
const EVENT_ID_RACE_RETRIES = 2;

/**
 * The event store on PostgreSQL (docs/adr/0002-event-store.md, 0003-gap-free-global-log.md).
 *
 * - One `events` table; the global position comes from a one-row head counter moved inside the
 *   appending transaction, so the log is gap-free and never reordered under any number of
 *   concurrent writers and processes.
 * - Appends are group-committed: concurrent appends share one transaction, each keeping its own
 *   outcome (a version conflict fails only its own append).
 * - Subscriptions read pages after their cursor and wake on LISTEN/NOTIFY, polling as fallback.
 */
export class PostgresEventStore implements EventStore {
  private readonly s: string;
  private readonly queue: GroupCommitQueue<PendingAppend>;
  private readonly notifier: LogNotifier;
  private readonly subscriptions = new Set<LogSubscription>();
  private readonly upcast: Upcast;
  private readonly sourceJson: string;
  /** Last version seen per stream, to plan appends without reading first (see flush). */
  private readonly lastSeen = new StreamVersions();
  private readonly statementNames = new Map<string, string>();
  private readonly tryAppendStatement: string;
  private readonly pollIntervalMs: number;
  private readonly subscriptionBatchSize: number;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: Pool,
    private readonly ownsPool: boolean,
    readonly schema: string,
    readonly source: string,
    private readonly logger: Logger,
    options: PostgresEventStoreOptions,
  ) {
    this.s = quoteSchema(schema);
    this.upcast = upcasterChain(options.upcasters);
    this.sourceJson = JSON.stringify(source);
    // Prepared statement names are per connection and limited to 63 bytes; the schema's hash keeps
    // stores of different schemas sharing a pool apart.
    this.tryAppendStatement = `orch_es_try_${createHash('sha1').update(schema).digest('hex').slice(0, 24)}`;
    this.pollIntervalMs = options.pollIntervalMs ?? 500;
    this.subscriptionBatchSize = options.subscriptionBatchSize ?? 500;
    this.queue = new GroupCommitQueue<PendingAppend>(
      {
        maxBatchEvents: options.groupCommit?.maxBatchEvents ?? 2000,
        maxBatchAppends: options.groupCommit?.maxBatchAppends ?? 500,
      },
      (batch) => this.flush(batch),
    );
    this.notifier = new LogNotifier(pool, notifyChannel(schema), logger, this.pollIntervalMs);
  }

  /**
   * Creates a store; runs the schema migrations first unless `migrate: false`.
   *
   * @throws TypeError for invalid options (no connection, bad schema name, duplicate upcasters)
   * @throws EventStoreUnavailableError when migrating and the database cannot be reached
   */
  static async create(options: PostgresEventStoreOptions): Promise<PostgresEventStore> {
    const schema = options.schema ?? 'eventstore';
    quoteSchema(schema);
    if (typeof options.source !== 'string' || options.source.length === 0) {
      throw new TypeError('PostgresEventStore needs a non-empty source (the appending service name)');
    }
    if (!options.pool && !options.connectionString) {
      throw new TypeError('PostgresEventStore needs a pool or a connectionString');
    }
    const logger = (options.logger ?? pino({ enabled: false })).child({ component: 'eventstore', schema });
    const ownsPool = !options.pool;
    const pool =
      options.pool ??
      new Pool({
        connectionString: options.connectionString,
        max: options.poolSize ?? 10,
        connectionTimeoutMillis: 10_000,
        application_name: `orch-eventstore/${options.source}`.slice(0, 63),
      });
    // An idle client losing its connection is reported on the pool; unheard, it would crash the process.
    if (ownsPool) pool.on('error', (err) => logger.warn({ err }, 'idle event store connection lost'));
    try {
      const store = new PostgresEventStore(pool, ownsPool, schema, options.source, logger, options);
      if (options.migrate ?? true) await migrate(pool, schema, logger);
      return store;
    } catch (error) {
      if (ownsPool) await pool.end().catch(() => undefined);
      throw error;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Appending

  append(
    streamId: string,
    expectedVersion: ExpectedVersion,
    events: readonly NewEvent[],
  ): Promise<AppendResult> {
    let prepared: PreparedEvent[];
    try {
      this.ensureOpen();
      prepared = prepareAppend(streamId, expectedVersion, events);
    } catch (error) {
      return Promise.reject(error);
    }
    // A span per append (it covers the wait for the group commit too), so a trace shows where
    // a command spent its time; a version conflict is an expected outcome, not a span error.
    const span = tracer.startSpan('eventstore append', {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system': 'postgresql', 'orch.stream_id': streamId, 'orch.events': prepared.length },
    });
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.enqueue({
        streamId,
        expectedVersion,
        eventIds: prepared.map((e) => e.eventId),
        events: prepared,
        size: prepared.length,
        resolve,
        reject,
      });
    }).then(
      (result) => {
        span.setAttribute('orch.last_global_position', result.lastGlobalPosition.toString());
        span.end();
        return result;
      },
      (error: unknown) => {
        span.setAttribute('orch.outcome', (error as { code?: string }).code ?? 'error');
        if (!(error instanceof WrongExpectedVersionError || error instanceof IdempotencyConflictError)) {
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        }
        span.end();
        throw error;
      },
    );
  }

  /**
   * Writes one batch in one transaction, each append keeping its own outcome.
   *
   * Fast path, one round trip: when every stream's version can be guessed (the expected version,
   * or the last version this process saw), the batch is planned on the guess and sent as a single
   * statement (try_append) that takes the stream locks, verifies the guess and writes.
   * Locked read path, two round trips (a wrong guess, a conflict, a retry, an unknown stream):
   *   1. BEGIN; lock the streams, read their versions and the stored events with the batch's ids;
   *   2. plan on what was read, then write the passing appends (write_append); COMMIT.
   * The locked path uses the simple protocol with the batch inlined as one escaped JSON literal, so
   * several statements share a round trip and the head lock is never held across one.
   */
  private async flush(batch: PendingAppend[], attempt = 0): Promise<void> {
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      return this.failAll(batch, error);
    }
    let outcome: { plan: BatchPlan; base: bigint };
    try {
      outcome =
        (attempt === 0 ? await this.tryAppend(client, batch) : undefined) ??
        (await this.lockedAppend(client, batch));
      client.release();
    } catch (error) {
      if (isConnectionError(error)) {
        client.release(error as Error);
        return this.failAll(batch, error);
      }
      await client.query('ROLLBACK').then(
        () => client.release(),
        (rollbackError: Error) => client.release(rollbackError),
      );
      return this.retryApart(batch, error, attempt);
    }
    const { plan, base } = outcome;
    plan.plans.forEach((p, i) => {
      const append = batch[i]!;
      if (p.kind === 'write') this.lastSeen.set(append.streamId, p.firstVersion + BigInt(p.count - 1));
      const result = resolvePlan(p, base);
      if (result instanceof Error) append.reject(result);
      else append.resolve(result);
    });
  }

  /** The one-round-trip path; undefined when it does not apply or its guess was wrong. */
  private async tryAppend(
    client: PoolClient,
    batch: readonly PendingAppend[],
  ): Promise<{ plan: BatchPlan; base: bigint } | undefined> {
    const assumed = assumeSnapshot(batch, (streamId) => this.lastSeen.get(streamId));
    if (!assumed) return undefined;
    const plan = planBatch(batch, assumed);
    if (!writesOnly(plan)) return undefined;
    const guess = Object.fromEntries([...assumed.streamVersions].map(([k, v]) => [k, v.toString()]));
    // A single statement: sent as a named prepared statement with the batch as a parameter, so
    // neither the SQL nor an escaped literal has to be parsed again for every batch.
    const { rows } = await client.query<{ base: string | null }>({
      name: this.tryAppendStatement,
      text: `SELECT ${this.s}.try_append($1::jsonb)::text AS base`,
      values: [this.writePayload(batch, plan, guess)],
    });
    const base = rows[0]?.base;
    return base === null || base === undefined ? undefined : { plan, base: toBigint(base) };
  }

  /** The locked read path: read under the stream locks, plan on what was read, write. */
  private async lockedAppend(
    client: PoolClient,
    batch: readonly PendingAppend[],
  ): Promise<{ plan: BatchPlan; base: bigint }> {
    const probe = JSON.stringify({
      streams: [...new Set(batch.map((a) => a.streamId))],
      eventIds: batch.flatMap((a) => a.eventIds),
    });
    const read = (await client.query(
      `BEGIN; SELECT * FROM ${this.s}.begin_append(${quoteLiteral(probe)}::jsonb)`,
    )) as unknown as QueryResult[];
    const snapshot = readSnapshot(read[1]!.rows);
    for (const [streamId, version] of snapshot.streamVersions) this.lastSeen.set(streamId, version);
    const plan = planBatch(batch, snapshot);
    if (plan.writeCount === 0) {
      await client.query('COMMIT');
      return { plan, base: 0n };
    }
    const written = (await client.query(
      `SELECT ${this.s}.write_append(${quoteLiteral(this.writePayload(batch, plan))}::jsonb)::text AS base; COMMIT`,
    )) as unknown as QueryResult[];
    return { plan, base: toBigint(written[0]!.rows[0].base) };
  }

  /**
   * A batch the database refused for a reason other than connectivity. The events were validated,
   * so the likely cause is a race on an event id with another process (both checked, both
   * inserted, one lost on the unique index). Each append is retried in its own transaction, where
   * the fresh read classifies it properly; anything else fails only the append that causes it.
   */
  private async retryApart(batch: PendingAppend[], error: unknown, attempt: number): Promise<void> {
    if (batch.length > 1) {
      this.logger.debug(
        { err: error, appends: batch.length },
        'batch refused; retrying its appends one by one',
      );
      for (const append of batch) await this.flush([append], 1);
      return;
    }
    if (isEventIdConflict(error) && attempt <= EVENT_ID_RACE_RETRIES) return this.flush(batch, attempt + 1);
    batch[0]!.reject(error);
  }

  private failAll(batch: readonly PendingAppend[], cause: unknown): void {
    const error = isConnectionError(cause)
      ? new EventStoreUnavailableError(
          `append failed: the database is unreachable (${(cause as Error).message})`,
          {
            cause,
          },
        )
      : cause;
    for (const append of batch) append.reject(error);
  }

  /**
   * The JSON document write_append/try_append take: the written events with their offsets in the
   * batch (positions are base + offset), built by concatenation so each payload is serialised once.
   */
  private writePayload(
    batch: readonly PendingAppend[],
    plan: BatchPlan,
    assumed?: Record<string, string>,
  ): string {
    const rows: string[] = [];
    plan.plans.forEach((p, i) => {
      if (p.kind !== 'write') return;
      const append = batch[i]!;
      const stream = JSON.stringify(append.streamId);
      append.events.forEach((e, j) => {
        rows.push(
          `{"o":${p.offset + j + 1},"e":"${e.eventId}","s":${stream},"v":"${p.firstVersion + BigInt(j)}",` +
            `"t":${JSON.stringify(e.type)},"sv":${e.schemaVersion},"d":${e.dataJson},"m":${e.metadataJson},` +
            `"c":${JSON.stringify(e.correlationId)},"ca":${JSON.stringify(e.causationId)},` +
            `"at":${e.occurredAt ? `"${e.occurredAt.toISOString()}"` : 'null'}}`,
        );
      });
    });
    const head = `{"source":${this.sourceJson},"count":${plan.writeCount}${assumed ? `,"assumed":${JSON.stringify(assumed)}` : ''}`;
    return `${head},"rows":[${rows.join(',')}]}`;
  }

  // ---------------------------------------------------------------------------------------------
  // Reading

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    validateStreamId(streamId);
    const from = options.fromVersion ?? 1n;
    const limit = options.limit;
    const rows = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events
       WHERE stream_id = $1 AND stream_version >= $2 ORDER BY stream_version${limit !== undefined ? ' LIMIT $3' : ''}`,
      limit !== undefined ? [streamId, from.toString(), checkLimit(limit)] : [streamId, from.toString()],
    );
    return rows.map((r) => this.upcast(toRecordedEvent(r)));
  }

  async streamVersion(streamId: string): Promise<bigint> {
    validateStreamId(streamId);
    const rows = await this.query<{ version: string | null }>(
      `SELECT max(stream_version)::text AS version FROM ${this.s}.events WHERE stream_id = $1`,
      [streamId],
    );
    return toBigint(rows[0]?.version ?? '0');
  }

  async readAll(fromPosition: bigint, limit: number, options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    const params: unknown[] = [fromPosition.toString(), checkLimit(limit)];
    let where = 'global_position > $1';
    if (options.sources) {
      params.push(options.sources);
      where += ` AND source = ANY($${params.length}::text[])`;
    }
    if (options.types) {
      params.push(options.types);
      where += ` AND type = ANY($${params.length}::text[])`;
    }
    const rows = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events WHERE ${where} ORDER BY global_position LIMIT $2`,
      params,
    );
    return rows.map((r) => this.upcast(toRecordedEvent(r)));
  }

  async readByCorrelation(
    correlationId: string,
    options: { fromPosition?: bigint; limit?: number } = {},
  ): Promise<RecordedEvent[]> {
    const params: unknown[] = [correlationId, (options.fromPosition ?? 0n).toString()];
    if (options.limit !== undefined) params.push(checkLimit(options.limit));
    const rows = await this.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM ${this.s}.events WHERE correlation_id = $1 AND global_position > $2
       ORDER BY global_position${options.limit !== undefined ? ' LIMIT $3' : ''}`,
      params,
    );
    return rows.map((r) => this.upcast(toRecordedEvent(r)));
  }

  async headPosition(): Promise<bigint> {
    const rows = await this.query<{ position: string }>(`SELECT position FROM ${this.s}.log_head`);
    return toBigint(rows[0]?.position ?? '0');
  }

  subscribeAll(fromPosition: bigint, options: SubscribeOptions = {}): Subscription {
    this.ensureOpen();
    const filters: ReadAllOptions = {
      ...(options.sources ? { sources: options.sources } : {}),
      ...(options.types ? { types: options.types } : {}),
    };
    this.notifier.start();
    const subscription = new LogSubscription(
      {
        readPage: (from, limit) => this.readAll(from, limit, filters),
        notifier: this.notifier,
        pollIntervalMs: this.pollIntervalMs,
        logger: this.logger,
        onClose: (s) => this.subscriptions.delete(s),
      },
      fromPosition,
      checkLimit(options.batchSize ?? this.subscriptionBatchSize),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshots

  async saveSnapshot<State>(snapshot: Omit<Snapshot<State>, 'takenAt'>): Promise<void> {
    validateStreamId(snapshot.streamId);
    if (typeof snapshot.version !== 'bigint' || snapshot.version < 0n) {
      throw new InvalidSnapshotError(
        `snapshot version must be a bigint >= 0, got ${String(snapshot.version)}`,
      );
    }
    if (!Number.isInteger(snapshot.schemaVersion)) {
      throw new InvalidSnapshotError(
        `snapshot schemaVersion must be an integer, got ${String(snapshot.schemaVersion)}`,
      );
    }
    let state: string | undefined;
    try {
      state = JSON.stringify(snapshot.state);
    } catch (cause) {
      throw new InvalidSnapshotError(`snapshot state of ${snapshot.streamId} is not serialisable as JSON`, {
        cause,
      });
    }
    if (state === undefined)
      throw new InvalidSnapshotError(`snapshot state of ${snapshot.streamId} is not a JSON value`);
    // Keeps the latest: a newer fold (schemaVersion) wins, then the higher stream version, so a
    // slow writer cannot replace a newer snapshot with an older one.
    await this.query(
      `INSERT INTO ${this.s}.snapshots AS cur (stream_id, version, schema_version, state, taken_at)
       VALUES ($1, $2, $3, $4::jsonb, now())
       ON CONFLICT (stream_id) DO UPDATE
         SET version = excluded.version, schema_version = excluded.schema_version,
             state = excluded.state, taken_at = excluded.taken_at
         WHERE excluded.schema_version > cur.schema_version
            OR (excluded.schema_version = cur.schema_version AND excluded.version >= cur.version)`,
      [snapshot.streamId, snapshot.version.toString(), snapshot.schemaVersion, state],
    );
  }

  async loadSnapshot<State>(streamId: string): Promise<Snapshot<State> | undefined> {
    validateStreamId(streamId);
    const rows = await this.query<SnapshotRow>(
      `SELECT stream_id, version, schema_version, state, taken_at FROM ${this.s}.snapshots WHERE stream_id = $1`,
      [streamId],
    );
    return rows[0] ? toSnapshot<State>(rows[0]) : undefined;
  }

  // ---------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Ends subscriptions, lets queued appends finish, stops listening and ends the pool if the
   * store created it. Later calls fail with EventStoreUnavailableError.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await Promise.all([...this.subscriptions].map((s) => s.close()));
      await this.queue.idle();
      await this.notifier.close();
      if (this.ownsPool) await this.pool.end();
    })();
    return this.closing;
  }

  private ensureOpen(): void {
    if (this.closed) throw new EventStoreUnavailableError('the event store is closed');
  }

  /**
   * Runs a read as a named prepared statement: reads repeat the same few statements, and naming
   * them saves the parse and plan on every call. The name is derived from the text, so stores
   * sharing a pool (and its connections) agree on what each name means.
   */
  private async query<R extends object>(sql: string, params: unknown[] = []): Promise<R[]> {
    this.ensureOpen();
    let name = this.statementNames.get(sql);
    if (name === undefined) {
      name = `orch_es_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
      this.statementNames.set(sql, name);
    }
    try {
      const result = await this.pool.query<R & Record<string, unknown>>({ name, text: sql, values: params });
      return result.rows;
    } catch (error) {
      if (isConnectionError(error)) {
        throw new EventStoreUnavailableError(`event store read failed: ${(error as Error).message}`, {
          cause: error,
        });
      }
      throw error;
    }
  }
}

function readSnapshot(rows: ReadonlyArray<Record<string, unknown>>): BatchSnapshot {
  const streamVersions = new Map<string, bigint>();
  const existing = new Map<string, StoredEvent>();
  for (const row of rows) {
    const streamId = row['stream_id'] as string;
    const version = toBigint(row['stream_version'] as string);
    if (row['event_id'] === null) streamVersions.set(streamId, version);
    else {
      existing.set(row['event_id'] as string, {
        streamId,
        streamVersion: version,
        globalPosition: toBigint(row['global_position'] as string),
      });
    }
  }
  return { streamVersions, existing };
}

function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`limit must be a positive integer, got ${limit}`);
  return limit;
}
