import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { create, type Message, type MessageInitShape } from '@bufbuild/protobuf';
import { RegisterAgentSchema, commandInfo } from '@orch/contracts';
import { PostgresEventStore, type RecordedEvent } from '@orch/eventstore';
import { CommandBus, naming, type Naming } from '@orch/messaging';
import { deleteStreams, publishRecordedEvent, testLogger } from '@orch/messaging/testing';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client } from 'pg';
import { startCoordination, type CoordinationService } from '../app';
import { loadConfig } from '../config';

/**
 * A coordination service on real PostgreSQL and NATS, in schemas and a namespace of its own, with
 * a client to send it commands, read its store and publish other services' events to it.
 */
export interface TestCoordination {
  readonly service: CoordinationService;
  readonly store: PostgresEventStore;
  /** The service's own schema (read models, inbox). */
  readonly schema: string;
  /** Sends `coordination.<name>`, by default as an admin in a fresh correlation. */
  request<Reply extends Message>(name: string, payload: Message, context?: RequestContext): Promise<Reply>;
  /** Registers an agent (a coder unless `fields` say otherwise); returns its id. */
  registerAgent(fields?: AgentFields): Promise<string>;
  /** Publishes an event the way the relay of its source service would. */
  publish(event: RecordedEvent): Promise<void>;
  /** Stops the service and starts a new one on the same store and broker. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface RequestContext {
  readonly correlationId: string;
  readonly principal: { readonly id: string; readonly role: string };
}

export type AgentFields = Omit<MessageInitShape<typeof RegisterAgentSchema>, '$typeName'>;

export async function startTestCoordination(env: Record<string, string> = {}): Promise<TestCoordination> {
  const namespace = uniqueName('coord');
  const eventStoreSchema = uniqueName('es');
  const schema = uniqueName('coordination');
  const config = loadConfig({
    DATABASE_URL: testDatabaseUrl(),
    NATS_URL: testNatsUrl(),
    ORCH_NAMESPACE: namespace,
    EVENTSTORE_SCHEMA: eventStoreSchema,
    COORDINATION_SCHEMA: schema,
    COORDINATION_OPS_PORT: '0',
    COORDINATION_OPS_HOST: '127.0.0.1',
    ...env,
  });
  const start = () => startCoordination(config, { logger: testLogger() });
  let service = await start();
  const names: Naming = naming(namespace);
  const nc: NatsConnection = await connect({ servers: testNatsUrl() });
  const bus = new CommandBus(nc, names);
  const store = await PostgresEventStore.create({
    connectionString: testDatabaseUrl(),
    schema: eventStoreSchema,
    source: 'distribution',
    migrate: false,
  });
  const request = <Reply extends Message>(name: string, payload: Message, context?: RequestContext) => {
    return bus.request<Reply>(
      commandInfo(`coordination.${name}`),
      payload,
      context ?? { correlationId: randomUUID(), principal: { id: 'test', role: 'admin' } },
    );
  };
  return {
    get service() {
      return service;
    },
    store,
    schema,
    request,
    async registerAgent(fields = {}) {
      const agentId = randomUUID();
      await request(
        'RegisterAgent',
        create(RegisterAgentSchema, {
          agentId,
          name: 'worker',
          provider: 'openai',
          model: 'gpt',
          agentType: 'coder',
          maxConcurrency: 2,
          ...fields,
        }),
      );
      return agentId;
    },
    async publish(event) {
      await publishRecordedEvent(jetstream(nc), names, event);
    },
    async restart() {
      await service.close();
      service = await start();
    },
    async close() {
      await service.close();
      await store.close();
      await deleteStreams(nc, names);
      await nc.close();
      const pg = new Client({ connectionString: testDatabaseUrl() });
      await pg.connect();
      await pg.query(`DROP SCHEMA IF EXISTS "${eventStoreSchema}" CASCADE`);
      await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pg.end();
    },
  };
}
