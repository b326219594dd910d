import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { record, str } from '../documents';
import { renderOutcome } from '../format/lists';
import { ProblemError, isRecord, path } from '../http';
import { CliError, ExitCode, writeJson, writeLine, writeLines } from '../io';
import type { CommandContext } from './context';

export const PATTERNS = ['solo', 'pair', 'hierarchical', 'swarm', 'auto'] as const;

export interface SubmitOptions {
  /** Overrides the file's `pattern`. */
  readonly pattern?: string;
  /** Follow the session until it ends and print its outcome. */
  readonly wait: boolean;
  /** Between polls while waiting; defaults to 1 s. */
  readonly pollMs?: number;
}

/** A session that is not visible yet (its read model lags the start by a moment) is asked again this often. */
const NOT_FOUND_TOLERANCE = 30;

/**
 * `orchestrator submit <file>`: POST /api/orchestration/sessions with the workflow file as its
 * body - YAML as is (application/yaml, the gateway parses it and names the line of a syntax
 * error), `.json` files as JSON. `--pattern` rewrites the file's top-level `pattern` (comments
 * and layout kept). With `--wait`, polls the session until it is no longer running; a session
 * that failed or was cancelled exits with 1.
 */
export async function submit(ctx: CommandContext, file: string, options: SubmitOptions): Promise<void> {
  const body = await workflowBody(file, options.pattern);
  const ack = record(
    await ctx.client.json('POST', '/api/orchestration/sessions', {
      body,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    }),
  );
  const sessionId = str(ack, 'sessionId');
  if (!options.wait) {
    if (ctx.json) return writeJson(ctx.stdout, ack);
    const reason = str(ack, 'patternReason');
    writeLine(
      ctx.stdout,
      `session ${sessionId} started, pattern ${str(ack, 'pattern')}${reason ? ` (${reason})` : ''}`,
    );
    return;
  }
  if (!ctx.json) {
    writeLine(
      ctx.stderr,
      `session ${sessionId} started, pattern ${str(ack, 'pattern')}; waiting for it to end (Ctrl-C stops waiting)`,
    );
  }
  const session = await waitForEnd(ctx, sessionId, options.pollMs ?? 1000);
  if (ctx.json) writeJson(ctx.stdout, session);
  else writeLines(ctx.stdout, renderOutcome(session, ctx.style));
  if (str(session, 'status') !== 'completed') throw new CliError('', ExitCode.failure);
}

/** The request body for a workflow file, with the pattern overridden when asked. */
export async function workflowBody(
  file: string,
  pattern: string | undefined,
): Promise<{ text: string; contentType: string }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the workflow file ${file}: ${(err as Error).message}`, ExitCode.refused);
  }
  const json = extname(file).toLowerCase() === '.json';
  if (pattern === undefined) return { text, contentType: json ? 'application/json' : 'application/yaml' };
  if (json) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`, ExitCode.refused);
    }
    if (!isRecord(value))
      throw new CliError(`${file} must hold a JSON object (a session request)`, ExitCode.refused);
    return { text: JSON.stringify({ ...value, pattern }), contentType: 'application/json' };
  }
  return { text: withPattern(file, text, pattern), contentType: 'application/yaml' };
}

/** Sets the top-level `pattern` of a YAML workflow, keeping its comments and layout. */
export function withPattern(file: string, yaml: string, pattern: string): string {
  const doc = parseDocument(yaml, { prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const line = first.linePos?.[0]?.line;
    throw new CliError(
      `${file} is not valid YAML${line ? ` (line ${line})` : ''}: ${first.message.split('\n')[0]}`,
      ExitCode.refused,
    );
  }
  if (!isMap(doc.contents)) {
    throw new CliError(`${file} must hold a mapping (goal, pattern, tasks...)`, ExitCode.refused);
  }
  doc.set('pattern', pattern);
  return doc.toString();
}

/** Polls the session until it is no longer running; Ctrl-C stops waiting (exit 130). */
async function waitForEnd(
  ctx: CommandContext,
  sessionId: string,
  pollMs: number,
): Promise<Record<string, unknown>> {
  let notFound = 0;
  for (;;) {
    if (ctx.signal?.aborted) break;
    try {
      const session = record(
        await ctx.client.json('GET', path`/api/orchestration/sessions/${sessionId}`, {
          ...(ctx.signal ? { signal: ctx.signal } : {}),
        }),
      );
      notFound = 0;
      const status = str(session, 'status');
      if (status !== '' && status !== 'running') return { ...session };
    } catch (err) {
      if (ctx.signal?.aborted) break;
      if (!(err instanceof ProblemError && err.status === 404 && ++notFound < NOT_FOUND_TOLERANCE)) throw err;
    }
    await ctx.sleep(pollMs, ctx.signal);
  }
  throw new CliError(
    `stopped waiting; session ${sessionId} goes on (orchestrator replay ${sessionId} shows it)`,
    ExitCode.interrupted,
  );
}
