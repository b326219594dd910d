/**
 * The domain command a decision was made from, recorded on the first event it produced
 * (`metadata.decision`), so replay can decide it again with today's code and compare
 * (DESIGN.md "Replay", verify). Commands are plain data with Dates (time reaches deciders only in
 * commands); JSON would turn a Date into a string that reads back as one, so Dates are tagged.
 */

const DATE_TAG = '$date';

/** `command` as JSON-ready data, Dates as `{"$date": "<RFC 3339>"}`. */
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
