import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ExitCode } from './io';
import { EVENTS, REPLAY, SESSION_ID, VERIFY_CLEAN, VERIFY_DIVERGED, eventPages } from './testing/fixtures';
import { fakeFetch, json, problem, runCli, type Route, type SeenRequest } from './testing/harness';

/** A fake gateway answering the replay routes from the fixtures (pages of 4 events). */
const replayRoutes: Route = (req) => {
  const p = req.url.pathname;
  if (p === `/api/sessions/${SESSION_ID}/events`) {
    const from = BigInt(req.url.searchParams.get('from') ?? '0');
    return json(
      eventPages(4).find((page) => BigInt((page['items'] as { position: string }[])[0]!.position) > from),
    );
  }
  if (p === `/api/sessions/${SESSION_ID}/replay`)
    return json({ ...REPLAY, at: req.url.searchParams.get('at') ?? '140' });
  if (p === `/api/sessions/${SESSION_ID}/replay/verify` && req.method === 'POST') return json(VERIFY_CLEAN);
  return undefined;
};

const tmp = () => mkdtempSync(join(tmpdir(), 'orch-cli-'));

describe('global options', () => {
  it('are read after the command too, with the URL and key from the environment', async () => {
    const { fetch, requests } = fakeFetch(() => json({ items: [], nextCursor: null }));
    const result = await runCli(['sessions', '--json', '--limit', '7'], {
      fetch,
      env: { ORCH_GATEWAY_URL: 'http://gw.test:9000/', ORCH_API_KEY: 'k-env' },
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ items: [], nextCursor: null });
    expect(requests[0]?.url.toString()).toBe('http://gw.test:9000/api/orchestration/sessions?limit=7');
    expect(requests[0]?.headers.get('authorization')).toBe('Bearer k-env');
  });

  it('take --url and --key over the environment', async () => {
    const { fetch, requests } = fakeFetch(() => json({ items: [] }));
    await runCli(['--url', 'http://other.test', 'agents', '--key', 'k-flag'], {
      fetch,
      env: { ORCH_GATEWAY_URL: 'http://gw.test:9000', ORCH_API_KEY: 'k-env' },
    });
    expect(requests[0]?.url.origin).toBe('http://other.test');
    expect(requests[0]?.headers.get('authorization')).toBe('Bearer k-flag');
  });

  it('never show the key from the environment in the help', async () => {
    const result = await runCli(['--help'], { env: { ORCH_API_KEY: 'very-secret' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: orchestrator');
    expect(result.stdout).not.toContain('very-secret');
  });

  it('refuse a gateway URL that is not http(s) with exit 2', async () => {
    const result = await runCli(['agents'], { env: { ORCH_GATEWAY_URL: 'gw.test:8080' } });
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain('is not an http(s) URL');
  });
});

describe('option parsing', () => {
  it.each([
    [['sessions', '--limit', '0'], 'must be a whole number of at least 1'],
    [['sessions', '--status', 'sleeping'], 'Allowed choices are running, completed, failed, cancelled'],
    [['replay', SESSION_ID, '--at', '-3'], 'must be a global position'],
    [['replay', SESSION_ID, '--at', '12x'], 'must be a global position'],
    [['events', 'tail', '--types', 'TaskFailed,no spaces'], '"no spaces" is not an event type name'],
    [['submit', 'w.yaml', '--pattern', 'crowd'], 'Allowed choices are solo, pair, hierarchical, swarm, auto'],
    [['import', 'x.ndjson'], "required option '--database-url <url>' not specified"],
    [
      ['import', 'x.ndjson', '--database-url', 'postgres://h/db', '--schema', 'Bad-Name'],
      'lower-case identifier',
    ],
    [['replay'], "missing required argument 'session'"],
    [['frobnicate'], "unknown command 'frobnicate'"],
  ])('%j exits 2 saying what is wrong', async (args, message) => {
    const { fetch, requests } = fakeFetch(() => undefined);
    const result = await runCli(args, { fetch });
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain(message);
    expect(requests).toHaveLength(0);
  });
});

describe('errors', () => {
  it('print the problem title, detail and field paths, exit 2', async () => {
    const { fetch } = fakeFetch(() =>
      problem(400, 'Bad Request', 'the request is invalid', {
        errors: [
          { path: 'tasks[1].dependsOn', message: 'unknown task "x"' },
          { path: 'goal', message: 'required' },
        ],
        correlationId: 'req-42',
      }),
    );
    const file = join(tmp(), 'w.yaml');
    writeFileSync(file, 'goal: x\n');
    const result = await runCli(['submit', file], { fetch });
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain('error: 400 Bad Request - the request is invalid');
    expect(result.stderr).toContain('  tasks[1].dependsOn: unknown task "x"\n  goal: required');
    expect(result.stderr).toContain('POST /api/orchestration/sessions  correlation id req-42');
  });

  it('describe an error answer that is not a problem document', async () => {
    const { fetch } = fakeFetch(() => new Response('<html>bad gateway</html>', { status: 502 }));
    const result = await runCli(['agents'], { fetch });
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain(
      'error: 502 Bad Gateway - the answer is not a problem document: <html>bad gateway</html>',
    );
  });

  it('hint at the key on 401', async () => {
    const { fetch } = fakeFetch(() => problem(401, 'Unauthorized', 'an API key is required'));
    const result = await runCli(['agents'], { fetch });
    expect(result.stderr).toContain('pass an API key with --key or ORCH_API_KEY');
  });

  it('name the URL of an unreachable gateway, exit 3', async () => {
    const fetch = (() =>
      Promise.reject(
        new TypeError('fetch failed', {
          cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
        }),
      )) as typeof globalThis.fetch;
    const result = await runCli(['--url', 'http://127.0.0.1:9', 'sessions'], { fetch });
    expect(result.code).toBe(ExitCode.unreachable);
    expect(result.stderr).toContain(
      'error: cannot reach the gateway at http://127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9 (set --url or ORCH_GATEWAY_URL)',
    );
  });
});

describe('sessions and agents', () => {
  const session = (n: number) => ({
    id: `s-${n}`,
    status: n === 2 ? 'failed' : 'completed',
    pattern: 'solo',
    goal: `goal ${n}`,
    counts: { succeeded: 2, failed: n === 2 ? 1 : 0 },
    startedAt: '2026-03-01T10:00:00Z',
    endedAt: '2026-03-01T10:00:12.300Z',
  });

  it('follow cursors up to --limit and say when there are more', async () => {
    const { fetch, requests } = fakeFetch((req) => {
      const cursor = req.url.searchParams.get('cursor');
      return json(
        cursor === null
          ? { items: [session(1), session(2)], nextCursor: 'c2' }
          : { items: [session(3)], nextCursor: 'c3' },
      );
    });
    const result = await runCli(['sessions', '--limit', '3', '--status', 'completed'], { fetch });
    expect(requests.map((r) => r.url.search)).toEqual([
      '?limit=3&status=completed',
      '?limit=1&cursor=c2&status=completed',
    ]);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STATUS\s+PATTERN\s+TASKS\s+STARTED\s+TOOK\s+GOAL$/);
    expect(lines[2]).toMatch(/^s-2\s+failed\s+solo\s+2\/3\s+2026-03-01 10:00:00\s+12\.3 s\s+goal 2$/);
    expect(lines).toHaveLength(5);
    expect(lines[4]).toBe('(more sessions: raise --limit above 3)');
  });

  it('list every agent across pages', async () => {
    const agent = (n: number) => ({
      id: `a-${n}`,
      name: `agent-${n}`,
      provider: 'anthropic',
      model: 'm',
      status: 'idle',
      activeTasks: 1,
      maxConcurrency: 4,
      circuit: 'closed',
      capabilities: [{ name: 'code', level: 1 }],
    });
    const { fetch } = fakeFetch((req) =>
      json(
        req.url.searchParams.get('cursor')
          ? { items: [agent(2)], nextCursor: null }
          : { items: [agent(1)], nextCursor: 'n' },
      ),
    );
    const result = await runCli(['agents'], { fetch });
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(result.stdout).toMatch(/a-2\s+agent-2\s+anthropic\/m\s+idle\s+1\/4\s+closed\s+code/);
  });
});

describe('submit', () => {
  const yaml =
    '# a comment that stays\ngoal: Ship it\npattern: solo # the pattern\ntasks:\n  - id: a\n    type: code\n';

  function gateway(statuses: (string | 404)[]): { fetch: typeof fetch; requests: SeenRequest[] } {
    let polls = 0;
    return fakeFetch((req) => {
      if (req.method === 'POST')
        return json({ sessionId: SESSION_ID, pattern: 'pair', patternReason: 'two tasks' }, 201);
      const status = statuses[Math.min(polls++, statuses.length - 1)];
      if (status === 404) return problem(404, 'Not Found', 'no such session');
      return json({
        id: SESSION_ID,
        status,
        reason: status === 'failed' ? 'task a dead-lettered' : '',
        tasks: [
          {
            taskId: 't-1',
            key: 'a',
            status: status === 'failed' ? 'dead_lettered' : 'succeeded',
            attempts: 2,
          },
        ],
      });
    });
  }

  it('posts the YAML file as is', async () => {
    const file = join(tmp(), 'w.yaml');
    writeFileSync(file, yaml);
    const { fetch, requests } = gateway([]);
    const result = await runCli(['submit', file], { fetch });
    expect(result.code).toBe(0);
    expect(requests[0]?.headers.get('content-type')).toBe('application/yaml');
    expect(requests[0]?.body).toBe(yaml);
    expect(result.stdout).toBe(`session ${SESSION_ID} started, pattern pair (two tasks)\n`);
  });

  it('overrides the pattern keeping the rest of the file', async () => {
    const file = join(tmp(), 'w.yaml');
    writeFileSync(file, yaml);
    const { fetch, requests } = gateway([]);
    await runCli(['submit', file, '--pattern', 'swarm'], { fetch });
    const body = requests[0]?.body ?? '';
    expect(body).toContain('# a comment that stays');
    expect(body).toMatch(/^pattern: swarm/m);
    expect(body).not.toContain('solo');
  });

  it('sends a .json file as JSON', async () => {
    const file = join(tmp(), 'w.json');
    writeFileSync(file, JSON.stringify({ goal: 'x', pattern: 'solo' }));
    const { fetch, requests } = gateway([]);
    await runCli(['submit', file, '--pattern', 'pair'], { fetch });
    expect(requests[0]?.headers.get('content-type')).toBe('application/json');
    expect(JSON.parse(requests[0]?.body ?? '')).toEqual({ goal: 'x', pattern: 'pair' });
  });

  it('waits through a session not visible yet and a running one, then prints the outcome', async () => {
    const file = join(tmp(), 'w.yaml');
    writeFileSync(file, yaml);
    const { fetch, requests } = gateway([404, 'running', 'completed']);
    const result = await runCli(['submit', file, '--wait'], { fetch });
    expect(result.code).toBe(0);
    expect(requests.filter((r) => r.method === 'GET')).toHaveLength(3);
    expect(result.stdout).toMatch(new RegExp(`^session ${SESSION_ID} completed\\n`));
    expect(result.stdout).toMatch(/a\s+succeeded\s+-\s+2/);
  });

  it('exits 1 when the session it waited for failed', async () => {
    const file = join(tmp(), 'w.yaml');
    writeFileSync(file, yaml);
    const result = await runCli(['submit', file, '--wait'], { fetch: gateway(['failed']).fetch });
    expect(result.code).toBe(ExitCode.failure);
    expect(result.stdout).toContain('reason: task a dead-lettered');
  });

  it('stops waiting on Ctrl-C with exit 130', async () => {
    const file = join(tmp(), 'w.yaml');
    writeFileSync(file, yaml);
    const controller = new AbortController();
    const result = await runCli(['submit', file, '--wait'], {
      fetch: gateway(['running']).fetch,
      signal: controller.signal,
      sleep: () => {
        controller.abort();
        return Promise.resolve();
      },
    });
    expect(result.code).toBe(ExitCode.interrupted);
    expect(result.stderr).toContain(`stopped waiting; session ${SESSION_ID} goes on`);
  });

  it('names an unreadable file, exit 2', async () => {
    const result = await runCli(['submit', join(tmp(), 'missing.yaml')]);
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain('cannot read the workflow file');
  });
});

describe('replay', () => {
  it('follows the event pages and prints the timeline, then the state', async () => {
    const { fetch, requests } = fakeFetch(replayRoutes);
    const result = await runCli(['replay', SESSION_ID], { fetch });
    expect(result.code).toBe(0);
    expect(requests.map((r) => `${r.url.pathname}${r.url.search}`)).toEqual([
      `/api/sessions/${SESSION_ID}/events?from=0&limit=5000`,
      `/api/sessions/${SESSION_ID}/events?from=104&limit=5000`,
      `/api/sessions/${SESSION_ID}/events?from=120&limit=5000`,
      `/api/sessions/${SESSION_ID}/replay`,
    ]);
    const lines = result.stdout.split('\n');
    expect(lines.filter((l) => /^ *#\d+ /.test(l))).toHaveLength(EVENTS.length);
    expect(result.stdout).toContain('State at #140 (11 session events folded)');
    expect(result.stdout).toMatch(/code\s+waiting\s+-\s+1\s+lock\s+tests failed/);
  });

  it('--at shows the timeline up to the position and the state there', async () => {
    const { fetch, requests } = fakeFetch(replayRoutes);
    const result = await runCli(['replay', SESSION_ID, '--at', '112'], { fetch });
    expect(requests.at(-1)?.url.search).toBe('?at=112');
    const positions = result.stdout.match(/^ *#\d+ /gm)?.map((p) => p.trim());
    expect(positions).toEqual(['#101', '#102', '#103', '#104', '#110', '#111', '#112']);
    expect(result.stdout).toContain('… 4 later events not shown');
    expect(result.stdout).toContain('State at #112');
  });

  it('--json prints the raw documents', async () => {
    const { fetch } = fakeFetch(replayRoutes);
    const result = await runCli(['replay', SESSION_ID, '--json'], { fetch });
    expect(JSON.parse(result.stdout)).toEqual({ events: EVENTS, replay: REPLAY });
  });

  it('--step without a terminal prints every event with the state after it', async () => {
    const { fetch, requests } = fakeFetch(replayRoutes);
    const result = await runCli(['replay', SESSION_ID, '--step', '--at', '104'], { fetch });
    expect(result.code).toBe(0);
    const asked = requests
      .filter((r) => r.url.pathname.endsWith('/replay'))
      .map((r) => r.url.searchParams.get('at'));
    expect(asked).toEqual(['101', '102', '103', '104']);
    expect(result.stdout.match(/── step \d+\/4/g)).toEqual([
      '── step 1/4',
      '── step 2/4',
      '── step 3/4',
      '── step 4/4',
    ]);
    expect(result.stdout.match(/^State at #\d+/gm)).toEqual([
      'State at #101',
      'State at #102',
      'State at #103',
      'State at #104',
    ]);
  });

  it('--step on a terminal waits for Enter and stops at q', async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true });
    stdin.end('\nq\n');
    const { fetch, requests } = fakeFetch(replayRoutes);
    const result = await runCli(['replay', SESSION_ID, '--step'], { fetch, stdin });
    expect(result.code).toBe(0);
    expect(requests.filter((r) => r.url.pathname.endsWith('/replay'))).toHaveLength(2);
    expect(result.stderr).toContain('[Enter] next event, q quit > ');
    expect(result.stdout.match(/── step \d+/g)).toEqual(['── step 1', '── step 2']);
  });

  it('--step --json prints one document per step', async () => {
    const { fetch } = fakeFetch(replayRoutes);
    const result = await runCli(['replay', SESSION_ID, '--step', '--at', '102', '--json'], { fetch });
    const steps = result.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: unknown; replay: { at: string } });
    expect(steps.map((s) => [s.event, s.replay.at])).toEqual([
      [EVENTS[0], '101'],
      [EVENTS[1], '102'],
    ]);
  });

  it('reports an unknown session as the gateway answers it', async () => {
    const { fetch } = fakeFetch(() => problem(404, 'Not Found', 'session 9 has no events'));
    const result = await runCli(['replay', '9'], { fetch });
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toContain('error: 404 Not Found - session 9 has no events');
  });
});

