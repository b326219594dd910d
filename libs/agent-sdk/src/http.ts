import { randomUUID } from 'node:crypto';
import {
  GatewayUnreachableError,
  ProblemError,
  UnexpectedResponseError,
  describeError,
  type RequestTarget,
} from './errors';
import type { AgentLogger } from './logger';
import { backoffDelay, retryAfterMs, sleep, type RetryPolicy } from './retry';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface HttpRequest {
  readonly method: HttpMethod;
  /** Path below the base URL, already encoded (see {@link path}). */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Also retry a 404 as transient. Right after registration the agent's read model may lag a
   * few milliseconds behind, so its first heartbeat or poll can see "no such agent".
   */
  readonly retryNotFound?: boolean;
  /**
   * The request may be applied twice without harm (a heartbeat, a drain, a progress note): it
   * goes without an Idempotency-Key, sparing the gateway a stored response per call.
   */
  readonly naturallyIdempotent?: boolean;
  /** Added to the request timeout: the server holds a long-poll open this long. */
  readonly holdMs?: number;
  readonly signal?: AbortSignal;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed JSON; undefined for an empty body. */
  readonly body: unknown;
}

export interface HttpTransportOptions {
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly fetch: typeof fetch;
  readonly logger: AgentLogger;
  readonly requestTimeoutMs: number;
  readonly retry: RetryPolicy;
}

/** Status codes that say "not now" rather than "no": the same request may well succeed later. */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

/** A request with this Idempotency-Key is still running at the gateway: wait for its stored answer. */
const IDEMPOTENCY_IN_PROGRESS = 'urn:orch:problem:idempotency_in_progress';

/** Builds a path from a template's literal parts and URL-encoded values: path`/api/agents/${id}`. */
export function path(strings: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  return strings.reduce(
    (out, part, i) => out + part + (i < values.length ? encodeURIComponent(String(values[i])) : ''),
    '',
  );
}

/**
 * JSON over fetch with the gateway's conventions: bearer key, problem+json errors, and bounded
 * retries of transient failures. A POST carries an `Idempotency-Key`, the same on each retry, so
 * the gateway replays the stored answer instead of applying the request twice.
 */
export class HttpTransport {
  private readonly baseUrl: string;

  constructor(private readonly options: HttpTransportOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const target: RequestTarget = { method: req.method, path: req.path };
    const headers = this.headers(req);
    const { retry } = this.options;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(req, headers, attempt > 1);
      const last = attempt >= retry.maxAttempts;
      if (outcome.kind === 'response') return outcome.response;
      if (outcome.kind === 'failed') {
        if (last) throw new GatewayUnreachableError(target, attempt, { cause: outcome.cause });
        const delay = backoffDelay(retry, attempt);
        this.options.logger.debug(
          { ...target, attempt, delayMs: Math.round(delay), err: describeError(outcome.cause) },
          'request failed; retrying',
        );
        await sleep(delay, req.signal);
        continue;
      }
      const delay = this.retryDelay(req, outcome.error, outcome.headers, attempt);
      if (last || delay === undefined) throw outcome.error;
      this.options.logger.debug(
        { ...target, attempt, status: outcome.error.status, delayMs: Math.round(delay) },
        'transient answer; retrying',
      );
      await sleep(delay, req.signal);
    }
  }

  private headers(req: HttpRequest): Record<string, string> {
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      authorization: `Bearer ${this.options.apiKey}`,
      ...req.headers,
    };
    if (req.body !== undefined) headers['content-type'] = 'application/json';
    if (req.method === 'POST' && !req.naturallyIdempotent) headers['idempotency-key'] = randomUUID();
    return headers;
  }

  /** One round trip: a success, an error answer, or no answer at all (network error, timeout). */
  private async attempt(
    req: HttpRequest,
    headers: Record<string, string>,
    retried: boolean,
  ): Promise<
    | { kind: 'response'; response: HttpResponse }
    | { kind: 'problem'; error: ProblemError; headers: Headers }
    | { kind: 'failed'; cause: unknown }
  > {
    const target: RequestTarget = { method: req.method, path: req.path };
    const timeoutMs = this.options.requestTimeoutMs + (req.holdMs ?? 0);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    try {
      res = await this.options.fetch(this.url(req), {
        method: req.method,
        headers,
        ...(req.body === undefined ? {} : { body: JSON.stringify(req.body) }),
        signal,
      });
      text = await res.text();
    } catch (err) {
      // The caller gave up: not a failure of the gateway, and not to be retried.
      if (req.signal?.aborted) throw req.signal.reason;
      const cause = timeout.aborted ? new Error(`no answer within ${timeoutMs} ms`, { cause: err }) : err;
      return { kind: 'failed', cause };
    }
    if (!res.ok) {
      const contentType = res.headers.get('content-type') ?? '';
      return {
        kind: 'problem',
        error: ProblemError.fromResponse(target, res.status, contentType, text, retried),
        headers: res.headers,
      };
    }
    return {
      kind: 'response',
      response: { status: res.status, headers: res.headers, body: parseBody(target, res.status, text) },
    };
  }

  /** How long to wait before retrying this error answer; undefined when it must not be retried. */
  private retryDelay(
    req: HttpRequest,
    error: ProblemError,
    headers: Headers,
    attempt: number,
  ): number | undefined {
    const transient =
      TRANSIENT_STATUSES.has(error.status) ||
      (error.status === 409 && error.type === IDEMPOTENCY_IN_PROGRESS) ||
      (error.status === 404 && req.retryNotFound === true);
    if (!transient) return undefined;
    const backoff = backoffDelay(this.options.retry, attempt);
    const asked = retryAfterMs(headers.get('retry-after'));
    if (asked === undefined) return backoff;
    return asked > this.options.retry.maxDelayMs ? undefined : Math.max(asked, backoff);
  }

  private url(req: HttpRequest): string {
    const url = new URL(this.baseUrl + req.path);
    for (const [name, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }
}

function parseBody(target: RequestTarget, status: number, text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new UnexpectedResponseError(target, status, `its body is not JSON: ${text.slice(0, 200)}`);
  }
}
