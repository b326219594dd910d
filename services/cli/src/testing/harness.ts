import type { CliDeps, Input, Output } from '../io';
import { run } from '../program';

/** Text written to an output, kept for assertions. */
export interface Captured extends Output {
  readonly text: () => string;
}

export function capture(isTTY = false): Captured {
  let text = '';
  return {
    isTTY,
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    text: () => text,
  };
}

/** A request the fake gateway saw. */
export interface SeenRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly body: string;
}

/** Answers a request, or undefined for a 404 problem. */
export type Route = (req: SeenRequest) => Response | undefined | Promise<Response | undefined>;

/** A fetch that answers from `route` and records what it was asked. */
export function fakeFetch(route: Route): { fetch: typeof fetch; requests: SeenRequest[] } {
  const requests: SeenRequest[] = [];
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const req: SeenRequest = {
      method: init?.method ?? 'GET',
      url: new URL(String(input)),
      headers: new Headers(init?.headers),
      body: typeof init?.body === 'string' ? init.body : '',
    };
    requests.push(req);
    return (await route(req)) ?? problem(404, 'Not Found', `no route for ${req.method} ${req.url.pathname}`);
  }) as typeof fetch;
  return { fetch: fetchImpl, requests };
}

export const json = (body: unknown, status = 200): Response =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

export const problem = (
  status: number,
  title: string,
  detail = '',
  extra: Record<string, unknown> = {},
): Response =>
  new Response(JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with captured output. */
export async function runCli(
  args: readonly string[],
  deps: Partial<CliDeps> & { stdoutTTY?: boolean } = {},
): Promise<RunResult> {
  const stdout = capture(deps.stdoutTTY ?? false);
  const stderr = capture(false);
  const code = await run(args, {
    fetch: deps.fetch ?? (fakeFetch(() => undefined).fetch as typeof fetch),
    env: deps.env ?? {},
    stdout,
    stderr,
    sleep: deps.sleep ?? (() => Promise.resolve()),
    ...(deps.stdin ? { stdin: deps.stdin as Input } : {}),
    ...(deps.signal ? { signal: deps.signal } : {}),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
