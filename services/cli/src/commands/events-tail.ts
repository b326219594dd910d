import { readEvent, type EventDoc } from '../documents';
import { Names, subjectOf, summarise } from '../format/summary';
import { shortId, truncate } from '../format/table';
import { formatClock } from '../format/time';
import type { Style } from '../format/style';
import { GatewayUnreachableError, ProblemError } from '../http';
import { writeLine } from '../io';
import { SseParser } from '../sse';
import type { CommandContext } from './context';

export interface TailOptions {
  /** Only this session's events. */
  readonly session?: string;
  /** Only these event types. */
  readonly types?: readonly string[];
  /** First wait before reconnecting; doubles up to 10 s. Defaults to 1 s. */
  readonly reconnectMs?: number;
}

/** Reconnections in a row that may fail before tail gives up. */
const MAX_RECONNECTS = 10;

/**
 * `orchestrator events tail`: follows GET /api/events/stream and prints one line per event until
 * Ctrl-C. A dropped stream is resumed where it stopped (Last-Event-ID), so no event is missed or
 * printed twice; the first connection failing is an error (the gateway is unreachable or refuses).
 */
export async function tail(ctx: CommandContext, options: TailOptions): Promise<void> {
  const names = new Names();
  const printer = new TailPrinter(ctx, names, options.session === undefined);
  let lastEventId = '';
  let connected = false;
  let failures = 0;
  const baseDelay = options.reconnectMs ?? 1000;
  while (!ctx.signal?.aborted) {
    try {
      const response = await ctx.client.open('GET', '/api/events/stream', {
        query: { sessionId: options.session, types: options.types?.join(',') },
        accept: 'text/event-stream, application/problem+json',
        headers: lastEventId ? { 'last-event-id': lastEventId } : {},
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      connected = true;
      failures = 0;
      lastEventId = await follow(response, lastEventId, (data) => printer.print(data), ctx.signal);
      if (ctx.signal?.aborted) return;
      writeLine(ctx.stderr, 'the event stream closed; reconnecting');
    } catch (err) {
      if (ctx.signal?.aborted) return;
      // The first connection, or a refusal (bad filter, revoked key), is the answer to give.
      if (!connected || err instanceof ProblemError || ++failures > MAX_RECONNECTS) throw err;
      const why =
        err instanceof GatewayUnreachableError ? err.message : String((err as Error).message ?? err);
      writeLine(ctx.stderr, `the event stream broke (${why}); reconnecting`);
    }
    await ctx.sleep(Math.min(10_000, baseDelay * 2 ** Math.max(0, failures - 1)), ctx.signal);
  }
}

/** Reads one connection's frames until it ends; returns the last event id seen. */
async function follow(
  response: Response,
  lastEventId: string,
  onEvent: (data: string) => void,
  signal: AbortSignal | undefined,
): Promise<string> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  let last = lastEventId;
  const reader = response.body?.getReader();
  if (!reader) return last;
  if (signal?.aborted) {
    await reader.cancel().catch(() => undefined);
    return last;
  }
  const stop = (): void => void reader.cancel().catch(() => undefined);
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const message of parser.push(decoder.decode(value, { stream: true }))) {
        if (message.id) last = message.id;
        onEvent(message.data);
      }
    }
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return last;
}

/** Live event lines: `12:00:01.234Z  #1042  distribution  TaskAssigned  design  claude-1  attempt 1`. */
export class TailPrinter {
  constructor(
    private readonly ctx: Pick<CommandContext, 'stdout' | 'json' | 'style'>,
    private readonly names: Names,
    /** Several sessions interleave: show whose each event is. */
    private readonly showSession: boolean,
  ) {}

  print(data: string): void {
    if (this.ctx.json) {
      // NDJSON: the event document on one line, as the stream sent it.
      writeLine(this.ctx.stdout, data.replace(/\n/g, ' '));
      return;
    }
    let event: EventDoc;
    try {
      event = readEvent(JSON.parse(data));
    } catch {
      writeLine(this.ctx.stdout, this.ctx.style.yellow(`(an event that is not JSON: ${truncate(data, 80)})`));
      return;
    }
    writeLine(this.ctx.stdout, tailLine(event, this.names, this.showSession, this.ctx.style));
  }
}

/** One live event as a line; columns have fixed widths since the stream has no end to measure. */
export function tailLine(event: EventDoc, names: Names, showSession: boolean, style: Style): string {
  names.learnFromEvent(event.type, event.data);
  const { task, agent } = subjectOf(event.type, event.streamId, event.data, names);
  const parts = [
    style.dim(event.occurredAt ? formatClock(event.occurredAt) : '--:--:--.---Z'),
    `#${event.position}`.padStart(8),
    ...(showSession ? [(shortId(event.correlationId) || '-').padEnd(8)] : []),
    event.source.padEnd(12),
    event.type.padEnd(22),
    (task || '-').padEnd(14),
    (agent || '-').padEnd(12),
    truncate(summarise(event.type, event.data, names), 100),
  ];
  return parts.join('  ').trimEnd();
}
