import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { context, trace } from '@opentelemetry/api';
import { ConflictError } from '@orch/domain-kit';
import { eventually, testNatsUrl, uniqueName } from '@orch/testing';
import {
  EventConsumer,
  Headers,
  naming,
  provisionStreams,
  type DecodedEvent,
  type EventConsumerOptions,
  type EventDelivery,
  type EventHandlerFn,
} from './index';
import {
  deleteStreams,
  installTestTracing,
  publishRecordedEvent,
  recordedEvent,
  testLogger,
} from './testing';

const logger = testLogger();

describe('JetStream event consumers', () => {
  const ns = naming(uniqueName('cons'));
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const running: EventConsumer[] = [];
  const tracing = installTestTracing();
  let counter = 0;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl() });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await provisionStreams(jsm, ns, { duplicateWindowMs: 120_000 });
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((c) => c.stop()));
    tracing.exporter.reset();
  });

  afterAll(async () => {
    await deleteStreams(nc, ns);
    await nc.close();
    await tracing.uninstall();
  });

  const start = async (options: Partial<EventConsumerOptions>, handler: EventHandlerFn) => {
    const consumer = new EventConsumer(
      nc,
      ns,
      { service: 'svc', consumer: `c${++counter}`, backoffMs: [20], ackWaitMs: 5_000, ...options },
      handler,
      logger,
    );
    await consumer.start();
    running.push(consumer);
    return consumer;
  };

  const consumerInfo = (c: EventConsumer) => jsm.consumers.info(ns.eventsStream, c.durable);

  const deadLetters = async (c: EventConsumer, expected: number) => {
    const subject = ns.deadLetterSubject('svc', c.options.consumer);
    await eventually(
      async () =>
        ((await jsm.streams.info(ns.deadLetterStream, { subjects_filter: subject })).state.subjects?.[
          subject
        ] ?? 0) >= expected || undefined,
      { what: `${expected} dead letters on ${subject}` },
    );
    const stream = await js.streams.get(ns.deadLetterStream);
    const out = [];
    for (let seq = 1; ; seq++) {
      const m = await stream.getMessage({ seq }).catch(() => null);
      if (!m) break;
      if (m.subject === subject) out.push(m);
    }
    return out;
  };

  /** Records calls; settles once `n` events were handled. */
  const recorder = () => {
    const calls: { event: DecodedEvent; delivery: EventDelivery }[] = [];
    return {
      calls,
      record: (event: DecodedEvent, delivery: EventDelivery) => calls.push({ event, delivery }),
    };
  };

  it('acks a handled event: nothing pending, nothing redelivered', async () => {
    const r = recorder();
    const c = await start(
      { types: ['AgentRegistered'], startPosition: 'new' },
      async (e, d) => void r.record(e, d),
    );
    const event = recordedEvent({ streamId: 'agent-ack' });
    await publishRecordedEvent(js, ns, event);

    await eventually(() => (r.calls.length === 1 ? true : undefined));
    await eventually(async () => ((await consumerInfo(c)).ack_floor.stream_seq > 0 ? true : undefined));
    const info = await consumerInfo(c);
    expect(r.calls[0]?.event).toMatchObject({
      eventId: event.eventId,
      type: 'AgentRegistered',
      streamId: 'agent-ack',
    });
    expect(r.calls[0]?.delivery.deliveryCount).toBe(1);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('dead-letters a business rejection without retrying it', async () => {
    let calls = 0;
    const c = await start({ types: ['AgentDeregistered'], startPosition: 'new' }, async () => {
      calls++;
      throw new ConflictError('agent is busy');
    });
    const event = recordedEvent({ type: 'AgentDeregistered', data: { agentId: 'a', reason: 'x' } });
    await publishRecordedEvent(js, ns, event, {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });

    const [dl] = await deadLetters(c, 1);
    await eventually(async () => ((await consumerInfo(c)).num_ack_pending === 0 ? true : undefined));
    const info = await consumerInfo(c);
    expect(calls).toBe(1);
    expect(info.num_redelivered).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(dl?.header.get(Headers.deadLetterReason)).toBe('rejected (conflict): agent is busy');
    expect(dl?.header.get(Headers.eventType)).toBe('AgentDeregistered');
    expect(dl?.header.get(Headers.originalMsgId)).toBe(event.eventId);
    expect(dl?.header.get(Headers.consumer)).toBe(c.durable);
    expect(dl?.header.get('traceparent')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(
      Buffer.from(dl?.data ?? []).equals(
        Buffer.from(
          (await (
            await js.streams.get(ns.eventsStream)
          ).getMessage({ last_by_subj: ns.eventSubject('coordination', 'AgentDeregistered') }))!.data,
        ),
      ),
    ).toBe(true);
  });

  it('redelivers after a transient error, with increasing delivery count, until the handler succeeds', async () => {
    const deliveries: number[] = [];
    const c = await start(
      { subjects: ['events.coordination.TransientProbe'], startPosition: 'new', maxDeliver: 5 },
      async (_e, d) => {
        deliveries.push(d.deliveryCount);
        if (d.deliveryCount < 3) throw new Error('database unavailable');
      },
    );
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'TransientProbe', data: { n: 1 } }));

    await eventually(() => (deliveries.length === 3 ? true : undefined));
    await eventually(async () => ((await consumerInfo(c)).num_ack_pending === 0 ? true : undefined));
    expect(deliveries).toEqual([1, 2, 3]);
    const dlq = await jsm.streams.info(ns.deadLetterStream, {
      subjects_filter: ns.deadLetterSubject('svc', c.options.consumer),
    });
    expect(dlq.state.subjects?.[ns.deadLetterSubject('svc', c.options.consumer)] ?? 0).toBe(0);
  });

  it('dead-letters after max deliveries of a failing handler', async () => {
    const deliveries: number[] = [];
    const c = await start(
      { subjects: ['events.coordination.PoisonProbe'], startPosition: 'new', maxDeliver: 3 },
      async (_e, d) => {
        deliveries.push(d.deliveryCount);
        throw new Error('boom');
      },
    );
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'PoisonProbe', data: {} }));

    const [dl] = await deadLetters(c, 1);
    await eventually(async () => ((await consumerInfo(c)).num_ack_pending === 0 ? true : undefined));
    expect(deliveries).toEqual([1, 2, 3]);
    expect(dl?.header.get(Headers.deadLetterReason)).toBe('failed 3 times: boom');
    expect(dl?.header.get(Headers.deliveryCount)).toBe('3');
  });

  it('dead-letters a message that is not an event envelope', async () => {
    let calls = 0;
    const c = await start(
      { subjects: ['events.coordination.Garbage'], startPosition: 'new' },
      async () => void calls++,
    );
    await js.publish(ns.eventSubject('coordination', 'Garbage'), new Uint8Array([0xde, 0xad, 0xbe, 0xef]));

    const [dl] = await deadLetters(c, 1);
    expect(calls).toBe(0);
    expect(dl?.header.get(Headers.deadLetterReason)).toMatch(/^undecodable: /);
  });

  it('receives only the event types it asked for, across several types', async () => {
    const r = recorder();
    await start({ types: ['MultiA', 'MultiB'], startPosition: 'new' }, async (e, d) => void r.record(e, d));
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'MultiA', data: { i: 1 } }));
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'MultiC', data: { i: 2 } }));
    await publishRecordedEvent(
      js,
      ns,
      recordedEvent({ type: 'MultiB', data: { i: 3 }, source: 'distribution' }),
    );
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'MultiA', data: { i: 4 } }));

    await eventually(() => (r.calls.length >= 3 ? true : undefined));
    expect(r.calls.map((c) => c.event.data)).toEqual([{ i: 1 }, { i: 3 }, { i: 4 }]);
  });

  it('starts a new durable at a stream sequence or a time, and shares it between replicas', async () => {
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'StartProbe', data: { i: 1 } }));
    // A gap, so a start time between the first and second messages exists at millisecond
    // precision (Date has no finer); without it both can share a millisecond.
    await new Promise((r) => setTimeout(r, 50));
    const second = await publishRecordedEvent(js, ns, recordedEvent({ type: 'StartProbe', data: { i: 2 } }));
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'StartProbe', data: { i: 3 } }));

    const bySeq = recorder();
    await start(
      { types: ['StartProbe'], startPosition: { streamSequence: second.seq } },
      async (e, d) => void bySeq.record(e, d),
    );
    await eventually(() => (bySeq.calls.length === 2 ? true : undefined));
    expect(bySeq.calls.map((c) => c.event.data)).toEqual([{ i: 2 }, { i: 3 }]);

    const stored = await (await js.streams.get(ns.eventsStream)).getMessage({ seq: second.seq });
    const byTime = recorder();
    await start(
      // The second message's time, truncated to the millisecond: at or before it, after the first.
      { types: ['StartProbe'], startPosition: { time: new Date(stored!.time.getTime()) } },
      async (e, d) => void byTime.record(e, d),
    );
    await eventually(() => (byTime.calls.length === 2 ? true : undefined));
    expect(byTime.calls.map((c) => c.event.data)).toEqual([{ i: 2 }, { i: 3 }]);

    // Two replicas of one service share the durable: each event is handled once in total.
    const seen: number[] = [];
    const shared = { consumer: 'shared', types: ['SharedProbe'], startPosition: 'all' as const };
    const handler: EventHandlerFn = async (e) => void seen.push((e.data as { i: number }).i);
    await start(shared, handler);
    await start(shared, handler);
    for (let i = 0; i < 20; i++)
      await publishRecordedEvent(js, ns, recordedEvent({ type: 'SharedProbe', data: { i } }));
    await eventually(() => (seen.length >= 20 ? true : undefined));
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('finishes the message in hand when stopped, and acks it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let entered = false;
    let finished = false;
    const c = await start({ types: ['StopProbe'], startPosition: 'new' }, async () => {
      entered = true;
      await gate;
      finished = true;
    });
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'StopProbe', data: {} }));
    await eventually(() => (entered ? true : undefined));

    const stopping = c.stop();
    release();
    await stopping;

    expect(finished).toBe(true);
    expect(c.state).toBe('stopped');
    const info = await consumerInfo(c);
    expect(info.num_ack_pending).toBe(0);
    expect(info.ack_floor.stream_seq).toBeGreaterThan(0);
  });

  it('runs the handler in a span that continues the publisher trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentSpanId = '00f067aa0ba902b7';
    let traceparentInHandler = '';
    await start({ types: ['TraceProbe'], startPosition: 'new' }, async () => {
      traceparentInHandler = trace.getSpan(context.active())?.spanContext().traceId ?? '';
    });
    await publishRecordedEvent(js, ns, recordedEvent({ type: 'TraceProbe', data: {} }), {
      traceparent: `00-${traceId}-${parentSpanId}-01`,
    });
    await eventually(() => (traceparentInHandler ? true : undefined));
    await eventually(() => tracing.exporter.getFinishedSpans().find((s) => s.name === 'process TraceProbe'));
    const span = tracing.exporter.getFinishedSpans().find((s) => s.name === 'process TraceProbe');
    expect(traceparentInHandler).toBe(traceId);
    expect(span?.spanContext().traceId).toBe(traceId);
    expect(span?.parentSpanContext?.spanId).toBe(parentSpanId);
  });
});
