/**
 * The domain command a decision was made from, as the event store records it on the first event
 * of the decision (`metadata.decision`): plain JSON, with Dates tagged as `{"$date": "<RFC 3339>"}`
 * because time reaches deciders only inside commands and JSON would turn a Date into a string.
 *
 * This is a copy of libs/eventstore/src/decision-record.ts (`recordDecision` / `readDecision`):
 * libs/replay is pure domain code and may not import the store. The two must keep writing and
 * reading the same format; the format is part of what the store keeps, so it only ever grows.
 */

const DATE_TAG = '$date';

/** `command` as JSON-ready data, Dates as `{"$date": "<RFC 3339>"}` (functions and undefined dropped). */
export function recordDecision(command: unknown): unknown {
  return JSON.parse(
    JSON.stringify(command, function (this: Record<string, unknown>, key: string, value: unknown) {
      const raw = this[key];
      return raw instanceof Date ? { [DATE_TAG]: raw.toISOString() } : value;
    }),
  );
}

/** The command `recordDecision` recorded, Dates restored. */
export function readDecision<C = unknown>(recorded: unknown): C {
  return revive(recorded) as C;
}

function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1 && entries[0]![0] === DATE_TAG && typeof entries[0]![1] === 'string')
    return new Date(entries[0]![1]);
  return Object.fromEntries(entries.map(([k, v]) => [k, revive(v)]));
}
