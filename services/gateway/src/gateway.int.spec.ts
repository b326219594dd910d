import { startTestGateway, type TestGateway } from './testing/gateway-test-kit';

const PROBLEM = /^application\/problem\+json/;

describe('gateway edge (in-process, real PostgreSQL and NATS)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({ bodyLimitBytes: 2048 });
  });

  afterAll(async () => {
    await gw.close();
  });

  const inject = (opts: Parameters<TestGateway['app']['inject']>[0]) => gw.app.inject(opts as never);
  const createKey = async (body: Record<string, unknown>, key = gw.adminKey) => {
    const res = await inject({ method: 'POST', url: '/api/keys', headers: gw.auth(key), payload: body });
    return { res, body: res.json<{ id: string; key: string }>() };
  };

  describe('authentication', () => {
    it('answers 401 problem+json with a Bearer challenge when no key is sent', async () => {
      const res = await inject({ method: 'GET', url: '/api/agents' });
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.headers['www-authenticate']).toBe('Bearer realm="orchestrator"');
      expect(res.json()).toMatchObject({
        type: 'urn:orch:problem:unauthenticated',
        title: 'Unauthorized',
        status: 401,
        instance: '/api/agents',
      });
    });

    it('answers 401 invalid_token for an unknown key and for a non-Bearer scheme', async () => {
      for (const authorization of ['Bearer orch_not-a-real-key', 'Basic dXNlcjpwYXNz']) {
        const res = await inject({ method: 'GET', url: '/api/agents', headers: { authorization } });
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
        expect(res.json().detail).toBe('the API key is unknown or revoked');
      }
    });
  });

  describe('keys', () => {
    it('creates a key shown once, which then authenticates with its role', async () => {
      const { res, body } = await createKey({ role: 'viewer', name: 'dashboard' });
      expect(res.statusCode).toBe(201);
      expect(body).toEqual({
        id: expect.any(String),
        key: expect.stringMatching(/^orch_[A-Za-z0-9_-]{43}$/),
        role: 'viewer',
        name: 'dashboard',
      });
      // A viewer may not manage keys: authenticated, but forbidden.
      const denied = await createKey({ role: 'viewer', name: 'x' }, body.key);
      expect(denied.res.statusCode).toBe(403);
      expect(denied.res.headers['content-type']).toMatch(PROBLEM);
      expect(denied.body).toMatchObject({ type: 'urn:orch:problem:forbidden', status: 403 });
    });

    it('revokes a key: it stops authenticating at once and cannot be revoked twice', async () => {
      const { body } = await createKey({ role: 'operator', name: 'ci' });
      const del = await inject({
        method: 'DELETE',
        url: `/api/keys/${body.id}`,
        headers: gw.auth(gw.adminKey),
      });
      expect(del.statusCode).toBe(204);
      const after = await createKey({ role: 'viewer', name: 'x' }, body.key);
      expect(after.res.statusCode).toBe(401);
      const again = await inject({
        method: 'DELETE',
        url: `/api/keys/${body.id}`,
        headers: gw.auth(gw.adminKey),
      });
      expect(again.statusCode).toBe(404);
      expect(again.headers['content-type']).toMatch(PROBLEM);
    });

    it('binds agent keys to an agent, and only agent keys', async () => {
      const missing = await createKey({ role: 'agent', name: 'a' });
      expect(missing.res.statusCode).toBe(400);
      expect(missing.res.json().errors).toEqual([{ path: 'agentId', message: 'required for role agent' }]);
      const extra = await createKey({ role: 'viewer', name: 'v', agentId: 'a1' });
      expect(extra.res.statusCode).toBe(400);
      expect(extra.res.json().errors[0].path).toBe('agentId');
      const ok = await createKey({ role: 'agent', name: 'a', agentId: 'agent-1' });
      expect(ok.res.statusCode).toBe(201);
    });

    it('lets only admins revoke keys', async () => {
      const { body: operator } = await createKey({ role: 'operator', name: 'op' });
      const res = await inject({
        method: 'DELETE',
        url: `/api/keys/${operator.id}`,
        headers: gw.auth(operator.key),
      });
      expect(res.statusCode).toBe(403);
    });
  });

  describe('role matrix', () => {
    const keys: Record<string, string> = {};
    beforeAll(async () => {
      for (const role of ['operator', 'viewer'])
        keys[role] = (await createKey({ role, name: role })).body.key;
      keys['agent'] = (await createKey({ role: 'agent', name: 'agent', agentId: 'agent-own' })).body.key;
    });

    it.each([
      ['viewer', 'POST', '/api/keys', 403],
      ['operator', 'POST', '/api/keys', 403],
      ['agent', 'POST', '/api/keys', 403],
      ['viewer', 'POST', '/api/agents', 403],
      ['agent', 'POST', '/api/agents', 403],
      ['agent', 'GET', '/api/agents', 403],
      ['agent', 'GET', '/api/agents/agent-other', 403],
      ['agent', 'GET', '/api/events/stream', 403],
    ])('%s %s %s -> %i', async (role, method, url, status) => {
      const res = await inject({
        method: method as 'GET',
        url,
        headers: gw.auth(keys[role] ?? ''),
        payload: method === 'POST' ? {} : undefined,
      });
      expect(res.statusCode).toBe(status);
      expect(res.headers['content-type']).toMatch(PROBLEM);
    });

    it('tells an agent key it reaches only its own agent', async () => {
      const res = await inject({
        method: 'GET',
        url: '/api/agents/agent-other',
        headers: gw.auth(keys['agent'] ?? ''),
      });
      expect(res.json().detail).toBe('an agent key reaches only its own agent');
    });
  });

  describe('request validation and body handling', () => {
    it('names each invalid field', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/keys',
        headers: gw.auth(gw.adminKey),
        payload: { role: 'superuser', name: '', extra: true },
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      const body = res.json();
      expect(body.type).toBe('urn:orch:problem:validation');
      expect(body.errors.map((e: { path: string }) => e.path).sort()).toEqual(['extra', 'name', 'role']);
    });

    it('answers 400 for malformed JSON', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/keys',
        headers: { ...gw.auth(gw.adminKey), 'content-type': 'application/json' },
        payload: '{"role": "viewer",',
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json()).toMatchObject({
        type: 'urn:orch:problem:malformed_json',
        detail: 'the request body is not valid JSON',
      });
    });

    it('answers 413 for a body over the limit', async () => {
      const res = await inject({
        method: 'POST',
        url: '/api/keys',
        headers: { ...gw.auth(gw.adminKey), 'content-type': 'application/json' },
        payload: JSON.stringify({ role: 'viewer', name: 'x'.repeat(4096) }),
      });
      expect(res.statusCode).toBe(413);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json().type).toBe('urn:orch:problem:payload_too_large');
    });

    it('answers 415 for a body that is not JSON', async () => {
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await inject({
          method: 'POST',
          url: '/api/keys',
          headers: { ...gw.auth(gw.adminKey), 'content-type': contentType },
          payload: 'role=viewer',
        });
        expect(res.statusCode).toBe(415);
        expect(res.headers['content-type']).toMatch(PROBLEM);
      }
    });

    it('answers 404 problem+json for an unknown route', async () => {
      const res = await inject({ method: 'GET', url: '/api/nope', headers: gw.auth(gw.adminKey) });
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json()).toMatchObject({ type: 'urn:orch:problem:not_found', status: 404 });
    });

    it('answers 400 naming the query parameter that is out of range', async () => {
      const res = await inject({
        method: 'GET',
        url: '/api/agents?limit=501',
        headers: gw.auth(gw.adminKey),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors).toEqual([{ path: 'limit', message: expect.any(String) }]);
    });
  });

  describe('correlation id', () => {
    it('echoes a valid X-Correlation-Id, also on errors', async () => {
      const res = await inject({
        method: 'GET',
        url: '/api/agents',
        headers: { 'x-correlation-id': 'req-123' },
      });
      expect(res.headers['x-correlation-id']).toBe('req-123');
      expect(res.json().correlationId).toBe('req-123');
    });

    it('issues a UUID when none (or an unsafe one) is given', async () => {
      const res = await inject({
        method: 'GET',
        url: '/health/live',
        headers: { 'x-correlation-id': 'bad id' },
      });
      expect(res.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    });
  });

  describe('idempotency on POST /api/keys', () => {
    const post = (key: string, body: Record<string, unknown>) =>
      inject({
        method: 'POST',
        url: '/api/keys',
        headers: { ...gw.auth(gw.adminKey), 'idempotency-key': key },
        payload: body,
      });

    it('replays the stored response for a retry of the same request', async () => {
      const first = await post('idem-replay-1', { role: 'viewer', name: 'replayed' });
      expect(first.statusCode).toBe(201);
      expect(first.headers['idempotency-replayed']).toBeUndefined();
      const retry = await post('idem-replay-1', { name: 'replayed', role: 'viewer' });
      expect(retry.statusCode).toBe(201);
      expect(retry.headers['idempotency-replayed']).toBe('true');
      expect(retry.json()).toEqual(first.json());
    });

    it('answers 422 when the key is reused for a different request', async () => {
      await post('idem-mismatch-1', { role: 'viewer', name: 'one' });
      const res = await post('idem-mismatch-1', { role: 'viewer', name: 'two' });
      expect(res.statusCode).toBe(422);
      expect(res.headers['content-type']).toMatch(PROBLEM);
      expect(res.json().type).toBe('urn:orch:problem:idempotency_key_reused');
    });

    it('replays a client error too, with its problem content type', async () => {
      const first = await post('idem-invalid-1', { role: 'nobody', name: 'x' });
      const retry = await post('idem-invalid-1', { role: 'nobody', name: 'x' });
      expect(first.statusCode).toBe(400);
      expect(retry.statusCode).toBe(400);
      expect(retry.headers['idempotency-replayed']).toBe('true');
      expect(retry.headers['content-type']).toMatch(PROBLEM);
      expect(retry.json().errors).toEqual(first.json().errors);
    });

    it('scopes keys to the principal', async () => {
      const other = (await createKey({ role: 'admin', name: 'second admin' })).body.key;
      await post('idem-shared-1', { role: 'viewer', name: 'first admin' });
      const res = await inject({
        method: 'POST',
        url: '/api/keys',
        headers: { ...gw.auth(other), 'idempotency-key': 'idem-shared-1' },
        payload: { role: 'viewer', name: 'second admin' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.headers['idempotency-replayed']).toBeUndefined();
    });

    it('rejects an invalid Idempotency-Key', async () => {
      const res = await post('x'.repeat(300), { role: 'viewer', name: 'x' });
      expect(res.statusCode).toBe(400);
      expect(res.json().errors).toEqual([{ path: 'Idempotency-Key', message: expect.any(String) }]);
    });
  });

  describe('OpenAPI', () => {
    it('serves the document with bearer auth and the zod-derived schemas', async () => {
      const res = await inject({ method: 'GET', url: '/api/docs-json' });
      expect(res.statusCode).toBe(200);
      const doc = res.json();
      expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
      const register = doc.paths['/api/agents'].post;
      const schema = register.requestBody.content['application/json'].schema;
      expect(schema.required).toEqual(
        expect.arrayContaining(['name', 'provider', 'model', 'capabilities', 'maxConcurrency']),
      );
      expect(schema.properties.maxConcurrency).toMatchObject({ minimum: 1, maximum: 1000 });
      expect(schema.additionalProperties).toBe(false);
      expect(register.responses['400'].content['application/problem+json']).toBeDefined();
      expect(doc.paths['/api/keys/{id}'].delete).toBeDefined();
      expect(doc.paths['/api/events/stream'].get).toBeDefined();
      expect(doc.paths['/health/live']).toBeUndefined();
    });
  });

  describe('health and metrics (no auth)', () => {
    it('is live and ready with postgres and nats up', async () => {
      expect((await inject({ method: 'GET', url: '/health/live' })).json()).toEqual({ status: 'ok' });
      const ready = await inject({ method: 'GET', url: '/health/ready' });
      expect(ready.statusCode).toBe(200);
      expect(ready.json()).toEqual({
        status: 'ok',
        checks: { postgres: { status: 'up' }, nats: { status: 'up' } },
      });
    });

    it('serves Prometheus metrics with request durations by route template', async () => {
      await inject({ method: 'GET', url: '/api/agents/some-id' });
      const res = await inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.body).toMatch(
        /http_request_duration_seconds_count\{[^}]*route="\/api\/agents\/:id"[^}]*status="401"[^}]*\} \d+/,
      );
    });
  });
});
