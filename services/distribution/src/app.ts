import type { Logger } from '@orch/observability';
import { messagingObserver } from '@orch/observability';
import { startService, type RunningService } from '@orch/service-kit';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { DistributionConfig } from './config';
import { DistributionModule, SERVICE } from './distribution.module';

export type DistributionService = RunningService;

export interface StartOptions {
  readonly spanProcessors?: readonly SpanProcessor[];
  readonly logger?: Logger;
}

/** Starts the distribution service: health and metrics first, then NATS (waited for), then its handlers. */
export async function startDistribution(
  config: DistributionConfig,
  options: StartOptions = {},
): Promise<DistributionService> {
  return startService({
    name: SERVICE,
    logLevel: config.LOG_LEVEL,
    opsPort: config.DISTRIBUTION_OPS_PORT,
    opsHost: config.DISTRIBUTION_OPS_HOST,
    ...options,
    module: ({ logger, metrics }) =>
      DistributionModule.forRoot(
        {
          natsUrl: config.NATS_URL,
          namespace: config.ORCH_NAMESPACE,
          maxTasks: config.DISTRIBUTION_MAX_TASKS,
        },
        logger,
        messagingObserver(metrics),
      ),
  });
}
