import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { testNatsUrl, uniqueName } from '@orch/testing';
import { naming, provisionStreams } from '@orch/messaging';
import { deleteStreams, publishRecordedEvent, recordedEvent, testLogger } from '@orch/messaging/testing';
import { run, type SubscriberOptions } from './subscriber';

describe('event-subscriber example', () => {
  const ns = naming(uniqueName('sub'));
  let nc: NatsConnection;
  let js: JetStreamClient;

  beforeAll(async () => {
    nc = await connect({ servers: testNatsUrl() });
    js = jetstream(nc);
    await provisionStreams(await jetstreamManager(nc), ns);
  });

  afterAll(async () => {
    await deleteStreams(nc, ns);
    await nc.close();
  });

  const publish = async (n: number, from: number) => {
    const acks = [];
    for (let i = from; i < from + n; i++) {
      acks.push(
        await publishRecordedEvent(
          js,
          ns,
          recordedEvent({
            streamId: `agent-${i}`,
            globalPosition: BigInt(1_000 + i),
            data: { agentId: `agent-${i}`, name: `n${i}` },
          }),
        ),
      );
    }
    return acks;
  };

  const runCollecting = async (options: Partial<SubscriberOptions>) => {
    const lines: string[] = [];
    const result = await run({
      natsUrl: testNatsUrl(),
      namespace: ns.namespace,
      durable: 'printer',
      logger: testLogger(),
      out: (line) => lines.push(line),
      ...options,
    });
    return { lines, ...result };
  };

  it('prints events and, restarted with the same durable, resumes after the last one printed', async () => {
    await publish(3, 0);
    // An event of another service is not followed by default.
    await publishRecordedEvent(
      js,
      ns,
      recordedEvent({ source: 'distribution', type: 'TaskSubmitted', data: { taskId: 't' } }),
    );

    const first = await runCollecting({ maxEvents: 3 });
    expect(first.printed).toBe(3);
    expect(first.lines[0]).toMatch(
      /^#1000 2026-01-01T00:00:00\.000Z coordination\.AgentRegistered stream=agent-0@1 seq=\d+ correlation=session-1 \{.*"agentId":"agent-0".*\}$/,
    );

    await publish(2, 3);
    const second = await runCollecting({ maxEvents: 2 });
    expect(second.lines.map((l) => l.split(' ')[0])).toEqual(['#1003', '#1004']);
  });

  it('starts a new durable at a stream sequence, a time, or skips below a global position', async () => {
    // A gap before #1011, so no message before it can share its stored millisecond: a start time
    // then selects exactly from #1011 on.
    await publish(1, 10);
    await new Promise((r) => setTimeout(r, 50));
    const [second] = await publish(2, 11);

    const bySeq = await runCollecting({ durable: 'by-seq', fromSequence: second!.seq, maxEvents: 2 });
    expect(bySeq.lines.map((l) => l.split(' ')[0])).toEqual(['#1011', '#1012']);

    const byPosition = await runCollecting({ durable: 'by-position', fromPosition: 1_011n, maxEvents: 2 });
    // Starts at the beginning of the stream but prints only from #1011 on.
    expect(byPosition.lines.map((l) => l.split(' ')[0])).toEqual(['#1011', '#1012']);

    const stored = await (await js.streams.get(ns.eventsStream)).getMessage({ seq: second!.seq });
    const fromTime = stored!.time.toISOString();
    const byTime = await runCollecting({ durable: 'by-time', fromTime, maxEvents: 2 });
    expect(byTime.lines.map((l) => l.split(' ')[0])).toEqual(['#1011', '#1012']);
  });
});
