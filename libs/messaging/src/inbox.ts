import type { DecodedEvent } from './codec';
import { quoteSchema, rowsOf, type SqlExecutor } from './schema';

export interface ApplyOnceOptions {
  /** Schema holding the messaging tables (see migrateMessagingSchema). Default `messaging`. */
  readonly schema?: string;
}

/**
 * Applies an event to a read model at most once per consumer. Call it INSIDE the transaction that
 * changes the read model (`executor` runs in it): the event is recorded in the consumer's inbox,
 * `apply` runs, and the consumer's checkpoint moves, all committed or rolled back together.
 *
 * Duplicates are recognised by event id, not by position, because JetStream may redeliver a nak'd
 * message after later ones: an older event arriving late is still applied once.
 * A concurrent duplicate in another transaction waits on the inbox row and then sees it.
 *
 * @returns 'applied', or 'duplicate' when this consumer already applied the event (apply not called).
 */
export async function applyOnce(
  executor: SqlExecutor,
  consumer: string,
  event: Pick<DecodedEvent, 'eventId' | 'globalPosition'>,
  apply: () => Promise<void>,
  options: ApplyOnceOptions = {},
): Promise<'applied' | 'duplicate'> {
  const s = quoteSchema(options.schema ?? 'messaging');
  const position = event.globalPosition.toString();
  const inserted = rowsOf(
    await executor.query(
      `INSERT INTO ${s}.consumer_inbox (consumer, event_id, global_position) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING event_id`,
      [consumer, event.eventId, position],
    ),
  );
  if (inserted.length === 0) return 'duplicate';
  await apply();
  await executor.query(
    `INSERT INTO ${s}.consumer_checkpoints AS c (consumer, position, applied_count, updated_at)
     VALUES ($1, $2, 1, now())
     ON CONFLICT (consumer) DO UPDATE SET position = GREATEST(c.position, EXCLUDED.position),
       applied_count = c.applied_count + 1, updated_at = now()
     RETURNING consumer`,
    [consumer, position],
  );
  return 'applied';
}

export interface ConsumerCheckpoint {
  /** Highest global position applied (events may still arrive below it, see applyOnce). */
  readonly position: bigint;
  readonly appliedCount: bigint;
  readonly updatedAt: Date;
}

/** The consumer's checkpoint, or undefined before its first applied event. */
export async function readConsumerCheckpoint(
  executor: SqlExecutor,
  consumer: string,
  options: ApplyOnceOptions = {},
): Promise<ConsumerCheckpoint | undefined> {
  const s = quoteSchema(options.schema ?? 'messaging');
  const [row] = rowsOf<{ position: string; applied_count: string; updated_at: Date }>(
    await executor.query(
      `SELECT position, applied_count, updated_at FROM ${s}.consumer_checkpoints WHERE consumer = $1`,
      [consumer],
    ),
  );
  return row
    ? { position: BigInt(row.position), appliedCount: BigInt(row.applied_count), updatedAt: row.updated_at }
    : undefined;
}

/**
 * Deletes inbox entries processed before `olderThan`. Keep them longer than any redelivery can
 * take (max deliveries x backoff) and than the JetStream duplicate window; a consumer rebuilt
 * from the start of the stream uses a new consumer name, so it never needs old entries.
 */
export async function pruneInbox(
  executor: SqlExecutor,
  consumer: string,
  olderThan: Date,
  options: ApplyOnceOptions = {},
): Promise<number> {
  const s = quoteSchema(options.schema ?? 'messaging');
  const [row] = rowsOf<{ n: number }>(
    await executor.query(
      `WITH d AS (DELETE FROM ${s}.consumer_inbox WHERE consumer = $1 AND processed_at < $2 RETURNING 1)
       SELECT count(*)::int AS n FROM d`,
      [consumer, olderThan],
    ),
  );
  return row?.n ?? 0;
}
