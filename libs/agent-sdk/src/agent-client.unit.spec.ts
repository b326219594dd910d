import { freePort } from '@orch/testing';
import { AgentClient } from './agent-client';
import { GatewayUnreachableError, ProblemError, UnexpectedResponseError } from './errors';
import { FakeGateway, problem, type RecordedRequest } from './testing';
import type { AgentRegistration, Assignment } from './types';

const FAST_RETRY = { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 200 };

const registration: AgentRegistration = {
  name: 'coder-1',
  provider: 'anthropic',
  model: 'claude',
  capabilities: ['coding', { name: 'review', level: 0.6 }],
  maxConcurrency: 2,
  labels: { team: 'a' },
};

describe('AgentClient', () => {
  let gateway: FakeGateway;
  let client: AgentClient;

  beforeEach(async () => {
    gateway = await FakeGateway.start();
    client = await AgentClient.register(gateway.url, 'operator-key', registration, { retry: FAST_RETRY });
  });
  afterEach(() => gateway.close());

  const lastRequest = (): RecordedRequest => {
    const req = gateway.requests.at(-1);
    if (!req) throw new Error('no request reached the gateway');
    return req;
  };

  describe('registration', () => {
    it('posts the registration with the operator key and acts as the new agent with its key', async () => {
      const [register] = gateway.requests;
      expect(register).toMatchObject({ method: 'POST', path: '/api/agents', body: registration });
      expect(register?.headers.authorization).toBe('Bearer operator-key');
      expect(register?.headers['idempotency-key']).toEqual(expect.any(String));
      expect(gateway.agents.has(client.agentId)).toBe(true);

      await client.heartbeat();
      expect(lastRequest()).toMatchObject({
        method: 'POST',
        path: `/api/agents/${client.agentId}/heartbeat`,
      });
      expect(lastRequest().headers.authorization).toBe(`Bearer key-${client.agentId}`);
      expect(lastRequest().headers['idempotency-key']).toBeUndefined();
    });

    it('fails clearly when the answer has no id and key', async () => {
      gateway.intercept((req) =>
        req.path === '/api/agents' ? { status: 201, body: { id: 'x' } } : undefined,
      );
      await expect(AgentClient.register(gateway.url, 'k', registration)).rejects.toThrow(
        UnexpectedResponseError,
      );
    });
  });

  describe('requests', () => {
    it('reports on a task with the method, path and body of the contract', async () => {
      await client.start('t/1');
      await client.progress('t/1', { percent: 40, message: 'halfway' });
      await client.complete('t/1', { result: 42 }, { inputTokens: 10, outputTokens: 5, costUsd: 0.01 });
      await client.fail('t/1', 'boom', false);
      await client.handOff('t/1', { toCapabilities: ['testing'], reason: 'needs a tester' });
      await client.spawnSubtasks('t/1', [{ id: 'a', type: 'code', dependsOn: [] }]);

      const reports = gateway.requests.slice(1).map((r) => [r.method, r.path, r.body]);
      expect(reports).toEqual([
        ['POST', '/api/tasks/t%2F1/start', {}],
        ['POST', '/api/tasks/t%2F1/progress', { percent: 40, message: 'halfway' }],
        [
          'POST',
          '/api/tasks/t%2F1/complete',
          { output: { result: 42 }, usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.01 } },
        ],
        ['POST', '/api/tasks/t%2F1/fail', { error: 'boom', retryable: false }],
        ['POST', '/api/tasks/t%2F1/handoff', { toCapabilities: ['testing'], reason: 'needs a tester' }],
        ['POST', '/api/tasks/t%2F1/subtasks', { tasks: [{ id: 'a', type: 'code', dependsOn: [] }] }],
      ]);
      for (const req of gateway.requests.slice(1)) {
        expect(req.headers['content-type']).toBe('application/json');
        const keyed = !req.path.endsWith('/progress');
        expect(req.headers['idempotency-key'] !== undefined).toBe(keyed);
      }
      const keys = gateway.requests.map((r) => r.headers['idempotency-key']).filter(Boolean);
      expect(new Set(keys).size).toBe(keys.length);
    });

    it('answers a report with the ack', async () => {
      gateway.intercept(() => ({
        status: 200,
        body: { taskId: 't1', sessionId: 's1', status: 'succeeded', addedTaskIds: ['t1.review.1'] },
      }));
      await expect(client.complete('t1', {})).resolves.toEqual({
        taskId: 't1',
        sessionId: 's1',
        status: 'succeeded',
        addedTaskIds: ['t1.review.1'],
      });
    });

    it('drains and deregisters the agent', async () => {
      await client.drain();
      expect(lastRequest()).toMatchObject({ method: 'POST', path: `/api/agents/${client.agentId}/drain` });
      await client.deregister();
      expect(lastRequest()).toMatchObject({ method: 'DELETE', path: `/api/agents/${client.agentId}` });
      expect(gateway.agents.has(client.agentId)).toBe(false);
    });

    it('sends messages from the agent and reads the ones addressed to it', async () => {
      gateway.intercept((req) => {
        if (req.path === '/api/orchestration/communicate')
          return { status: 201, body: { messageId: 'm1', sequence: '7' } };
        if (req.path.endsWith('/messages')) {
          const item = {
            messageId: 'm1',
            sequence: '7',
            from: 'a2',
            body: { hi: 1 },
            postedAt: '2025-01-01T00:00:00Z',
          };
          return { status: 200, body: { items: [item], lastSequence: '7' } };
        }
        return undefined;
      });
      await expect(client.sendMessage('s1', { hi: 1 }, { to: 'a2' })).resolves.toEqual({
        messageId: 'm1',
        sequence: 7,
      });
      expect(lastRequest().body).toEqual({
        sessionId: 's1',
        from: client.agentId,
        to: 'a2',
        body: { hi: 1 },
      });

      const page = await client.messages('s1', { after: 3, limit: 10, waitMs: 0 });
      expect(page).toEqual({
        items: [
          { messageId: 'm1', sequence: 7, from: 'a2', body: { hi: 1 }, postedAt: '2025-01-01T00:00:00Z' },
        ],
        lastSequence: 7,
      });
      expect(lastRequest().path).toBe('/api/orchestration/sessions/s1/messages');
      expect(Object.fromEntries(lastRequest().query)).toEqual({
        after: '3',
        limit: '10',
        waitMs: '0',
        agentId: client.agentId,
      });

      await client.messages('s1', { addressedToMe: false });
      expect(lastRequest().query.has('agentId')).toBe(false);
    });

    it('reads and writes the shared context with If-Match', async () => {
      gateway.intercept((req) => {
        if (!req.path.startsWith('/api/orchestration/sessions/s1/context/')) return undefined;
        if (req.method === 'GET')
          return {
            status: 200,
            body: { key: 'plan', value: { a: 1 }, version: '3' },
            headers: { etag: '"3"' },
          };
        if (req.headers['if-match'] === '"3"') return problem(412, 'the key moved to version 4');
        return {
          status: 200,
          body: { key: 'plan', value: (req.body as { value: unknown }).value, version: 5 },
        };
      });
      await expect(client.getContext('s1', 'plan')).resolves.toEqual({
        key: 'plan',
        value: { a: 1 },
        version: 3,
      });
      expect(lastRequest()).toMatchObject({
        method: 'GET',
        path: '/api/orchestration/sessions/s1/context/plan',
      });

      const conflict = await client
        .putContext('s1', 'plan', { a: 2 }, { ifMatch: 3 })
        .catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(ProblemError);
      expect((conflict as ProblemError).status).toBe(412);
      expect(lastRequest()).toMatchObject({ method: 'PUT', body: { value: { a: 2 } } });

      await expect(client.putContext('s1', 'plan', { a: 2 })).resolves.toEqual({
        key: 'plan',
        value: { a: 2 },
        version: 5,
      });
      expect(lastRequest().headers['if-match']).toBeUndefined();
    });

    it('gives undefined for a context key without a value', async () => {
      await expect(client.getContext('s1', 'missing')).resolves.toBeUndefined();
    });
  });

  describe('assignments', () => {
    it('long-polls with waitMs and reads the assignment', async () => {
      const assignment: Assignment = {
        taskId: 't1',
        key: 'build',
        sessionId: 's1',
        type: 'code',
        description: 'build it',
        input: { repo: 'x' },
        attempt: 2,
        deadline: '2030-01-01T00:00:00Z',
        capabilities: ['coding'],
        role: 'review',
        reviewOf: 'impl',
        round: 1,
        goal: 'ship',
        pattern: 'pair',
      };
      gateway.enqueue({ ...assignment });
      await expect(client.nextAssignment(500)).resolves.toEqual(assignment);
      expect(lastRequest()).toMatchObject({
        method: 'GET',
        path: `/api/agents/${client.agentId}/assignments/next`,
      });
      expect(lastRequest().query.get('waitMs')).toBe('500');
    });

    it('fills absent fields with their defaults and reads numbers sent as strings', async () => {
      gateway.intercept((req) =>
        req.path.endsWith('/next')
          ? { status: 200, body: { taskId: 't1', attempt: '3', round: '2' } }
          : undefined,
      );
      await expect(client.nextAssignment(0)).resolves.toEqual({
        taskId: 't1',
        key: '',
        sessionId: '',
        type: '',
        description: '',
        input: {},
        attempt: 3,
        capabilities: [],
        role: 'work',
        round: 2,
        goal: '',
        pattern: '',
      });
    });

    it('gives undefined on 204', async () => {
      await expect(client.nextAssignment(0)).resolves.toBeUndefined();
      expect(gateway.requests).toHaveLength(2);
    });

    it('abandons the poll when its signal aborts, without retrying', async () => {
      const controller = new AbortController();
      const poll = client.nextAssignment(60_000, { signal: controller.signal });
      await new Promise((r) => setTimeout(r, 20));
      controller.abort(new Error('stopping'));
      await expect(poll).rejects.toThrow('stopping');
      expect(gateway.requests.filter((r) => r.path.endsWith('/next'))).toHaveLength(1);
    });
  });

  describe('errors', () => {
    it('turns a problem document into a ProblemError with its fields', async () => {
      gateway.intercept(() => ({
        status: 400,
        body: {
          type: 'urn:orch:problem:validation',
          title: 'Bad Request',
          status: 400,
          detail: 'the output is invalid',
          errors: [{ path: 'output.plan', message: 'must be an object' }],
          correlationId: 'c1',
        },
      }));
      const err = (await client.complete('t1', {}).catch((e: unknown) => e)) as ProblemError;
      expect(err).toBeInstanceOf(ProblemError);
      expect(err).toMatchObject({
        status: 400,
        type: 'urn:orch:problem:validation',
        title: 'Bad Request',
        detail: 'the output is invalid',
        errors: [{ path: 'output.plan', message: 'must be an object' }],
        method: 'POST',
        path: '/api/tasks/t1/complete',
        retried: false,
      });
      expect(err.message).toBe(
        'POST /api/tasks/t1/complete failed with 400 Bad Request: the output is invalid [output.plan: must be an object]',
      );
      expect(err.body).toMatchObject({ correlationId: 'c1' });
    });

    it('gives a clear error for an error body that is not JSON', async () => {
      gateway.intercept(() => ({
        status: 500,
        text: '<html>Internal Server Error</html>',
        headers: { 'content-type': 'text/html' },
      }));
      const err = (await client.start('t1').catch((e: unknown) => e)) as ProblemError;
      expect(err).toBeInstanceOf(ProblemError);
      expect(err.status).toBe(500);
      expect(err.title).toBe('Internal Server Error');
      expect(err.detail).toContain('not a problem document: <html>Internal Server Error</html>');
    });

    it('gives a clear error for a success body that is not JSON', async () => {
      gateway.intercept(() => ({
        status: 200,
        text: 'oops',
        headers: { 'content-type': 'application/json' },
      }));
      await expect(client.heartbeat()).rejects.toThrow('answered 200 but its body is not JSON: oops');
    });
  });

  describe('retries', () => {
    it('retries a 503 with the same Idempotency-Key, then succeeds', async () => {
      let failures = 1;
      gateway.intercept(() => (failures-- > 0 ? problem(503, 'no service available') : undefined));
      await expect(client.complete('t1', { ok: true })).resolves.toMatchObject({ taskId: 't1' });
      const attempts = gateway.requests.filter((r) => r.path === '/api/tasks/t1/complete');
      expect(attempts).toHaveLength(2);
      expect(attempts[1]?.headers['idempotency-key']).toBe(attempts[0]?.headers['idempotency-key']);
      expect(gateway.reportsOf('complete')).toHaveLength(1);
    });

    it.each([502, 504, 429])('retries a %i', async (status) => {
      let failures = 2;
      gateway.intercept(() => (failures-- > 0 ? problem(status, 'later') : undefined));
      await expect(client.heartbeat()).resolves.toMatchObject({ agentId: client.agentId });
      expect(gateway.requests.filter((r) => r.path.endsWith('/heartbeat'))).toHaveLength(3);
    });

    it('retries while the gateway still runs the first request with this Idempotency-Key', async () => {
      let failures = 1;
      gateway.intercept(() =>
        failures-- > 0
          ? {
              status: 409,
              body: { type: 'urn:orch:problem:idempotency_in_progress', status: 409 },
              headers: { 'retry-after': '0' },
            }
          : undefined,
      );
      await expect(client.fail('t1', 'x')).resolves.toMatchObject({ taskId: 't1' });
      expect(gateway.reportsOf('fail')).toHaveLength(1);
    });

    it('does not retry a 400', async () => {
      gateway.intercept(() => problem(400, 'bad'));
      await expect(client.complete('t1', {})).rejects.toMatchObject({ status: 400, retried: false });
      expect(gateway.requests.filter((r) => r.path === '/api/tasks/t1/complete')).toHaveLength(1);
    });

    it('gives up after maxAttempts with the last answer', async () => {
      gateway.intercept(() => problem(503, 'still down'));
      await expect(client.heartbeat()).rejects.toMatchObject({ status: 503, detail: 'still down' });
      expect(gateway.requests.filter((r) => r.path.endsWith('/heartbeat'))).toHaveLength(
        FAST_RETRY.maxAttempts,
      );
    });

    it('does not wait for a Retry-After longer than the longest delay', async () => {
      gateway.intercept(() => ({ ...problem(429, 'slow down'), headers: { 'retry-after': '3600' } }));
      await expect(client.heartbeat()).rejects.toMatchObject({ status: 429 });
      expect(gateway.requests.filter((r) => r.path.endsWith('/heartbeat'))).toHaveLength(1);
    });

    it('marks a 409 that answers a retry, so a completion recorded the first time can be recognised', async () => {
      let calls = 0;
      gateway.intercept((req) => {
        if (!req.path.endsWith('/complete')) return undefined;
        calls++;
        return calls === 1 ? problem(504, 'it may still complete') : problem(409, 'task already succeeded');
      });
      await expect(client.complete('t1', {})).rejects.toMatchObject({ status: 409, retried: true });
    });

    it('retries a 404 of a heartbeat or poll (the read model may lag the registration) but not of a report', async () => {
      let lagging = 2;
      gateway.intercept((req) =>
        req.path.includes('/api/agents/') && lagging-- > 0 ? problem(404, 'agent not found') : undefined,
      );
      await expect(client.heartbeat()).resolves.toMatchObject({ agentId: client.agentId });
      expect(gateway.requests.filter((r) => r.path.endsWith('/heartbeat'))).toHaveLength(3);

      gateway.intercept((req) => (req.path.endsWith('/start') ? problem(404, 'no such task') : undefined));
      await expect(client.start('t1')).rejects.toMatchObject({ status: 404 });
      expect(gateway.requests.filter((r) => r.path.endsWith('/start'))).toHaveLength(1);
    });

    it('retries when the gateway cannot be reached, then gives up with the cause', async () => {
      const port = await freePort();
      const offline = new AgentClient({
        baseUrl: `http://127.0.0.1:${port}`,
        apiKey: 'k',
        agentId: 'a1',
        retry: FAST_RETRY,
      });
      const err = (await offline.heartbeat().catch((e: unknown) => e)) as GatewayUnreachableError;
      expect(err).toBeInstanceOf(GatewayUnreachableError);
      expect(err.attempts).toBe(FAST_RETRY.maxAttempts);
      expect(err.message).toMatch(
        /^POST \/api\/agents\/a1\/heartbeat failed after 4 attempt\(s\): .*ECONNREFUSED/,
      );
    });

    it('times out a request that gets no answer', async () => {
      gateway.intercept(() => new Promise(() => undefined));
      const slow = new AgentClient({
        baseUrl: gateway.url,
        apiKey: `key-${client.agentId}`,
        agentId: client.agentId,
        requestTimeoutMs: 50,
        retry: { ...FAST_RETRY, maxAttempts: 2 },
      });
      await expect(slow.heartbeat()).rejects.toThrow('failed after 2 attempt(s): no answer within 50 ms');
    });
  });
});
