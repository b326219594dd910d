import type { NewEvent } from '@orch/eventstore';
import { isUuid } from '@orch/eventstore';
import { ExportLineError, parseExportLine, type ReplayEvent } from '@orch/replay';

/**
 * Importing an exported session into an event store, decided without I/O: the whole file is
 * read and checked before anything is appended, and the target store's streams decide how each
 * stream's events go in.
 */

/** One event of an import file with the line it came from. */
export interface ImportLine {
  /** 1-based. */
  readonly lineNumber: number;
  readonly event: ReplayEvent;
}

/** Store limits an append would otherwise fail on halfway through the import. */
const MAX_ID_BYTES = 1024;
const MAX_TYPE_BYTES = 256;
const JSON_NUL = /\\u0000/;

/**
 * Parses every line of an NDJSON export (blank lines are skipped) and checks what no single
 * line shows: event ids are UUIDs and unique, positions increase (an export is in global order),
 * and each stream's versions increase. Throws an {@link ExportLineError} naming the first bad
 * line; nothing is returned for a file with any bad line.
 */
export function readImportFile(text: string): ImportLine[] {
  const lines: ImportLine[] = [];
  const idLines = new Map<string, number>();
  const lastOfStream = new Map<string, ImportLine>();
  let previous: ImportLine | undefined;
  const rows = text.split('\n');
  for (const [index, raw] of rows.entries()) {
    const lineNumber = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') continue;
    const event = parseExportLine(line, lineNumber);
    const fail = (problem: string, field = ''): never => {
      throw new ExportLineError(lineNumber, problem, field);
    };
    if (!isUuid(event.eventId)) fail('"eventId" must be a UUID, as the event store keeps ids', 'eventId');
    const id = event.eventId.toLowerCase();
    const seen = idLines.get(id);
    if (seen !== undefined) fail(`event ${event.eventId} already appears on line ${seen}`, 'eventId');
    idLines.set(id, lineNumber);
    if (Buffer.byteLength(event.streamId) > MAX_ID_BYTES || event.streamId.includes('\u0000'))
      fail(`"streamId" must be at most ${MAX_ID_BYTES} bytes, without NUL characters`, 'streamId');
    if (Buffer.byteLength(event.type) > MAX_TYPE_BYTES || event.type.includes('\u0000'))
      fail(`"type" must be at most ${MAX_TYPE_BYTES} bytes, without NUL characters`, 'type');
    if (JSON_NUL.test(JSON.stringify(event.data)) || JSON_NUL.test(JSON.stringify(event.metadata)))
      fail('"data" and "metadata" cannot hold NUL characters (\\u0000): PostgreSQL jsonb refuses them');
    if (previous && event.position <= previous.event.position) {
      fail(
        `position ${event.position} does not follow line ${previous.lineNumber}'s (${previous.event.position}): an export lists events in global order`,
        'position',
      );
    }
    const before = lastOfStream.get(event.streamId);
    if (before && event.streamVersion <= before.event.streamVersion) {
      fail(
        `stream ${event.streamId} goes from version ${before.event.streamVersion} (line ${before.lineNumber}) to ${event.streamVersion}: versions must increase`,
        'streamVersion',
      );
    }
    const current = { lineNumber, event };
    lines.push(current);
    lastOfStream.set(event.streamId, current);
    previous = current;
  }
  return lines;
}

/** A stream of the target store as the import finds it. */
export interface TargetStream {
  /** Its current version (0n: it does not exist). */
  readonly version: bigint;
  /** The ids of the events it holds, lower case. */
  readonly eventIds: ReadonlySet<string>;
}

/**
 * How a stream's events of the file go in:
 * - `exact`: at their recorded versions (the file holds the stream contiguously from the target's
 *   next version - a session's own streams into a fresh store);
 * - `renumbered`: at the stream's next versions, because the file holds only part of its history
 *   (a session export holds only the session's events of the agents' and the allocator's streams)
 *   or the target's stream is elsewhere; each event keeps its recorded version and position in
 *   `metadata.importedFrom`;
 * - `present`: every event is already in the target stream (imported before): skipped.
 */
export type StreamMode = 'exact' | 'renumbered' | 'present';

export interface StreamPlan {
  readonly streamId: string;
  readonly mode: StreamMode;
  readonly events: number;
}

