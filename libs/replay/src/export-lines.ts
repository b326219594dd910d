import { ValidationError, rfc3339 } from '@orch/domain-kit';
import type { ReplayEvent } from './replay-event';

/**
 * A session exported as NDJSON: one event per line, a JSON object with the keys position,
 * eventId, type, source, streamId, streamVersion, occurredAt, schemaVersion, data, metadata
 * (position and streamVersion as decimal strings, occurredAt RFC 3339), so another store can
 * import it for offline debugging.
 */

/** One exported line (what {@link toExportLine} writes, before JSON). */
export interface ExportLine {
  readonly position: string;
  readonly eventId: string;
  readonly type: string;
  readonly source: string;
  readonly streamId: string;
  readonly streamVersion: string;
  readonly occurredAt: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** The event as one NDJSON line (no line break). */
export function toExportLine(e: ReplayEvent): string {
  const line: ExportLine = {
    position: e.position.toString(),
    eventId: e.eventId,
    type: e.type,
    source: e.source,
    streamId: e.streamId,
    streamVersion: e.streamVersion.toString(),
    occurredAt: rfc3339(e.occurredAt),
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata: e.metadata,
  };
  return JSON.stringify(line);
}

/**
 * A line of an import file that is not an exported event. `message` reads
 * `line 17: "streamVersion" must be a decimal string`; `problem` is the part after the line number.
 * A ValidationError (code `validation`), so a service that lets it through answers 400 with it.
 */
export class ExportLineError extends ValidationError {
  readonly problem: string;

  constructor(
    /** 1-based, as the caller counts lines. */
    readonly lineNumber: number,
    problem: string,
    /** The field at fault, when one is ('' for the line as a whole). */
    readonly field = '',
  ) {
    super(
      `line ${lineNumber}: ${problem}`,
      [{ path: field === '' ? `line ${lineNumber}` : `line ${lineNumber}.${field}`, message: problem }],
      { lineNumber },
    );
    this.problem = problem;
  }
}

export const isExportLineError = (e: unknown): e is ExportLineError => e instanceof ExportLineError;

const DECIMAL = /^(0|[1-9][0-9]*)$/;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/** An RFC 3339 time as a Date; undefined when it is not one (Date.parse alone takes 24:00 and Feb 30). */
function rfc3339Time(value: unknown): Date | undefined {
  const m = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const valid =
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    (m[8] === undefined || (Number(m[8]) <= 23 && Number(m[9]) <= 59));
  const date = valid ? new Date(value as string) : undefined;
  return date && !Number.isNaN(date.getTime()) ? date : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses one line of an export into the event it stands for, checking every field: non-empty
 * eventId, type and streamId, a string source, decimal strings of at least 1 for position and
 * streamVersion, an RFC 3339 occurredAt that is a valid date, a positive integer schemaVersion,
 * objects for data and metadata. Keys it does not know are ignored (a later export may add some).
 * Throws an {@link ExportLineError} naming the line and what is wrong. Blank lines (a trailing
 * newline, an empty line between events) are the caller's to skip: here they are not JSON.
 */
export function parseExportLine(line: string, lineNumber: number): ReplayEvent {
  const fail = (problem: string, field = ''): never => {
    throw new ExportLineError(lineNumber, problem, field);
  };
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    return fail(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(value)) return fail('must be a JSON object (one event per line)');

  const text = (field: string, nonEmpty: boolean): string => {
    const v = value[field];
    if (typeof v !== 'string' || (nonEmpty && v === ''))
      return fail(`"${field}" must be a ${nonEmpty ? 'non-empty ' : ''}string`, field);
    return v;
  };
  const counter = (field: string): bigint => {
    const v = value[field];
    if (typeof v !== 'string' || !DECIMAL.test(v)) return fail(`"${field}" must be a decimal string`, field);
    const n = BigInt(v);
    return n >= 1n ? n : fail(`"${field}" must be at least 1`, field);
  };
  const object = (field: string): Record<string, unknown> => {
    const v = value[field];
    return isObject(v) ? v : fail(`"${field}" must be a JSON object`, field);
  };

  const position = counter('position');
  const eventId = text('eventId', true);
  const type = text('type', true);
  const source = text('source', false);
  const streamId = text('streamId', true);
  const streamVersion = counter('streamVersion');
  const occurredAt =
    rfc3339Time(value['occurredAt']) ?? fail('"occurredAt" must be an RFC 3339 time', 'occurredAt');
  const schemaVersion = value['schemaVersion'];
  if (typeof schemaVersion !== 'number' || !Number.isInteger(schemaVersion) || schemaVersion < 1)
    return fail('"schemaVersion" must be a positive integer', 'schemaVersion');
  const data = object('data');
  const metadata = object('metadata');
  return {
    position,
    eventId,
    type,
    source,
    streamId,
    streamVersion,
    occurredAt,
    schemaVersion,
    data,
    metadata,
  };
}
