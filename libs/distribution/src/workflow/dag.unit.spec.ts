import fc from 'fast-check';
import {
  criticalPath,
  findCycle,
  parallelism,
  topologicalLevels,
  topologicalOrder,
  validateDag,
  type DagNode,
} from './dag';

const feature: DagNode[] = [
  { id: 'design' },
  { id: 'code', dependsOn: ['design'] },
  { id: 'tests', dependsOn: ['design'] },
  { id: 'review', dependsOn: ['code', 'tests'] },
  { id: 'docs', dependsOn: ['design'] },
  { id: 'release', dependsOn: ['review', 'docs'] },
];

describe('validateDag', () => {
  it('accepts a valid workflow', () => {
    expect(validateDag(feature)).toEqual([]);
  });

  it('reports an empty workflow', () => {
    expect(validateDag([])).toEqual([{ kind: 'empty' }]);
  });

  it('reports a workflow over the size limit without analysing it', () => {
    expect(validateDag(feature, { maxTasks: 5 })).toEqual([{ kind: 'too_many_tasks', count: 6, limit: 5 }]);
  });

  it('reports duplicate ids with where they stand, unknown and self dependencies', () => {
    expect(
      validateDag([{ id: 'a' }, { id: 'b', dependsOn: ['ghost', 'b'] }, { id: 'a', dependsOn: ['b'] }]),
    ).toEqual([
      { kind: 'duplicate_id', id: 'a', indexes: [0, 2] },
      { kind: 'unknown_dependency', id: 'b', dependsOn: 'ghost' },
      { kind: 'self_dependency', id: 'b' },
    ]);
  });

  it('reports a cycle with its path', () => {
    const cyclic = [
      { id: 'a', dependsOn: ['c'] },
      { id: 'b', dependsOn: ['a'] },
      { id: 'c', dependsOn: ['b'] },
      { id: 'd' },
    ];
    expect(validateDag(cyclic)).toEqual([{ kind: 'cycle', path: ['a', 'c', 'b', 'a'] }]);
  });

  it('finds a cycle at the end of a 10,000-task chain without overflowing the stack', () => {
    const chain = Array.from({ length: 10_000 }, (_, i) => ({
      id: `t${i}`,
      dependsOn: i === 0 ? ['t9999'] : [`t${i - 1}`],
    }));
    expect(findCycle(chain)).toHaveLength(10_001);
  });
});

describe('analysis of a valid workflow', () => {
  it('groups tasks into levels that can run in parallel', () => {
    expect(topologicalLevels(feature)).toEqual([
      ['design'],
      ['code', 'tests', 'docs'],
      ['review'],
      ['release'],
    ]);
    expect(parallelism(topologicalLevels(feature))).toBe(3);
  });

  it('orders every task after its dependencies, earlier-listed first among those ready', () => {
    // review (listed 4th) becomes ready before docs (5th) is taken, so it goes first.
    expect(topologicalOrder(feature)).toEqual(['design', 'code', 'tests', 'review', 'docs', 'release']);
  });

  it('finds the critical path by duration', () => {
    const minutes: Record<string, number> = {
      design: 10,
      code: 60,
      tests: 30,
      review: 15,
      docs: 90,
      release: 5,
    };
    expect(criticalPath(feature, (id) => minutes[id] ?? 0)).toEqual({
      path: ['design', 'docs', 'release'],
      duration: 105,
    });
  });

  it('refuses to order a cyclic workflow', () => {
    expect(() =>
      topologicalOrder([
        { id: 'a', dependsOn: ['b'] },
        { id: 'b', dependsOn: ['a'] },
      ]),
    ).toThrow(/acyclic/);
  });
});

/** Random DAGs: edges only point to earlier tasks, so they are acyclic by construction. */
const dag = fc
  .integer({ min: 1, max: 40 })
  .chain((n) =>
    fc.tuple(
      ...Array.from({ length: n }, (_, i) =>
        fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, i - 1) }), {
          maxLength: i === 0 ? 0 : Math.min(i, 4),
        }),
      ),
    ),
  )
  .map((deps) => deps.map((ds, i): DagNode => ({ id: `t${i}`, dependsOn: ds.map((d) => `t${d}`) })));

describe('properties', () => {
  it('any acyclic workflow is valid, and its levels respect every dependency', () => {
    fc.assert(
      fc.property(dag, (tasks) => {
        expect(validateDag(tasks)).toEqual([]);
        const levels = topologicalLevels(tasks);
        const levelOf = new Map(levels.flatMap((ids, l) => ids.map((id) => [id, l] as const)));
        expect([...levelOf.keys()].sort()).toEqual(tasks.map((t) => t.id).sort());
        for (const t of tasks)
          for (const d of t.dependsOn ?? []) expect(levelOf.get(d)!).toBeLessThan(levelOf.get(t.id)!);
      }),
    );
  });

  it('a back edge makes a cycle, and the reported path is made of real dependencies', () => {
    fc.assert(
      fc.property(
        dag.filter((t) => t.length >= 2),
        (tasks) => {
          // Chain every task to the one before it, then make the first depend on the last.
          const last = tasks[tasks.length - 1]!.id;
          const cyclic = tasks.map((t, i): DagNode =>
            i === 0
              ? { ...t, dependsOn: [last] }
              : { ...t, dependsOn: [...(t.dependsOn ?? []), `t${i - 1}`] },
          );
          const [problem] = validateDag(cyclic);
          expect(problem?.kind).toBe('cycle');
          const path = problem?.kind === 'cycle' ? problem.path : [];
          expect(path[0]).toBe(path[path.length - 1]);
          const deps = new Map(cyclic.map((t) => [t.id, new Set(t.dependsOn)]));
          for (let i = 0; i + 1 < path.length; i++) expect(deps.get(path[i]!)?.has(path[i + 1]!)).toBe(true);
        },
      ),
    );
  });

  it('the critical path is a dependency chain whose duration no task finishes after', () => {
    fc.assert(
      fc.property(
        dag,
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 40, maxLength: 40 }),
        (tasks, ds) => {
          const duration = (id: string) => ds[Number(id.slice(1))] ?? 0;
          const { path, duration: total } = criticalPath(tasks, duration);
          const deps = new Map(tasks.map((t) => [t.id, new Set(t.dependsOn)]));
          for (let i = 0; i + 1 < path.length; i++) expect(deps.get(path[i + 1]!)?.has(path[i]!)).toBe(true);
          expect(path.reduce((sum, id) => sum + duration(id), 0)).toBe(total);
          // No chain is longer: the earliest finish of every task is at most the total.
          const finish = new Map<string, number>();
          for (const id of topologicalOrder(tasks)) {
            const start = Math.max(0, ...[...(deps.get(id) ?? [])].map((d) => finish.get(d) ?? 0));
            finish.set(id, start + duration(id));
          }
          expect(Math.max(...finish.values())).toBe(total);
        },
      ),
    );
  });
});
