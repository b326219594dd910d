import { readFile } from 'node:fs/promises';
import { EventStoreUnavailableError, PostgresEventStore, migrate, type AppendResult } from '@orch/eventstore';
import { isExportLineError } from '@orch/replay';
import { Pool } from 'pg';
import {
  ImportConflictError,
  planImport,
  readImportFile,
  type ImportLine,
  type ImportPlan,
  type PlannedAppend,
  type TargetStream,
} from '../import/plan';
import { CliError, ExitCode, writeJson, writeLine, type Output } from '../io';

export interface ImportOptions {
  readonly databaseUrl: string;
  /** The event store's schema; defaults to `eventstore`. */
  readonly schema: string;
  readonly json: boolean;
}

/** Appends of one store sent together (they share group commits, in order). */
const WINDOW = 64;

/**
 * `orchestrator import <file> --database-url <url>`: appends an NDJSON export into the PostgreSQL
 * event store at that URL, offline (no gateway). The whole file is checked first - a bad line
 * is reported with its number and nothing is appended. Each event keeps its stream, id, type,
 * schema version, data, metadata, time and source (one store instance per recording service);
 * versions are kept wherever the file holds a stream contiguously (see {@link planImport}).
 */
export async function importFile(stdout: Output, file: string, options: ImportOptions): Promise<void> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`, ExitCode.refused);
  }
  let lines: ImportLine[];
  try {
    lines = readImportFile(text);
  } catch (err) {
    if (isExportLineError(err)) {
      throw new CliError(`cannot import ${file}: ${err.message}; nothing was appended`, ExitCode.refused);
    }
    throw err;
  }

  const where = redact(options.databaseUrl);
  const pool = new Pool({
    connectionString: options.databaseUrl,
    max: 4,
    connectionTimeoutMillis: 10_000,
    application_name: 'orchestrator-import',
  });
  // An idle connection dropping is reported on the pool; unheard, it would end the process.
  pool.on('error', () => undefined);
  const stores = new Map<string, PostgresEventStore>();
  const storeFor = async (source: string): Promise<PostgresEventStore> => {
    let store = stores.get(source);
    if (!store) {
      store = await PostgresEventStore.create({ pool, schema: options.schema, source, migrate: false });
      stores.set(source, store);
    }
    return store;
  };
  try {
    try {
      await migrate(pool, options.schema);
    } catch (err) {
      throw unreachable(err, where) ?? err;
    }
    const reader = await storeFor('import');
    const plan = planImport(lines, await targets(reader, lines));
    await appendAll(plan, storeFor);
    report(stdout, file, plan, options);
  } catch (err) {
    if (err instanceof ImportConflictError) {
      throw new CliError(`cannot import ${file}: ${err.message}; nothing was appended`, ExitCode.refused);
    }
    throw unreachable(err, where) ?? err;
  } finally {
    await Promise.all([...stores.values()].map((s) => s.close().catch(() => undefined)));
    await pool.end().catch(() => undefined);
  }
}

/** The target store's version and event ids of every stream the file touches. */
async function targets(
  store: PostgresEventStore,
  lines: readonly ImportLine[],
): Promise<Map<string, TargetStream>> {
  const found = new Map<string, TargetStream>();
  for (const streamId of new Set(lines.map((l) => l.event.streamId))) {
    const version = await store.streamVersion(streamId);
    const eventIds =
      version === 0n
        ? new Set<string>()
        : new Set((await store.readStream(streamId)).map((e) => e.eventId.toLowerCase()));
    found.set(streamId, { version, eventIds });
  }
  return found;
}

/**
 * Appends in file order. Consecutive appends of one source go together (a window shares group
 * commits, which keep their order); a failure stops the import and says how far it got.
 */
async function appendAll(
  plan: ImportPlan,
  storeFor: (source: string) => Promise<PostgresEventStore>,
): Promise<void> {
  let appended = 0;
  let i = 0;
  while (i < plan.appends.length) {
    const source = plan.appends[i]?.source ?? 'import';
    const window: PlannedAppend[] = [];
    while (i < plan.appends.length && window.length < WINDOW && plan.appends[i]?.source === source) {
      window.push(plan.appends[i] as PlannedAppend);
      i++;
    }
    const store = await storeFor(source);
    const results = await Promise.allSettled(
      window.map((a): Promise<AppendResult> => store.append(a.streamId, a.expectedVersion, a.events)),
    );
    for (const [k, result] of results.entries()) {
      const append = window[k] as PlannedAppend;
      if (result.status === 'rejected') {
        if (unreachable(result.reason, '') !== undefined) throw result.reason;
        const reason = result.reason instanceof Error ? result.reason.message : String(result.reason);
        throw new CliError(
          `appending line ${append.firstLine} (stream ${append.streamId}) failed: ${reason}; ${appended} events were appended before it`,
          ExitCode.failure,
          { cause: result.reason },
        );
      }
      appended += append.events.length;
    }
  }
}

function report(stdout: Output, file: string, plan: ImportPlan, options: ImportOptions): void {
  const renumbered = plan.streams.filter((s) => s.mode === 'renumbered');
  if (options.json) {
    return writeJson(stdout, {
      file,
      schema: options.schema,
      appended: plan.toAppend,
      alreadyPresent: plan.present,
      streams: plan.streams,
    });
  }
  const streams = plan.streams.filter((s) => s.mode !== 'present').length;
  writeLine(
    stdout,
    `imported ${plan.toAppend} event${plan.toAppend === 1 ? '' : 's'} into ${streams} stream${streams === 1 ? '' : 's'} of schema ${options.schema}` +
      (plan.present > 0 ? ` (${plan.present} already present, skipped)` : ''),
  );
  if (renumbered.length > 0) {
    writeLine(
      stdout,
      `${renumbered.length} stream${renumbered.length === 1 ? '' : 's'} held only part of their history in the file and went in at their next versions ` +
        `(metadata.importedFrom keeps each event's recorded version and position): ${renumbered.map((s) => s.streamId).join(', ')}`,
    );
  }
}

/** PostgreSQL SQLSTATEs and socket errors that mean "could not connect". */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  '28P01',
  '28000',
  '3D000',
  '57P03',
]);

/** A CliError (exit 3) for an error that means the database could not be reached; undefined otherwise. */
function unreachable(err: unknown, where: string): CliError | undefined {
  if (err instanceof CliError) return undefined;
  const code = (err as { code?: unknown; cause?: { code?: unknown } } | null)?.code;
  const causeCode = (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  const connect =
    err instanceof EventStoreUnavailableError ||
    (typeof code === 'string' && CONNECT_CODES.has(code)) ||
    (typeof causeCode === 'string' && CONNECT_CODES.has(causeCode)) ||
    (err instanceof Error &&
      /timeout exceeded when trying to connect|Connection terminated/i.test(err.message));
  if (!connect) return undefined;
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  return new CliError(
    `cannot reach PostgreSQL${where ? ` at ${where}` : ''}: ${(err as Error).message}${cause}`,
    ExitCode.unreachable,
    { cause: err },
  );
}

/** The URL without its password, to print. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(the given database URL)';
  }
}
