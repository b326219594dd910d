import { Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { PostgresEventStore, type EventStore } from '@orch/eventstore';
import { MessagingModule, migrateMessagingSchema, serviceRelay } from '@orch/messaging';
import type { Pool } from 'pg';
import { messagingObserver, registerRelayMetrics, type ServiceMetrics } from '@orch/observability';
import type { Logger } from 'pino';
import { DataSource } from 'typeorm';
import { AgentsHandlers } from './agents/agents.handlers';
import { AgentsProjection } from './agents/agents.projection';
import { InboxJanitor } from './agents/inbox.janitor';
import { AssignmentsHandlers } from './assignments/assignments.handlers';
import { DistributionReactions } from './assignments/distribution.consumer';
import { EventLogFollower, LOG_OBSERVERS, type LogObserver } from './fleet/event-log.follower';
import { FleetService } from './fleet/fleet.service';
import { HeartbeatBroadcast } from './fleet/heartbeats';
import { LivenessMonitor } from './fleet/liveness.monitor';
import { registerCoordinationMetrics } from './metrics';
import { SessionsHandlers } from './sessions/sessions.handlers';
import { SessionsService } from './sessions/sessions.service';
import { openCoordinationDataSource } from './persistence/data-source';
import type { AgentReader } from './agents/agent.read-model';
import {
  AGENT_READER,
  CLOCK,
  COORDINATION_METRICS,
  COORDINATION_OPTIONS,
  EVENT_STORE,
  PG_POOL,
  SERVICE,
  type CoordinationModuleOptions,
} from './tokens';

@Module({})
export class CoordinationModule implements OnApplicationShutdown {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    private readonly dataSource: DataSource,
  ) {}

  /**
   * The coordination service. `pool` is owned by the caller (it also backs the health check).
   * Schemas are migrated while the providers are created, before any consumer starts.
   */
  static forRoot(
    options: CoordinationModuleOptions,
    pool: Pool,
    logger: Logger,
    metrics: ServiceMetrics,
  ): DynamicModule {
    return {
      module: CoordinationModule,
      imports: [
        MessagingModule.forRoot({
          service: SERVICE,
          natsUrl: options.natsUrl,
          namespace: options.namespace,
          logger,
          observer: messagingObserver(metrics),
        }),
      ],
      providers: [
        { provide: COORDINATION_OPTIONS, useValue: options },
        { provide: PG_POOL, useValue: pool },
        { provide: CLOCK, useValue: { now: () => new Date() } },
        {
          provide: EVENT_STORE,
          useFactory: () =>
            PostgresEventStore.create({ pool, schema: options.eventStoreSchema, source: SERVICE, logger }),
        },
        {
          provide: DataSource,
          useFactory: async () => {
            const dataSource = await openCoordinationDataSource(options.databaseUrl, options.schema);
            await migrateMessagingSchema(pool, options.schema);
            return dataSource;
          },
        },
        {
          provide: AGENT_READER,
          // Depends on the DataSource so the read model is migrated before the first query.
          useFactory: (_migrated: DataSource): AgentReader => ({ pool, schema: options.schema }),
          inject: [DataSource],
        },
        FleetService,
        SessionsService,
        {
          provide: LOG_OBSERVERS,
          useFactory: (fleet: FleetService, sessions: SessionsService): LogObserver[] => [fleet, sessions],
          inject: [FleetService, SessionsService],
        },
        EventLogFollower,
        {
          provide: COORDINATION_METRICS,
          useFactory: (fleet: FleetService) =>
            registerCoordinationMetrics(metrics, () => fleet.index.countByStatus()),
          inject: [FleetService],
        },
        HeartbeatBroadcast,
        LivenessMonitor,
        AgentsHandlers,
        AssignmentsHandlers,
        SessionsHandlers,
        DistributionReactions,
        AgentsProjection,
        InboxJanitor,
        serviceRelay({
          inject: [EVENT_STORE],
          useFactory: (store: EventStore) => ({ store, pool, schema: options.schema, source: SERVICE }),
          started: (relay) => registerRelayMetrics(metrics, relay),
        }),
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    await this.dataSource.destroy();
  }
}
