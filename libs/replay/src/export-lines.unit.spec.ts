import { isDomainError } from '@orch/domain-kit';
import fc from 'fast-check';
import { ExportLineError, parseExportLine, toExportLine } from './export-lines';
import type { ReplayEvent } from './replay-event';
import { SESSION, dags, playWorkflow, steps } from './workflow-play.fixtures';

const event: ReplayEvent = {
  position: 9_007_199_254_740_993n, // beyond a double's integers: must travel as a string
  eventId: '0b7e3c52-5d1a-4e7f-8d62-1f0c3f1a9b11',
  type: 'TaskAssigned',
  source: 'distribution',
  streamId: `workflow-${SESSION}`,
  streamVersion: 12n,
  occurredAt: new Date('2026-11-21T10:00:00.123Z'),
  schemaVersion: 1,
  data: { sessionId: SESSION, taskId: 't1', attempt: 2, selection: { notes: [], eligible: 1 } },
  metadata: {
    correlationId: SESSION,
    decision: { type: 'MarkAssigned', at: { $date: '2026-11-21T10:00:00.123Z' } },
  },
};

/** The exported line of `event`, as an object to break. */
const fields = (): Record<string, unknown> => JSON.parse(toExportLine(event)) as Record<string, unknown>;

const problem = (line: string, n = 17): string => {
  try {
    parseExportLine(line, n);
  } catch (err) {
    if (err instanceof ExportLineError) return err.message;
    throw err;
  }
  throw new Error('parsed');
};

const broken = (change: (f: Record<string, unknown>) => void): string => {
  const f = fields();
  change(f);
  return problem(JSON.stringify(f));
};

describe('export lines', () => {
  it('write one JSON object per event with every field, bigints as decimal strings', () => {
    const line = toExportLine(event);
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      position: '9007199254740993',
      eventId: event.eventId,
      type: 'TaskAssigned',
      source: 'distribution',
      streamId: event.streamId,
      streamVersion: '12',
      occurredAt: '2026-11-21T10:00:00.123Z',
      schemaVersion: 1,
      data: event.data,
      metadata: event.metadata,
    });
  });

  it('read back as the events they were written from, for whole recorded sessions', () => {
    fc.assert(
      fc.property(dags, steps, (dag, plan) => {
        const history = playWorkflow(dag, plan).recorder.byCorrelation(SESSION);
        const lines = history.map(toExportLine);
        expect(lines.map((l, i) => parseExportLine(l, i + 1))).toEqual(history);
      }),
      { numRuns: 30 },
    );
    expect(parseExportLine(toExportLine(event), 1)).toEqual(event);
  });

  it('accept times with an offset and ignore fields they do not know', () => {
    const parsed = parseExportLine(
      JSON.stringify({ ...fields(), occurredAt: '2026-11-21T11:00:00.5+01:00', addedLater: true }),
      1,
    );
    expect(parsed.occurredAt).toEqual(new Date('2026-11-21T10:00:00.500Z'));
    expect('addedLater' in parsed).toBe(false);
  });

  it.each<[string, (f: Record<string, unknown>) => void, string]>([
    [
      'a position that is a number',
      (f) => (f['position'] = 17),
      'line 17: "position" must be a decimal string',
    ],
    ['a position with a sign', (f) => (f['position'] = '-3'), 'line 17: "position" must be a decimal string'],
    ['a position of 0', (f) => (f['position'] = '0'), 'line 17: "position" must be at least 1'],
    [
      'a stream version with a fraction',
      (f) => (f['streamVersion'] = '1.5'),
      'line 17: "streamVersion" must be a decimal string',
    ],
    [
      'a stream version with leading zeros',
      (f) => (f['streamVersion'] = '012'),
      'line 17: "streamVersion" must be a decimal string',
    ],
    ['no event id', (f) => delete f['eventId'], 'line 17: "eventId" must be a non-empty string'],
    ['an empty event id', (f) => (f['eventId'] = ''), 'line 17: "eventId" must be a non-empty string'],
    ['an empty type', (f) => (f['type'] = ''), 'line 17: "type" must be a non-empty string'],
    ['a source that is not a string', (f) => (f['source'] = 3), 'line 17: "source" must be a string'],
    ['an empty stream id', (f) => (f['streamId'] = ''), 'line 17: "streamId" must be a non-empty string'],
    [
      'a time that is not RFC 3339',
      (f) => (f['occurredAt'] = 'yesterday'),
      'line 17: "occurredAt" must be an RFC 3339 time',
    ],
    [
      'a time without a zone',
      (f) => (f['occurredAt'] = '2026-11-21T10:00:00'),
      'line 17: "occurredAt" must be an RFC 3339 time',
    ],
    [
      'a day the month lacks',
      (f) => (f['occurredAt'] = '2026-02-30T10:00:00Z'),
      'line 17: "occurredAt" must be an RFC 3339 time',
    ],
    [
      'hour 24',
      (f) => (f['occurredAt'] = '2026-11-21T24:00:00Z'),
      'line 17: "occurredAt" must be an RFC 3339 time',
    ],
    [
      'a time as milliseconds',
      (f) => (f['occurredAt'] = 1_763_719_200_000),
      'line 17: "occurredAt" must be an RFC 3339 time',
    ],
    [
      'schema version 0',
      (f) => (f['schemaVersion'] = 0),
      'line 17: "schemaVersion" must be a positive integer',
    ],
    [
      'a schema version as a string',
      (f) => (f['schemaVersion'] = '1'),
      'line 17: "schemaVersion" must be a positive integer',
    ],
    ['data that is a list', (f) => (f['data'] = []), 'line 17: "data" must be a JSON object'],
    ['no metadata', (f) => delete f['metadata'], 'line 17: "metadata" must be a JSON object'],
  ])('reject %s, naming the line and the field', (_, change, message) => {
    expect(broken(change)).toBe(message);
  });

  it('reject a line that is not JSON with the parser message, and JSON that is not an object', () => {
    expect(problem('{"position": "1",', 3)).toMatch(/^line 3: not JSON \(.+\)$/);
    expect(problem('', 4)).toMatch(/^line 4: not JSON \(/);
    expect(problem('[1, 2]', 5)).toBe('line 5: must be a JSON object (one event per line)');
    expect(problem('null', 6)).toBe('line 6: must be a JSON object (one event per line)');
  });

  it('throw a validation error carrying the line number and the field', () => {
    let caught: unknown;
    try {
      parseExportLine(JSON.stringify({ ...fields(), streamVersion: 'x' }), 42);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ExportLineError);
    const e = caught as ExportLineError;
    expect(isDomainError(e) && e.code).toBe('validation');
    expect(e.lineNumber).toBe(42);
    expect(e.problem).toBe('"streamVersion" must be a decimal string');
    expect(e.errors).toEqual([
      { path: 'line 42.streamVersion', message: '"streamVersion" must be a decimal string' },
    ]);
  });
});
