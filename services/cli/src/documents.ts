import { isRecord } from './http';
import { parseTime } from './format/time';

/**
 * The gateway's replay documents, read leniently: 64-bit numbers arrive as decimal strings
 * (protobuf JSON) or numbers, absent fields take empty values, and nothing here throws on a
 * field it does not know, so a newer gateway still prints.
 */

export type Doc = Readonly<Record<string, unknown>>;

/** A recorded event as the replay API (and the live stream) shows it. */
export interface EventDoc {
  /** Global position. */
  readonly position: bigint;
  readonly eventId: string;
  readonly type: string;
  /** The service that appended it. */
  readonly source: string;
  readonly streamId: string;
  readonly streamVersion: bigint;
  readonly occurredAt: Date | undefined;
  readonly correlationId: string;
  readonly data: Doc;
  readonly metadata: Doc;
}

/** One event of `GET /api/sessions/{id}/events` (or an SSE `data:` document). */
export function readEvent(raw: unknown): EventDoc {
  const e = isRecord(raw) ? raw : {};
  const metadata = record(e['metadata']);
  return {
    position: bigintOf(e['position'] ?? e['globalPosition']),
    eventId: str(e, 'eventId'),
    type: str(e, 'type'),
    source: str(e, 'source'),
    streamId: str(e, 'streamId'),
    streamVersion: bigintOf(e['streamVersion']),
    occurredAt: parseTime(e['occurredAt']),
    correlationId: str(e, 'correlationId') || str(metadata, 'correlationId'),
    data: record(e['data']),
    metadata,
  };
}

/** A page of a session's events: `{items, nextFrom}`; `nextFrom` 0 (or absent) on the last page. */
export interface EventPage {
  readonly items: readonly unknown[];
  readonly nextFrom: bigint;
}

export function readEventPage(raw: unknown): EventPage {
  const page = record(raw);
  return { items: Array.isArray(page['items']) ? page['items'] : [], nextFrom: bigintOf(page['nextFrom']) };
}

/** The state of a session at a position (`GET /api/sessions/{id}/replay`), flattened. */
export interface ReplayDoc {
  readonly at: bigint;
  /** Session events folded; undefined when the document does not say. */
  readonly events: number | undefined;
  readonly session: Doc;
  readonly workflow: Doc;
  readonly tasks: readonly Doc[];
  readonly agents: readonly Doc[];
  readonly allocations: readonly Doc[];
  readonly waiters: readonly Doc[];
  readonly conflicts: readonly Doc[];
  readonly unknownTypes: readonly string[];
}

/**
 * Reads the replay document, whether the state is nested (`{at, events, state: {...},
 * unknownTypes}`, as the analytics service answers) or flat (the replay library's SessionReplay).
 */
export function readReplay(raw: unknown): ReplayDoc {
  const outer = record(raw);
  const state = isRecord(outer['state']) ? { ...outer['state'], ...withoutState(outer) } : outer;
  const workflow = record(state['workflow']);
  const resources = record(state['resources']);
  const unknown = [...strings(outer['unknownTypes']), ...strings(state['unknownTypes'])];
  return {
    at: bigintOf(outer['at'] ?? state['at']),
    events: numberOrUndefined(outer['events'] ?? state['events']),
    session: record(state['session']),
    workflow,
    tasks: records(workflow['tasks'] ?? state['tasks']),
    agents: records(state['agents']),
    allocations: records(resources['allocations']),
    waiters: records(resources['waiters']),
    conflicts: records(state['conflicts']),
    unknownTypes: [...new Set(unknown)],
  };
}

/** One point where today's code decides differently from what was recorded. */
export interface DivergenceDoc {
  readonly position: bigint;
  readonly streamId: string;
  readonly command: string;
  readonly expected: readonly EmittedEvent[];
  readonly actual: readonly EmittedEvent[];
  readonly reason: string;
}

export interface EmittedEvent {
  readonly type: string;
  readonly data: unknown;
}

/** `POST /api/sessions/{id}/replay/verify`. */
export interface VerifyDoc {
  readonly divergences: readonly DivergenceDoc[];
  readonly checked: number;
  readonly skipped: number;
  readonly unknownTypes: readonly string[];
}

export function readVerify(raw: unknown): VerifyDoc {
  const doc = record(raw);
  return {
    divergences: records(doc['divergences']).map((d) => ({
      position: bigintOf(d['position']),
      streamId: str(d, 'streamId'),
      command: str(d, 'command'),
      expected: emitted(d['expected']),
      actual: emitted(d['actual']),
      reason: str(d, 'reason'),
    })),
    checked: numberOrUndefined(doc['checked']) ?? 0,
    skipped: numberOrUndefined(doc['skipped']) ?? 0,
    unknownTypes: strings(doc['unknownTypes']),
  };
}

// ------------------------------------------------------------------------------------ helpers

/** A string field; '' when absent or not a string (numbers are printed). */
export function str(doc: Doc | undefined, key: string): string {
  const value = doc?.[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  return '';
}

/** A numeric field (a decimal string counts); undefined when absent. */
export function num(doc: Doc | undefined, key: string): number | undefined {
  return numberOrUndefined(doc?.[key]);
}

export function record(value: unknown): Doc {
  return isRecord(value) ? value : {};
}

export function records(value: unknown): Doc[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

export function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A 64-bit integer as protobuf JSON gives it (a decimal string) or a number; 0n otherwise. */
export function bigintOf(value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value.trim())) return BigInt(value.trim());
  return 0n;
}

function numberOrUndefined(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    return Number(value);
  return undefined;
}

function emitted(value: unknown): EmittedEvent[] {
  return records(value).map((e) => ({ type: str(e, 'type'), data: e['data'] }));
}

function withoutState(doc: Doc): Doc {
  const { state: _state, ...rest } = doc;
  return rest;
}
