import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { AssignAgentSchema, HeartbeatSchema, type AgentAck } from '@orch/contracts';
import { RemoteDomainError } from '@orch/messaging';
import { eventually } from '@orch/testing';
import { startTestCoordination, type TestCoordination } from '../testing/harness';

describe('agent liveness over real NATS and PostgreSQL', () => {
  let c: TestCoordination;
  beforeAll(async () => {
    c = await startTestCoordination({ AGENT_HEARTBEAT_TIMEOUT_MS: '1500', AGENT_LIVENESS_INTERVAL_MS: '50' });
  });
  afterAll(async () => c?.close());

  it('marks an agent that missed its heartbeats unhealthy, releasing its tasks, and recovers it on a heartbeat', async () => {
    const capability = `cap-${randomUUID()}`;
    const agentId = await c.registerAgent({ capabilities: [{ name: capability, level: 1 }] });
    const tasks = [randomUUID(), randomUUID()];
    for (const taskId of tasks) {
      await c.request('AssignAgent', create(AssignAgentSchema, { taskId, capabilities: [capability] }));
    }
    const unhealthy = await eventually(
      async () =>
        (await c.store.readStream(`agent-${agentId}`)).find((e) => e.type === 'AgentBecameUnhealthy'),
      { what: 'AgentBecameUnhealthy' },
    );
    expect(unhealthy.data).toMatchObject({ agentId, releasedTaskIds: tasks });
    expect(unhealthy.data).not.toHaveProperty('lastHeartbeatAt');

    const ack = await c.request<AgentAck>('Heartbeat', create(HeartbeatSchema, { agentId }));
    expect(ack).toMatchObject({ status: 'idle', streamVersion: 5n });
    const [last] = (await c.store.readStream(`agent-${agentId}`)).slice(-1);
    expect(last?.type).toBe('AgentRecovered');
  });

  it('keeps an agent that beats in time healthy, then records its last heartbeat when it stops', async () => {
    const agentId = await c.registerAgent({ maxConcurrency: 1 });
    let beats = 0;
    while (beats < 10) {
      const ack = await c.request<AgentAck>('Heartbeat', create(HeartbeatSchema, { agentId }));
      expect(ack.status).toBe('idle');
      beats++;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await c.store.readStream(`agent-${agentId}`)).map((e) => e.type)).toEqual(['AgentRegistered']);
    const unhealthy = await eventually(
      async () =>
        (await c.store.readStream(`agent-${agentId}`)).find((e) => e.type === 'AgentBecameUnhealthy'),
      { what: 'AgentBecameUnhealthy' },
    );
    expect(unhealthy.data).toHaveProperty('lastHeartbeatAt');
  });

  it('refuses a heartbeat from an agent that does not exist', async () => {
    const error = await c
      .request('Heartbeat', create(HeartbeatSchema, { agentId: randomUUID() }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteDomainError);
    expect(error).toMatchObject({ code: 'not_found' });
  });
});
