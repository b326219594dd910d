import type { EventMetadataInput, RecordedEvent, Snapshot } from '../contract';

/**
 * Rows as node-postgres returns them. int8 columns arrive as strings (node-postgres does not
 * parse them, since a JavaScript number loses precision past 2^53): they become bigints here,
 * never numbers.
 */
export interface EventRow {
  readonly global_position: string;
  readonly event_id: string;
  readonly stream_id: string;
  readonly stream_version: string;
  readonly type: string;
  readonly schema_version: number;
  readonly source: string;
  readonly data: unknown;
  readonly metadata: Record<string, unknown> | null;
  readonly correlation_id: string | null;
  readonly causation_id: string | null;
  readonly occurred_at: Date;
}

export interface SnapshotRow {
  readonly stream_id: string;
  readonly version: string;
  readonly schema_version: number;
  readonly state: unknown;
  readonly taken_at: Date;
}

/** The columns every event read selects, in EventRow's shape. */
export const EVENT_COLUMNS =
  'global_position, event_id, stream_id, stream_version, type, schema_version, source, data, metadata, correlation_id, causation_id, occurred_at';

const INTEGER = /^-?\d+$/;

/** Exact conversion of an int8 value as the driver returns it. */
export function toBigint(value: string | number | bigint): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not an exact integer`);
    return BigInt(value);
  }
  if (!INTEGER.test(value)) throw new RangeError(`${JSON.stringify(value)} is not an integer`);
  return BigInt(value);
}

/**
 * Maps a row read from the events table. Hot on every read path (replay reads hundreds of
 * thousands of rows), so it mutates the metadata object the driver just parsed for this row
 * instead of copying it, and trusts the int8 text PostgreSQL sends.
 */
export function toRecordedEvent(row: EventRow): RecordedEvent {
  const metadata: Record<string, unknown> = row.metadata ?? {};
  if (row.correlation_id !== null) metadata['correlationId'] = row.correlation_id;
  if (row.causation_id !== null) metadata['causationId'] = row.causation_id;
  return {
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    streamVersion: BigInt(row.stream_version),
    globalPosition: BigInt(row.global_position),
    occurredAt: row.occurred_at,
    source: row.source,
    data: row.data,
    metadata: metadata as EventMetadataInput,
  };
}

export function toSnapshot<State>(row: SnapshotRow): Snapshot<State> {
  return {
    streamId: row.stream_id,
    version: toBigint(row.version),
    schemaVersion: row.schema_version,
    state: row.state as State,
    takenAt: row.taken_at,
  };
}