describe('verify', () => {
  it('says there is no divergence and exits 0', async () => {
    const { fetch, requests } = fakeFetch(replayRoutes);
    const result = await runCli(['verify', SESSION_ID], { fetch });
    expect(requests[0]?.method).toBe('POST');
    expect(result).toEqual({
      code: 0,
      stdout: 'no divergence (7 decisions checked, 2 skipped)\n',
      stderr: '',
    });
  });

  it('lists divergences and exits 1', async () => {
    const { fetch } = fakeFetch(() => json(VERIFY_DIVERGED));
    const result = await runCli(['verify', SESSION_ID], { fetch });
    expect(result.code).toBe(ExitCode.failure);
    expect(result.stdout).toContain('1 divergence (7 decisions checked, 0 skipped)');
    expect(result.stdout).toContain('[0] TaskAssigned.attempt: 1 -> 2');
    expect(result.stderr).toBe('');
  });

  it('--json prints the report and still exits 1 on divergences', async () => {
    const { fetch } = fakeFetch(() => json(VERIFY_DIVERGED));
    const result = await runCli(['verify', SESSION_ID, '--json'], { fetch });
    expect(result.code).toBe(ExitCode.failure);
    expect(JSON.parse(result.stdout)).toEqual(VERIFY_DIVERGED);
  });
});

