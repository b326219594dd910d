import { STATUS_CODES } from 'node:http';

/** One field-level problem of a validation error (`errors[]` of a problem document). */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

/**
 * The gateway answered with an error status. Built from its `application/problem+json` body
 * (RFC 9457); a body that is not a problem document still gives a readable `detail`.
 */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  readonly code = 'problem';

  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly FieldProblem[],
    /** The gateway's correlation id for the request, to find it in the logs; '' when absent. */
    readonly correlationId: string,
  ) {
    super(`${method} ${url} failed with ${status} ${title}${detail ? `: ${detail}` : ''}`);
  }

  /** Reads an error response: a problem document when it is one, a clear stand-in when not. */
  static fromResponse(method: string, url: string, status: number, contentType: string, text: string) {
    const parsed = contentType.includes('json') ? tryParseJson(text) : undefined;
    const fallbackTitle = STATUS_CODES[status] ?? 'Error';
    if (!isRecord(parsed)) {
      const snippet = text.trim().slice(0, 200);
      const detail = snippet
        ? `the answer is not a problem document: ${snippet}`
        : 'the answer has an empty body';
      return new ProblemError(method, url, status, fallbackTitle, detail, [], '');
    }
    const errors = Array.isArray(parsed['errors'])
      ? parsed['errors'].filter(isRecord).map((e) => ({
          path: typeof e['path'] === 'string' ? e['path'] : '',
          message: typeof e['message'] === 'string' ? e['message'] : JSON.stringify(e),
        }))
      : [];
    return new ProblemError(
      method,
      url,
      status,
      typeof parsed['title'] === 'string' ? parsed['title'] : fallbackTitle,
      typeof parsed['detail'] === 'string' ? parsed['detail'] : '',
      errors,
      typeof parsed['correlationId'] === 'string' ? parsed['correlationId'] : '',
    );
  }
}

/** The gateway could not be reached, or did not answer in time. */
export class GatewayUnreachableError extends Error {
  override readonly name = 'GatewayUnreachableError';
  readonly code = 'unreachable';

  constructor(
    /** The gateway's base URL. */
    readonly baseUrl: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the gateway at ${baseUrl}: ${reason}`, options);
  }
}

/** The gateway answered 2xx with something that is not what the API promises. */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
  readonly code = 'unexpected_response';
}

export interface GatewayClientOptions {
  /** e.g. http://127.0.0.1:8080 (a trailing slash is ignored). */
  readonly baseUrl: string;
  /** Sent as `Authorization: Bearer <key>`; requests go without it when absent. */
  readonly apiKey?: string;
  readonly fetch: typeof fetch;
  /** How long a request (not a stream) may take to be answered and read; defaults to 60 s. */
  readonly timeoutMs?: number;
}

interface Deadline {
  readonly signal: AbortSignal;
  readonly ms: number;
}

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface RequestOptions {
  readonly query?: Query;
  /** A body sent as is with `contentType`, or a value sent as JSON. */
  readonly body?: { readonly text: string; readonly contentType: string } | { readonly json: unknown };
  readonly accept?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Aborts the request (Ctrl-C); the abort reason is thrown as is. */
  readonly signal?: AbortSignal;
}

/**
 * A small HTTP client for the gateway: bearer key, problem+json errors decoded into
 * {@link ProblemError}, and an unreachable gateway reported as {@link GatewayUnreachableError}
 * naming the URL. No retries: a person at a terminal sees the first failure.
 */
export class GatewayClient {
  readonly baseUrl: string;

  constructor(private readonly options: GatewayClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** A request whose answer is JSON; undefined for an empty body (204). */
  async json(method: string, path: string, options: RequestOptions = {}): Promise<unknown> {
    const { response, text } = await this.text(method, path, options);
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text);
    } catch {
      throw new UnexpectedResponseError(
        `${method} ${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
  }

  /** A request whose whole answer is read as text, within the client's timeout. */
  async text(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ response: Response; text: string }> {
    const ms = this.options.timeoutMs ?? 60_000;
    const deadline = { signal: AbortSignal.timeout(ms), ms };
    const response = await this.send(method, path, options, deadline);
    try {
      return { response, text: await response.text() };
    } catch (err) {
      throw this.failure(err, options.signal, deadline);
    }
  }

  /**
   * Sends a request and returns the response once its headers arrived with a 2xx status,
   * without a timeout: the body is left to the caller to read (an endless stream, a download).
   */
  open(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    return this.send(method, path, options, undefined);
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    deadline: Deadline | undefined,
  ): Promise<Response> {
    const url = this.url(path, options.query);
    const headers: Record<string, string> = {
      accept: options.accept ?? 'application/json, application/problem+json',
      ...options.headers,
    };
    if (this.options.apiKey) headers['authorization'] = `Bearer ${this.options.apiKey}`;
    let body: string | undefined;
    if (options.body && 'text' in options.body) {
      headers['content-type'] = options.body.contentType;
      body = options.body.text;
    } else if (options.body) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body.json);
    }
    const signals = [options.signal, deadline?.signal].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    let response: Response;
    try {
      response = await this.options.fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      throw this.failure(err, options.signal, deadline);
    }
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw ProblemError.fromResponse(
        method,
        pathOf(url),
        response.status,
        response.headers.get('content-type') ?? '',
        text,
      );
    }
    return response;
  }

  /** What a failed round trip means: the caller's abort as is, else the gateway is unreachable. */
  private failure(
    err: unknown,
    callerSignal: AbortSignal | undefined,
    deadline: Deadline | undefined,
  ): unknown {
    if (callerSignal?.aborted) return callerSignal.reason;
    if (deadline?.signal.aborted) {
      return new GatewayUnreachableError(this.baseUrl, `no answer within ${deadline.ms / 1000} s`);
    }
    return new GatewayUnreachableError(this.baseUrl, describeCause(err), { cause: err });
  }

  private url(path: string, query: Query | undefined): string {
    const url = new URL(this.baseUrl + path);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
    }
    return url.toString();
  }
}

/** Builds a path from a template's literal parts and URL-encoded values: path`/api/x/${id}`. */
export function path(strings: TemplateStringsArray, ...values: readonly (string | number)[]): string {
  return strings.reduce(
    (out, part, i) => out + part + (i < values.length ? encodeURIComponent(String(values[i])) : ''),
    '',
  );
}

/** The low-level reason of a failed fetch: `connect ECONNREFUSED 127.0.0.1:8080` rather than `fetch failed`. */
export function describeCause(err: unknown): string {
  if (!isRecord(err) && !(err instanceof Error)) return String(err);
  const e = err as { message?: unknown; cause?: unknown };
  const cause = e.cause as { message?: unknown; code?: unknown } | undefined;
  if (cause && typeof cause.message === 'string' && cause.message !== '') return cause.message;
  if (cause && typeof cause.code === 'string') return cause.code;
  return typeof e.message === 'string' ? e.message : String(err);
}

const pathOf = (url: string): string => {
  const u = new URL(url);
  return u.pathname + u.search;
};

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
