import { Module, type DynamicModule } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { Messaging, MessagingModule } from '@orch/messaging';
import { HealthRegistry, type ServiceMetrics } from '@orch/observability';
import type { Logger } from 'pino';
import { AgentsController } from './agents/agents.controller';
import { AnalyticsController } from './analytics/analytics.controller';
import { LiveMetrics } from './analytics/live-metrics';
import { AccessGuard } from './auth/access.guard';
import { CommandSender } from './commands/command-sender';
import type { GatewayConfig } from './config';
import { createPool, Database } from './db/database';
import { migrate } from './db/migrations';
import { EventsController } from './events/events.controller';
import { HealthController } from './health/health.controller';
import { IdempotencyInterceptor } from './idempotency/idempotency.interceptor';
import { IdempotencyJanitor } from './idempotency/idempotency.janitor';
import { IdempotencyRepository } from './idempotency/idempotency.repository';
import { BootstrapAdminKey } from './keys/bootstrap-admin';
import { KeysController } from './keys/keys.controller';
import { KeysRepository } from './keys/keys.repository';
import { KeysService } from './keys/keys.service';
import { GATEWAY_CONFIG, LOGGER, METRICS } from './tokens';
import { WorkflowsController } from './workflows/workflows.controller';
import { OrchestrationController } from './orchestration/orchestration.controller';
import { SessionsController } from './orchestration/sessions.controller';
import { TasksController } from './orchestration/tasks.controller';
import { AllocationController } from './resources/allocation.controller';
import { ConflictsController } from './resources/conflicts.controller';
import { PoolClaimsCheck } from './resources/pool-claims';
import { PoolsController } from './resources/pools.controller';
import { ReplayController } from './replay/replay.controller';

/** The gateway: its own PostgreSQL schema (keys, idempotency) and NATS for everything else. */
@Module({})
export class GatewayModule {
  static forRoot(config: GatewayConfig, logger: Logger, metrics: ServiceMetrics): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        MessagingModule.forRoot({
          service: 'gateway',
          natsUrl: config.natsUrl,
          namespace: config.namespace,
          logger: logger.child({ component: 'messaging' }),
          commandTimeoutMs: config.commandTimeoutMs,
        }),
      ],
      controllers: [
        HealthController,
        KeysController,
        AgentsController,
        WorkflowsController,
        SessionsController,
        TasksController,
        OrchestrationController,
        PoolsController,
        AllocationController,
        ConflictsController,
        AnalyticsController,
        ReplayController,
        EventsController,
      ],
      providers: [
        { provide: GATEWAY_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS, useValue: metrics },
        {
          provide: Database,
          useFactory: async (): Promise<Database> => {
            const pool = createPool(config.databaseUrl);
            // An idle client losing its connection must not crash the process; the next query reconnects.
            pool.on('error', (err) => logger.warn({ err: err.message }, 'idle PostgreSQL client failed'));
            try {
              const applied = await migrate(pool, config.dbSchema);
              if (applied.length > 0) logger.info({ schema: config.dbSchema, applied }, 'database migrated');
            } catch (err) {
              await pool.end().catch(() => undefined);
              throw err;
            }
            return new Database(pool, config.dbSchema);
          },
        },
        {
          provide: HealthRegistry,
          useFactory: (db: Database, messaging: Messaging): HealthRegistry =>
            new HealthRegistry()
              .register('postgres', () => db.ping())
              .register('nats', () => {
                if (messaging.health().nats !== 'up') throw new Error('not connected to NATS');
              }),
          inject: [Database, Messaging],
        },
        CommandSender,
        PoolClaimsCheck,
        LiveMetrics,
        KeysRepository,
        KeysService,
        BootstrapAdminKey,
        IdempotencyRepository,
        IdempotencyJanitor,
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
      ],
    };
  }
}
