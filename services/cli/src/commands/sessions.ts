import { records, type Doc } from '../documents';
import { renderSessions } from '../format/lists';
import { isRecord } from '../http';
import { writeJson, writeLine, writeLines } from '../io';
import type { CommandContext } from './context';

export interface SessionsOptions {
  /** running | completed | failed | cancelled */
  readonly status?: string;
  /** Most sessions to list (newest first). */
  readonly limit: number;
}

/** The gateway's largest page. */
const MAX_PAGE = 500;

/** `orchestrator sessions`: GET /api/orchestration/sessions, following cursors up to `limit`. */
export async function listSessions(ctx: CommandContext, options: SessionsOptions): Promise<void> {
  const items: Doc[] = [];
  let cursor: string | undefined;
  let nextCursor: string | null = null;
  while (items.length < options.limit) {
    const page = await ctx.client.json('GET', '/api/orchestration/sessions', {
      query: { limit: Math.min(MAX_PAGE, options.limit - items.length), cursor, status: options.status },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const found = isRecord(page) ? records(page['items']) : [];
    items.push(...found);
    nextCursor =
      isRecord(page) && typeof page['nextCursor'] === 'string' && page['nextCursor'] !== ''
        ? page['nextCursor']
        : null;
    if (nextCursor === null || found.length === 0) break;
    cursor = nextCursor;
  }
  if (ctx.json) return writeJson(ctx.stdout, { items, nextCursor });
  writeLines(ctx.stdout, renderSessions(items, ctx.style));
  if (nextCursor !== null)
    writeLine(ctx.stdout, ctx.style.dim(`(more sessions: raise --limit above ${options.limit})`));
}
