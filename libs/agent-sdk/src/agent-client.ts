import { isProblem, isRecord, UnexpectedResponseError } from './errors';
import { HttpTransport, path, type HttpRequest } from './http';
import { silentLogger, type AgentLogger } from './logger';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
import type {
  AgentRegistration,
  Assignment,
  AssignmentRole,
  ContextEntry,
  HandOffTarget,
  HeartbeatAck,
  MessagePage,
  PostedMessage,
  ProgressReport,
  RegisteredAgent,
  SessionMessage,
  SubtaskSpec,
  TaskAck,
  TaskUsage,
} from './types';

/** How a client talks to the gateway; everything but the identity has a default. */
export interface ClientOptions {
  /** Defaults to the global fetch (Node 20). */
  readonly fetch?: typeof fetch;
  readonly logger?: AgentLogger;
  /** Per-request timeout; a long-poll gets its wait on top. Default 30 s. */
  readonly requestTimeoutMs?: number;
  readonly retry?: Partial<RetryPolicy>;
}

export interface AgentClientOptions extends ClientOptions {
  /** Gateway base URL, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  /** The agent-scoped key returned by registration. */
  readonly apiKey: string;
  readonly agentId: string;
}

export interface MessagesQuery {
  /** Read messages after this sequence; default 0 (from the start). */
  readonly after?: number;
  readonly limit?: number;
  /** Long-poll: wait up to this long for a message when there is none yet. */
  readonly waitMs?: number;
  /** Only broadcasts and messages to this agent (default); false reads every message of the session. */
  readonly addressedToMe?: boolean;
  readonly signal?: AbortSignal;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const ROLES: readonly AssignmentRole[] = ['work', 'review', 'plan', 'supervise'];

/**
 * Typed access to the gateway's routes for one agent. Every call is retried on transient
 * failures (network errors, 429, 502, 503, 504) with exponential backoff and jitter. Every POST
 * that changes state (registration, start, complete, fail, handoff, subtasks, messages) carries
 * an `Idempotency-Key` that stays the same across its retries, so a retried report is answered
 * with the stored result instead of being applied twice; heartbeats, drain and progress notes
 * are harmless to repeat and go without one. Errors are thrown as
 * `ProblemError` (the gateway said no), `GatewayUnreachableError` (no answer on any attempt) or
 * `UnexpectedResponseError`.
 *
 * A 409 on a report can still follow a retry when the first attempt was applied but its answer
 * lost with a 5xx (the gateway does not store 5xx answers under the key): the error then has
 * `retried: true`, and for `complete` it almost always means the completion was recorded.
 */
export class AgentClient {
  readonly agentId: string;
  readonly baseUrl: string;
  private readonly http: HttpTransport;

  constructor(options: AgentClientOptions) {
    this.agentId = options.agentId;
    this.baseUrl = options.baseUrl;
    this.http = transport(options.baseUrl, options.apiKey, options);
  }

  /**
   * Registers an agent with an admin or operator key and returns a client acting as it, with
   * the agent-scoped key the gateway issued. Safe to retry: the Idempotency-Key makes the
   * gateway derive the same agent id and replay the same answer.
   */
  static async register(
    baseUrl: string,
    operatorKey: string,
    registration: AgentRegistration,
    options: ClientOptions = {},
  ): Promise<AgentClient> {
    const res = await transport(baseUrl, operatorKey, options).request({
      method: 'POST',
      path: '/api/agents',
      body: registration,
    });
    const body = res.body;
    if (!isRecord(body) || typeof body['id'] !== 'string' || typeof body['apiKey'] !== 'string') {
      throw new UnexpectedResponseError(
        { method: 'POST', path: '/api/agents' },
        res.status,
        'has no id and apiKey',
      );
    }
    const registered: RegisteredAgent = { id: body['id'], apiKey: body['apiKey'] };
    return new AgentClient({ ...options, baseUrl, apiKey: registered.apiKey, agentId: registered.id });
  }

  // ---------------------------------------------------------------- the agent itself

  /** Tells coordination the agent is alive; an unhealthy agent recovers with it. */
  async heartbeat(): Promise<HeartbeatAck> {
    return this.post<HeartbeatAck>(path`/api/agents/${this.agentId}/heartbeat`, undefined, {
      retryNotFound: true,
      naturallyIdempotent: true,
    });
  }

