import { FakeGateway, problem } from '@orch/agent-sdk/testing';
import { eventually } from '@orch/testing';
import { parseRunnerConfig, type RunnerConfig } from './config';
import { runFleet, type FleetHandle } from './fleet';

const FAST = { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20 } };

describe('runFleet', () => {
  let gateway: FakeGateway;
  let fleet: FleetHandle | undefined;

  beforeEach(async () => {
    gateway = await FakeGateway.start();
    fleet = undefined;
  });
  afterEach(async () => {
    await fleet?.stop();
    await gateway.close();
  });

  const config = (agents: unknown[]): RunnerConfig =>
    parseRunnerConfig(
      {
        gateway: { url: gateway.url, apiKey: 'operator-key' },
        polling: { waitMs: 100, heartbeatIntervalMs: 50, shutdownGraceMs: 1_000 },
        agents,
      },
      {},
    );

  const twoKinds = () =>
    config([
      {
        name: 'coder',
        count: 2,
        provider: 'anthropic',
        model: 'claude',
        type: 'coder',
        maxConcurrency: 3,
        costPer1kInputTokens: 0.003,
        labels: { team: 'a' },
        executor: { kind: 'sim', seed: 1 },
      },
      {
        name: 'reviewer',
        provider: 'openai',
        model: 'gpt',
        capabilities: [{ name: 'review', level: 0.9 }],
        executor: { kind: 'sim', seed: 2 },
      },
    ]);

  it('registers every replica with the operator key', async () => {
    fleet = await runFleet(twoKinds(), { client: FAST });
    expect(fleet.agents.map((a) => a.name)).toEqual(['coder-1', 'coder-2', 'reviewer']);
    const registrations = gateway.requests.filter((r) => r.path === '/api/agents');
    expect(registrations.every((r) => r.headers.authorization === 'Bearer operator-key')).toBe(true);
    expect(registrations.map((r) => r.body)).toEqual(
      expect.arrayContaining([
        {
          name: 'coder-1',
          provider: 'anthropic',
          model: 'claude',
          capabilities: ['coder'],
          maxConcurrency: 3,
          costPer1kInputTokens: 0.003,
          costPer1kOutputTokens: 0,
          labels: { team: 'a' },
          type: 'coder',
        },
        {
          name: 'reviewer',
          provider: 'openai',
          model: 'gpt',
          capabilities: [{ name: 'review', level: 0.9 }],
          maxConcurrency: 1,
          costPer1kInputTokens: 0,
          costPer1kOutputTokens: 0,
        },
      ]),
    );
  });

  it('runs each agent with its executor, then stops: drains, finishes and deregisters', async () => {
    fleet = await runFleet(twoKinds(), { client: FAST });
    const reviewer = fleet.agents.find((a) => a.name === 'reviewer');
    const coder = fleet.agents.find((a) => a.name === 'coder-2');
    gateway.enqueue({ taskId: 'impl', agentId: coder?.agentId, role: 'work', key: 'impl', type: 'code' });
    gateway.enqueue({
      taskId: 'impl.review.1',
      agentId: reviewer?.agentId,
      role: 'review',
      reviewOf: 'impl',
    });

    await eventually(() => (gateway.reportsOf('complete').length === 2 ? true : undefined));
    const outputs = Object.fromEntries(
      gateway.reportsOf('complete').map((r) => [r.taskId, r.body['output']]),
    );
    expect(outputs['impl']).toMatchObject({ result: 'simulated code impl' });
    expect(outputs['impl.review.1']).toMatchObject({ verdict: 'approved' });
    expect(gateway.reportsOf('complete').find((r) => r.taskId === 'impl')?.agentId).toBe(coder?.agentId);

    await fleet.stop();
    await expect(coder?.stats).resolves.toMatchObject({ completed: 1 });
    for (const agent of fleet.agents) {
      expect(gateway.requests.some((r) => r.path === `/api/agents/${agent.agentId}/drain`)).toBe(true);
      expect(
        gateway.requests.some((r) => r.method === 'DELETE' && r.path === `/api/agents/${agent.agentId}`),
      ).toBe(true);
    }
    expect(gateway.agents.size).toBe(0);
  });

  it('leaves the agents registered with keepAgents', async () => {
    fleet = await runFleet(twoKinds(), { client: FAST, keepAgents: true });
    await fleet.stop();
    expect(gateway.requests.some((r) => r.method === 'DELETE')).toBe(false);
    expect(gateway.agents.size).toBe(3);
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    fleet = await runFleet(twoKinds(), { client: FAST, signal: controller.signal });
    controller.abort();
    await fleet.done;
    expect(gateway.agents.size).toBe(0);
  });

  it('starts whole or not at all: a failed registration undoes the others', async () => {
    gateway.intercept((req) =>
      req.path === '/api/agents' && (req.body as { name?: string }).name === 'coder-2'
        ? problem(400, 'capability "coder" is not in the catalogue')
        : undefined,
    );
    await expect(runFleet(twoKinds(), { client: FAST })).rejects.toThrow(
      /could not register 1 of 3 agent\(s\):\n {2}coder-2: .*capability "coder" is not in the catalogue/,
    );
    expect(gateway.agents.size).toBe(0);
  });
});
