import { ValidationError } from '@orch/domain-kit';
import { fleetOf, task } from './session.fixtures';
import { suggestSession } from './suggest';

describe('suggesting a session', () => {
  const fleet = fleetOf({ c1: { code: 0.9 }, c2: { code: 0.7 }, r1: { review: 0.9 }, p1: { planning: 0.8 } });

  it('suggests a planner as supervisor when no task is given', () => {
    const s = suggestSession('build a blog', [], fleet);
    expect(s.pattern).toBe('hierarchical');
    expect(s.agents).toEqual([
      {
        agentType: 'planner',
        capabilities: ['planning'],
        count: 1,
        reason: 'supervisor: plans the work and judges the results',
        availableAgentIds: ['p1'],
      },
    ]);
    expect(s.reasons).toEqual(['no tasks were given: a supervisor plans the work']);
  });

  it('suggests a driver and a reviewer for a pair', () => {
    const s = suggestSession('write and review', [task('a')], fleet);
    expect(s.pattern).toBe('pair');
    expect(s.agents.map((a) => [a.agentType, a.availableAgentIds])).toEqual([
      ['coder', ['c1', 'c2']],
      ['reviewer', ['r1']],
    ]);
  });

  it('suggests one worker role per capability set, sized by what can run at once, and says what is missing', () => {
    const tasks = [
      task('a'),
      task('b'),
      task('c', { dependsOn: ['a'] }),
      task('t1', { capabilities: ['testing'], dependsOn: ['c'] }),
    ];
    const s = suggestSession('ship', tasks, fleet);
    expect(s.pattern).toBe('swarm');
    expect(s.agents).toEqual([
      expect.objectContaining({
        agentType: 'coder',
        capabilities: ['code'],
        count: 2,
        availableAgentIds: ['c1', 'c2'],
      }),
      expect.objectContaining({
        agentType: 'tester',
        capabilities: ['testing'],
        count: 1,
        availableAgentIds: [],
      }),
    ]);
    expect(s.reasons).toContain('no registered agent can be the tester (testing) yet');
  });

  it('requires a goal', () => expect(() => suggestSession('', [], fleet)).toThrow(ValidationError));
});
