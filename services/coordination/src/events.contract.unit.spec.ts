import { create, fromJson, toJson, type JsonValue } from '@bufbuild/protobuf';
import { StartSessionSchema, eventTypes, protoRegistry } from '@orch/contracts';
import {
  agentDecider,
  contextDecider,
  sessionDecider,
  type AgentEvent,
  type SelectionData,
  type SessionEvent,
} from '@orch/coordination';
import { fold } from '@orch/domain-kit';
import { toSessionRequest } from './sessions/sessions.mapping';

const at = new Date('2026-11-21T10:00:00.250Z');

/** The proto JSON mapping of `data` as the wire carries it (every implicit field emitted). */
function roundTrip(type: string, data: unknown): JsonValue {
  const info = eventTypes.get(type);
  if (!info) throw new Error(`no proto event ${type}`);
  const message = fromJson(info.schema, data as JsonValue, { registry: protoRegistry });
  return toJson(info.schema, message, { registry: protoRegistry, alwaysEmitImplicit: true });
}

const expectProtoJson = (events: readonly { type: string; data: unknown }[]) => {
  expect(events.length).toBeGreaterThan(0);
  for (const e of events) expect(roundTrip(e.type, e.data)).toEqual(e.data);
};

describe('coordination events are exactly the proto JSON mapping of their messages', () => {
  it('agent slot and health events', () => {
    const selection: SelectionData = {
      strategy: 'weighted',
      agentId: 'a1',
      candidates: [{ agentId: 'a1', score: 0.8123, reasons: ['load 0/2'] }],
      eligible: 1,
      notes: ['weights: coder routing (balanced emphasis)'],
    };
    const history: AgentEvent[] = [];
    const run = (command: Parameters<typeof agentDecider.decide>[0]) => {
      const events = agentDecider.decide(command, fold(agentDecider, history));
      history.push(...events);
      return events;
    };
    run({
      type: 'RegisterAgent',
      agentId: 'a1',
      name: 'n',
      provider: 'p',
      model: 'm',
      capabilities: [],
      maxConcurrency: 2,
      cost: { per1kInputTokensUsd: 0, per1kOutputTokensUsd: 0 },
      labels: {},
      agentType: 'coder',
      at,
    });
    expectProtoJson([
      ...run({ type: 'AssignTask', agentId: 'a1', taskId: 't1', attempt: 1, sessionId: 's1', selection, at }),
      ...run({ type: 'AssignTask', agentId: 'a1', taskId: 't1', attempt: 2, sessionId: 's1', selection, at }),
      ...run({ type: 'ReleaseTask', agentId: 'a1', taskId: 't1', attempt: 1, reason: 'TaskFailed', at }),
      ...run({ type: 'ReleaseTask', agentId: 'a1', taskId: 't1', attempt: 0, reason: 'released', at }),
      ...run({ type: 'AssignTask', agentId: 'a1', taskId: 't2', attempt: 0, sessionId: 's1', selection, at }),
      ...run({ type: 'MarkUnhealthy', agentId: 'a1', lastHeartbeatAt: at, at }),
      ...run({ type: 'Recover', agentId: 'a1', at }),
      ...run({ type: 'MarkUnhealthy', agentId: 'a1', lastHeartbeatAt: undefined, at }),
      ...run({ type: 'Recover', agentId: 'a1', at }),
      ...run({ type: 'DrainAgent', agentId: 'a1', at }),
    ]);
  });

  it('session events, with tasks mapped from the StartSession command', () => {
    const message = create(StartSessionSchema, {
      sessionId: 's1',
      goal: 'g',
      pattern: 'auto',
      tasks: [
        { key: 'a', type: 'work', capabilities: ['code'], estimatedDurationMs: 5000n },
        {
          key: 'b',
          type: 'work',
          dependsOn: ['a'],
          input: { x: 1 },
          claims: [{ lock: 'repo', mode: 'exclusive' }],
        },
      ],
      budgetUsd: 1.5,
    });
    const request = toSessionRequest(message);
    const history: SessionEvent[] = [];
    const run = (command: Parameters<typeof sessionDecider.decide>[0]) => {
      const events = sessionDecider.decide(command, fold(sessionDecider, history));
      history.push(...events);
      return events;
    };
    expectProtoJson([
      ...run({
        type: 'StartSession',
        ...request,
        resolved: {
          pattern: 'swarm',
          reason: 'because',
          roles: { soloAgentId: '', driverAgentId: '', navigatorAgentId: '', supervisorAgentId: '' },
        },
        fleet: { offers: () => true, isRegistered: () => true },
        at,
      }),
      ...run({
        type: 'PostMessage',
        sessionId: 's1',
        messageId: 'm1',
        from: 'user',
        to: '',
        body: { hi: [1, null] },
        at,
      }),
      ...run({ type: 'CancelSession', sessionId: 's1', reason: 'r', at }),
      ...run({ type: 'CloseSession', sessionId: 's1', status: 'cancelled', reason: 'r', at }),
      ...contextDecider.decide(
        { type: 'PutContext', sessionId: 's1', key: 'k', value: 'v', at },
        contextDecider.initialState(),
      ),
    ]);
  });
});
