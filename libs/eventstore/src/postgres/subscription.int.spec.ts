import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Pool } from 'pg';
import pino from 'pino';
import { PostgresEventStore, migrate, type NewEvent, type RecordedEvent } from '..';
import { eventually, startTcpProxy, testDatabaseUrl, uniqueName, type TcpProxy } from '@orch/testing';

/**
 * Subscriptions through network failures. The subscribing store reaches PostgreSQL through a TCP
 * proxy the test can cut, refuse or black-hole; the writing store connects directly.
 */

const schema = uniqueName('es_subs');
const admin = new Pool({ connectionString: testDatabaseUrl(), max: 2 });
let writer: PostgresEventStore;
let proxy: TcpProxy;
const stores: PostgresEventStore[] = [];

const event = (): NewEvent => ({ eventId: randomUUID(), type: 'Ticked', data: {} });

interface LogLine {
  level: number;
  msg: string;
}

async function subscriberStore(options: { pollIntervalMs: number; viaProxy?: boolean }) {
  const lines: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  const store = await PostgresEventStore.create({
    connectionString: options.viaProxy === false ? testDatabaseUrl() : proxy.url(testDatabaseUrl()),
    schema,
    source: 'subscriber',
    migrate: false,
    pollIntervalMs: options.pollIntervalMs,
    logger,
  });
  stores.push(store);
  return { store, lines };
}

async function next(
  iterator: AsyncIterator<RecordedEvent>,
  what: string,
): Promise<IteratorResult<RecordedEvent>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} within 15 s`)), 15_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const warned = (lines: LogLine[], text: string) =>
  eventually(() => (lines.some((l) => l.level === 40 && l.msg.includes(text)) ? true : undefined), {
    what: `a warning containing "${text}"`,
  });

/** Backends of the subscriber's LISTEN connection. */
const listeners = async (): Promise<number> => {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'orch-eventstore/subscriber' AND query LIKE 'LISTEN%'`,
  );
  return rows[0]!.n;
};

beforeAll(async () => {
  await migrate(admin, schema);
  proxy = await startTcpProxy('127.0.0.1', Number(new URL(testDatabaseUrl()).port || 5432));
  writer = await PostgresEventStore.create({
    connectionString: testDatabaseUrl(),
    schema,
    source: 'writer',
    migrate: false,
  });
});

afterAll(async () => {
  proxy.setMode('up');
  proxy.cut();
  for (const store of stores) await store.close();
  await writer.close();
  await proxy.close();
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
});

describe('subscribeAll wake-up', () => {
  it('wakes on NOTIFY without waiting for the poll interval', async () => {
    // A poll interval far beyond the test's patience: only a notification can deliver in time.
    const { store } = await subscriberStore({ pollIntervalMs: 600_000, viaProxy: false });
    const subscription = store.subscribeAll(await store.headPosition());
    const iterator = subscription[Symbol.asyncIterator]();
    const pending = next(iterator, 'notified event');
    await eventually(async () => ((await listeners()) > 0 ? true : undefined), {
      what: 'the LISTEN connection',
    });
    const result = await writer.append(`s-${randomUUID()}`, 'no_stream', [event()]);
    expect((await pending).value?.globalPosition).toBe(result.lastGlobalPosition);
    await subscription.close();
  });

  it('falls back to polling for commits that send no notification', async () => {
    const { store } = await subscriberStore({ pollIntervalMs: 100, viaProxy: false });
    const from = await store.headPosition();
    const subscription = store.subscribeAll(from);
    const iterator = subscription[Symbol.asyncIterator]();
    const pending = next(iterator, 'polled event');
    // A writer that commits without NOTIFY (the store always notifies; this proves the fallback).
    await admin.query(
      `WITH head AS (UPDATE "${schema}".log_head SET position = position + 1 WHERE id RETURNING position)
       INSERT INTO "${schema}".events (global_position, event_id, stream_id, stream_version, type, source, data)
       SELECT position, gen_random_uuid(), $1, 1, 'Silent', 'raw', '{}' FROM head`,
      [`s-${randomUUID()}`],
    );
    expect((await pending).value).toMatchObject({ type: 'Silent', globalPosition: from + 1n });
    await subscription.close();
  });
});

describe('subscribeAll through network failures', () => {
  it('survives losing its LISTEN connection, logs it and reconnects', async () => {
    const { store, lines } = await subscriberStore({ pollIntervalMs: 200 });
    const subscription = store.subscribeAll(await store.headPosition());
    const iterator = subscription[Symbol.asyncIterator]();
    const first = next(iterator, 'first event');
    await eventually(async () => ((await listeners()) > 0 ? true : undefined), {
      what: 'the LISTEN connection',
    });
    const r1 = await writer.append(`s-${randomUUID()}`, 'no_stream', [event()]);
    expect((await first).value?.globalPosition).toBe(r1.lastGlobalPosition);

    proxy.cut();
    await warned(lines, 'LISTEN connection lost');
    const r2 = await writer.append(`s-${randomUUID()}`, 'no_stream', [event()]);
    expect((await next(iterator, 'event after the cut')).value?.globalPosition).toBe(r2.lastGlobalPosition);
    await eventually(async () => ((await listeners()) > 0 ? true : undefined), {
      what: 'the LISTEN connection to come back',
    });
    await subscription.close();
  });

  it('retries reads while the database is unreachable and resumes where it stopped', async () => {
    const { store, lines } = await subscriberStore({ pollIntervalMs: 100 });
    const from = await store.headPosition();
    const subscription = store.subscribeAll(from);
    const iterator = subscription[Symbol.asyncIterator]();

    proxy.setMode('refuse');
    proxy.cut();
    const pending = next(iterator, 'event after the outage');
    const during = [await writer.append(`s-${randomUUID()}`, 'no_stream', [event(), event()])];
    await warned(lines, 'subscription read failed; retrying');
    during.push(await writer.append(`s-${randomUUID()}`, 'no_stream', [event()]));
    proxy.setMode('up');

    const received = [(await pending).value!];
    received.push(
      (await next(iterator, 'second event')).value!,
      (await next(iterator, 'third event')).value!,
    );
    expect(received.map((e) => e.globalPosition)).toEqual(during.flatMap((r) => r.positions));
    expect(subscription.position).toBe(during[1]!.lastGlobalPosition);
    await subscription.close();
  });

  it('ends iteration promptly on close() even while a read hangs on a dead network', async () => {
    const { store } = await subscriberStore({ pollIntervalMs: 100 });
    const subscription = store.subscribeAll(await store.headPosition());
    const iterator = subscription[Symbol.asyncIterator]();
    proxy.setMode('blackhole');
    proxy.cut();
    const pending = iterator.next();
    // Let the subscription start a read that cannot complete (its connect never gets an answer).
    await eventually(() => (proxy.connections > 0 ? true : undefined), {
      what: 'a connection attempt into the black hole',
    });
    await subscription.close();
    expect(await next({ next: () => pending }, 'end of iteration')).toEqual({ done: true, value: undefined });
    proxy.setMode('up');
    proxy.cut();
  });
});