/** A response whose body is the given chunks, then (optionally) an error. */
function streamed(
  chunks: string[],
  options: { fail?: boolean; contentType?: string; endless?: boolean } = {},
): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk !== undefined) controller.enqueue(encoder.encode(chunk));
      else if (options.fail) controller.error(new Error('connection reset'));
      else if (!options.endless) controller.close();
      else return new Promise<void>(() => undefined);
      return undefined;
    },
  });
  return new Response(body, {
    status: 200,
    headers: { 'content-type': options.contentType ?? 'text/event-stream' },
  });
}

const frame = (seq: number, event: Record<string, unknown>) =>
  `id: ${seq}\nevent: ${String(event['type'])}\ndata: ${JSON.stringify({ ...event, globalPosition: event['position'], correlationId: SESSION_ID })}\n\n`;

describe('events tail', () => {
  it('prints one line per event, resumes after a dropped stream, and ends on Ctrl-C', async () => {
    const controller = new AbortController();
    let connections = 0;
    const { fetch, requests } = fakeFetch(() => {
      connections++;
      if (connections === 1) return streamed([': connected\n\n', frame(7, EVENTS[2]!), frame(8, EVENTS[5]!)]);
      controller.abort();
      return streamed([], { endless: true });
    });
    const result = await runCli(['events', 'tail', '--types', 'TaskSubmitted,TaskAssigned'], {
      fetch,
      signal: controller.signal,
    });
    expect(result.code).toBe(0);
    expect(requests[0]?.url.search).toBe('?types=TaskSubmitted%2CTaskAssigned');
    expect(requests[0]?.headers.get('accept')).toContain('text/event-stream');
    expect(requests[1]?.headers.get('last-event-id')).toBe('8');
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^10:00:00\.013Z\s+#103\s+3f2a9c1e\s+distribution\s+TaskSubmitted\s+design\s+-\s+design$/,
    );
    // The key learnt from TaskSubmitted names the task in later lines.
    expect(lines[1]).toMatch(/#111\s+3f2a9c1e\s+distribution\s+TaskAssigned\s+design\s+a9e1c2d3\s+attempt 1/);
    expect(result.stderr).toContain('the event stream closed; reconnecting');
  });

  it('--json prints each event document on one line', async () => {
    const controller = new AbortController();
    const { fetch } = fakeFetch(() => {
      setImmediate(() => controller.abort());
      return streamed([frame(7, EVENTS[2]!)], { endless: true });
    });
    const result = await runCli(['events', 'tail', '--session', SESSION_ID, '--json'], {
      fetch,
      signal: controller.signal,
    });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ type: 'TaskSubmitted', position: '103' });
  });

  it('fails when the first connection is refused', async () => {
    const { fetch } = fakeFetch(() => problem(400, 'Bad Request', 'types is invalid'));
    const result = await runCli(['events', 'tail'], { fetch });
    expect(result.code).toBe(ExitCode.refused);
  });
});