  /** No new work; held tasks finish. */
  async drain(): Promise<void> {
    await this.post(path`/api/agents/${this.agentId}/drain`, undefined, { naturallyIdempotent: true });
  }

  /** Removes the agent; tasks it still holds are lost and retried elsewhere. An agent already gone is fine. */
  async deregister(): Promise<void> {
    try {
      await this.http.request({ method: 'DELETE', path: path`/api/agents/${this.agentId}` });
    } catch (err) {
      // After a retry, a 404 means the first attempt did it.
      if (!(isProblem(err, 404) && err.retried)) throw err;
    }
  }

  /**
   * Long-polls for the next task assigned to this agent: an assignment, or undefined when none
   * arrived within `waitMs`. Aborting `signal` abandons the poll; an assignment the gateway
   * handed out at that very moment is then lost to this agent and retried after its deadline.
   */
  async nextAssignment(waitMs = 0, options: { signal?: AbortSignal } = {}): Promise<Assignment | undefined> {
    const res = await this.http.request({
      method: 'GET',
      path: path`/api/agents/${this.agentId}/assignments/next`,
      query: { waitMs },
      holdMs: waitMs,
      retryNotFound: true,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (res.status === 204 || res.body === undefined) return undefined;
    return toAssignment(res.body);
  }

  // ---------------------------------------------------------------- task reports

  async start(taskId: string): Promise<TaskAck> {
    return this.report(taskId, 'start');
  }

  /** A progress note; sent without an Idempotency-Key (a repeated note does no harm). */
  async progress(taskId: string, report: ProgressReport): Promise<TaskAck> {
    return this.report(taskId, 'progress', report, { naturallyIdempotent: true });
  }

  async complete(taskId: string, output?: Record<string, unknown>, usage?: TaskUsage): Promise<TaskAck> {
    return this.report(taskId, 'complete', {
      ...(output === undefined ? {} : { output }),
      ...(usage ? { usage } : {}),
    });
  }

  async fail(taskId: string, error: string, retryable?: boolean): Promise<TaskAck> {
    return this.report(taskId, 'fail', { error, ...(retryable === undefined ? {} : { retryable }) });
  }

  /** Passes the task to other capabilities or a named agent; not a failed attempt. */
  async handOff(taskId: string, target: HandOffTarget): Promise<TaskAck> {
    return this.report(taskId, 'handoff', target);
  }

  /** Adds tasks to the task's session (a plan, follow-ups). */
  async spawnSubtasks(taskId: string, tasks: readonly SubtaskSpec[]): Promise<TaskAck> {
    return this.report(taskId, 'subtasks', { tasks });
  }

  // ---------------------------------------------------------------- session messages and context

  /** Posts a message in a session from this agent; to one agent, or to all when `to` is absent. */
  async sendMessage(sessionId: string, body: unknown, options: { to?: string } = {}): Promise<PostedMessage> {
    const ack = await this.post<Record<string, unknown>>('/api/orchestration/communicate', {
      sessionId,
      from: this.agentId,
      ...(options.to === undefined ? {} : { to: options.to }),
      body,
    });
    return { messageId: String(ack['messageId']), sequence: Number(ack['sequence']) };
  }

  /** A page of a session's messages in order, after `after`; long-polls with `waitMs`. */
  async messages(sessionId: string, query: MessagesQuery = {}): Promise<MessagePage> {
    const res = await this.http.request({
      method: 'GET',
      path: path`/api/orchestration/sessions/${sessionId}/messages`,
      query: {
        after: query.after,
        limit: query.limit,
        waitMs: query.waitMs,
        agentId: query.addressedToMe === false ? undefined : this.agentId,
      },
      holdMs: query.waitMs ?? 0,
      ...(query.signal ? { signal: query.signal } : {}),
    });
    const body = isRecord(res.body) ? res.body : {};
    const items = Array.isArray(body['items']) ? body['items'].filter(isRecord).map(toMessage) : [];
    return { items, lastSequence: Number(body['lastSequence'] ?? 0) };
  }

  /** One key of the session's shared context, or undefined when the key has no value (404). */
  async getContext(sessionId: string, key: string): Promise<ContextEntry | undefined> {
    try {
      const res = await this.http.request({ method: 'GET', path: contextPath(sessionId, key) });
      return toContextEntry(key, res.body, res.headers.get('etag'));
    } catch (err) {
      if (isProblem(err, 404)) return undefined;
      throw err;
    }
  }

  /**
   * Writes one key of the session's shared context. With `ifMatch` (a version read before) the
   * write only succeeds if nobody wrote since: otherwise a `ProblemError` with status 412.
   */
  async putContext(
    sessionId: string,
    key: string,
    value: unknown,
    options: { ifMatch?: number | string } = {},
  ): Promise<ContextEntry> {
    const res = await this.http.request({
      method: 'PUT',
      path: contextPath(sessionId, key),
      body: { value },
      ...(options.ifMatch === undefined ? {} : { headers: { 'if-match': `"${options.ifMatch}"` } }),
    });
    return toContextEntry(key, res.body, res.headers.get('etag'));
  }

  // ---------------------------------------------------------------- plumbing

  private async report(
    taskId: string,
    action: string,
    body: object = {},
    extra: Partial<HttpRequest> = {},
  ): Promise<TaskAck> {
    const ack = await this.post<Record<string, unknown>>(path`/api/tasks/${taskId}/` + action, body, extra);
    return toTaskAck(ack);
  }

  private async post<T>(to: string, body?: unknown, extra: Partial<HttpRequest> = {}): Promise<T> {
    const res = await this.http.request({ method: 'POST', path: to, body: body ?? {}, ...extra });
    return (res.body ?? {}) as T;
  }
}

function transport(baseUrl: string, apiKey: string, options: ClientOptions): HttpTransport {
  return new HttpTransport({
    baseUrl,
    apiKey,
    fetch: options.fetch ?? globalThis.fetch,
    logger: options.logger ?? silentLogger,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
  });
}

function contextPath(sessionId: string, key: string): string {
  return path`/api/orchestration/sessions/${sessionId}/context/${key}`;
}

// ---------------------------------------------------------------- reading answers
// Lenient on purpose: absent fields get their proto defaults, uint64 may arrive as strings.

function toAssignment(body: unknown): Assignment {
  const b = isRecord(body) ? body : {};
  const role = ROLES.find((r) => r === b['role']) ?? 'work';
  return {
    taskId: str(b['taskId']),
    key: str(b['key']),
    sessionId: str(b['sessionId']),
    type: str(b['type']),
    description: str(b['description']),
    input: isRecord(b['input']) ? b['input'] : {},
    attempt: Number(b['attempt'] ?? 1),
    ...(typeof b['deadline'] === 'string' && b['deadline'] ? { deadline: b['deadline'] } : {}),
    capabilities: Array.isArray(b['capabilities']) ? b['capabilities'].map(String) : [],
    role,
    ...(typeof b['reviewOf'] === 'string' && b['reviewOf'] ? { reviewOf: b['reviewOf'] } : {}),
    round: Number(b['round'] ?? 0),
    goal: str(b['goal']),
    pattern: str(b['pattern']),
  };
}

function toTaskAck(b: Record<string, unknown>): TaskAck {
  return {
    taskId: str(b['taskId']),
    sessionId: str(b['sessionId']),
    status: str(b['status']),
    addedTaskIds: Array.isArray(b['addedTaskIds']) ? b['addedTaskIds'].map(String) : [],
  };
}

function toMessage(b: Record<string, unknown>): SessionMessage {
  return {
    messageId: str(b['messageId']),
    sequence: Number(b['sequence'] ?? 0),
    from: str(b['from']),
    ...(typeof b['to'] === 'string' && b['to'] ? { to: b['to'] } : {}),
    body: b['body'],
    postedAt: str(b['postedAt']),
  };
}

function toContextEntry(key: string, body: unknown, etag: string | null): ContextEntry {
  const b = isRecord(body) ? body : {};
  const version = b['version'] ?? etag?.replace(/^W\//, '').replace(/"/g, '') ?? 0;
  return { key: typeof b['key'] === 'string' ? b['key'] : key, value: b['value'], version: Number(version) };
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
