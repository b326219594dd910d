import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the fake gateway saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when the body is not JSON; undefined when empty. */
  readonly body: unknown;
}

/** An answer to send: JSON `body`, or `text` sent as is. */
export interface FakeResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A task report an agent sent (`start`, `progress`, `complete`, `fail`, `handoff`, `subtasks`). */
export interface RecordedReport {
  readonly taskId: string;
  readonly action: string;
  readonly agentId: string;
  readonly body: Record<string, unknown>;
}

/** Answers a request itself, or returns undefined to let the built-in routes answer. */
export type Interceptor = (
  req: RecordedRequest,
) => FakeResponse | undefined | Promise<FakeResponse | undefined>;

/**
 * A stand-in for the gateway's agent routes on 127.0.0.1, for tests of agent processes: it
 * registers agents (issuing `key-<agentId>` keys and checking them), hands out enqueued
 * assignments through the long-poll, and records every request and task report. `intercept`
 * scripts failures (a 503, a problem document, a body that is not JSON).
 */
export class FakeGateway {
  readonly requests: RecordedRequest[] = [];
  readonly reports: RecordedReport[] = [];
  readonly agents = new Map<string, Record<string, unknown>>();
  private readonly queue: Record<string, unknown>[] = [];
  private readonly waiters = new Set<() => void>();
  private interceptors: Interceptor[] = [];

  private readonly server = createServer((req, res) => void this.handle(req, res));

  private constructor() {}

  static async start(): Promise<FakeGateway> {
    const gateway = new FakeGateway();
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    return gateway;
  }

  /** Base URL to give clients, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Adds a scripted answer; interceptors run in the order added, before the built-in routes. */
  intercept(interceptor: Interceptor): void {
    this.interceptors.push(interceptor);
  }

  /** Queues an assignment for the next poll; `agentId` pins it to one agent. Returns its taskId. */
  enqueue(assignment: Record<string, unknown> & { agentId?: string }): string {
    const taskId = typeof assignment['taskId'] === 'string' ? assignment['taskId'] : randomUUID();
    this.queue.push({
      key: taskId,
      sessionId: 'session-1',
      type: 'task',
      input: {},
      attempt: 1,
      role: 'work',
      ...assignment,
      taskId,
    });
    for (const wake of [...this.waiters]) wake();
    return taskId;
  }

  /** Reports of one kind, in arrival order. */
  reportsOf(action: string): RecordedReport[] {
    return this.reports.filter((r) => r.action === action);
  }

  async close(): Promise<void> {
    for (const wake of [...this.waiters]) wake();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const recorded = await record(req);
    this.requests.push(recorded);
    let answer: FakeResponse | undefined;
    for (const interceptor of this.interceptors) {
      answer ??= await interceptor(recorded);
    }
    answer ??= await this.route(recorded, res);
    if (res.destroyed || res.writableEnded) return;
    const text = answer.text ?? (answer.body === undefined ? '' : JSON.stringify(answer.body));
    const contentType = answer.status >= 400 ? 'application/problem+json' : 'application/json';
    res.writeHead(answer.status, {
      ...(text && answer.text === undefined ? { 'content-type': contentType } : {}),
      ...answer.headers,
    });
    res.end(text);
  }

  private async route(req: RecordedRequest, res: ServerResponse): Promise<FakeResponse> {
    if (req.method === 'POST' && req.path === '/api/agents') return this.register(req);
    const agentRoute = /^\/api\/agents\/([^/]+)(?:\/(heartbeat|drain|assignments\/next))?$/.exec(req.path);
    if (agentRoute) {
      const agentId = decodeURIComponent(agentRoute[1] ?? '');
      const denied = this.checkKey(req, agentId);
      if (denied) return denied;
      switch (agentRoute[2]) {
        case 'heartbeat':
          return { status: 200, body: { agentId, status: 'idle' } };
        case 'drain':
          return { status: 200, body: {} };
        case 'assignments/next':
          return this.next(agentId, Number(req.query.get('waitMs') ?? 0), res);
        default:
          if (req.method !== 'DELETE')
            return { status: 200, body: { id: agentId, ...this.agents.get(agentId) } };
          this.agents.delete(agentId);
          return { status: 204 };
      }
    }
    const taskRoute = /^\/api\/tasks\/([^/]+)\/(start|progress|complete|fail|handoff|subtasks)$/.exec(
      req.path,
    );
    if (req.method === 'POST' && taskRoute) {
      const taskId = decodeURIComponent(taskRoute[1] ?? '');
      const agentId = this.agentOf(req) ?? '';
      const body = (req.body ?? {}) as Record<string, unknown>;
      this.reports.push({ taskId, action: taskRoute[2] ?? '', agentId, body });
      return { status: 200, body: { taskId, sessionId: 'session-1', status: 'ok', addedTaskIds: [] } };
    }
    return problem(404, `no fake route for ${req.method} ${req.path}`);
  }

  private register(req: RecordedRequest): FakeResponse {
    const id = randomUUID();
    this.agents.set(id, (req.body ?? {}) as Record<string, unknown>);
    return { status: 201, body: { id, apiKey: `key-${id}`, apiKeyId: `kid-${id}` } };
  }

  private checkKey(req: RecordedRequest, agentId: string): FakeResponse | undefined {
    if (!this.agents.has(agentId)) return problem(404, `agent ${agentId} not found`);
    if (req.headers.authorization !== `Bearer key-${agentId}`) return problem(403, "not this agent's key");
    return undefined;
  }

  private agentOf(req: RecordedRequest): string | undefined {
    return /^Bearer key-(.+)$/.exec(req.headers.authorization ?? '')?.[1];
  }

  /** Long-poll: the first queued assignment for this agent, waiting up to `waitMs` for one. */
  private async next(agentId: string, waitMs: number, res: ServerResponse): Promise<FakeResponse> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const index = this.queue.findIndex((a) => a['agentId'] === undefined || a['agentId'] === agentId);
      if (index >= 0) {
        const [assignment] = this.queue.splice(index, 1);
        const { agentId: _pinned, ...body } = assignment ?? {};
        return { status: 200, body };
      }
      const left = deadline - Date.now();
      if (left <= 0 || res.destroyed) return { status: 204 };
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          res.off('close', wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
        // A client that gave up must not be handed an assignment it will never read.
        res.once('close', wake);
      });
    }
  }
}

/** A problem document answer. */
export function problem(status: number, detail: string, extra: Record<string, unknown> = {}): FakeResponse {
  return {
    status,
    body: {
      type: `urn:orch:problem:${status === 400 ? 'validation' : 'error'}`,
      title: 'Error',
      status,
      detail,
      ...extra,
    },
  };
}

async function record(req: IncomingMessage): Promise<RecordedRequest> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://fake');
  let body: unknown;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return {
    method: req.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    body,
  };
}
