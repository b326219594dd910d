/**
 * The analytics projection's input and the tolerant readers it uses on event data.
 *
 * Analytics reads every service's events, including services whose contracts are still moving
 * (resources, conflicts). So it never trusts a field to be there: a reader returns '' or 0 for a
 * missing or ill-typed field, and a handler that lacks what it needs counts the event as
 * malformed instead of throwing.
 */

/**
 * An event as the store records it: `data` is the protobuf JSON mapping of the proto message named
 * by `type` (camelCase fields, Timestamps as RFC 3339 strings, uint64 as decimal strings).
 */
export interface AnalyticsEvent {
  readonly type: string;
  readonly data: unknown;
  /** When the store appended it: an RFC 3339 string or a Date. Used when `data` carries no time. */
  readonly occurredAt: string | Date;
  /** Position in the store's global log: strictly increasing, never reused. */
  readonly globalPosition: bigint;
  readonly streamId?: string;
  /** The session id for session work. */
  readonly correlationId?: string;
}

/** Event data as read: a JSON object with unknown fields. */
export type Data = Readonly<Record<string, unknown>>;

const EMPTY: Data = Object.freeze({});

/** `value` as an object to read fields from; anything else reads as an empty object. */
export const asData = (value: unknown): Data =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Data) : EMPTY;

/** A string field, or '' when absent or not a string. */
export const text = (d: Data, field: string): string => {
  const v = d[field];
  return typeof v === 'string' ? v : '';
};

/** The first non-empty string among `fields`. */
export function firstText(d: Data, fields: readonly string[]): string {
  for (const f of fields) {
    const v = d[f];
    if (typeof v === 'string' && v !== '') return v;
  }
  return '';
}

/**
 * A non-negative number field: a JSON number or a decimal string (uint64 in the JSON mapping).
 * Absent, negative, or not a number reads as 0.
 */
export const amount = (d: Data, field: string): number => {
  const v = d[field];
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : 0;
  return Number.isFinite(n) && n > 0 ? n : 0;
};

/** The first of `fields` that is present as a number or numeric string, else undefined. */
export function firstAmount(d: Data, fields: readonly string[]): number | undefined {
  for (const f of fields) {
    const v = d[f];
    if (typeof v === 'number' || (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))))
      return amount(d, f);
  }
  return undefined;
}

/** An array field, or an empty array. */
export const list = (d: Data, field: string): readonly unknown[] => {
  const v = d[field];
  return Array.isArray(v) ? v : [];
};

const digits = (s: string, from: number, to: number): number => {
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
};

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (H. Hinnant's days_from_civil). */
function daysSinceEpoch(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysIn = (year: number, month: number): number =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : DAYS[month - 1]!;

/**
 * Milliseconds since the epoch of an RFC 3339 string, or NaN. The UTC form the services write
 * (`2026-11-21T10:00:00Z`, `...00.123Z`) is read directly, several times faster than Date.parse,
 * which reads every other form.
 */
export function parseTime(value: string): number {
  const n = value.length;
  if (
    n >= 20 &&
    value.charCodeAt(n - 1) === 90 /* Z */ &&
    value.charCodeAt(10) === 84 /* T */ &&
    value.charCodeAt(4) === 45 &&
    value.charCodeAt(7) === 45 &&
    value.charCodeAt(13) === 58 &&
    value.charCodeAt(16) === 58
  ) {
    const month = digits(value, 5, 7);
    const day = digits(value, 8, 10);
    const hour = digits(value, 11, 13);
    const minute = digits(value, 14, 16);
    const second = digits(value, 17, 19);
    const fraction =
      n === 20 ? 0 : value.charCodeAt(19) === 46 /* . */ ? digits(value, 20, Math.min(n - 1, 23)) : NaN;
    const scale = n - 21 >= 3 ? 1 : 10 ** (3 - (n - 21));
    const year = digits(value, 0, 4);
    // A day past the month's end (2026-02-30) would roll over in Date.UTC: Date.parse decides those.
    if (
      month >= 1 &&
      month <= 12 &&
      day >= 1 &&
      day <= daysIn(year, month) &&
      hour <= 23 &&
      minute <= 59 &&
      second <= 59
    ) {
      const ms =
        daysSinceEpoch(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1_000;
      const frac = n === 20 ? 0 : fraction * scale;
      if (!Number.isNaN(ms + frac)) return ms + frac;
    }
  }
  return value === '' ? NaN : Date.parse(value);
}

/** When the store appended the event, in ms since the epoch (NaN when unreadable). */
export const occurredMs = (e: AnalyticsEvent): number =>
  typeof e.occurredAt === 'string' ? parseTime(e.occurredAt) : e.occurredAt.getTime();

/**
 * The domain time of an event: the first readable timestamp among `fields` of its data, else when it
 * was appended. NaN when neither can be read.
 */
export function eventTime(d: Data, fields: readonly string[], e: AnalyticsEvent): number {
  for (const f of fields) {
    const v = d[f];
    if (typeof v === 'string' && v !== '') {
      const ms = parseTime(v);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return occurredMs(e);
}

/**
 * The task id of a reference: resources keys an allocation by attempt (`<taskId>#<attempt>`), the
 * workflow by task.
 */
export const taskIdOf = (ref: string): string => {
  const hash = ref.indexOf('#');
  return hash < 0 ? ref : ref.slice(0, hash);
};
