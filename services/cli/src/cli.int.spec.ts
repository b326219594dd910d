import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@orch/testing';
import { ExitCode } from './io';
import { run } from './program';
import { EVENTS, REPLAY, SESSION_ID, VERIFY_DIVERGED, eventPages } from './testing/fixtures';
import { capture } from './testing/harness';

/**
 * The CLI over real HTTP (Node's fetch) against a server answering as the gateway does: JSON
 * documents, problem+json errors, a chunked NDJSON export and a Server-Sent Events stream.
 */

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
/** Called when a client connects to the event stream. */
let onStream: (res: ServerResponse) => void = () => undefined;

const sendJson = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
  res.writeHead(status, { 'content-type': `${type}; charset=utf-8` });
  res.end(JSON.stringify(body));
};

function route(req: IncomingMessage, body: string, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const p = url.pathname;
  if (req.headers.authorization !== 'Bearer test-key') {
    return sendJson(
      res,
      401,
      {
        type: 'urn:orch:problem:unauthenticated',
        title: 'Unauthorized',
        status: 401,
        detail: 'a valid API key is required',
      },
      'application/problem+json',
    );
  }
  if (p === '/api/orchestration/sessions' && req.method === 'GET') {
    return sendJson(res, 200, {
      items: [
        {
          id: SESSION_ID,
          status: 'running',
          pattern: 'pair',
          goal: 'Add rate-limited password reset',
          counts: { succeeded: 1, waiting: 1 },
          startedAt: '2026-03-01T10:00:00Z',
        },
      ],
      nextCursor: null,
    });
  }
  if (p === '/api/orchestration/sessions' && req.method === 'POST') {
    if (!body.includes('goal:')) {
      return sendJson(
        res,
        400,
        {
          type: 'urn:orch:problem:validation',
          title: 'Bad Request',
          status: 400,
          detail: 'the request body is invalid',
          errors: [{ path: 'goal', message: 'Required' }],
          correlationId: 'corr-1',
        },
        'application/problem+json',
      );
    }
    return sendJson(res, 201, { sessionId: SESSION_ID, pattern: 'pair', roles: {} });
  }
  if (p === `/api/sessions/${SESSION_ID}/events`) {
    const from = BigInt(url.searchParams.get('from') ?? '0');
    const page = eventPages(3).find(
      (pg) => BigInt((pg['items'] as { position: string }[])[0]!.position) > from,
    );
    return sendJson(res, 200, page ?? { items: [], nextFrom: null, lastPosition: '140' });
  }
  if (p === `/api/sessions/${SESSION_ID}/replay`) {
    const at = url.searchParams.get('at');
    if (at !== null && BigInt(at) > 140n) {
      return sendJson(
        res,
        400,
        {
          type: 'urn:orch:problem:validation',
          title: 'Bad Request',
          status: 400,
          detail: `position ${at} is beyond the session's last (140)`,
          errors: [{ path: 'at', message: 'must be at most 140' }],
        },
        'application/problem+json',
      );
    }
    return sendJson(res, 200, { ...REPLAY, at: at ?? '140' });
  }
  if (p === `/api/sessions/${SESSION_ID}/replay/verify` && req.method === 'POST')
    return sendJson(res, 200, VERIFY_DIVERGED);
  if (p === `/api/sessions/${SESSION_ID}/export`) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8' });
    // Chunked, one event per write, cut mid-line once, as a paging export streams.
    const text = EVENTS.map((e) => `${JSON.stringify(e)}\n`).join('');
    res.write(text.slice(0, 100));
    res.write(text.slice(100));
    res.end();
    return;
  }
  if (p === '/api/events/stream') {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write(': connected\n\n');
    onStream(res);
    return;
  }
  sendJson(
    res,
    404,
    {
      type: 'urn:orch:problem:not_found',
      title: 'Not Found',
      status: 404,
      detail: `session ${p.split('/')[3]} not found`,
    },
    'application/problem+json',
  );
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      route(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen.length = 0;
});

