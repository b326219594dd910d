import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PostgresEventStore, migrate, type RecordedEvent } from '@orch/eventstore';
import { toExportLine, type ReplayEvent } from '@orch/replay';
import { testDatabaseUrl, uniqueName } from '@orch/testing';
import { Pool } from 'pg';
import { ExitCode } from './io';
import { runCli } from './testing/harness';

/** `orchestrator import` against the real PostgreSQL event store. */

const SESSION = '5e55e55e-0000-4000-8000-000000000001';
const AGENT = 'a6e7a6e7-0000-4000-8000-000000000002';
const uuid = (n: number) => `0000${String(n).padStart(4, '0')}-0000-4000-8000-000000000000`;

let seq = 0;
function event(
  position: number,
  source: string,
  streamId: string,
  streamVersion: number,
  type: string,
  data: Record<string, unknown>,
  metadata: Record<string, unknown> = {},
): ReplayEvent {
  seq++;
  return {
    position: BigInt(position),
    eventId: uuid(seq),
    type,
    source,
    streamId,
    streamVersion: BigInt(streamVersion),
    occurredAt: new Date(Date.UTC(2026, 2, 1, 10, 0, 0, position)),
    schemaVersion: 1,
    data,
    metadata: { correlationId: SESSION, causationId: `cause-${position}`, ...metadata },
  };
}

const workflow = `workflow-${SESSION}`;
const session = `session-${SESSION}`;
const agent = `agent-${AGENT}`;

/**
 * A session export: its own streams whole (from version 1), and an agent stream of which it holds
 * only the session's events (versions 4 and 6), as the gateway's export gives them.
 */
const EXPORT: ReplayEvent[] = [
  event(
    1001,
    'coordination',
    session,
    1,
    'SessionStarted',
    { sessionId: SESSION, goal: 'g', pattern: 'solo' },
    {
      principal: { id: 'key-1', role: 'operator' },
      decision: { type: 'StartSession', at: { $date: '2026-03-01T10:00:01.001Z' } },
      command: { name: 'coordination.StartSession', payload: { goal: 'g' } },
    },
  ),
  event(1002, 'distribution', workflow, 1, 'WorkflowSubmitted', { sessionId: SESSION, pattern: 'solo' }),
  event(1003, 'distribution', workflow, 2, 'TaskSubmitted', {
    sessionId: SESSION,
    taskId: 't-1',
    spec: { key: 'a' },
  }),
  event(1004, 'distribution', workflow, 3, 'TaskReady', { sessionId: SESSION, taskId: 't-1' }),
  event(1010, 'coordination', agent, 4, 'AgentTaskAssigned', { agentId: AGENT, taskId: 't-1', attempt: 1 }),
  event(1011, 'distribution', workflow, 4, 'TaskAssigned', { sessionId: SESSION, taskId: 't-1', attempt: 1 }),
  event(1020, 'coordination', agent, 6, 'AgentTaskReleased', { agentId: AGENT, taskId: 't-1', attempt: 1 }),
  event(1021, 'coordination', session, 2, 'SessionClosed', { sessionId: SESSION, status: 'completed' }),
];

const databaseUrl = testDatabaseUrl();
let pool: Pool;
const schemas: string[] = [];
let dir: string;

beforeAll(() => {
  pool = new Pool({ connectionString: databaseUrl, max: 2 });
  dir = mkdtempSync(join(tmpdir(), 'orch-import-'));
});

