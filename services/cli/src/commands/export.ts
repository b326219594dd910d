import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { path } from '../http';
import { CliError, ExitCode, writeLine } from '../io';
import type { CommandContext } from './context';

export interface ExportOptions {
  /** Write here instead of stdout. */
  readonly output?: string;
}

/**
 * `orchestrator export <session>`: GET /api/sessions/{id}/export (NDJSON, one event per line)
 * to a file or stdout. A file is written under a temporary name and renamed when the download is
 * complete, so a broken transfer never leaves a file that looks whole.
 */
export async function exportSession(
  ctx: CommandContext,
  sessionId: string,
  options: ExportOptions,
): Promise<void> {
  const response = await ctx.client.open('GET', path`/api/sessions/${sessionId}/export`, {
    accept: 'application/x-ndjson, application/problem+json',
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const partial = options.output === undefined ? undefined : `${options.output}.partial`;
  let file: FileHandle | undefined;
  if (partial !== undefined) {
    try {
      file = await open(partial, 'w');
    } catch (err) {
      await response.body?.cancel().catch(() => undefined);
      throw new CliError(`cannot write ${options.output}: ${(err as Error).message}`, ExitCode.refused);
    }
  }
  const reader = response.body?.getReader();
  const decoder = new TextDecoder();
  let lines = 0;
  try {
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      for (const byte of value) if (byte === 0x0a) lines++;
      if (file) await file.write(value);
      else ctx.stdout.write(decoder.decode(value, { stream: true }));
    }
    if (file && partial !== undefined && options.output !== undefined) {
      await file.close();
      file = undefined;
      await rename(partial, options.output);
      writeLine(
        ctx.stderr,
        `exported ${lines} event${lines === 1 ? '' : 's'} of session ${sessionId} to ${options.output}`,
      );
    }
  } catch (err) {
    if (partial !== undefined) {
      await file?.close().catch(() => undefined);
      await rm(partial, { force: true });
    }
    if (ctx.signal?.aborted)
      throw new CliError('export interrupted; nothing was written', ExitCode.interrupted);
    throw new CliError(
      `the export of session ${sessionId} broke off after ${lines} events (${(err as Error).message})${
        options.output === undefined ? '' : `; ${options.output} was not written`
      }`,
      ExitCode.failure,
      { cause: err },
    );
  }
}
