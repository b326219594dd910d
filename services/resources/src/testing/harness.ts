import { randomUUID } from 'node:crypto';
import { create, toJson, type Message, type MessageInitShape } from '@bufbuild/protobuf';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { AllocateSchema, commandInfo, findEventType, protoRegistry } from '@orch/contracts';
import type { AllocationResult } from '@orch/contracts';
import { PostgresEventStore, type RecordedEvent } from '@orch/eventstore';
import { CommandBus, naming, type Naming } from '@orch/messaging';
import { deleteStreams, publishRecordedEvent, recordedEvent, testLogger } from '@orch/messaging/testing';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client } from 'pg';
import { startResources, type ResourcesService } from '../app';
import { loadConfig } from '../config';

export type AllocateInit = Omit<MessageInitShape<typeof AllocateSchema>, '$typeName'>;

/** The resources service on the real store and broker, isolated by namespace and schemas. */
export class TestResources {
  service: ResourcesService | undefined;
  private readonly eventStoreSchema = uniqueName('es');
  private readonly schema = uniqueName('resources');

  private constructor(
    readonly names: Naming,
    readonly nc: NatsConnection,
    readonly bus: CommandBus,
    private readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string> = {}): Promise<TestResources> {
    const names = naming(uniqueName('res'));
    const nc = await connect({ servers: testNatsUrl() });
    const harness = new TestResources(names, nc, new CommandBus(nc, names), env);
    await harness.startService();
    return harness;
  }

  async startService(): Promise<void> {
    const config = loadConfig({
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      ORCH_NAMESPACE: this.names.namespace,
      EVENTSTORE_SCHEMA: this.eventStoreSchema,
      RESOURCES_SCHEMA: this.schema,
      RESOURCES_OPS_PORT: '0',
      RESOURCES_OPS_HOST: '127.0.0.1',
      ...this.env,
    });
    this.service = await startResources(config, { logger: testLogger() });
  }

  /** Stops the service and starts a new one on the same store and broker. */
  async restart(): Promise<void> {
    await this.service?.close();
    await this.startService();
  }

  /** Sends `resources.<name>` as a peer service would. */
  request<Reply extends Message>(name: string, payload: Message): Promise<Reply> {
    return this.bus.request<Reply>(commandInfo(`resources.${name}`), payload, {
      correlationId: randomUUID(),
      timeoutMs: 20_000,
    });
  }

  allocate(init: AllocateInit): Promise<AllocationResult> {
    return this.request<AllocationResult>('Allocate', create(AllocateSchema, init));
  }

  /** Publishes a distribution event the way its relay would. */
  async publish(type: string, data: Message, streamId: string): Promise<void> {
    const info = findEventType(type);
    if (!info) throw new Error(`no event ${type}`);
    const json = toJson(info.schema, data, { registry: protoRegistry, alwaysEmitImplicit: true });
    await publishRecordedEvent(
      jetstream(this.nc),
      this.names,
      recordedEvent({
        type,
        source: 'distribution',
        streamId,
        data: json,
        metadata: { correlationId: streamId },
      }),
    );
  }

  /** The allocator's stream, read from the store. */
  async events(): Promise<RecordedEvent[]> {
    const store = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: this.eventStoreSchema,
      source: 'test',
      migrate: false,
      poolSize: 1,
    });
    try {
      return await store.readStream('resources-allocator');
    } finally {
      await store.close();
    }
  }

  async close(): Promise<void> {
    await this.service?.close();
    await deleteStreams(this.nc, this.names);
    await this.nc.close();
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${this.eventStoreSchema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await pg.end();
  }
}
