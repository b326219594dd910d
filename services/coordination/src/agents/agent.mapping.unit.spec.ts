import { toAgentEvent } from '@orch/coordination';
import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import {
  AgentDeregisteredSchema,
  AgentRegisteredSchema,
  RegisterAgentSchema,
  protoRegistry,
} from '@orch/contracts';
import { agentDecider, projectAgent, type AgentProfile } from '@orch/coordination';
import { toAgentView, toRegisterAgent } from './agent.mapping';

const at = new Date('2026-11-21T10:00:00.000Z');
const message = create(RegisterAgentSchema, {
  agentId: '0b8f0c3e-6f3a-4d53-9d1c-2f0c1f7b9a11',
  name: 'coder-1',
  provider: 'openai',
  model: 'gpt-large',
  capabilities: [{ name: 'code', level: 0.75 }],
  maxConcurrency: 3,
  cost: { per1kInputTokensUsd: 0.5, per1kOutputTokensUsd: 1.5 },
  labels: { team: 'core' },
});

/** The proto JSON mapping of `data` as the wire carries it, with defaults emitted. */
const roundTrip = (
  schema: typeof AgentRegisteredSchema | typeof AgentDeregisteredSchema,
  data: unknown,
): JsonValue =>
  toJson(schema, fromJson(schema, data as JsonValue, { registry: protoRegistry }), {
    alwaysEmitImplicit: true,
  });

describe('agent events and their proto messages', () => {
  it('AgentRegistered data is exactly the proto JSON mapping of AgentRegistered', () => {
    const [event] = agentDecider.decide(toRegisterAgent(message, at), agentDecider.initialState());
    expect(event?.type).toBe('AgentRegistered');
    expect(roundTrip(AgentRegisteredSchema, event?.data)).toEqual(event?.data);
  });

  it('AgentDeregistered data is exactly the proto JSON mapping of AgentDeregistered', () => {
    const data = { agentId: 'a', reason: 'retired', deregisteredAt: '2026-11-21T10:00:00Z' };
    expect(roundTrip(AgentDeregisteredSchema, data)).toEqual(data);
  });

  it('defaults an absent agent type to generic', () => {
    expect(toRegisterAgent(message, at).agentType).toBe('generic');
  });

  it('maps the read model document to the AgentView reply', () => {
    const [event] = agentDecider.decide(toRegisterAgent(message, at), agentDecider.initialState());
    const doc = projectAgent(null, toAgentEvent(event!.type, event!.data)!, 1)!;
    const view = toAgentView(doc);
    expect(view).toMatchObject({
      id: message.agentId,
      status: 'idle',
      circuit: 'closed',
      maxConcurrency: 3,
      version: 1n,
    });
    expect(view.cost).toMatchObject({ per1kInputTokensUsd: 0.5, per1kOutputTokensUsd: 1.5 });
  });

  it('does not take events of other aggregates for agent events', () => {
    expect(toAgentEvent('TaskSubmitted', {})).toBeUndefined();
  });
});

describe('the agent view', () => {
  const [event] = agentDecider.decide(toRegisterAgent(message, at), agentDecider.initialState());
  const doc = projectAgent(null, toAgentEvent(event!.type, event!.data)!, 1)!;
  const live = (version: number) => ({
    agentId: doc.id,
    profile: event!.data as AgentProfile,
    status: 'busy' as const,
    // A retry of t1 holds a slot while the release of the attempt that ended is pending.
    slots: [
      { taskId: 't1', attempt: 1 },
      { taskId: 't1', attempt: 2 },
    ],
    version,
    stats: { outcomes: 0, successes: 0, latencyMs: undefined, costUsd: undefined },
    lastHeartbeatAt: new Date('2026-11-21T10:00:05Z'),
  });

  it('shows what the fleet index knows when it is at least as recent as the read model, a task per slot', () => {
    const view = toAgentView(doc, { agent: live(2), circuit: 'half_open' });
    expect(view).toMatchObject({
      status: 'busy',
      activeTasks: 2,
      activeTaskIds: ['t1', 't1'],
      version: 2n,
      circuit: 'half_open',
    });
    expect(view.lastHeartbeatAt?.seconds).toBe(BigInt(Date.parse('2026-11-21T10:00:05Z') / 1000));
  });

  it('keeps the read model when the index lags behind it', () => {
    const view = toAgentView({ ...doc, version: 3 }, { agent: live(2), circuit: 'closed' });
    expect(view).toMatchObject({ status: 'idle', activeTasks: 0, activeTaskIds: [], version: 3n });
  });
});
