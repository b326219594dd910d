import {
  DEFAULT_TASK_DURATION_MS,
  analyzeWorkflow,
  describeProblem,
  type WorkflowTaskSpec,
} from './analysis';

const tasks: WorkflowTaskSpec[] = [
  { id: 'design', type: 'planner', estimatedDurationMs: 10_000 },
  { id: 'code', type: 'coder', dependsOn: ['design'] },
  { id: 'review', type: 'reviewer', dependsOn: ['code'] },
];

describe('analyzeWorkflow', () => {
  it('reports levels, critical path, parallelism and estimates of a valid workflow', () => {
    const analysis = analyzeWorkflow(tasks, (type) => (type === 'coder' ? 30_000 : undefined));
    expect(analysis).toMatchObject({
      valid: true,
      problems: [],
      levels: [['design'], ['code'], ['review']],
      criticalPath: ['design', 'code', 'review'],
      parallelism: 1,
      estimates: { durationMs: 10_000 + 30_000 + DEFAULT_TASK_DURATION_MS, totalWorkMs: 100_000 },
    });
    expect(analysis.estimates.basis).toMatch(
      /1 task\(s\) by their stated.*1 by the observed median.*1 by the 60 s default/,
    );
  });

  it('reports an invalid workflow with its cycle and no analysis', () => {
    const analysis = analyzeWorkflow([
      { id: 'a', type: 'x', dependsOn: ['b'] },
      { id: 'b', type: 'x', dependsOn: ['a'] },
    ]);
    expect(analysis).toMatchObject({
      valid: false,
      cycle: ['a', 'b', 'a'],
      levels: [],
      criticalPath: [],
      parallelism: 0,
    });
    expect(analysis.problems.map(describeProblem)).toEqual(['dependency cycle: a -> b -> a']);
  });

  it('describes every kind of problem in one sentence', () => {
    const analysis = analyzeWorkflow([
      { id: 'a', type: 'x', dependsOn: ['a', 'ghost'] },
      { id: 'a', type: 'x' },
    ]);
    expect(analysis.problems.map(describeProblem)).toEqual([
      'task id "a" is used 2 times (positions 0, 1)',
      'task "a" depends on itself',
      'task "a" depends on "ghost", which is not in the workflow',
    ]);
    expect(describeProblem({ kind: 'empty' })).toBe('the workflow has no tasks');
    expect(describeProblem({ kind: 'too_many_tasks', count: 3, limit: 2 })).toBe(
      'the workflow has 3 tasks; at most 2 are allowed',
    );
  });
});