afterAll(async () => {
  for (const s of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await pool.end();
});

async function freshSchema(): Promise<string> {
  const schema = uniqueName('cli_import');
  schemas.push(schema);
  await migrate(pool, schema);
  return schema;
}

function file(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

async function readAll(schema: string): Promise<RecordedEvent[]> {
  const store = await PostgresEventStore.create({ pool, schema, source: 'test-reader', migrate: false });
  try {
    const all: RecordedEvent[] = [];
    for (;;) {
      const page = await store.readAll(all.at(-1)?.globalPosition ?? 0n, 1000);
      if (page.length === 0) return all;
      all.push(...page);
    }
  } finally {
    await store.close();
  }
}

const importInto = (schema: string, path: string, ...extra: string[]) =>
  runCli(['import', path, '--database-url', databaseUrl, '--schema', schema, ...extra]);

describe('orchestrator import', () => {
  it('appends a session export exactly, in its global order, and skips it when imported again', async () => {
    const schema = await freshSchema();
    const path = file('good.ndjson', EXPORT.map(toExportLine));

    const result = await importInto(schema, path);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`imported 8 events into 3 streams of schema ${schema}`);
    expect(result.stdout).toContain(`1 stream held only part of their history in the file`);
    expect(result.stdout).toContain(agent);

    const stored = await readAll(schema);
    // The file's order is the store's global order.
    expect(stored.map((e) => e.eventId)).toEqual(EXPORT.map((e) => e.eventId));
    for (const [i, e] of stored.entries()) {
      const original = EXPORT[i]!;
      expect({
        type: e.type,
        source: e.source,
        streamId: e.streamId,
        schemaVersion: e.schemaVersion,
        data: e.data,
        occurredAt: e.occurredAt.toISOString(),
      }).toEqual({
        type: original.type,
        source: original.source,
        streamId: original.streamId,
        schemaVersion: original.schemaVersion,
        data: original.data,
        occurredAt: original.occurredAt.toISOString(),
      });
    }
    // The session's own streams keep their versions and metadata as recorded.
    const own = stored.filter((e) => e.streamId !== agent);
    expect(own.map((e) => e.streamVersion)).toEqual(
      EXPORT.filter((e) => e.streamId !== agent).map((e) => e.streamVersion),
    );
    expect(own.map((e) => e.metadata)).toEqual(
      EXPORT.filter((e) => e.streamId !== agent).map((e) => e.metadata),
    );
    // The agent stream held versions 4 and 6 only: they go in at 1 and 2, the originals kept.
    const partial = stored.filter((e) => e.streamId === agent);
    expect(partial.map((e) => e.streamVersion)).toEqual([1n, 2n]);
    expect(partial.map((e) => e.metadata)).toEqual([
      { ...EXPORT[4]!.metadata, importedFrom: { streamVersion: '4', position: '1010' } },
      { ...EXPORT[6]!.metadata, importedFrom: { streamVersion: '6', position: '1020' } },
    ]);

    const again = await importInto(schema, path, '--json');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ appended: 0, alreadyPresent: 8 });
    expect(await readAll(schema)).toHaveLength(8);
  });

  it('keeps the global order of a long history interleaving services and streams', async () => {
    const schema = await freshSchema();
    const versions = new Map<string, number>();
    const long = Array.from({ length: 1500 }, (_, i) => {
      // Runs of one source over several streams, then another source: appends go in windows.
      const source = ['distribution', 'coordination', 'resources'][Math.floor(i / 7) % 3]!;
      const streamId = `${source}-${i % 4}`;
      const version = (versions.get(streamId) ?? 0) + 1;
      versions.set(streamId, version);
      return event(5000 + i, source, streamId, version, 'Tick', { i });
    });
    const result = await importInto(schema, file('long.ndjson', long.map(toExportLine)));
    expect(result.code).toBe(0);
    const stored = await readAll(schema);
    expect(stored.map((e) => e.eventId)).toEqual(long.map((e) => e.eventId));
    expect(stored.map((e) => e.streamVersion)).toEqual(long.map((e) => e.streamVersion));
  });

  it('refuses a corrupted line naming it, and appends nothing', async () => {
    const schema = await freshSchema();
    const lines = EXPORT.map(toExportLine);
    lines[5] = lines[5]!.replace('"streamVersion":"4"', '"streamVersion":4');
    const result = await importInto(schema, file('corrupted.ndjson', lines));
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain('line 6: "streamVersion" must be a decimal string; nothing was appended');
    expect(await readAll(schema)).toEqual([]);
  });

  it('refuses a file whose line repeats an event id, appending nothing', async () => {
    const schema = await freshSchema();
    const copy = { ...EXPORT[2]!, position: 1030n, streamVersion: 5n, streamId: workflow };
    const result = await importInto(schema, file('dup.ndjson', [...EXPORT, copy].map(toExportLine)));
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain(`line 9: event ${EXPORT[2]!.eventId} already appears on line 3`);
    expect(await readAll(schema)).toEqual([]);
  });

  it('refuses to mix into a stream that holds part of the file, appending nothing', async () => {
    const schema = await freshSchema();
    await importInto(schema, file('first-half.ndjson', EXPORT.slice(0, 3).map(toExportLine)));
    const before = await readAll(schema);
    const other = { ...EXPORT[3]!, eventId: uuid(9999) };
    const mixed = [EXPORT[1]!, EXPORT[2]!, other].map(toExportLine);
    const result = await importInto(schema, file('mixed.ndjson', mixed));
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toMatch(/stream workflow-.* already holds 2 of the file's 3 events/);
    expect(await readAll(schema)).toEqual(before);
  });

  it('exits 3 when the database cannot be reached', async () => {
    const path = file('unreachable.ndjson', EXPORT.map(toExportLine));
    const result = await runCli([
      'import',
      path,
      '--database-url',
      'postgres://nobody:secret@127.0.0.1:1/none',
    ]);
    expect(result.code).toBe(ExitCode.unreachable);
    expect(result.stderr).toContain('cannot reach PostgreSQL at postgres://nobody:***@127.0.0.1:1/none');
    expect(result.stderr).not.toContain('secret');
  });
});
