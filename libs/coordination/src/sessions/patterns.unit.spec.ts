import { ConflictError } from '@orch/domain-kit';
import { choosePattern, chooseRoles } from './patterns';
import { fleetOf, task } from './session.fixtures';

describe('choosing a pattern for auto', () => {
  it('chooses hierarchical when no task is given, a supervisor must plan', () => {
    expect(choosePattern('build a blog', [])).toEqual({
      pattern: 'hierarchical',
      reason: 'no tasks were given: a supervisor plans the work',
    });
  });

  it('chooses pair when a task is a review', () => {
    const choice = choosePattern('ship it', [task('a'), task('b', { type: 'Review' })]);
    expect(choice.pattern).toBe('pair');
    expect(choice.reason).toMatch(/task "b" asks for a review/);
  });

  it('chooses pair when a task needs review', () => {
    expect(choosePattern('x', [task('a', { capabilities: ['code', 'review'] })]).pattern).toBe('pair');
  });

  it('chooses pair when the goal asks for a review', () => {
    expect(choosePattern('Write and review the parser', [task('a')]).reason).toMatch(
      /the goal asks for a review/,
    );
  });

  it('chooses solo for a single task', () => {
    expect(choosePattern('x', [task('a', { capabilities: ['testing'] })]).pattern).toBe('solo');
  });

  it('chooses solo for a few tasks needing the same capabilities', () => {
    const tasks = [task('a'), task('b'), task('c', { capabilities: ['code', 'code'] })];
    expect(choosePattern('x', tasks)).toEqual({
      pattern: 'solo',
      reason: '3 tasks all needing code: one agent does them',
    });
  });

  it('chooses swarm for diverse capabilities', () => {
    const choice = choosePattern('x', [task('a'), task('b', { capabilities: ['testing'] })]);
    expect(choice).toEqual({
      pattern: 'swarm',
      reason: '2 tasks needing 2 different capability set(s): a pool of agents works them in parallel',
    });
  });

  it('chooses swarm for many tasks, even of one kind', () => {
    expect(
      choosePattern(
        'x',
        Array.from({ length: 6 }, (_, i) => task(`t${i}`)),
      ).pattern,
    ).toBe('swarm');
  });
});

describe('giving roles to agents', () => {
  const fleet = fleetOf({
    coder: { code: 0.9 },
    fullstack: { code: 0.6, testing: 0.8 },
    reviewer: { review: 0.9 },
    planner: { planning: 0.9 },
  });

  it('solo: the most proficient agent covering every task', () => {
    expect(
      chooseRoles('solo', [task('a'), task('b', { capabilities: ['testing'] })], fleet, []).soloAgentId,
    ).toBe('fullstack');
    expect(chooseRoles('solo', [task('a')], fleet, []).soloAgentId).toBe('coder');
  });

  it('solo: keeps to the pool', () => {
    expect(chooseRoles('solo', [task('a')], fleet, ['fullstack', 'reviewer']).soloAgentId).toBe('fullstack');
  });

  it('solo: a conflict naming what no agent has', () => {
    expect(() => chooseRoles('solo', [task('a', { capabilities: ['code', 'review'] })], fleet, [])).toThrow(
      new ConflictError('no healthy agent can work this session alone: none has code, review'),
    );
  });

  it('pair: a driver for the work and a different navigator with review', () => {
    expect(chooseRoles('pair', [task('a')], fleet, [])).toEqual({
      soloAgentId: '',
      driverAgentId: 'coder',
      navigatorAgentId: 'reviewer',
      supervisorAgentId: '',
    });
  });

  it('pair: never the same agent for both roles', () => {
    const versatile = fleetOf({ both: { code: 1, review: 1 }, coder: { code: 0.5 } });
    expect(chooseRoles('pair', [task('a')], versatile, [])).toMatchObject({
      driverAgentId: 'coder',
      navigatorAgentId: 'both',
    });
    const alone = fleetOf({ both: { code: 1, review: 1 } });
    expect(() => chooseRoles('pair', [task('a')], alone, [])).toThrow(
      /different agents, and only both can be either/,
    );
  });

  it('pair: a conflict when no agent can review', () => {
    expect(() => chooseRoles('pair', [task('a')], fleetOf({ coder: { code: 1 } }), [])).toThrow(
      /none has review/,
    );
  });

  it('hierarchical: a supervisor with planning', () => {
    expect(chooseRoles('hierarchical', [], fleet, []).supervisorAgentId).toBe('planner');
    expect(() => chooseRoles('hierarchical', [], fleet, ['coder'])).toThrow(/none has planning/);
  });

  it('swarm: no roles', () => {
    expect(Object.values(chooseRoles('swarm', [task('a')], fleet, []))).toEqual(['', '', '', '']);
  });

  it('passes over unhealthy agents', () => {
    const sick = fleetOf({ a: { code: 1 }, b: { code: 0.5 } }, ['a']);
    expect(chooseRoles('solo', [task('x')], sick, []).soloAgentId).toBe('b');
  });
});
