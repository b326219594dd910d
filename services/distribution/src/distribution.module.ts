import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule, type MessagingObserver } from '@orch/messaging';
import type { Logger } from 'pino';
import { DISTRIBUTION_OPTIONS, type DistributionModuleOptions } from './tokens';
import { WorkflowsHandlers } from './workflows/workflows.handlers';

export const SERVICE = 'distribution';

@Module({})
export class DistributionModule {
  static forRoot(
    options: DistributionModuleOptions,
    logger: Logger,
    observer: MessagingObserver,
  ): DynamicModule {
    return {
      module: DistributionModule,
      imports: [
        MessagingModule.forRoot({
          service: SERVICE,
          natsUrl: options.natsUrl,
          namespace: options.namespace,
          logger,
          observer,
        }),
      ],
      providers: [{ provide: DISTRIBUTION_OPTIONS, useValue: options }, WorkflowsHandlers],
    };
  }
}
