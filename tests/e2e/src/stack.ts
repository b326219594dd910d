import type { Server } from 'node:http';
import { connect } from '@nats-io/transport-node';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  startCoordination,
  loadConfig as coordinationConfig,
  type CoordinationService,
} from '@orch/coordination-service';
import {
  startDistribution,
  loadConfig as distributionConfig,
  type DistributionService,
} from '@orch/distribution-service';
import {
  startConflicts,
  loadConfig as conflictsConfig,
  type ConflictsService,
} from '@orch/conflicts-service';
import {
  startAnalytics,
  loadConfig as analyticsConfig,
  type AnalyticsService,
} from '@orch/analytics-service';
import { createGatewayApp, loadConfig as gatewayConfig } from '@orch/gateway';
import {
  startResources,
  loadConfig as resourcesConfig,
  type ResourcesService,
} from '@orch/resources-service';
import { naming } from '@orch/messaging';
import { deleteStreams, testLogger } from '@orch/messaging/testing';
import { initTelemetry } from '@orch/observability';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { Client } from 'pg';

/** The gateway and coordination running in this process, isolated by namespace and schemas. */
export interface TestStack {
  /** http://127.0.0.1:<port> of the gateway. */
  readonly baseUrl: string;
  readonly adminKey: string;
  readonly namespace: string;
  readonly eventStoreSchema: string;
  readonly gateway: NestFastifyApplication;
  /** The first coordination replica. */
  readonly coordination: CoordinationService;
  /** The first distribution replica. */
  readonly distribution: DistributionService;
  /** Every coordination replica, the first one included. */
  readonly coordinations: readonly CoordinationService[];
  /** Every distribution replica, the first one included. */
  readonly distributions: readonly DistributionService[];
  readonly resources: ResourcesService;
  readonly conflicts: ConflictsService;
  readonly analytics: AnalyticsService;
  /** fetch against the gateway with a key. */
  call(
    key: string,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<Response>;
  close(): Promise<void>;
}

export interface StackOptions {
  readonly spanProcessors?: readonly SpanProcessor[];
  /**
   * Instances of coordination and of distribution (default 1). Replicas of one service share its
   * schema, and all share the event store and the namespace, as real replicas do.
   */
  readonly replicas?: number;
}

export async function startStack(options: StackOptions = {}): Promise<TestStack> {
  const namespace = uniqueName('e2e');
  const eventStoreSchema = uniqueName('e2e_es');
  const coordinationSchema = uniqueName('e2e_coord');
  const distributionSchema = uniqueName('e2e_dist');
  const gatewaySchema = uniqueName('e2e_gw');
  const resourcesSchema = uniqueName('e2e_res');
  const conflictsSchema = uniqueName('e2e_conf');
  const analyticsSchema = uniqueName('e2e_an');
  const adminKey = `orch_e2e_${uniqueName('admin')}`;
  // Registered once for the process; both services' spans reach these processors.
  const telemetry = initTelemetry({
    serviceName: 'e2e',
    ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
  });
  const coordinationEnv = {
    DATABASE_URL: testDatabaseUrl(),
    NATS_URL: testNatsUrl(),
    ORCH_NAMESPACE: namespace,
    EVENTSTORE_SCHEMA: eventStoreSchema,
    COORDINATION_SCHEMA: coordinationSchema,
    COORDINATION_OPS_PORT: '0',
    COORDINATION_OPS_HOST: '127.0.0.1',
    // A silent agent is declared unhealthy (and its tasks retried) within seconds.
    AGENT_HEARTBEAT_TIMEOUT_MS: '1500',
    AGENT_LIVENESS_INTERVAL_MS: '250',
  };
  const distributionEnv = {
    DATABASE_URL: testDatabaseUrl(),
    NATS_URL: testNatsUrl(),
    ORCH_NAMESPACE: namespace,
    EVENTSTORE_SCHEMA: eventStoreSchema,
    DISTRIBUTION_SCHEMA: distributionSchema,
    // Retries come quickly, so tests of retry and dead-lettering take well under a second.
    RETRY_BASE_MS: '50',
    RETRY_MAX_MS: '200',
    DISTRIBUTION_OPS_PORT: '0',
    DISTRIBUTION_OPS_HOST: '127.0.0.1',
  };
  // One after the other: the first replica of each service creates its schemas.
  const coordinations: CoordinationService[] = [];
  const distributions: DistributionService[] = [];
  for (let i = 0; i < (options.replicas ?? 1); i++) {
    coordinations.push(
      await startCoordination(coordinationConfig(coordinationEnv), { logger: testLogger() }),
    );
    distributions.push(
      await startDistribution(distributionConfig(distributionEnv), { logger: testLogger() }),
    );
  }
  const shared = {
    DATABASE_URL: testDatabaseUrl(),
    NATS_URL: testNatsUrl(),
    ORCH_NAMESPACE: namespace,
    EVENTSTORE_SCHEMA: eventStoreSchema,
  };
  const resources = await startResources(
    resourcesConfig({
      ...shared,
      RESOURCES_SCHEMA: resourcesSchema,
      RESOURCES_OPS_PORT: '0',
      RESOURCES_OPS_HOST: '127.0.0.1',
      // Waiters age quickly, so starvation-free ordering shows within a test.
      ALLOCATOR_TICK_MAX_MS: '500',
    }),
    { logger: testLogger() },
  );
  const conflicts = await startConflicts(
    conflictsConfig({
      ...shared,
      CONFLICTS_SCHEMA: conflictsSchema,
      CONFLICTS_OPS_PORT: '0',
      CONFLICTS_OPS_HOST: '127.0.0.1',
    }),
    { logger: testLogger() },
  );
  const analytics = await startAnalytics(
    analyticsConfig({
      ...shared,
      ANALYTICS_SCHEMA: analyticsSchema,
      ANALYTICS_OPS_PORT: '0',
      ANALYTICS_OPS_HOST: '127.0.0.1',
      ANALYTICS_CHECKPOINT_INTERVAL_MS: '500',
    }),
    { logger: testLogger() },
  );
  const [coordination, distribution] = [coordinations[0], distributions[0]];
  if (!coordination || !distribution)
    throw new RangeError('a stack needs at least one replica of each service');
  const gateway = await createGatewayApp(
    {
      ...gatewayConfig({ DATABASE_URL: testDatabaseUrl(), NATS_URL: testNatsUrl() }),
      dbSchema: gatewaySchema,
      namespace,
      adminKey,
      openApiUi: false,
    },
    { logger: testLogger() },
  );
  await gateway.listen({ port: 0, host: '127.0.0.1' });
  const address = gateway.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    adminKey,
    namespace,
    eventStoreSchema,
    gateway,
    coordination,
    distribution,
    coordinations,
    distributions,
    resources,
    conflicts,
    analytics,
    call: (key, method, path, body, headers = {}) =>
      fetch(baseUrl + path, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      }),
    async close() {
      await closeListener(gateway.getHttpServer());
      await gateway.close();
      for (const service of [...coordinations, ...distributions, resources, conflicts, analytics])
        await service.close();
      await telemetry.shutdown();
      const nc = await connect({ servers: testNatsUrl() });
      await deleteStreams(nc, naming(namespace));
      await nc.close();
      const pg = new Client({ connectionString: testDatabaseUrl() });
      await pg.connect();
      for (const schema of [
        eventStoreSchema,
        coordinationSchema,
        distributionSchema,
        gatewaySchema,
        resourcesSchema,
        conflictsSchema,
        analyticsSchema,
      ]) {
        await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      }
      await pg.end();
    },
  };
}

/**
 * Stops the gateway's listener and drops its connections before the application closes. The
 * agents' HTTP client can leave sockets on which no request was ever sent: Node counts those as
 * awaiting headers, not idle, so a plain close waits for its headers timeout, about 70 s per
 * stack. Nothing is in flight any more when a test closes its stack.
 */
async function closeListener(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}
