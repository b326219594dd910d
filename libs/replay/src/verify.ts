import { canonicalJson, readDecision } from '@orch/domain-kit';
import { firstDifference } from './canonical';
import { StreamFolds, type StreamFold } from './reading';
import { correlationOf, opensDecision, type ReplayEvent } from './replay-event';
import { defaultStreamKinds, type StreamKind } from './stream-kinds';

/** An event as verify compares it: its type and data (ids and metadata are not compared). */
export interface EventData {
  readonly type: string;
  readonly data: unknown;
}

/** A recorded decision today's code decides differently. */
export interface Divergence {
  /** Position of the decision's first event. */
  readonly position: bigint;
  readonly streamId: string;
  /** The recorded command's type ('' when the record has none). */
  readonly command: string;
  /** The events recorded. */
  readonly expected: EventData[];
  /** The events today's decider emits on the same state ([] when it rejects the command). */
  readonly actual: EventData[];
  /** What differs, for a person: e.g. "today's decider emits TaskReady where TaskAssigned was recorded". */
  readonly reason: string;
}

export interface VerifyReport {
  /** In position order. */
  readonly divergences: Divergence[];
  /** The session's decisions decided again. */
  readonly checked: number;
  /** The session's event groups without a recorded command (appended before commands were recorded). */
  readonly skipped: number;
  /** Event types no kind knows (or schema versions none reads), sorted: skipped, never thrown on. */
  readonly unknownTypes: string[];
}

/** What {@link verifySession} checks. */
export interface VerifyInput {
  readonly sessionId: string;
  /**
   * Every stream the session's history touches, each whole from its first event up to the
   * session's last event (in version order; sorted here if not).
   */
  readonly streams: ReadonlyMap<string, readonly ReplayEvent[]>;
}

/**
 * Re-runs today's deciders on the recorded history. For each stream (events in version order, the
 * whole history up to the session's last event): fold, and at each decision (an event with
 * `metadata.decision` and the events after it without one) that belongs to the session (its first
 * event's correlationId is the session id; every decision of the session's own streams), decide
 * the recorded command again on the state before it and compare the events (type and data as
 * canonical JSON; event ids and metadata are ignored). A decider that throws where it had emitted
 * events is a divergence with the reason. Folding always goes on with the RECORDED events, so one
 * divergence does not cascade into the decisions after it. Groups without a decision (consecutive
 * events of one causation, appended before commands were recorded) are skipped and counted.
 */
export function verifySession(
  input: VerifyInput,
  kinds: readonly StreamKind[] = defaultStreamKinds(),
): VerifyReport {
  const { sessionId } = input;
  const folds = new StreamFolds(kinds);
  const divergences: Divergence[] = [];
  let checked = 0;
  let skipped = 0;
  for (const [streamId, recorded] of input.streams) {
    const s = folds.stream(streamId);
    const events = inVersionOrder(recorded);
    const kind = s.kind;
    if (!kind) {
      for (const e of events) folds.read(s, e);
      continue;
    }
    for (let from = 0; from < events.length;) {
      const to = groupEnd(events, from);
      const group = events.slice(from, to);
      const read = group.map((e) => folds.read(s, e));
      const first = group[0]!;
      if (!kind.shared || correlationOf(first) === sessionId) {
        if (opensDecision(first)) {
          checked++;
          const divergence = decideAgain(kind, s, group);
          if (divergence) divergences.push(divergence);
        } else skipped++;
      }
      for (const event of read) if (event) folds.evolve(s, event);
      from = to;
    }
  }
  divergences.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
  return { divergences, checked, skipped, unknownTypes: folds.unknown() };
}

// ---------------------------------------------------------------- groups

/** The events sorted by stream version (the same array when they already are). */
function inVersionOrder(events: readonly ReplayEvent[]): readonly ReplayEvent[] {
  for (let i = 1; i < events.length; i++)
    if (events[i - 1]!.streamVersion > events[i]!.streamVersion)
      return [...events].sort((a, b) =>
        a.streamVersion < b.streamVersion ? -1 : a.streamVersion > b.streamVersion ? 1 : 0,
      );
  return events;
}

const causationOf = (e: ReplayEvent): unknown => e.metadata['causationId'];

