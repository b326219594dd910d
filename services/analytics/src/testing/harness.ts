import { randomUUID } from 'node:crypto';
import { create, type Message } from '@bufbuild/protobuf';
import type { JsonObject } from '@bufbuild/protobuf';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { GetMetricsSchema, commandInfo, type AnalyticsDocument } from '@orch/contracts';
import { CommandBus, naming, type Naming } from '@orch/messaging';
import { deleteStreams, testLogger } from '@orch/messaging/testing';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client } from 'pg';
import { startAnalytics, type AnalyticsService } from '../app';
import { loadConfig } from '../config';
import { HistoryWriter } from './history';

/** The analytics service on the real store and broker, isolated by namespace and schemas. */
export class TestAnalytics {
  service: AnalyticsService | undefined;
  readonly schema = uniqueName('analytics');

  private constructor(
    readonly eventStoreSchema: string,
    readonly names: Naming,
    readonly nc: NatsConnection,
    readonly bus: CommandBus,
    /** Appends history as coordination and distribution do. */
    readonly writer: HistoryWriter,
    private readonly env: Record<string, string>,
  ) {}

  /** A fresh store and broker namespace; the service is started by `startService`. */
  static async create(env: Record<string, string> = {}): Promise<TestAnalytics> {
    const eventStoreSchema = uniqueName('es');
    const names = naming(uniqueName('anl'));
    const nc = await connect({ servers: testNatsUrl() });
    const writer = await HistoryWriter.open(eventStoreSchema);
    return new TestAnalytics(eventStoreSchema, names, nc, new CommandBus(nc, names), writer, env);
  }

  /** Starts the service; `env` adds to (or overrides) the harness's variables for this start. */
  async startService(env: Record<string, string> = {}): Promise<void> {
    const config = loadConfig({
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      ORCH_NAMESPACE: this.names.namespace,
      EVENTSTORE_SCHEMA: this.eventStoreSchema,
      ANALYTICS_SCHEMA: this.schema,
      ANALYTICS_OPS_PORT: '0',
      ANALYTICS_OPS_HOST: '127.0.0.1',
      ...this.env,
      ...env,
    });
    this.service = await startAnalytics(config, { logger: testLogger() });
  }

  async stopService(): Promise<void> {
    await this.service?.close();
    this.service = undefined;
  }

  /** Sends `analytics.<name>` as the gateway would. */
  request<Reply extends Message>(name: string, payload: Message): Promise<Reply> {
    return this.bus.request<Reply>(commandInfo(`analytics.${name}`), payload, {
      correlationId: randomUUID(),
      timeoutMs: 20_000,
    });
  }

  /** The metrics document's body. */
  async metrics(init: { windowMinutes?: number; sessionId?: string } = {}): Promise<JsonObject> {
    const doc = await this.request<AnalyticsDocument>('GetMetrics', create(GetMetricsSchema, init));
    return doc.body ?? {};
  }

  /** One series of the service's /metrics, summed over its labels; undefined when absent. */
  async scrape(name: string): Promise<number | undefined> {
    if (!this.service) throw new Error('the service is not running');
    const text = await (await fetch(`${this.service.ops.url}/metrics`)).text();
    let total: number | undefined;
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (match && match[1] === name) total = (total ?? 0) + Number(match[3]);
    }
    return total;
  }

  /** Runs SQL on the test database; `{schema}` stands for the service's quoted schema. */
  async sql(query: string): Promise<void> {
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    try {
      await pg.query(query.replaceAll('{schema}', `"${this.schema}"`));
    } finally {
      await pg.end();
    }
  }

  /** The checkpoint row of the projection, straight from PostgreSQL. */
  async checkpointRow(): Promise<{ position: bigint; updatedAt: Date } | undefined> {
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    try {
      const { rows } = await pg.query<{ position: string; updated_at: Date }>(
        `SELECT position, updated_at FROM "${this.schema}".projection_checkpoint WHERE name = 'analytics'`,
      );
      const row = rows[0];
      return row ? { position: BigInt(row.position), updatedAt: row.updated_at } : undefined;
    } finally {
      await pg.end();
    }
  }

  async close(): Promise<void> {
    await this.service?.close();
    await this.writer.close();
    await deleteStreams(this.nc, this.names);
    await this.nc.close();
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${this.eventStoreSchema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await pg.end();
  }
}
