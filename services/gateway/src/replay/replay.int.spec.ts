import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import type { ListSessionEvents, ReplaySession, VerifySession } from '@orch/contracts';
import { parseExportLine } from '@orch/replay';
import { testNatsUrl } from '@orch/testing';
import { FakeAnalytics } from '../testing/fake-analytics';
import { startTestGateway, type TestGateway } from '../testing/gateway-test-kit';
import { toEventResponse, toRecordedEvent } from './replay.mapping';

const PROBLEM = /^application\/problem\+json/;
type Problem = { status: number; type: string; detail: string; errors?: { path: string; message: string }[] };
type Page = { items: { position: string; type: string }[]; nextFrom: string | null; lastPosition: string };

const SESSION = FakeAnalytics.SESSION;
const UNKNOWN = '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d';

/**
 * The replay routes against a fake analytics service (a real CommandServer on the real NATS): the
 * history page by page, the state at a position, verify, the NDJSON export streamed over several
 * pages, who may call them, and how bad input and remote errors become problem+json.
 */
describe('replay routes against a CommandServer on NATS', () => {
  let gw: TestGateway;
  let base: string;
  let nc: NatsConnection;
  let analytics: FakeAnalytics;
  const keys: Record<'operator' | 'viewer' | 'agent', string> = { operator: '', viewer: '', agent: '' };

  beforeAll(async () => {
    gw = await startTestGateway({ commandTimeoutMs: 1_000 });
    await gw.app.listen({ port: 0, host: '127.0.0.1' });
    base = (await gw.app.getUrl()).replace('[::1]', '127.0.0.1');
    nc = await connect({ servers: testNatsUrl() });
    analytics = new FakeAnalytics(nc, gw.naming);
    await nc.flush();
    const key = async (payload: Record<string, unknown>) =>
      (
        await gw.app.inject({ method: 'POST', url: '/api/keys', headers: gw.auth(gw.adminKey), payload })
      ).json<{ key: string }>().key;
    keys.operator = await key({ role: 'operator', name: 'op' });
    keys.viewer = await key({ role: 'viewer', name: 'viewer' });
    keys.agent = await key({ role: 'agent', name: 'agent', agentId: '3f0c2b8e-0d7a-4c39-9a51-6b2f1d0e4c77' });
  });

  afterAll(async () => {
    await analytics.close();
    await nc.close();
    await gw.close();
  });

  const call = (method: 'GET' | 'POST', url: string, key: string) =>
    gw.app.inject({ method, url, headers: gw.auth(key) });
  const problemOf = (res: Awaited<ReturnType<typeof call>>, status: number): Problem => {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(PROBLEM);
    return res.json<Problem>();
  };
  const recorded = FakeAnalytics.events(SESSION);

  describe('GET /api/sessions/{id}/events', () => {
    it('pages through the history with exact positions, nextFrom null on the last page', async () => {
      const positions: string[] = [];
      let from: string | null = '0';
      let pages = 0;
      while (from !== null) {
        const res = await call('GET', `/api/sessions/${SESSION}/events?from=${from}&limit=2`, keys.viewer);
        expect(res.statusCode).toBe(200);
        const page: Page = res.json<Page>();
        expect(analytics.received<ListSessionEvents>('ListSessionEvents').at(-1)).toMatchObject({
          sessionId: SESSION,
          from: BigInt(from),
          limit: 2,
        });
        expect(page.lastPosition).toBe(recorded.at(-1)!.position.toString());
        positions.push(...page.items.map((e) => e.position));
        from = page.nextFrom;
        pages++;
      }
      expect(pages).toBe(Math.ceil(FakeAnalytics.EVENTS / 2));
      expect(positions).toEqual(recorded.map((e) => e.position.toString()));
    });

    it('shows each event with its metadata, and leaves the page size to the service when absent', async () => {
      const res = await call('GET', `/api/sessions/${SESSION}/events`, keys.viewer);
      expect(analytics.received<ListSessionEvents>('ListSessionEvents').at(-1)).toMatchObject({
        from: 0n,
        limit: 0,
      });
      const page = res.json<{ items: unknown[]; nextFrom: string | null }>();
      expect(page.items[0]).toEqual(toEventResponse(recorded[0]!));
      expect(page.items[0]).toMatchObject({
        position: '9007199254740993',
        streamVersion: '1',
        metadata: { correlationId: SESSION, causationId: 'cmd-0' },
      });
      expect(page.nextFrom).toBe(recorded[FakeAnalytics.PAGE_CAP - 1]!.position.toString());
    });

    it('answers 404 for a session without events, 400 naming a bad id or from', async () => {
      expect(
        problemOf(await call('GET', `/api/sessions/${UNKNOWN}/events`, keys.viewer), 404).detail,
      ).toContain(UNKNOWN);
      expect(
        problemOf(await call('GET', '/api/sessions/not-a-session/events', keys.viewer), 400).errors,
      ).toEqual([{ path: 'id', message: 'must be a session id (a UUID)' }]);
      const bad = problemOf(
        await call('GET', `/api/sessions/${SESSION}/events?from=-1&limit=5001`, keys.viewer),
        400,
      );
      expect(bad.errors?.map((e) => e.path).sort()).toEqual(['from', 'limit']);
    });
  });

  describe('GET /api/sessions/{id}/replay', () => {
    it('answers the state at a position, sending it exactly', async () => {
      const at = recorded[2]!.position;
      const res = await call('GET', `/api/sessions/${SESSION}/replay?at=${at}`, keys.viewer);
      expect(res.statusCode).toBe(200);
      expect(analytics.received<ReplaySession>('ReplaySession').at(-1)).toMatchObject({
        sessionId: SESSION,
        at,
      });
      expect(res.json()).toEqual({
        at: at.toString(),
        events: 3,
        state: expect.objectContaining({ session: { id: SESSION, status: 'running', goal: 'ship it' } }),
        unknownTypes: ['LegacyThing'],
      });
    });

    it('replays to the last position without `at`', async () => {
      const res = await call('GET', `/api/sessions/${SESSION}/replay`, keys.viewer);
      expect(analytics.received<ReplaySession>('ReplaySession').at(-1)?.at).toBe(0n);
      expect(res.json()).toMatchObject({
        at: recorded.at(-1)!.position.toString(),
        events: FakeAnalytics.EVENTS,
      });
    });

    it.each(['-1', 'abc', '1.5', '', '18446744073709551616'])(
      'refuses at=%p naming `at`, without asking',
      async (at) => {
        const before = analytics.received('ReplaySession').length;
        const problem = problemOf(
          await call('GET', `/api/sessions/${SESSION}/replay?at=${at}`, keys.viewer),
          400,
        );
        expect(problem.errors).toEqual([
          { path: 'at', message: 'must be a non-negative integer (a global position)' },
        ]);
        expect(analytics.received('ReplaySession')).toHaveLength(before);
      },
    );

    it("passes the service's refusal of a position beyond the end through as a 400 at `at`", async () => {
      const beyond = recorded.at(-1)!.position + 1n;
      const problem = problemOf(
        await call('GET', `/api/sessions/${SESSION}/replay?at=${beyond}`, keys.viewer),
        400,
      );
      expect(problem.type).toBe('urn:orch:problem:validation');
      expect(problem.errors).toEqual([
        { path: 'at', message: expect.stringContaining("the session's last position") },
      ]);
    });
  });

  describe('POST /api/sessions/{id}/replay/verify', () => {
    it('reports the divergences for an operator', async () => {
      const res = await call('POST', `/api/sessions/${SESSION}/replay/verify`, keys.operator);
      expect(res.statusCode).toBe(200);
      expect(analytics.received<VerifySession>('VerifySession').at(-1)?.sessionId).toBe(SESSION);
      expect(res.json()).toEqual({
        divergences: [
          {
            position: (FakeAnalytics.FIRST_POSITION + 4n).toString(),
            streamId: `workflow-${SESSION}`,
            command: 'MarkReady',
            expected: [{ type: 'TaskReady', data: { taskId: 't2' } }],
            actual: [],
            reason: 'today the task is not ready yet',
          },
        ],
        checked: 5,
        skipped: 1,
        unknownTypes: ['LegacyThing'],
      });
    });

    it('is for operators and admins only', async () => {
      const before = analytics.received('VerifySession').length;
      expect(
        problemOf(await call('POST', `/api/sessions/${SESSION}/replay/verify`, keys.viewer), 403).status,
      ).toBe(403);
      expect(
        problemOf(await call('POST', `/api/sessions/${SESSION}/replay/verify`, keys.agent), 403).status,
      ).toBe(403);
      expect(analytics.received('VerifySession')).toHaveLength(before);
      expect(
        (
          await gw.app.inject({
            method: 'POST',
            url: `/api/sessions/${SESSION}/replay/verify`,
            headers: gw.auth(gw.adminKey),
          })
        ).statusCode,
      ).toBe(200);
    });

    it('answers 404 for an unknown session', async () => {
      problemOf(await call('POST', `/api/sessions/${UNKNOWN}/replay/verify`, keys.operator), 404);
    });
  });

  describe('GET /api/sessions/{id}/export', () => {
    it('streams every event as NDJSON over several pages of at most 5,000', async () => {
      const before = analytics.received('ListSessionEvents').length;
      const res = await fetch(`${base}/api/sessions/${SESSION}/export`, { headers: gw.auth(keys.viewer) });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="session-${SESSION}.ndjson"`);
      const text = await res.text();
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.slice(0, -1).split('\n');
      expect(lines.map((line, i) => parseExportLine(line, i + 1))).toEqual(recorded.map(toRecordedEvent));

      const asked = analytics.received<ListSessionEvents>('ListSessionEvents').slice(before);
      expect(asked).toHaveLength(Math.ceil(FakeAnalytics.EVENTS / FakeAnalytics.PAGE_CAP));
      expect(asked.map((p) => p.limit)).toEqual(asked.map(() => 5_000));
      // Each page starts after the last position of the one before.
      expect(asked.map((p) => p.from)).toEqual([
        0n,
        recorded[FakeAnalytics.PAGE_CAP - 1]!.position,
        recorded[2 * FakeAnalytics.PAGE_CAP - 1]!.position,
      ]);
    });

    it('answers 404 problem+json for an unknown session, before writing anything', async () => {
      const res = await fetch(`${base}/api/sessions/${UNKNOWN}/export`, { headers: gw.auth(keys.viewer) });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(PROBLEM);
      expect(res.headers.get('content-disposition')).toBeNull();
      expect(((await res.json()) as Problem).type).toBe('urn:orch:problem:not_found');
    });

    it('breaks the transfer when a later page fails, so the file never looks complete', async () => {
      const res = await fetch(`${base}/api/sessions/${FakeAnalytics.BROKEN_SESSION}/export`, {
        headers: gw.auth(keys.viewer),
      });
      expect(res.status).toBe(200);
      await expect(res.text()).rejects.toThrow();
    });

    it('is for readers: not agents', async () => {
      problemOf(await call('GET', `/api/sessions/${SESSION}/export`, keys.agent), 403);
      problemOf(await call('GET', '/api/sessions/bad/export', keys.viewer), 400);
    });
  });

  it('documents every route in OpenAPI', async () => {
    const doc = (await gw.app.inject({ method: 'GET', url: '/api/docs-json' })).json<{
      paths: Record<
        string,
        Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>
      >;
    }>();
    expect(doc.paths['/api/sessions/{id}/events']?.['get']?.responses['200']).toBeDefined();
    expect(doc.paths['/api/sessions/{id}/replay']?.['get']?.responses['400']).toBeDefined();
    expect(doc.paths['/api/sessions/{id}/replay/verify']?.['post']?.responses['200']).toBeDefined();
    expect(doc.paths['/api/sessions/{id}/export']?.['get']?.responses['200']?.content).toHaveProperty([
      'application/x-ndjson',
    ]);
  });

  describe('without the analytics service', () => {
    beforeAll(async () => {
      await analytics.close();
    });

    it('answers 503 saying what cannot be done', async () => {
      const replay = problemOf(await call('GET', `/api/sessions/${SESSION}/replay`, keys.viewer), 503);
      expect(replay.detail).toBe(
        'the analytics service is not running, so the session cannot be replayed; retry later',
      );
      const exported = await fetch(`${base}/api/sessions/${SESSION}/export`, {
        headers: gw.auth(keys.viewer),
      });
      expect(exported.status).toBe(503);
      expect(((await exported.json()) as Problem).detail).toContain("the session's events cannot be read");
    });
  });
});
