import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Pool } from 'pg';
import { PostgresEventStore, migrate, type NewEvent, type RecordedEvent } from '@orch/eventstore';
import { testDatabaseUrl, uniqueName } from '@orch/testing';

/**
 * Event store throughput against the real PostgreSQL, each figure beside its raw floor measured
 * in the same run on the same machine: plain INSERTs into a table of the same shape (same
 * columns, same indexes, identity positions) and plain SELECTs of the same rows. The ratio
 * store/floor is the cost of what the store adds (gap-free positions, idempotency and version
 * checks, group commit, mapping and upcasting).
 *
 * Counts come from the environment so a run stays under a minute on a small machine:
 *   BENCH_EVENTS (default 4000)       events appended one per append by one writer; the 16-writer
 *                                     run appends 2x, the batched run 10x this number
 *   BENCH_WRITERS (default 16)        concurrent writers
 *   BENCH_FOLD_EVENTS (default 20000) length of the stream folded
 *   BENCH_DATABASE_URL                defaults to the test database
 */

const env = (name: string, fallback: number): number => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
};

const config = {
  events: env('BENCH_EVENTS', 4000),
  writers: env('BENCH_WRITERS', 16),
  foldEvents: env('BENCH_FOLD_EVENTS', 20_000),
  batchSize: 100,
  pageSize: 1000,
  databaseUrl: process.env['BENCH_DATABASE_URL'] ?? testDatabaseUrl(),
};