async function cli(args: string[], options: { signal?: AbortSignal; env?: Record<string, string> } = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await run(args, {
    fetch: globalThis.fetch,
    stdout,
    stderr,
    env: { ORCH_GATEWAY_URL: baseUrl, ORCH_API_KEY: 'test-key', ...options.env },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('orchestrator over HTTP', () => {
  it('lists sessions', async () => {
    const result = await cli(['sessions']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${SESSION_ID}\\s+running\\s+pair\\s+1/2`));
  });

  it('replays a session through every events page', async () => {
    const result = await cli(['replay', SESSION_ID]);
    expect(result.code).toBe(0);
    expect(
      seen
        .filter((s) => s.url.includes('/events?'))
        .map((s) => new URL(s.url, 'http://x').searchParams.get('from')),
    ).toEqual(['0', '103', '111', '130']);
    expect(result.stdout.match(/^ *#\d+ /gm)).toHaveLength(EVENTS.length);
    expect(result.stdout).toContain('Open conflicts (1)');
  });

  it('reports a position beyond the end as the gateway words it', async () => {
    const result = await cli(['replay', SESSION_ID, '--at', '999']);
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain(
      "error: 400 Bad Request - position 999 is beyond the session's last (140)",
    );
    expect(result.stderr).toContain('  at: must be at most 140');
  });

  it('reports an unknown session', async () => {
    const result = await cli(['verify', '00000000-0000-4000-8000-00000000dead']);
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain('404 Not Found');
  });

  it('verifies, listing divergences with exit 1', async () => {
    const result = await cli(['verify', SESSION_ID]);
    expect(result.code).toBe(ExitCode.failure);
    expect(result.stdout).toContain('#111  workflow-');
    expect(result.stdout).toContain('[0] TaskAssigned.attempt: 1 -> 2');
  });

  it('exports the NDJSON to a file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'orch-cli-')), 'session.ndjson');
    const result = await cli(['export', SESSION_ID, '-o', file]);
    expect(result.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l) as unknown)).toEqual(EVENTS);
  });

  it('prints the validation problem of a refused submit', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'orch-cli-')), 'w.yaml');
    writeFileSync(file, 'pattern: pair\n');
    const result = await cli(['submit', file]);
    expect(result.code).toBe(ExitCode.refused);
    expect(seen[0]?.headers['content-type']).toBe('application/yaml');
    expect(result.stderr).toContain('error: 400 Bad Request - the request body is invalid\n  goal: Required');
  });

  it('says when the key is refused', async () => {
    const result = await cli(['agents'], { env: { ORCH_API_KEY: 'wrong' } });
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain('401 Unauthorized - a valid API key is required');
  });

  it('tails the live stream until Ctrl-C', async () => {
    const controller = new AbortController();
    onStream = (res) => {
      const frames = [EVENTS[3]!, EVENTS[8]!].map(
        (e, i) =>
          `id: ${i + 1}\nevent: ${String(e['type'])}\ndata: ${JSON.stringify({ ...e, globalPosition: e['position'], correlationId: SESSION_ID })}\n\n`,
      );
      res.write(frames[0]);
      setTimeout(() => {
        res.write(frames[1]);
        // Ctrl-C once both lines are out; the stream itself never ends.
        setTimeout(() => controller.abort(), 50);
      }, 20);
    };
    const result = await cli(['events', 'tail', '--session', SESSION_ID], { signal: controller.signal });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /#130\s+distribution\s+TaskFailed\s+code\s+a9e1c2d3\s+attempt 1 retryable - tests failed/,
    );
    expect(new URL(seen[0]!.url, 'http://x').searchParams.get('sessionId')).toBe(SESSION_ID);
  });

  it('names the URL of a gateway that is not there, exit 3', async () => {
    const port = await freePort();
    const result = await cli(['sessions', '--url', `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(ExitCode.unreachable);
    expect(result.stderr).toContain(
      `cannot reach the gateway at http://127.0.0.1:${port}: connect ECONNREFUSED`,
    );
  });
});