describe('export', () => {
  const ndjson = `${JSON.stringify(EVENTS[0])}\n${JSON.stringify(EVENTS[1])}\n`;

  it('copies the NDJSON to stdout', async () => {
    const { fetch, requests } = fakeFetch(() =>
      streamed([ndjson.slice(0, 30), ndjson.slice(30)], { contentType: 'application/x-ndjson' }),
    );
    const result = await runCli(['export', SESSION_ID], { fetch });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(ndjson);
    expect(requests[0]?.url.pathname).toBe(`/api/sessions/${SESSION_ID}/export`);
  });

  it('writes a file and counts the events', async () => {
    const file = join(tmp(), 's.ndjson');
    const { fetch } = fakeFetch(() => streamed([ndjson], { contentType: 'application/x-ndjson' }));
    const result = await runCli(['export', SESSION_ID, '-o', file], { fetch });
    expect(result.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(ndjson);
    expect(result.stderr).toBe(`exported 2 events of session ${SESSION_ID} to ${file}\n`);
  });

  it('leaves no file behind when the download breaks off', async () => {
    const file = join(tmp(), 's.ndjson');
    const { fetch } = fakeFetch(() => streamed([ndjson], { fail: true }));
    const result = await runCli(['export', SESSION_ID, '-o', file], { fetch });
    expect(result.code).toBe(ExitCode.failure);
    expect(result.stderr).toContain('broke off after 2 events (connection reset)');
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });
});

describe('import', () => {
  it('names the corrupted line and connects to nothing', async () => {
    const file = join(tmp(), 'bad.ndjson');
    writeFileSync(file, `${JSON.stringify(EVENTS[0])}\n${JSON.stringify(EVENTS[1])}\n{"position":\n`);
    // The URL points nowhere: the file is refused before any connection is tried.
    const result = await runCli(['import', file, '--database-url', 'postgres://nobody@192.0.2.1:1/none']);
    expect(result.code).toBe(ExitCode.refused);
    expect(result.stderr).toMatch(/cannot import .*bad\.ndjson: line 3: not JSON .*; nothing was appended/);
  });
});
