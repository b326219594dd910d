import { isExportLineError } from '@orch/replay';
import { ImportConflictError, planImport, readImportFile, type TargetStream } from './plan';

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** One export line (the gateway's NDJSON shape). */
function line(position: number, streamId: string, streamVersion: number, over: Record<string, unknown> = {}) {
  return JSON.stringify({
    position: String(position),
    eventId: id(position),
    type: 'TaskReady',
    source: streamId.startsWith('agent-') ? 'coordination' : 'distribution',
    streamId,
    streamVersion: String(streamVersion),
    occurredAt: '2026-03-01T10:00:00.000Z',
    schemaVersion: 1,
    data: { n: position },
    metadata: { correlationId: 's-1' },
    ...over,
  });
}

/** What readImportFile throws, as `line N: problem`. */
function failure(text: string): string {
  try {
    readImportFile(text);
  } catch (err) {
    if (isExportLineError(err)) return err.message;
    throw err;
  }
  throw new Error('the file was accepted');
}

describe('readImportFile', () => {
  it('reads every line with its number, skipping blank lines', () => {
    const lines = readImportFile(`${line(1, 'w', 1)}\n\n${line(2, 'w', 2)}\r\n`);
    expect(lines.map((l) => [l.lineNumber, l.event.position])).toEqual([
      [1, 1n],
      [3, 2n],
    ]);
  });

  it('names the line that is not an event', () => {
    expect(failure(`${line(1, 'w', 1)}\n${line(2, 'w', 2)}\n{"position": "3", oops\n`)).toMatch(
      /^line 3: not JSON/,
    );
    expect(failure(`${line(1, 'w', 1)}\n${line(2, 'w', 2, { streamVersion: 'two' })}`)).toBe(
      'line 2: "streamVersion" must be a decimal string',
    );
  });

  it('refuses ids the store cannot keep, and an id twice', () => {
    expect(failure(line(1, 'w', 1, { eventId: 'evt-1' }))).toMatch(/^line 1: "eventId" must be a UUID/);
    expect(failure(`${line(1, 'w', 1)}\n${line(2, 'w', 2, { eventId: id(1) })}`)).toBe(
      `line 2: event ${id(1)} already appears on line 1`,
    );
  });

  it('refuses positions out of global order and versions going back in a stream', () => {
    expect(failure(`${line(5, 'w', 1)}\n${line(4, 'x', 1)}`)).toMatch(
      /^line 2: position 4 does not follow line 1's \(5\)/,
    );
    expect(failure(`${line(1, 'w', 2)}\n${line(2, 'x', 1)}\n${line(3, 'w', 2)}`)).toMatch(
      /^line 3: stream w goes from version 2 \(line 1\) to 2/,
    );
  });

  it('refuses NUL characters, which jsonb cannot store', () => {
    expect(failure(line(1, 'w', 1, { data: { text: 'a\u0000b' } }))).toMatch(/^line 1: .*NUL/);
  });
});

const empty: TargetStream = { version: 0n, eventIds: new Set() };

describe('planImport', () => {
  const file = [
    line(10, 'workflow-1', 1),
    line(11, 'workflow-1', 2),
    line(12, 'agent-a', 7),
    line(13, 'workflow-1', 3),
    line(14, 'agent-a', 9),
  ].join('\n');
  const lines = readImportFile(file);

  it('keeps the versions of a stream the file holds from its start, and renumbers a partial one', () => {
    const plan = planImport(lines, new Map());
    expect(plan.streams).toEqual([
      { streamId: 'workflow-1', mode: 'exact', events: 3 },
      { streamId: 'agent-a', mode: 'renumbered', events: 2 },
    ]);
    expect(plan.toAppend).toBe(5);
    // In file order; expected version = the stream's version before each append.
    expect(
      plan.appends.map((a) => [a.streamId, a.source, a.expectedVersion, a.events.length, a.firstLine]),
    ).toEqual([
      ['workflow-1', 'distribution', 0n, 2, 1],
      ['agent-a', 'coordination', 0n, 1, 3],
      ['workflow-1', 'distribution', 2n, 1, 4],
      ['agent-a', 'coordination', 1n, 1, 5],
    ]);
  });

  it('appends events as recorded; a renumbered one keeps its version and position in metadata', () => {
    const plan = planImport(lines, new Map());
    const [first] = plan.appends[0]!.events;
    expect(first).toEqual({
      eventId: id(10),
      type: 'TaskReady',
      schemaVersion: 1,
      data: { n: 10 },
      metadata: { correlationId: 's-1' },
      occurredAt: new Date('2026-03-01T10:00:00.000Z'),
    });
    expect(plan.appends[1]!.events[0]!.metadata).toEqual({
      correlationId: 's-1',
      importedFrom: { streamVersion: '7', position: '12' },
    });
  });

  it('continues a target stream exactly when the file starts at its next version', () => {
    const continued = readImportFile([line(20, 'w', 4), line(21, 'w', 5)].join('\n'));
    const plan = planImport(continued, new Map([['w', { version: 3n, eventIds: new Set([id(1)]) }]]));
    expect(plan.streams[0]?.mode).toBe('exact');
    expect(plan.appends[0]?.expectedVersion).toBe(3n);
  });

  it('skips a stream whose events are all in the target already (imported before)', () => {
    const ids = new Set([10, 11, 13].map(id));
    const plan = planImport(lines, new Map([['workflow-1', { version: 3n, eventIds: ids }]]));
    expect(plan.streams[0]).toEqual({ streamId: 'workflow-1', mode: 'present', events: 3 });
    expect(plan.present).toBe(3);
    expect(plan.appends.every((a) => a.streamId === 'agent-a')).toBe(true);
  });

  it('refuses a target stream holding some of the events but not all', () => {
    const targets = new Map([['workflow-1', { version: 1n, eventIds: new Set([id(10)]) }]]);
    expect(() => planImport(lines, targets)).toThrow(ImportConflictError);
    expect(() => planImport(lines, targets)).toThrow(
      /holds 1 of the file's 3 events of it \(line 1\) but not the others \(line 2\)/,
    );
  });

  it('renumbers a stream that would not line up with the target', () => {
    const plan = planImport(lines, new Map([['workflow-1', { ...empty, version: 5n }]]));
    expect(plan.streams[0]?.mode).toBe('renumbered');
    expect(plan.appends[0]?.expectedVersion).toBe(5n);
  });

  it('splits a long run into appends of at most 500 events', () => {
    const many = readImportFile(Array.from({ length: 1203 }, (_, i) => line(i + 1, 'w', i + 1)).join('\n'));
    const plan = planImport(many, new Map());
    expect(plan.appends.map((a) => [a.expectedVersion, a.events.length])).toEqual([
      [0n, 500],
      [500n, 500],
      [1000n, 203],
    ]);
  });
});
