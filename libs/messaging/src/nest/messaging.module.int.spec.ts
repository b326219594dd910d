import { randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  AgentRegistrationSchema,
  commandTypes,
  RegisterAgentSchema,
  type AgentRegistration,
  type CommandTypeInfo,
  type RegisterAgent,
} from '@orch/contracts';
import { NotFoundError } from '@orch/domain-kit';
import { PostgresEventStore } from '@orch/eventstore';
import { eventually, testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Pool } from 'pg';
import {
  CommandBus,
  CommandHandler,
  EventHandler,
  Messaging,
  MessagingModule,
  naming,
  NATS_CONNECTION,
  serviceRelay,
  type CommandContext,
  type DecodedEvent,
  type OutboxRelay,
  type RemoteDomainError,
} from '../index';
import { deleteStreams, publishRecordedEvent, recordedEvent, testLogger } from '../testing';

const register = commandTypes.get('coordination.RegisterAgent') as CommandTypeInfo;
const namespace = uniqueName('nest');

@Injectable()
class AgentHandlers {
  readonly seen: DecodedEvent[] = [];
  lastContext: CommandContext | undefined;

  @CommandHandler(register)
  async register(payload: RegisterAgent, ctx: CommandContext): Promise<AgentRegistration> {
    this.lastContext = ctx;
    if (payload.agentId === 'missing') throw new NotFoundError('no such agent', { agentId: 'missing' });
    return create(AgentRegistrationSchema, { agentId: payload.agentId, streamVersion: 1n });
  }

  @EventHandler({ consumer: 'agent-list', types: ['AgentRegistered'], startPosition: 'new' })
  async onRegistered(event: DecodedEvent): Promise<void> {
    this.seen.push(event);
  }
}

@Module({
  imports: [
    MessagingModule.forRootAsync({
      useFactory: () => ({
        service: 'coordination',
        natsUrl: testNatsUrl(),
        namespace,
        logger: testLogger(),
      }),
    }),
  ],
  providers: [AgentHandlers],
})
class AppModule {}

describe('MessagingModule', () => {
  let app: INestApplicationContext;
  let nc: NatsConnection;

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    await app.init();
    nc = app.get<NatsConnection>(NATS_CONNECTION);
  });

  afterAll(async () => {
    if (!nc.isClosed()) await app.close();
  });

  it('provisions the streams and serves @CommandHandler methods', async () => {
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(naming(namespace).eventsStream)).config.subjects).toEqual([
      `${namespace}.events.>`,
    ]);

    const bus = app.get(CommandBus);
    const reply = await bus.request<AgentRegistration>(
      register,
      create(RegisterAgentSchema, { agentId: 'a-1' }),
      {
        correlationId: 'session-9',
      },
    );
    expect(reply.agentId).toBe('a-1');
    expect(app.get(AgentHandlers).lastContext?.correlationId).toBe('session-9');

    const err = (await bus
      .request(register, create(RegisterAgentSchema, { agentId: 'missing' }), { correlationId: 's' })
      .catch((e: unknown) => e)) as RemoteDomainError;
    expect(err).toMatchObject({ code: 'not_found', details: { agentId: 'missing' } });
  });

  it('runs @EventHandler methods on a durable consumer and reports health', async () => {
    const event = recordedEvent({ type: 'AgentRegistered' });
    await publishRecordedEvent(jetstream(nc), naming(namespace), event);
    const handlers = app.get(AgentHandlers);
    await eventually(() => (handlers.seen.some((e) => e.eventId === event.eventId) ? true : undefined));

    expect(app.get(Messaging).health()).toEqual({
      nats: 'up',
      consumers: { 'coordination-agent-list': 'running' },
      relay: {},
    });
  });

  it('stops consumers and drains the connection on shutdown', async () => {
    const messaging = app.get(Messaging);
    await app.close();
    expect(messaging.health()).toEqual({
      nats: 'down',
      consumers: { 'coordination-agent-list': 'stopped' },
      relay: {},
    });
    expect(nc.isClosed()).toBe(true);
    const cleanup = await connect({ servers: testNatsUrl() });
    await deleteStreams(cleanup, naming(namespace));
    await cleanup.close();
  });
});

describe('serviceRelay', () => {
  const relayNamespace = uniqueName('nest_relay');
  const esSchema = uniqueName('nest_relay_es');
  const msgSchema = uniqueName('nest_relay_msg');
  const STORE = Symbol('store');
  let app: INestApplicationContext;
  let pool: Pool;
  let store: PostgresEventStore;
  let started: OutboxRelay | undefined;

  @Module({
    imports: [
      MessagingModule.forRoot({
        service: 'coordination',
        natsUrl: testNatsUrl(),
        namespace: relayNamespace,
        logger: testLogger(),
      }),
    ],
    providers: [
      { provide: STORE, useFactory: () => store },
      serviceRelay({
        inject: [STORE],
        useFactory: (s: PostgresEventStore) => ({
          store: s,
          pool,
          schema: msgSchema,
          source: 'coordination',
        }),
        started: (relay) => (started = relay),
      }),
    ],
  })
  class RelayModule {}

  beforeAll(async () => {
    pool = new Pool({ connectionString: testDatabaseUrl(), max: 4 });
    store = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: esSchema,
      source: 'coordination',
      pollIntervalMs: 50,
    });
    app = await NestFactory.createApplicationContext(RelayModule, { logger: false });
    await app.init();
  });

  afterAll(async () => {
    await store.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${esSchema} CASCADE`);
    await pool.query(`DROP SCHEMA IF EXISTS ${msgSchema} CASCADE`);
    await pool.end();
    const cleanup = await connect({ servers: testNatsUrl() });
    await deleteStreams(cleanup, naming(relayNamespace));
    await cleanup.close();
  });

  it('starts a relay at bootstrap that publishes what the service appends, in health until shutdown', async () => {
    const relay = started!;
    expect(relay.status().running).toBe(true);
    const { lastGlobalPosition } = await store.append('agent-r1', 'no_stream', [
      {
        eventId: randomUUID(),
        type: 'AgentRegistered',
        data: { agentId: 'r1', name: 'relayed', maxConcurrency: 1 },
        metadata: { correlationId: 'session-r1', causationId: 'cmd-r1' },
      },
    ]);
    await eventually(() => (relay.status().position >= lastGlobalPosition ? true : undefined));

    const nc = app.get<NatsConnection>(NATS_CONNECTION);
    const stream = await (await jetstreamManager(nc)).streams.info(naming(relayNamespace).eventsStream);
    expect(stream.state.messages).toBe(1);
    const messaging = app.get(Messaging);
    expect(messaging.health().relay[relay.name]).toMatchObject({
      running: true,
      position: Number(lastGlobalPosition),
    });

    await app.close();
    expect(relay.status().running).toBe(false);
  });
});
