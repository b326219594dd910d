import type { EventMetadataInput, ExpectedVersion, NewEvent } from './contract';
import { InvalidAppendError } from './errors';

/**
 * Checks an append before it reaches a batch. Everything that could make the database refuse
 * the write (a malformed id, an index entry too long, a NUL the text type cannot hold) is caught
 * here, because one bad append must not fail the other appends committed with it.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** B-tree index entries are limited to about 2.7 kB; ids used in an index stay well below. */
export const MAX_ID_BYTES = 1024;
const MAX_TYPE_BYTES = 256;
const MAX_SCHEMA_VERSION = 2_147_483_647;

/**
 * JSON escapes jsonb refuses: `\u0000`, and a lone surrogate (JSON.stringify escapes only those;
 * paired surrogates are written as characters). An even run of backslashes before is a literal.
 */
const JSON_NUL = /(?<!\\)(?:\\\\)*\\u0000/;
const JSON_LONE_SURROGATE = /(?<!\\)(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/i;
/** A surrogate code unit that is not part of a pair (the `u` flag reads pairs as one code point). */
const LONE_SURROGATE = /\p{Cs}/u;

/** True for a UUID in its canonical 8-4-4-4-12 hex form, any version, any case. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);

/** An event ready to be written: ids normalised, payloads serialised once. */
export interface PreparedEvent {
  /** Lower case, as PostgreSQL prints a uuid, so retries compare equal whatever case the caller used. */
  readonly eventId: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly dataJson: string;
  /** Metadata without the indexed ids below, as JSON. */
  readonly metadataJson: string;
  readonly correlationId: string | null;
  readonly causationId: string | null;
  readonly occurredAt: Date | null;
}

export function validateStreamId(streamId: unknown): asserts streamId is string {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new InvalidAppendError('stream id must be a non-empty string');
  }
  checkText('stream id', streamId, MAX_ID_BYTES);
}

export function validateExpectedVersion(expected: unknown): asserts expected is ExpectedVersion {
  if (typeof expected === 'bigint') {
    if (expected < 0n) throw new InvalidAppendError(`expected version must be >= 0, got ${expected}`);
    return;
  }
  if (expected === 'no_stream' || expected === 'stream_exists' || expected === 'any') return;
  throw new InvalidAppendError(
    `expected version must be a bigint, 'no_stream', 'stream_exists' or 'any', got ${String(expected)}`,
  );
}

/** Validates a whole append and prepares its events; throws InvalidAppendError with the reason. */
export function prepareAppend(
  streamId: unknown,
  expectedVersion: unknown,
  events: readonly NewEvent[],
): PreparedEvent[] {
  validateStreamId(streamId);
  validateExpectedVersion(expectedVersion);
  if (!Array.isArray(events) || events.length === 0) {
    throw new InvalidAppendError(`append to ${streamId} has no events`);
  }
  const seen = new Set<string>();
  return events.map((event, index) => {
    const prepared = prepareEvent(event, `event ${index} of the append to ${streamId}`);
    if (seen.has(prepared.eventId)) {
      throw new InvalidAppendError(`event id ${prepared.eventId} appears twice in the append to ${streamId}`);
    }
    seen.add(prepared.eventId);
    return prepared;
  });
}

function prepareEvent(event: NewEvent, where: string): PreparedEvent {
  if (!isUuid(event.eventId)) {
    throw new InvalidAppendError(
      `${where}: eventId must be a UUID (8-4-4-4-12 hex), got ${JSON.stringify(event.eventId)}`,
    );
  }
  if (typeof event.type !== 'string' || event.type.length === 0) {
    throw new InvalidAppendError(`${where}: type must be a non-empty string`);
  }
  checkText(`${where}: type`, event.type, MAX_TYPE_BYTES);
  const schemaVersion = event.schemaVersion ?? 1;
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > MAX_SCHEMA_VERSION) {
    throw new InvalidAppendError(
      `${where}: schemaVersion must be a positive integer, got ${String(schemaVersion)}`,
    );
  }
  if (
    event.occurredAt !== undefined &&
    !(event.occurredAt instanceof Date && !Number.isNaN(event.occurredAt.getTime()))
  ) {
    throw new InvalidAppendError(`${where}: occurredAt must be a valid Date`);
  }
  const { correlationId, causationId, ...rest } = event.metadata ?? ({} as EventMetadataInput);
  const ids = { correlationId, causationId };
  for (const [name, value] of Object.entries(ids)) {
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string')
      throw new InvalidAppendError(`${where}: metadata.${name} must be a string`);
    checkText(`${where}: metadata.${name}`, value, MAX_ID_BYTES);
  }
  return {
    eventId: event.eventId.toLowerCase(),
    type: event.type,
    schemaVersion,
    dataJson: toJson(event.data, `${where}: data`),
    metadataJson: toJson(rest, `${where}: metadata`),
    correlationId: correlationId ?? null,
    causationId: causationId ?? null,
    occurredAt: event.occurredAt ?? null,
  };
}

function toJson(value: unknown, what: string): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    throw new InvalidAppendError(`${what} is not serialisable as JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (json === undefined) throw new InvalidAppendError(`${what} is not a JSON value`);
  if (JSON_NUL.test(json))
    throw new InvalidAppendError(`${what} contains a NUL character (\\u0000), which jsonb cannot store`);
  if (JSON_LONE_SURROGATE.test(json)) {
    throw new InvalidAppendError(`${what} contains a lone UTF-16 surrogate, which jsonb cannot store`);
  }
  return json;
}

function checkText(what: string, value: string, maxBytes: number): void {
  if (value.includes('\u0000')) throw new InvalidAppendError(`${what} contains a NUL character`);
  if (LONE_SURROGATE.test(value)) throw new InvalidAppendError(`${what} contains a lone UTF-16 surrogate`);
  if (Buffer.byteLength(value, 'utf8') > maxBytes) {
    throw new InvalidAppendError(`${what} is longer than ${maxBytes} bytes`);
  }
}
