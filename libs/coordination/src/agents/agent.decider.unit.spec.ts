import { ConflictError, IllegalStateError, NotFoundError, ValidationError, spec } from '@orch/domain-kit';
import fc from 'fast-check';
import type { RegisterAgent } from './agent.commands';
import { catalogueEntry, knownAgentTypes } from '../catalogue/catalogue';
import { agentDecider } from './agent.decider';
import type { AgentEvent } from './agent.events';

const at = new Date('2026-11-21T10:00:00.000Z');
const register: RegisterAgent = {
  type: 'RegisterAgent',
  agentId: 'a1',
  name: 'coder-1',
  provider: 'openai',
  model: 'gpt-x',
  capabilities: [
    { name: 'code', level: 0.9 },
    { name: 'review', level: 0.5 },
  ],
  maxConcurrency: 4,
  cost: { per1kInputTokensUsd: 0.001, per1kOutputTokensUsd: 0.002 },
  labels: { team: 'core' },
  agentType: 'coder',
  at,
};
const registered: AgentEvent = {
  type: 'AgentRegistered',
  data: {
    agentId: 'a1',
    name: 'coder-1',
    provider: 'openai',
    model: 'gpt-x',
    capabilities: register.capabilities,
    maxConcurrency: 4,
    cost: register.cost,
    labels: { team: 'core' },
    agentType: 'coder',
    registeredAt: '2026-11-21T10:00:00Z',
  },
};
const given = spec(agentDecider).given;

describe('an unregistered agent', () => {
  it('is registered by RegisterAgent', () => given([]).when(register).then([registered]));

  it('rejects a generic registration naming no capability', () =>
    given([])
      .when({ ...register, agentType: 'generic', capabilities: [] })
      .thenThrows(ValidationError, /invalid agent registration/));

  it('gives a catalogue type registered without capabilities its default capabilities', () => {
    const [event] = agentDecider.decide(
      { ...register, agentType: 'reviewer', capabilities: [] },
      agentDecider.initialState(),
    );
    expect(event?.type === 'AgentRegistered' && event.data.capabilities).toEqual(
      catalogueEntry('reviewer')?.capabilities,
    );
  });

  it('keeps the capabilities a catalogue type names itself', () => {
    const [event] = agentDecider.decide(
      { ...register, agentType: 'reviewer', capabilities: [{ name: 'review', level: 0.3 }] },
      agentDecider.initialState(),
    );
    expect(event?.type === 'AgentRegistered' && event.data.capabilities).toEqual([
      { name: 'review', level: 0.3 },
    ]);
  });

  it('rejects an unknown agent type, listing the known ones', () => {
    try {
      agentDecider.decide({ ...register, agentType: 'wizard' }, agentDecider.initialState());
      throw new Error('expected a ValidationError');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      const [problem] = (e as ValidationError).errors;
      expect(problem?.path).toBe('agentType');
      for (const type of knownAgentTypes) expect(problem?.message).toContain(type);
    }
  });

  it('reports every invalid field with its path', () => {
    try {
      agentDecider.decide(
        {
          ...register,
          name: ' ',
          maxConcurrency: 0,
          capabilities: [
            { name: 'code', level: 1.5 },
            { name: 'code', level: 0.2 },
          ],
        },
        agentDecider.initialState(),
      );
      throw new Error('expected a ValidationError');
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).errors.map((p) => p.path)).toEqual([
        'name',
        'maxConcurrency',
        'capabilities[0].level',
        'capabilities[1].name',
      ]);
    }
  });

  it('cannot be deregistered', () =>
    given([]).when({ type: 'DeregisterAgent', agentId: 'a1', reason: 'x', at }).thenThrows(NotFoundError));
});

describe('a registered agent', () => {
  it('accepts a retry of the same registration without new events', () =>
    given([registered])
      .when({ ...register, at: new Date('2026-11-21T10:00:05Z') })
      .then([]));

  it('recognises a retry whatever the key order of the recorded event', () => {
    const d = registered.type === 'AgentRegistered' ? registered.data : undefined;
    const reordered = Object.fromEntries(Object.entries(d!).reverse());
    given([
      {
        type: 'AgentRegistered',
        data: {
          ...(reordered as typeof d & object),
          cost: { per1kOutputTokensUsd: 0.002, per1kInputTokensUsd: 0.001 },
        },
      },
    ])
      .when(register)
      .then([]);
  });

  it('refuses a different registration under the same id', () =>
    given([registered])
      .when({ ...register, model: 'other' })
      .thenThrows(ConflictError));

  it('is deregistered with its reason', () =>
    given([registered])
      .when({ type: 'DeregisterAgent', agentId: 'a1', reason: 'retired', at })
      .then([
        {
          type: 'AgentDeregistered',
          data: { agentId: 'a1', reason: 'retired', deregisteredAt: '2026-11-21T10:00:00Z' },
        },
      ]));
});

describe('a deregistered agent', () => {
  const deregistered: AgentEvent = {
    type: 'AgentDeregistered',
    data: { agentId: 'a1', reason: 'retired', deregisteredAt: '2026-11-21T10:00:00Z' },
  };
  it('cannot be registered again under the same id', () =>
    given([registered, deregistered]).when(register).thenThrows(IllegalStateError));
  it('ignores a second deregistration', () =>
    given([registered, deregistered])
      .when({ type: 'DeregisterAgent', agentId: 'a1', reason: 'again', at })
      .then([]));
});

describe('registration invariants', () => {
  it('any valid registration yields exactly one AgentRegistered carrying the command', () => {
    const capability = fc.record({
      name: fc.stringMatching(/^[a-z]{1,12}$/),
      level: fc.double({ min: 0, max: 1, noNaN: true }),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(capability, { minLength: 1, maxLength: 10, selector: (c) => c.name }),
        fc.integer({ min: 1, max: 1000 }),
        (capabilities, maxConcurrency) => {
          const events = agentDecider.decide(
            { ...register, capabilities, maxConcurrency },
            agentDecider.initialState(),
          );
          expect(events).toHaveLength(1);
          const [event] = events;
          expect(event?.type).toBe('AgentRegistered');
          expect(event?.type === 'AgentRegistered' && event.data.capabilities).toEqual(capabilities);
        },
      ),
    );
  });
});