/**
 * The end (exclusive) of the group starting at `from`: a decision runs up to the next event that
 * opens one; events recorded without decisions group by causation (one append of one command).
 */
function groupEnd(events: readonly ReplayEvent[], from: number): number {
  const first = events[from]!;
  const decided = opensDecision(first);
  let to = from + 1;
  while (to < events.length) {
    const e = events[to]!;
    if (opensDecision(e)) break;
    if (!decided && (causationOf(e) !== causationOf(first) || correlationOf(e) !== correlationOf(first)))
      break;
    to++;
  }
  return to;
}

// ---------------------------------------------------------------- deciding again

/** Decides the group's recorded command on the state before it; the divergence, if any. */
function decideAgain(kind: StreamKind, s: StreamFold, group: readonly ReplayEvent[]): Divergence | undefined {
  const first = group[0]!;
  const recordedCommand = first.metadata['decision'];
  const command = kind.command ? kind.command(recordedCommand) : readDecision(recordedCommand);
  const expected: EventData[] = group.map((e) => ({ type: e.type, data: e.data }));
  const divergence = (actual: EventData[], reason: string): Divergence => ({
    position: first.position,
    streamId: s.streamId,
    command: commandName(command),
    expected,
    actual,
    reason,
  });
  let emitted: readonly unknown[];
  try {
    emitted = kind.decider.decide(command, s.state);
  } catch (err) {
    return divergence(
      [],
      `today's decider rejects the command: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const actual = emitted.map(eventData);
  const reason = difference(expected, actual);
  return reason === undefined ? undefined : divergence(actual.map(jsonReady), reason);
}

function commandName(command: unknown): string {
  const type =
    command !== null && typeof command === 'object' ? (command as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type : '';
}

function eventData(event: unknown): EventData {
  const e = (event ?? {}) as { type?: unknown; data?: unknown };
  return { type: typeof e.type === 'string' ? e.type : '', data: e.data };
}

/** As JSON would carry it (no undefined members): the report crosses the wire. */
const jsonReady = (e: EventData): EventData => ({
  type: e.type,
  data: e.data === undefined ? null : (JSON.parse(JSON.stringify(e.data)) as unknown),
});

const events = (n: number): string => (n === 0 ? 'no events' : n === 1 ? '1 event' : `${n} events`);

/** Why the events differ, for a person; undefined when they are the same as canonical JSON. */
function difference(expected: readonly EventData[], actual: readonly EventData[]): string | undefined {
  if (expected.length !== actual.length) {
    const verb = expected.length === 1 ? 'was' : 'were';
    const counted = `today's decider emits ${events(actual.length)} where ${expected.length} ${verb} recorded`;
    const missing = typesMissing(expected, actual);
    const extra = typesMissing(actual, expected);
    const details = [
      ...(missing.length > 0 ? [`not emitted: ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`not recorded: ${extra.join(', ')}`] : []),
    ];
    return details.length > 0 ? `${counted} (${details.join('; ')})` : counted;
  }
  const where = (i: number): string => (expected.length > 1 ? ` (event ${i + 1} of ${expected.length})` : '');
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (e.type !== a.type) return `today's decider emits ${a.type} where ${e.type} was recorded${where(i)}`;
    if (canonicalJson(e.data) === canonicalJson(a.data)) continue;
    const d = firstDifference(e.data, a.data);
    const field = d && d.path !== '' ? d.path : 'data';
    return `today's decider emits ${a.type} with ${field} ${show(d?.actual)} where ${show(d?.expected)} was recorded${where(i)}`;
  }
  return undefined;
}

/** The types of `a` that `b` lacks, counted as a multiset, in `a`'s order. */
function typesMissing(a: readonly EventData[], b: readonly EventData[]): string[] {
  const left = new Map<string, number>();
  for (const e of b) left.set(e.type, (left.get(e.type) ?? 0) + 1);
  const missing: string[] = [];
  for (const e of a) {
    const n = left.get(e.type) ?? 0;
    if (n > 0) left.set(e.type, n - 1);
    else missing.push(e.type);
  }
  return missing;
}

const MAX_SHOWN = 80;

function show(value: unknown): string {
  if (value === undefined) return 'absent';
  const json = canonicalJson(value);
  return json.length > MAX_SHOWN ? `${json.slice(0, MAX_SHOWN - 3)}...` : json;
}
