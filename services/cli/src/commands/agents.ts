import { records, type Doc } from '../documents';
import { renderAgents } from '../format/lists';
import { isRecord } from '../http';
import { writeJson, writeLines } from '../io';
import type { CommandContext } from './context';

/** `orchestrator agents`: every registered agent (GET /api/agents, all pages). */
export async function listAgents(ctx: CommandContext): Promise<void> {
  const items: Doc[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await ctx.client.json('GET', '/api/agents', {
      query: { limit: 500, cursor },
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    const found = isRecord(page) ? records(page['items']) : [];
    items.push(...found);
    const next = isRecord(page) ? page['nextCursor'] : undefined;
    if (typeof next !== 'string' || next === '' || found.length === 0) break;
    cursor = next;
  }
  if (ctx.json) return writeJson(ctx.stdout, { items });
  writeLines(ctx.stdout, renderAgents(items, ctx.style));
}
