import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config';
import { GATEWAY_CONFIG, LOGGER } from '../tokens';
import { KeysService } from './keys.service';

/** Upserts the bootstrap admin key from ORCH_ADMIN_KEY at start-up (rotating it when the variable changes). */
@Injectable()
export class BootstrapAdminKey implements OnModuleInit {
  constructor(
    @Inject(KeysService) private readonly keys: KeysService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onModuleInit(): Promise<void> {
    if (!this.config.adminKey) {
      this.logger.info('ORCH_ADMIN_KEY not set: no bootstrap admin key');
      return;
    }
    await this.keys.ensureBootstrapAdmin(this.config.adminKey);
    this.logger.info('bootstrap admin key ready');
  }
}