/** One append, in file order. */
export interface PlannedAppend {
  readonly streamId: string;
  /** The recording service: the store instance appending it stamps it as the event's source. */
  readonly source: string;
  readonly expectedVersion: bigint;
  readonly events: readonly NewEvent[];
  /** The file line of its first event, to name in an error. */
  readonly firstLine: number;
}

export interface ImportPlan {
  readonly streams: readonly StreamPlan[];
  readonly appends: readonly PlannedAppend[];
  readonly toAppend: number;
  readonly present: number;
}

/** The target store already holds some, not all, of a stream's events in the file. */
export class ImportConflictError extends Error {
  override readonly name = 'ImportConflictError';
  readonly code = 'import_conflict';

  constructor(
    readonly streamId: string,
    readonly lineNumber: number,
    message: string,
  ) {
    super(message);
  }
}

/** Events with the same stream and source in a row go in one append, up to this many. */
const MAX_APPEND = 500;

/**
 * Decides each stream's mode and the appends, in file order (so the target's global order is the
 * file's). Throws {@link ImportConflictError} when a target stream holds part of the file's events
 * of that stream: appending the rest would duplicate or reorder history.
 */
export function planImport(
  lines: readonly ImportLine[],
  targets: ReadonlyMap<string, TargetStream>,
): ImportPlan {
  const byStream = new Map<string, ImportLine[]>();
  for (const line of lines) {
    const list = byStream.get(line.event.streamId) ?? [];
    list.push(line);
    byStream.set(line.event.streamId, list);
  }
  const modes = new Map<string, StreamMode>();
  const streams: StreamPlan[] = [];
  for (const [streamId, events] of byStream) {
    const target = targets.get(streamId) ?? { version: 0n, eventIds: new Set<string>() };
    const present = events.filter((l) => target.eventIds.has(l.event.eventId.toLowerCase()));
    let mode: StreamMode;
    if (present.length === events.length) {
      mode = 'present';
    } else if (present.length > 0) {
      const first = events.find((l) => !target.eventIds.has(l.event.eventId.toLowerCase()));
      throw new ImportConflictError(
        streamId,
        present[0]?.lineNumber ?? 0,
        `stream ${streamId} of the target store already holds ${present.length} of the file's ${events.length} events of it (line ${present[0]?.lineNumber}) but not the others (line ${first?.lineNumber})`,
      );
    } else {
      const contiguous = events.every(
        (l, i) =>
          l.event.streamVersion ===
          (i === 0 ? target.version + 1n : (events[i - 1]?.event.streamVersion ?? 0n) + 1n),
      );
      mode = contiguous ? 'exact' : 'renumbered';
    }
    modes.set(streamId, mode);
    streams.push({ streamId, mode, events: events.length });
  }

  const versions = new Map<string, bigint>([...targets].map(([id, t]) => [id, t.version]));
  const appends: PlannedAppend[] = [];
  let open:
    | { streamId: string; source: string; expectedVersion: bigint; events: NewEvent[]; firstLine: number }
    | undefined;
  let toAppend = 0;
  for (const { lineNumber, event } of lines) {
    const mode = modes.get(event.streamId);
    if (mode === 'present') continue;
    const source = event.source === '' ? 'import' : event.source;
    if (
      !open ||
      open.streamId !== event.streamId ||
      open.source !== source ||
      open.events.length >= MAX_APPEND
    ) {
      if (open) appends.push(open);
      const version = versions.get(event.streamId) ?? 0n;
      open = {
        streamId: event.streamId,
        source,
        expectedVersion: version,
        events: [],
        firstLine: lineNumber,
      };
    }
    open.events.push(toNewEvent(event, mode === 'renumbered'));
    versions.set(event.streamId, (versions.get(event.streamId) ?? 0n) + 1n);
    toAppend++;
  }
  if (open) appends.push(open);
  return { streams, appends, toAppend, present: lines.length - toAppend };
}

/** The event to append: ids, type, data, metadata and time as recorded. */
function toNewEvent(e: ReplayEvent, renumbered: boolean): NewEvent {
  const metadata = renumbered
    ? {
        ...e.metadata,
        importedFrom: { streamVersion: e.streamVersion.toString(), position: e.position.toString() },
      }
    : e.metadata;
  return {
    eventId: e.eventId,
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: e.data,
    metadata,
    occurredAt: e.occurredAt,
  };
}
