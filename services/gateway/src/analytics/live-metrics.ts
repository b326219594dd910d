import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Inject, Injectable, type BeforeApplicationShutdown } from '@nestjs/common';
import { GetMetricsSchema, type AnalyticsDocument } from '@orch/contracts';
import type { Logger } from 'pino';
import { CommandSender, command } from '../commands/command-sender';
import type { GatewayConfig } from '../config';
import { toProblem } from '../problem/problem';
import { GATEWAY_CONFIG, LOGGER } from '../tokens';
import { whenAnalyticsDown } from './analytics-unavailable';
import { toDocumentResponse, toMetricsSummary } from './analytics.mapping';
import type { MetricsSummary } from './analytics.schemas';

const GET_METRICS = command('analytics.GetMetrics');

/** Which figures a client follows: one session's or all, over a window of minutes (default 60). */
export interface MetricsSelection {
  readonly sessionId?: string;
  readonly windowMinutes?: number;
}

/** What a subscriber receives at each interval: the summary, or why there is none this time. */
export type MetricsUpdate =
  | { readonly kind: 'summary'; readonly summary: MetricsSummary }
  | { readonly kind: 'error'; readonly status: number; readonly type: string; readonly detail: string };

export type MetricsListener = (update: MetricsUpdate) => void;

/**
 * Live metrics for SSE streams. One poll per selection, however many streams follow it: the
 * first subscriber starts a timer that asks the analytics service for GetMetrics every
 * ANALYTICS_SSE_INTERVAL_MS, the last one to leave stops it. Nothing runs while nobody asked.
 * A poll still running when the next is due is not doubled; a later subscriber gets the latest
 * update at once instead of waiting for the next interval.
 */
@Injectable()
export class LiveMetrics implements BeforeApplicationShutdown {
  private readonly polls = new Map<string, Poll>();

  constructor(
    @Inject(CommandSender) private readonly commands: CommandSender,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Follows `selection`; call the returned function to stop. */
  subscribe(selection: MetricsSelection, listener: MetricsListener): () => void {
    const key = `${selection.sessionId ?? ''}|${selection.windowMinutes ?? 0}`;
    let poll = this.polls.get(key);
    if (!poll) {
      poll = new Poll(selection, this.config.analyticsSseIntervalMs, (s) => this.fetch(s), this.logger);
      this.polls.set(key, poll);
      poll.add(listener);
      poll.start();
    } else {
      poll.add(listener);
    }
    const joined = poll;
    return () => {
      if (joined.remove(listener) === 0) {
        joined.stop();
        if (this.polls.get(key) === joined) this.polls.delete(key);
      }
    };
  }

  /** Selections being polled now (for tests and diagnostics). */
  get activePolls(): number {
    return this.polls.size;
  }

  beforeApplicationShutdown(): void {
    for (const poll of this.polls.values()) poll.stop();
    this.polls.clear();
  }

  private async fetch(selection: MetricsSelection): Promise<MetricsUpdate> {
    try {
      const doc = await whenAnalyticsDown('live metrics cannot be read', () =>
        this.commands.sendAsGateway<AnalyticsDocument>(
          GET_METRICS,
          create(GetMetricsSchema, {
            windowMinutes: selection.windowMinutes ?? 0,
            sessionId: selection.sessionId ?? '',
          }),
          randomUUID(),
        ),
      );
      return {
        kind: 'summary',
        summary: toMetricsSummary(toDocumentResponse(doc), selection.sessionId, new Date()),
      };
    } catch (err) {
      const problem = toProblem(err, { correlationId: '' });
      return { kind: 'error', status: problem.status, type: problem.body.type, detail: problem.body.detail };
    }
  }
}

/** One selection's timer and its subscribers. */
class Poll {
  private readonly listeners = new Set<MetricsListener>();
  private last: MetricsUpdate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly selection: MetricsSelection,
    private readonly intervalMs: number,
    private readonly fetch: (s: MetricsSelection) => Promise<MetricsUpdate>,
    private readonly logger: Logger,
  ) {}

  add(listener: MetricsListener): void {
    this.listeners.add(listener);
    if (this.last) this.deliver(listener, this.last);
  }

  /** Removes `listener`; returns how many are left. */
  remove(listener: MetricsListener): number {
    this.listeners.delete(listener);
    return this.listeners.size;
  }

  start(): void {
    void this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    let update: MetricsUpdate;
    try {
      update = await this.fetch(this.selection);
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    // Logged when the figures stop coming, not at every interval while they stay away.
    if (update.kind === 'error' && this.last?.kind !== 'error') {
      this.logger.warn(
        { ...this.selection, status: update.status, detail: update.detail },
        'live metrics failed',
      );
    }
    this.last = update;
    for (const listener of this.listeners) this.deliver(listener, update);
  }

  private deliver(listener: MetricsListener, update: MetricsUpdate): void {
    try {
      listener(update);
    } catch (err) {
      this.logger.warn({ err }, 'a live metrics subscriber failed');
    }
  }
}
