import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { NATS_CONNECTION, naming, type Naming } from '@orch/messaging';
import { deleteStreams, testLogger } from '@orch/messaging/testing';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client, escapeIdentifier } from 'pg';
import type { Logger } from 'pino';
import { createGatewayApp } from '../app';
import { loadConfig, type GatewayConfig } from '../config';
import { generateApiKey } from '../keys/api-key';

/** A gateway booted in-process on the real PostgreSQL and NATS, isolated by schema and namespace. */
export interface TestGateway {
  readonly app: NestFastifyApplication;
  readonly config: GatewayConfig;
  readonly adminKey: string;
  readonly naming: Naming;
  /** The gateway's own NATS connection. */
  readonly nc: NatsConnection;
  /** `Authorization` header for a key. */
  auth(key: string): { authorization: string };
  /** Deletes the streams, closes the app and drops the schema. */
  close(): Promise<void>;
}

export async function startTestGateway(
  overrides: Partial<GatewayConfig> = {},
  options: { logger?: Logger } = {},
): Promise<TestGateway> {
  const adminKey = generateApiKey();
  const config: GatewayConfig = {
    ...loadConfig({ DATABASE_URL: testDatabaseUrl(), NATS_URL: testNatsUrl() }),
    dbSchema: uniqueName('gateway'),
    namespace: uniqueName('gw'),
    adminKey,
    openApiUi: false,
    ...overrides,
  };
  const app = await createGatewayApp(config, { logger: options.logger ?? testLogger() });
  const nc = app.get<NatsConnection>(NATS_CONNECTION);
  const n = naming(config.namespace);
  return {
    app,
    config,
    adminKey,
    naming: n,
    nc,
    auth: (key) => ({ authorization: `Bearer ${key}` }),
    async close() {
      await app.close();
      // A connection of its own: the gateway's may be closed by the test.
      const cleanup = await connect({ servers: testNatsUrl() });
      try {
        await deleteStreams(cleanup, n);
      } finally {
        await cleanup.close();
      }
      const client = new Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${escapeIdentifier(config.dbSchema)} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}
