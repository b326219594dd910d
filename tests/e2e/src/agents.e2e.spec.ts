import { randomUUID } from 'node:crypto';
import { eventually } from '@orch/testing';
import { startStack, type TestStack } from './stack';

const agent = (name: string) => ({
  name,
  provider: 'openai',
  model: 'gpt-large',
  capabilities: [{ name: 'code', level: 0.9 }, 'review'],
  maxConcurrency: 3,
  costPer1kInputTokens: 0.5,
  labels: { team: 'core' },
  type: 'coder',
});

describe('agents through the whole stack (gateway -> NATS -> coordination -> store -> relay -> JetStream)', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  const getAgent = (key: string, id: string) =>
    eventually(
      async () => {
        const res = await stack.call(key, 'GET', `/api/agents/${id}`);
        return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : undefined;
      },
      { what: `agent ${id} in the read model` },
    );

  it('registers an agent and serves it back with the API.md fields', async () => {
    const res = await stack.call(stack.adminKey, 'POST', '/api/agents', agent('coder-e2e'));
    expect(res.status).toBe(201);
    const { id, apiKey } = (await res.json()) as { id: string; apiKey: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(apiKey).toMatch(/^orch_/);

    const view = await getAgent(stack.adminKey, id);
    expect(view).toMatchObject({
      id,
      name: 'coder-e2e',
      provider: 'openai',
      model: 'gpt-large',
      status: 'idle',
      activeTasks: 0,
      circuit: 'closed',
      maxConcurrency: 3,
      capabilities: [
        { name: 'code', level: 0.9 },
        { name: 'review', level: 1 },
      ],
      costPer1kInputTokens: 0.5,
      costPer1kOutputTokens: 0,
      labels: { team: 'core' },
      type: 'coder',
    });

    const list = (await (await stack.call(stack.adminKey, 'GET', '/api/agents?limit=500')).json()) as {
      items: { id: string }[];
    };
    expect(list.items.map((a) => a.id)).toContain(id);
  });

  it('lets an agent key read its own agent and nobody else', async () => {
    const mine = (await (await stack.call(stack.adminKey, 'POST', '/api/agents', agent('self'))).json()) as {
      id: string;
      apiKey: string;
    };
    const other = (await (
      await stack.call(stack.adminKey, 'POST', '/api/agents', agent('other'))
    ).json()) as { id: string };
    await getAgent(mine.apiKey, mine.id);
    const forbidden = await stack.call(mine.apiKey, 'GET', `/api/agents/${other.id}`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toContain('application/problem+json');
    const register = await stack.call(mine.apiKey, 'POST', '/api/agents', agent('sneaky'));
    expect(register.status).toBe(403);
  });

  it('answers 404 problem+json for an agent that does not exist', async () => {
    const res = await stack.call(stack.adminKey, 'GET', `/api/agents/${randomUUID()}`);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
  });

  it('rejects an invalid registration naming the fields, and creates nothing', async () => {
    const before = (await (await stack.call(stack.adminKey, 'GET', '/api/agents?limit=500')).json()) as {
      items: unknown[];
    };
    const res = await stack.call(stack.adminKey, 'POST', '/api/agents', {
      ...agent('bad'),
      capabilities: [{ name: 'code', level: 2 }],
      maxConcurrency: -1,
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path).sort()).toEqual(
      ['capabilities[0].level', 'maxConcurrency'].sort(),
    );
    const after = (await (await stack.call(stack.adminKey, 'GET', '/api/agents?limit=500')).json()) as {
      items: unknown[];
    };
    expect(after.items).toHaveLength(before.items.length);
  });

  it('replays a retried POST with the same Idempotency-Key instead of registering twice', async () => {
    const key = randomUUID();
    const first = await stack.call(stack.adminKey, 'POST', '/api/agents', agent('idem'), {
      'idempotency-key': key,
    });
    const second = await stack.call(stack.adminKey, 'POST', '/api/agents', agent('idem'), {
      'idempotency-key': key,
    });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotency-replayed')).toBe('true');
    expect(await second.json()).toEqual(await first.json());
  });
});
