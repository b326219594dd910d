import { createInterface } from 'node:readline';
import { readEvent, readEventPage, readReplay, type EventDoc } from '../documents';
import { renderState } from '../format/state';
import { namesFor, renderTimeline, timelineRows } from '../format/timeline';
import { path } from '../http';
import { writeJson, writeLine, writeLines } from '../io';
import type { CommandContext } from './context';

export interface ReplayOptions {
  /** A global position (decimal); the state is shown as it was there. */
  readonly at?: string;
  /** Interactive: one event at a time, with the state after it. */
  readonly step: boolean;
}

/** Events asked per page (the gateway's largest). */
const PAGE = 5000;

/**
 * `orchestrator replay <session>`: the session's history as a timeline (one line per event, up
 * to `--at`), then its state at the end (or at `--at`). `--step` walks the history one event at
 * a time with the state after each; `--json` prints the raw documents.
 */
export async function replay(ctx: CommandContext, sessionId: string, options: ReplayOptions): Promise<void> {
  const all = await sessionEvents(ctx, sessionId);
  const at = options.at === undefined ? undefined : BigInt(options.at);
  const shown = at === undefined ? all : all.filter((e) => e.event.position <= at);
  if (options.step) return step(ctx, sessionId, shown);

  const rawState = await ctx.client.json('GET', path`/api/sessions/${sessionId}/replay`, {
    query: { at: options.at },
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  if (ctx.json) {
    return writeJson(ctx.stdout, { events: shown.map((e) => e.raw), replay: rawState });
  }
  const events = shown.map((e) => e.event);
  const names = namesFor(all.map((e) => e.event));
  const state = readReplay(rawState);
  names.learnFromState(state.tasks, state.agents);
  writeLines(ctx.stdout, renderTimeline(timelineRows(events, names), ctx.style));
  const later = all.length - shown.length;
  if (later > 0)
    writeLine(ctx.stdout, ctx.style.dim(`… ${later} later event${later === 1 ? '' : 's'} not shown`));
  writeLine(ctx.stdout);
  writeLines(ctx.stdout, renderState(state, names, ctx.style));
}

interface Fetched {
  readonly raw: unknown;
  readonly event: EventDoc;
}

/** The session's whole history, page by page (`from` = the last page's `nextFrom`). */
export async function sessionEvents(ctx: CommandContext, sessionId: string): Promise<Fetched[]> {
  const events: Fetched[] = [];
  let from = 0n;
  for (;;) {
    const page = readEventPage(
      await ctx.client.json('GET', path`/api/sessions/${sessionId}/events`, {
        query: { from: from.toString(), limit: PAGE },
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }),
    );
    for (const raw of page.items) events.push({ raw, event: readEvent(raw) });
    // A next page that does not move forward would loop for ever: the history ends here.
    if (page.nextFrom === 0n || page.nextFrom <= from || page.items.length === 0) return events;
    from = page.nextFrom;
  }
}

/**
 * One event at a time: its timeline line, then the state after it. On a terminal, Enter shows
 * the next and q quits; otherwise (a pipe, a file) every step is printed without waiting.
 */
async function step(ctx: CommandContext, sessionId: string, events: readonly Fetched[]): Promise<void> {
  const names = namesFor(events.map((e) => e.event));
  const lines = renderTimeline(
    timelineRows(
      events.map((e) => e.event),
      names,
    ),
    ctx.style,
  );
  const keys = ctx.stdin?.isTTY ? new KeyReader(ctx) : undefined;
  try {
    for (const [i, fetched] of events.entries()) {
      if (ctx.signal?.aborted) return;
      const rawState = await ctx.client.json('GET', path`/api/sessions/${sessionId}/replay`, {
        query: { at: fetched.event.position.toString() },
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      if (ctx.json) {
        ctx.stdout.write(`${JSON.stringify({ event: fetched.raw, replay: rawState })}\n`);
      } else {
        const state = readReplay(rawState);
        writeLine(ctx.stdout, ctx.style.dim(`── step ${i + 1}/${events.length}`));
        writeLines(ctx.stdout, [lines[0] ?? '', lines[i + 1] ?? '', '']);
        writeLines(ctx.stdout, renderState(state, names, ctx.style));
        writeLine(ctx.stdout);
      }
      if (keys && i < events.length - 1 && !(await keys.next())) return;
    }
  } finally {
    keys?.close();
  }
}

/** Reads Enter (next) and q (quit) from a terminal, a line at a time. */
class KeyReader {
  private readonly lines: AsyncIterator<string>;
  private readonly close_: () => void;

  constructor(private readonly ctx: CommandContext) {
    const rl = createInterface({ input: ctx.stdin as NodeJS.ReadableStream, terminal: false });
    this.lines = rl[Symbol.asyncIterator]();
    const onAbort = (): void => rl.close();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    this.close_ = () => {
      ctx.signal?.removeEventListener('abort', onAbort);
      rl.close();
    };
  }

  /** False when the person quit (q, end of input, Ctrl-C). */
  async next(): Promise<boolean> {
    // On stderr, so stdout holds only the replay (it may be piped while the keys come from a terminal).
    this.ctx.stderr.write('[Enter] next event, q quit > ');
    const line = await this.lines.next();
    return !line.done && line.value.trim().toLowerCase() !== 'q';
  }

  close(): void {
    this.close_();
  }
}
