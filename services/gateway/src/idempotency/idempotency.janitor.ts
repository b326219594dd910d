import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../tokens';
import { IdempotencyRepository } from './idempotency.repository';

const PURGE_EVERY_MS = 10 * 60_000;

/**
 * Deletes expired idempotency records now and then. Expiry does not depend on it (an expired
 * record is taken over by the next claim); it only keeps the table small.
 */
@Injectable()
export class IdempotencyJanitor implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    @Inject(IdempotencyRepository) private readonly repo: IdempotencyRepository,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.purge(), PURGE_EVERY_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async purge(): Promise<number> {
    try {
      const n = await this.repo.purgeExpired();
      if (n > 0) this.logger.debug({ purged: n }, 'purged expired idempotency keys');
      return n;
    } catch (err) {
      this.logger.warn({ err }, 'could not purge expired idempotency keys');
      return 0;
    }
  }
}
