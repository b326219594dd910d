/**
 * Time as a person reads it in a timeline: offsets from the session's start (`+1.234s`,
 * `+2m03.456s`, `+1h02m03.456s`), clock times in UTC for live events.
 */

/** `+1.234s` for an offset in milliseconds; minutes and hours once they are reached. */
export function formatOffset(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const total = Math.round(Math.abs(ms));
  const millis = total % 1000;
  const seconds = Math.floor(total / 1000) % 60;
  const minutes = Math.floor(total / 60_000) % 60;
  const hours = Math.floor(total / 3_600_000);
  const frac = `.${String(millis).padStart(3, '0')}s`;
  if (hours > 0) {
    return `${sign}${hours}h${pad2(minutes)}m${pad2(seconds)}${frac}`;
  }
  if (minutes > 0) return `${sign}${minutes}m${pad2(seconds)}${frac}`;
  return `${sign}${seconds}${frac}`;
}

/** `12:00:01.234Z`: the time of day of an instant, in UTC. */
export function formatClock(at: Date): string {
  return Number.isNaN(at.getTime()) ? '--:--:--.---Z' : `${at.toISOString().slice(11, 23)}Z`;
}

/** A duration for a sentence: `850 ms`, `12.3 s`, `4 min 05 s`, `2 h 03 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${pad2(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${pad2(Math.floor(s / 60) % 60)} min`;
}

/** A Date from an RFC 3339 string; undefined for anything else. */
export function parseTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');
