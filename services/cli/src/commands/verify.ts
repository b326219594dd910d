import { readVerify } from '../documents';
import { renderVerify } from '../format/divergence';
import { path } from '../http';
import { CliError, ExitCode, writeJson, writeLines } from '../io';
import type { CommandContext } from './context';

/**
 * `orchestrator verify <session>`: POST /api/sessions/{id}/replay/verify. Prints "no divergence
 * (N decisions checked, M skipped)" or every divergence; exits with 1 when there are any.
 */
export async function verify(ctx: CommandContext, sessionId: string): Promise<void> {
  const raw = await ctx.client.json('POST', path`/api/sessions/${sessionId}/replay/verify`, {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const report = readVerify(raw);
  if (ctx.json) writeJson(ctx.stdout, raw);
  else writeLines(ctx.stdout, renderVerify(report, ctx.style));
  if (report.divergences.length > 0) throw new CliError('', ExitCode.failure);
}
