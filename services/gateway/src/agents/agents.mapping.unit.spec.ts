import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { AgentPageSchema, AgentViewSchema } from '@orch/contracts';
import { toAgentPageResponse, toAgentResponse, toRegisterAgent } from './agents.mapping';
import { RegisterAgentBodySchema } from './agents.schemas';

describe('agent mapping', () => {
  it('turns string capabilities into level 1 and fills the cost model', () => {
    const body = RegisterAgentBodySchema.parse({
      name: 'coder',
      provider: 'anthropic',
      model: 'claude',
      capabilities: ['typescript', { name: 'review', level: 0.5 }],
      maxConcurrency: 2,
      costPer1kInputTokens: 0.003,
      labels: { team: 'core' },
      type: 'coding',
    });
    const cmd = toRegisterAgent('0b6c5f5e-4f4e-4c59-9d0c-3f2d7b1a9e10', body);
    expect(cmd.agentId).toBe('0b6c5f5e-4f4e-4c59-9d0c-3f2d7b1a9e10');
    expect(cmd.capabilities.map((c) => [c.name, c.level])).toEqual([
      ['typescript', 1],
      ['review', 0.5],
    ]);
    expect(cmd.cost?.per1kInputTokensUsd).toBe(0.003);
    expect(cmd.cost?.per1kOutputTokensUsd).toBe(0);
    expect(cmd.labels).toEqual({ team: 'core' });
    expect(cmd.agentType).toBe('coding');
  });

  it('shows an agent view with the API field names', () => {
    const view = create(AgentViewSchema, {
      id: 'a1',
      name: 'coder',
      provider: 'anthropic',
      model: 'claude',
      status: 'idle',
      activeTasks: 1,
      capabilities: [{ name: 'ts', level: 0.9 }],
      circuit: 'closed',
      maxConcurrency: 3,
      cost: { per1kInputTokensUsd: 0.01, per1kOutputTokensUsd: 0.02 },
      labels: { team: 'core' },
      agentType: 'coding',
      registeredAt: timestampFromDate(new Date('2026-01-02T03:04:05.000Z')),
    });
    expect(toAgentResponse(view)).toEqual({
      id: 'a1',
      name: 'coder',
      provider: 'anthropic',
      model: 'claude',
      status: 'idle',
      activeTasks: 1,
      capabilities: [{ name: 'ts', level: 0.9 }],
      circuit: 'closed',
      maxConcurrency: 3,
      costPer1kInputTokens: 0.01,
      costPer1kOutputTokens: 0.02,
      labels: { team: 'core' },
      type: 'coding',
      registeredAt: '2026-01-02T03:04:05.000Z',
    });
  });

  it('answers a last page with a null nextCursor', () => {
    expect(toAgentPageResponse(create(AgentPageSchema, { items: [], nextCursor: '' }))).toEqual({
      items: [],
      nextCursor: null,
    });
    expect(toAgentPageResponse(create(AgentPageSchema, { nextCursor: 'abc' })).nextCursor).toBe('abc');
  });
});

describe('RegisterAgentBody', () => {
  const valid = { name: 'n', provider: 'p', model: 'm', capabilities: ['a'], maxConcurrency: 1 };
  const paths = (input: unknown) => {
    const r = RegisterAgentBodySchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => i.path.join('.'));
  };

  it('accepts the minimal body', () => {
    expect(paths(valid)).toEqual([]);
  });

  it('bounds numbers and strings', () => {
    expect(paths({ ...valid, maxConcurrency: 0 })).toEqual(['maxConcurrency']);
    expect(paths({ ...valid, maxConcurrency: 1001 })).toEqual(['maxConcurrency']);
    expect(paths({ ...valid, maxConcurrency: 1.5 })).toEqual(['maxConcurrency']);
    expect(paths({ ...valid, name: 'x'.repeat(201) })).toEqual(['name']);
    expect(paths({ ...valid, name: '   ' })).toEqual(['name']);
    expect(paths({ ...valid, capabilities: [{ name: 'a', level: 1.1 }] })).toEqual(['capabilities.0.level']);
    expect(paths({ ...valid, capabilities: [] })).toEqual(['capabilities']);
    expect(paths({ ...valid, costPer1kInputTokens: -1 })).toEqual(['costPer1kInputTokens']);
  });

  it('rejects duplicate capabilities', () => {
    expect(paths({ ...valid, capabilities: ['a', { name: 'a', level: 0.2 }] })).toEqual(['capabilities.1']);
  });
});
