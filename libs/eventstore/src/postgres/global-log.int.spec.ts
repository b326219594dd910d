import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Client, Pool } from 'pg';
import {
  PostgresEventStore,
  WrongExpectedVersionError,
  isWrongExpectedVersion,
  migrate,
  type AppendResult,
  type NewEvent,
  type RecordedEvent,
  type Subscription,
} from '..';
import { eventually, testDatabaseUrl, uniqueName } from '@orch/testing';

/**
 * The global log is gap-free and never reordered under concurrent writers in several processes
 * (docs/adr/0003-gap-free-global-log.md). Each store below has its own pool, as a replica would,
 * and a subscriber reads while they write. Transactions that commit late are real: a trigger
 * sleeps inside the INSERT of a 'LateCommit' event, and raw clients hold transactions open at
 * chosen points of the append protocol.
 */

const schema = uniqueName('es_gaplog');
const admin = new Pool({ connectionString: testDatabaseUrl(), max: 3 });
const stores: PostgresEventStore[] = [];
const rawClients: Client[] = [];

const event = (type = 'Written', data: unknown = {}): NewEvent => ({ eventId: randomUUID(), type, data });

async function newStore(source: string): Promise<PostgresEventStore> {
  const store = await PostgresEventStore.create({
    connectionString: testDatabaseUrl(),
    poolSize: 3,
    schema,
    source,
    migrate: false,
    pollIntervalMs: 100,
  });
  stores.push(store);
  return store;
}

async function rawClient(): Promise<Client> {
  const client = new Client({ connectionString: testDatabaseUrl(), application_name: 'gap-test-raw' });
  await client.connect();
  rawClients.push(client);
  return client;
}

/** Takes `n` positions and inserts `n` events in an open transaction, as the store's append does. */
async function takePositions(client: Client, streamId: string, n: number): Promise<bigint[]> {
  const { rows } = await client.query<{ global_position: string }>(
    `WITH head AS (UPDATE "${schema}".log_head SET position = position + $1 WHERE id RETURNING position - $1 AS base)
     INSERT INTO "${schema}".events (global_position, event_id, stream_id, stream_version, type, source, data)
     SELECT h.base + i, gen_random_uuid(), $2, i, 'HeldEvent', 'held-writer', '{}'::jsonb
     FROM head h CROSS JOIN generate_series(1, $1::int) AS i
     RETURNING global_position`,
    [n, streamId],
  );
  return rows.map((r) => BigInt(r.global_position)).sort((a, b) => (a < b ? -1 : 1));
}