interface Measured {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

interface Row {
  readonly scenario: string;
  readonly store: Measured;
  readonly floor: Measured;
  /** store events/s divided by floor events/s. */
  readonly ratio: number;
  readonly note?: string;
}

async function measure(events: number, work: () => Promise<unknown>): Promise<Measured> {
  const started = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { events, seconds, eventsPerSecond: events / seconds };
}

/**
 * Best of `runs` for the store and for its floor, run alternately so that cache warmth and
 * background load (a shared machine) fall on both sides alike.
 */
async function bestOfAlternating(
  runs: number,
  events: number,
  store: () => Promise<unknown>,
  floor: () => Promise<unknown>,
): Promise<{ store: Measured; floor: Measured }> {
  const faster = (a: Measured | undefined, b: Measured): Measured =>
    a && a.eventsPerSecond >= b.eventsPerSecond ? a : b;
  let bestStore: Measured | undefined;
  let bestFloor: Measured | undefined;
  for (let i = 0; i < runs; i++) {
    bestStore = faster(bestStore, await measure(events, store));
    bestFloor = faster(bestFloor, await measure(events, floor));
  }
  return { store: bestStore!, floor: bestFloor! };
}

/** Store and floor in alternating rounds; each side's rate is its events over its summed time. */
async function alternating(
  rounds: number,
  eventsPerRound: number,
  store: (round: number) => Promise<unknown>,
  floor: (round: number) => Promise<unknown>,
): Promise<{ store: Measured; floor: Measured }> {
  let storeSeconds = 0;
  let floorSeconds = 0;
  for (let r = 0; r < rounds; r++) {
    storeSeconds += (await measure(eventsPerRound, () => store(r))).seconds;
    floorSeconds += (await measure(eventsPerRound, () => floor(r))).seconds;
  }
  const events = rounds * eventsPerRound;
  return {
    store: { events, seconds: storeSeconds, eventsPerSecond: events / storeSeconds },
    floor: { events, seconds: floorSeconds, eventsPerSecond: events / floorSeconds },
  };
}

// A payload shaped like the system's events (a task assignment), about 400 bytes of JSON.
const sessionIds = Array.from({ length: 50 }, () => randomUUID());
function payload(i: number): { data: unknown; metadata: NewEvent['metadata'] } {
  const sessionId = sessionIds[i % sessionIds.length]!;
  return {
    data: {
      taskId: randomUUID(),
      agentId: randomUUID(),
      sessionId,
      key: `task-${i}`,
      attempt: 1 + (i % 3),
      deadline: '2026-01-01T00:00:00.000Z',
      claims: [
        { pool: 'openai.tokens_per_minute', amount: 2000 },
        { lock: 'repo:acme/api:src/auth/**', mode: 'exclusive' },
      ],
      input: { description: 'Review the authentication module for token expiry handling', priority: 5 },
    },
    metadata: {
      correlationId: sessionId,
      causationId: randomUUID(),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      principal: { id: 'operator-1', role: 'operator' },
    },
  };
}

const newEvent = (i: number): NewEvent => ({ eventId: randomUUID(), type: 'TaskAssigned', ...payload(i) });

/** The same event as a raw row for the floor table. */
function rawRow(i: number, streamId: string, version: number): unknown[] {
  const { data, metadata } = payload(i);
  const { correlationId, causationId, ...rest } = metadata!;
  return [
    randomUUID(),
    streamId,
    version,
    'TaskAssigned',
    1,
    'bench',
    JSON.stringify(data),
    JSON.stringify(rest),
    correlationId,
    causationId,
  ];
}

const RAW_COLUMNS =
  'event_id, stream_id, stream_version, type, schema_version, source, data, metadata, correlation_id, causation_id';
const READ_COLUMNS =
  'global_position, event_id, stream_id, stream_version, type, schema_version, source, data, metadata, correlation_id, causation_id, occurred_at';

export async function run(): Promise<void> {
  const schema = uniqueName('bench_es');
  const s = `"${schema}"`;
  const admin = new Pool({ connectionString: config.databaseUrl, max: config.writers + 2 });
  const machine = await describeMachine(admin);
  const rows: Row[] = [];
  const extras: Record<string, number> = {};
  let store: PostgresEventStore | undefined;
  const total = (): number => rows.reduce((n, r) => n + r.store.events, 0);
  const benchStarted = Date.now();
  try {
    await migrate(admin, schema);
    await admin.query(`
      CREATE TABLE ${s}.raw_events (LIKE ${s}.events INCLUDING ALL);
      ALTER TABLE ${s}.raw_events ALTER COLUMN global_position ADD GENERATED ALWAYS AS IDENTITY;
      ALTER TABLE ${s}.raw_events ALTER COLUMN occurred_at SET DEFAULT now();
    `);
    store = await PostgresEventStore.create({
      connectionString: config.databaseUrl,
      schema,
      source: 'bench',
      poolSize: config.writers + 2,
      migrate: false,
    });
    const es = store;
    const insertOne = `INSERT INTO ${s}.raw_events (${RAW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10)`;

    extras['roundTripMicros'] = await roundTrip(admin);

    // Warm-up: connections, JIT, plan caches.
    for (let i = 0; i < 200; i++) await es.append(`warmup-${i % 10}`, 'any', [newEvent(i)]);
    for (let i = 0; i < 200; i++)
      await admin.query({ name: 'raw-one', text: insertOne, values: rawRow(i, 'warmup', i + 1) });

    // Write scenarios run in rounds, store and floor alternately, so background load on a shared
    // machine falls on both sides alike.
    const rounds = 4;

    // 1. One writer, one event per append: latency-bound (a round trip and a WAL flush each).
    const n1 = Math.floor(config.events / rounds);
    rows.push({
      scenario: '1 writer, 1 event/append',
      ...(await alternating(
        rounds,
        n1,
        async (r) => {
          for (let i = 0; i < n1; i++) await es.append(`one-${r}-${i % 100}`, 'any', [newEvent(i)]);
        },
        async (r) => {
          for (let i = 0; i < n1; i++) {
            await admin.query({
              name: 'raw-one',
              text: insertOne,
              values: rawRow(i, `one-${r}-${i % 100}`, Math.floor(i / 100) + 1),
            });
          }
        },
      )),
      ratio: 0,
      note: 'floor: one INSERT per transaction',
    });

    // 2. Concurrent writers, one event per append: group commit gathers them.
    const perWriter = Math.floor((config.events * 2) / config.writers / rounds);
    const notifications = await countNotifications(config.databaseUrl, `${schema}_appended`);
    const concurrent = await alternating(
      rounds,
      perWriter * config.writers,
      (r) =>
        Promise.all(
          Array.from({ length: config.writers }, async (_, w) => {
            for (let i = 0; i < perWriter; i++)
              await es.append(`conc-${r}-${w}-${i % 10}`, 'any', [newEvent(i)]);
          }),
        ),
      (r) =>
        Promise.all(
          Array.from({ length: config.writers }, async (_, w) => {
            for (let i = 0; i < perWriter; i++) {
              await admin.query({
                name: 'raw-one',
                text: insertOne,
                values: rawRow(i, `conc-${r}-${w}-${i % 10}`, Math.floor(i / 10) + 1),
              });
            }
          }),
        ),
    );
    extras['groupCommitAvgEventsPerTransaction'] = concurrent.store.events / (await notifications.stop());
    rows.push({
      scenario: `${config.writers} writers, 1 event/append`,
      ...concurrent,
      ratio: 0,
      note: `floor: ${config.writers} connections, one INSERT per transaction`,
    });

    // 3. Batched appends of 100 events, one writer.
    const appends = Math.floor((config.events * 10) / config.batchSize / rounds);
    const batch = (a: number): NewEvent[] =>
      Array.from({ length: config.batchSize }, (_, i) => newEvent(a * config.batchSize + i));
    rows.push({
      scenario: `1 writer, ${config.batchSize} events/append`,
      ...(await alternating(
        rounds,
        appends * config.batchSize,
        async (r) => {
          for (let a = 0; a < appends; a++) await es.append(`batch-${r}-${a % 20}`, 'any', batch(a));
        },
        async (r) => {
          for (let a = 0; a < appends; a++) {
            const rowsOf = Array.from({ length: config.batchSize }, (_, i) =>
              rawRow(i, `batch-${r}-${a % 20}`, Math.floor(a / 20) * config.batchSize + i + 1),
            );
            const columns = rowsOf[0]!.map((_, c) => rowsOf.map((row) => row[c]));
            await admin.query({
              name: 'raw-batch',
              text: `INSERT INTO ${s}.raw_events (${RAW_COLUMNS})
                     SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::text[],
                                          $7::jsonb[], $8::jsonb[], $9::text[], $10::text[])`,
              values: columns,
            });
          }
        },
      )),
      ratio: 0,
      note: `floor: one multi-row INSERT of ${config.batchSize} rows per transaction`,
    });

    // 4. Fold one long stream: readStream + reduce, beside a plain SELECT of the same rows + reduce.
    const foldStream = `fold-${randomUUID()}`;
    for (let a = 0; a < config.foldEvents; a += 1000) {
      const size = Math.min(1000, config.foldEvents - a);
      await es.append(
        foldStream,
        'any',
        Array.from({ length: size }, (_, i) => newEvent(a + i)),
      );
    }
    const reduce = (events: ReadonlyArray<{ data: unknown }>): number =>
      events.reduce((sum, e) => sum + (e.data as { attempt: number }).attempt, 0);
    const fold = await bestOfAlternating(
      3,
      config.foldEvents,
      async () => reduce(await es.readStream(foldStream)),
      async () => {
        const { rows: raw } = await admin.query<{ data: unknown }>({
          name: 'raw-stream',
          text: `SELECT ${READ_COLUMNS} FROM ${s}.events WHERE stream_id = $1 ORDER BY stream_version`,
          values: [foldStream],
        });
        return reduce(raw);
      },
    );

    // 5. readAll over everything appended, pages of 1000.
    const head = await es.headPosition();
    const readAll = await bestOfAlternating(
      3,
      Number(head),
      async () => {
        let cursor = 0n;
        for (;;) {
          const page: RecordedEvent[] = await es.readAll(cursor, config.pageSize);
          if (page.length === 0) break;
          cursor = page[page.length - 1]!.globalPosition;
        }
      },
      async () => {
        let cursor = '0';
        for (;;) {
          const { rows: page } = await admin.query<{ global_position: string }>({
            name: 'raw-page',
            text: `SELECT ${READ_COLUMNS} FROM ${s}.events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
            values: [cursor, config.pageSize],
          });
          if (page.length === 0) break;
          cursor = page[page.length - 1]!.global_position;
        }
      },
    );
    rows.push({
      scenario: `readAll, pages of ${config.pageSize}`,
      ...readAll,
      ratio: 0,
      note: 'floor: the same SELECT, rows as the driver returns them (JSON parsed)',
    });
    rows.push({
      scenario: `fold a ${config.foldEvents}-event stream`,
      ...fold,
      ratio: 0,
      note: 'readStream + reduce vs the same SELECT + reduce',
    });

    for (const [i, row] of rows.entries())
      rows[i] = { ...row, ratio: row.store.eventsPerSecond / row.floor.eventsPerSecond };
  } finally {
    await store?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`).catch(() => undefined);
    await admin.end();
  }

  const result = {
    bench: 'eventstore',
    date: new Date().toISOString(),
    machine,
    config: { ...config, databaseUrl: redact(config.databaseUrl) },
    results: rows,
    extras,
    wallSeconds: (Date.now() - benchStarted) / 1000,
    appendedByStore: total(),
  };
  printTable(rows, extras, machine);
  const file = path.join(__dirname, '..', 'results', `eventstore-${result.date.slice(0, 10)}.json`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), file)} (${result.wallSeconds.toFixed(1)} s)`);
}

async function roundTrip(pool: Pool): Promise<number> {
  const client = await pool.connect();
  try {
    for (let i = 0; i < 100; i++) await client.query('SELECT 1');
    const n = 2000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await client.query('SELECT 1');
    return Number(process.hrtime.bigint() - started) / 1e3 / n;
  } finally {
    client.release();
  }
}

/** Counts the store's NOTIFYs: one per committed transaction, so events / notifications = group size. */
async function countNotifications(url: string, channel: string): Promise<{ stop(): Promise<number> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  let count = 0;
  client.on('notification', () => count++);
  await client.query(`LISTEN "${channel}"`);
  return {
    async stop() {
      // Notifications of the last commits may still be in flight; a round trip lets them arrive.
      await client.query('SELECT 1');
      await client.end();
      return count;
    },
  };
}

async function describeMachine(pool: Pool) {
  const show = async (name: string): Promise<string> =>
    (await pool.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    postgres: await show('server_version'),
    settings: Object.fromEntries(
      await Promise.all(
        [
          'fsync',
          'synchronous_commit',
          'wal_sync_method',
          'full_page_writes',
          'commit_delay',
          'shared_buffers',
          'max_wal_size',
        ].map(async (name) => [name, await show(name)] as const),
      ),
    ),
  };
}

function printTable(
  rows: readonly Row[],
  extras: Record<string, number>,
  machine: Awaited<ReturnType<typeof describeMachine>>,
): void {
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  console.log(
    `machine: ${machine.cpus} cpus (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, PostgreSQL ${machine.postgres}`,
  );
  console.log(
    `settings: ${Object.entries(machine.settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  console.log('');
  console.log(
    `${'scenario'.padEnd(32)} ${'store ev/s'.padStart(12)} ${'floor ev/s'.padStart(12)} ${'ratio'.padStart(7)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.scenario.padEnd(32)} ${fmt(r.store.eventsPerSecond).padStart(12)} ${fmt(r.floor.eventsPerSecond).padStart(12)} ${r.ratio.toFixed(2).padStart(7)}`,
    );
  }
  console.log('');
  console.log(`round trip (SELECT 1): ${extras['roundTripMicros']?.toFixed(0)} us`);
  console.log(
    `group commit with ${config.writers} writers: ${extras['groupCommitAvgEventsPerTransaction']?.toFixed(1)} events per transaction`,
  );
}

const redact = (url: string): string => url.replace(/\/\/[^@/]*@/, '//');
