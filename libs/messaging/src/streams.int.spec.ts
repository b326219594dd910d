import { nanos, type NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { testNatsUrl, uniqueName } from '@orch/testing';
import { MIN_DUPLICATE_WINDOW_MS, naming, provisionStreams } from './index';
import { deleteStreams } from './testing';

describe('provisionStreams', () => {
  const ns = naming(uniqueName('streams'));
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl() });
    jsm = await jetstreamManager(nc);
  });

  afterAll(async () => {
    await deleteStreams(nc, ns);
    await nc.close();
  });

  it('creates the events and dead-letter streams, idempotently and concurrently', async () => {
    const [a, b] = await Promise.all([provisionStreams(jsm, ns), provisionStreams(jsm, ns)]);
    const again = await provisionStreams(jsm, ns);

    expect(a.events.config).toMatchObject({
      name: ns.eventsStream,
      subjects: [ns.allEvents],
      storage: 'file',
      duplicate_window: nanos(10 * 60_000),
    });
    expect(b.deadLetters.config).toMatchObject({ name: ns.deadLetterStream, subjects: [ns.allDeadLetters] });
    expect(again.events.created).toEqual(a.events.created);
  });

  it('updates max age and never lets the duplicate window drop below two minutes', async () => {
    const { events } = await provisionStreams(jsm, ns, {
      eventsMaxAgeMs: 3_600_000,
      duplicateWindowMs: 1_000,
    });
    expect(events.config.max_age).toBe(nanos(3_600_000));
    expect(events.config.duplicate_window).toBe(nanos(MIN_DUPLICATE_WINDOW_MS));
    expect((await jsm.streams.info(ns.eventsStream)).config.max_age).toBe(nanos(3_600_000));
  });
});