/** Store backends waiting on a lock (the head row lock) right now. */
const blockedAppends = async (): Promise<number> => {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity
     WHERE application_name LIKE 'orch-eventstore/gap-%' AND wait_event_type = 'Lock'`,
  );
  return rows[0]!.n;
};

/** Reads a subscription into an array in the background. */
function collect(subscription: Subscription): { events: RecordedEvent[]; done: Promise<void> } {
  const events: RecordedEvent[] = [];
  const done = (async () => {
    for await (const e of subscription) events.push(e);
  })();
  return { events, done };
}

/** Positions must be exactly from+1, from+2, ... : no hole, no repeat, no reordering. */
function expectContiguous(events: readonly RecordedEvent[], from: bigint): void {
  const positions = events.map((e) => e.globalPosition);
  expect(positions).toEqual(positions.map((_, i) => from + BigInt(i + 1)));
  expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
}

const waitForCount = (list: readonly unknown[], n: number, what: string): Promise<true> =>
  eventually(() => (list.length >= n ? true : undefined), { timeoutMs: 20_000, what });

beforeAll(async () => {
  await migrate(admin, schema);
  await admin.query(`
    CREATE FUNCTION "${schema}".late_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.type = 'LateCommit' THEN PERFORM pg_sleep(0.8); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER late_commit BEFORE INSERT ON "${schema}".events FOR EACH ROW EXECUTE FUNCTION "${schema}".late_commit();
  `);
});

afterAll(async () => {
  for (const client of rawClients) await client.end().catch(() => undefined);
  for (const store of stores) await store.close();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('global log under concurrent writers', () => {
  it('delivers every event exactly once, in strictly increasing contiguous positions, while replicas write', async () => {
    const writers = await Promise.all(['gap-w1', 'gap-w2', 'gap-w3'].map(newStore));
    const late = await newStore('gap-late');
    const subscriber = await newStore('gap-reader');
    const from = await subscriber.headPosition();
    const subscription = subscriber.subscribeAll(from, { batchSize: 50 });
    const received = collect(subscription);

    const streams = Array.from({ length: 20 }, () => `gap-${randomUUID()}`);
    const results: AppendResult[] = [];
    let conflicts = 0;
    const writer = async (store: PostgresEventStore, seed: number): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        const streamId = streams[(seed * 7 + i * 13) % streams.length]!;
        const batch = Array.from({ length: 1 + ((seed + i) % 3) }, () => event());
        try {
          // Half the appends race on an exact version (optimistic concurrency), half append at any version.
          const expected = i % 2 === 0 ? await store.streamVersion(streamId) : 'any';
          results.push(await store.append(streamId, expected, batch));
        } catch (error) {
          if (!isWrongExpectedVersion(error)) throw error;
          conflicts++;
        }
      }
    };

    // A writer whose transaction takes positions and then stays open (it sleeps inside the INSERT)
    // while every other writer keeps appending and the subscriber keeps reading.
    const lateAppend = (async () => {
      await waitForCount(results, 60, 'some appends before the late commit');
      return late.append(`gap-late-${randomUUID()}`, 'no_stream', [event('LateCommit'), event()]);
    })();
    await Promise.all(
      writers.flatMap((store, s) => Array.from({ length: 6 }, (_, w) => writer(store, s * 6 + w))),
    );
    results.push(await lateAppend);

    const total = results.reduce((n, r) => n + r.positions.length, 0);
    await waitForCount(received.events, total, `all ${total} events at the subscriber`);
    await subscription.close();
    await received.done;

    expect(received.events).toHaveLength(total);
    expectContiguous(received.events, from);
    const appended = new Set(results.flatMap((r) => r.positions));
    expect(new Set(received.events.map((e) => e.globalPosition))).toEqual(appended);
    // Within each stream the versions also arrive in order, without holes.
    for (const streamId of streams) {
      const versions = received.events.filter((e) => e.streamId === streamId).map((e) => e.streamVersion);
      expect(versions).toEqual(versions.map((_, i) => BigInt(i + 1)));
    }
    expect(conflicts + results.length).toBe(3 * 6 * 25 + 1);
  });

  it('hides everything after a transaction that holds positions until it commits, then delivers in order', async () => {
    const store = await newStore('gap-blocked');
    const reader = await newStore('gap-reader2');
    const held = await rawClient();
    const from = await reader.headPosition();
    const subscription = reader.subscribeAll(from);
    const received = collect(subscription);

    await held.query('BEGIN');
    const [heldPosition] = await takePositions(held, `held-${randomUUID()}`, 1);
    expect(heldPosition).toBe(from + 1n);

    // Other replicas append meanwhile: they cannot take positions until the holder commits.
    const appends = Array.from({ length: 8 }, (_, i) =>
      store.append(`gap-${randomUUID()}`, 'no_stream', [event(), event()]).then((r) => ({ i, r })),
    );
    await eventually(async () => ((await blockedAppends()) > 0 ? true : undefined), {
      what: 'appends blocked on the log head',
    });

    // Nothing at or after the held position is visible, to readers or to the subscriber.
    expect(await reader.readAll(from, 100)).toEqual([]);
    expect(await reader.headPosition()).toBe(from);
    expect(received.events).toEqual([]);

    await held.query('COMMIT');
    const done = await Promise.all(appends);
    const total = 1 + done.length * 2;
    await waitForCount(received.events, total, 'the held event and the appends after it');
    await subscription.close();
    await received.done;

    expectContiguous(received.events, from);
    expect(received.events[0]!.type).toBe('HeldEvent');
    expect(done.every(({ r }) => r.positions.every((p) => p > heldPosition!))).toBe(true);
  });

  it('leaves no hole when a transaction that took positions rolls back', async () => {
    const store = await newStore('gap-rollback');
    const held = await rawClient();
    const from = await store.headPosition();

    await held.query('BEGIN');
    const taken = await takePositions(held, `rolled-back-${randomUUID()}`, 5);
    const appends = Array.from({ length: 4 }, () =>
      store.append(`gap-${randomUUID()}`, 'no_stream', [event()]),
    );
    await eventually(async () => ((await blockedAppends()) > 0 ? true : undefined), {
      what: 'appends blocked on the log head',
    });
    await held.query('ROLLBACK');
    const results = await Promise.all(appends);

    // The positions the rolled-back transaction held are given to the next writers.
    const positions = results.flatMap((r) => r.positions).sort((a, b) => (a < b ? -1 : 1));
    expect(positions).toEqual([from + 1n, from + 2n, from + 3n, from + 4n]);
    expect(positions[0]).toBe(taken[0]);
    const log = await store.readAll(from, 100);
    expectContiguous(log, from);
    expect(log.some((e) => e.type === 'HeldEvent')).toBe(false);
  });

  it('does not hold up other streams while a writer is about to take positions, and orders it after them', async () => {
    const store = await newStore('gap-streamlock');
    const held = await rawClient();
    const from = await store.headPosition();
    const locked = `locked-${randomUUID()}`;

    // The holder has locked its stream and read its version, but has not taken positions yet.
    await held.query('BEGIN');
    await held.query(`SELECT * FROM "${schema}".begin_append($1::jsonb)`, [
      JSON.stringify({ streams: [locked], eventIds: [] }),
    ]);

    // Appends to other streams commit freely meanwhile...
    const others = await Promise.all(
      Array.from({ length: 5 }, () => store.append(`gap-${randomUUID()}`, 'no_stream', [event()])),
    );
    // ...while an append to the locked stream waits for the holder, then sees what it wrote.
    const contender = store.append(locked, 'no_stream', [event()]);
    await eventually(async () => ((await blockedAppends()) > 0 ? true : undefined), {
      what: 'the contender to wait on the stream lock',
    });

    const [heldPosition] = await takePositions(held, locked, 1);
    await held.query('COMMIT');
    const error = await contender.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WrongExpectedVersionError);
    expect((error as WrongExpectedVersionError).actual).toBe(1n);

    expect(heldPosition).toBe(from + 6n);
    expect(others.flatMap((r) => r.positions).every((p) => p < heldPosition!)).toBe(true);
    expectContiguous(await store.readAll(from, 100), from);
  });
});
