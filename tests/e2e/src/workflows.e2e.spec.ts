import { startStack, type TestStack } from './stack';

describe('workflow analysis through the stack (gateway -> NATS -> distribution)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const analyze = async (body: unknown) => {
    const res = await stack.call(stack.adminKey, 'POST', '/api/workflows/analyze', body);
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      body: (await res.json()) as Record<string, unknown>,
    };
  };

  it('reports levels, critical path, parallelism and estimates of a feature workflow', async () => {
    const { status, body } = await analyze({
      tasks: [
        { id: 'design', type: 'planner', estimatedDurationMs: 600_000 },
        { id: 'code', type: 'coder', dependsOn: ['design'], capabilities: ['code'] },
        { id: 'tests', type: 'tester', dependsOn: ['design'] },
        { id: 'review', type: 'reviewer', dependsOn: ['code', 'tests'] },
        { id: 'docs', type: 'documentation', dependsOn: ['design'] },
      ],
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      valid: true,
      problems: [],
      levels: [['design'], ['code', 'tests', 'docs'], ['review']],
      criticalPath: ['design', 'code', 'review'],
      parallelism: 3,
      estimates: { durationMs: 720_000, totalWorkMs: 840_000 },
    });
    expect(body['cycle']).toBeUndefined();
  });

  it('answers a cyclic workflow with its cycle as data, not as an error', async () => {
    const { status, body } = await analyze({
      tasks: [
        { id: 'a', type: 'x', dependsOn: ['b'] },
        { id: 'b', type: 'x', dependsOn: ['a'] },
      ],
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      valid: false,
      cycle: ['a', 'b', 'a'],
      problems: [{ kind: 'cycle', path: ['a', 'b', 'a'] }],
    });
  });

  it('rejects a malformed body with problem+json naming the field', async () => {
    const { status, type, body } = await analyze({ tasks: [{ id: 'a', type: 'x', dependsOn: 'b' }] });
    expect(status).toBe(400);
    expect(type).toContain('application/problem+json');
    expect((body['errors'] as { path: string }[]).map((e) => e.path)).toContain('tasks[0].dependsOn');
  });
});
