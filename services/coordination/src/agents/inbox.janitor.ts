import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { MESSAGING_LOGGER, pruneInbox } from '@orch/messaging';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { COORDINATION_OPTIONS, PG_POOL, type CoordinationModuleOptions } from '../tokens';
import { AGENTS_READ_MODEL } from './agents.projection';

/** How long processed event ids are kept to recognise redeliveries: far beyond any redelivery. */
export const INBOX_RETENTION_MS = 7 * 24 * 3_600_000;
const PRUNE_EVERY_MS = 60 * 60_000;

/**
 * Keeps the read-model consumers' inbox tables small. A redelivery comes within minutes (max
 * deliveries x backoff) and JetStream's own duplicate window is 10 minutes, so entries older than
 * a week can never be needed again.
 */
@Injectable()
export class InboxJanitor implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(COORDINATION_OPTIONS) private readonly options: CoordinationModuleOptions,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** Deletes entries older than the retention; returns how many. Never throws. */
  async prune(now: Date = new Date()): Promise<number> {
    try {
      const olderThan = new Date(now.getTime() - INBOX_RETENTION_MS);
      const n = await pruneInbox(this.pool, AGENTS_READ_MODEL, olderThan, { schema: this.options.schema });
      if (n > 0) this.logger.info({ consumer: AGENTS_READ_MODEL, pruned: n }, 'pruned consumer inbox');
      return n;
    } catch (err) {
      this.logger.warn({ err }, 'could not prune the consumer inbox');
      return 0;
    }
  }
}
