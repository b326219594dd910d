import { randomUUID } from 'node:crypto';
import { create, toJson, type Message, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  AgentAckSchema,
  AgentAssignmentSchema,
  SessionStartedSchema,
  commandInfo,
  findEventType,
  protoRegistry,
  type AgentAssignment,
  type AssignAgent,
  type ReleaseAgent,
} from '@orch/contracts';
import { PostgresEventStore, type RecordedEvent } from '@orch/eventstore';
import { CommandBus, CommandServer, naming, type Naming } from '@orch/messaging';
import { deleteStreams, publishRecordedEvent, recordedEvent, testLogger } from '@orch/messaging/testing';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client } from 'pg';
import { startDistribution, type DistributionService } from '../app';
import { loadConfig } from '../config';

export interface FakeAgent {
  readonly capabilities: readonly string[];
  healthy: boolean;
  /** Free slots; undefined means unlimited. */
  slots?: number;
}

/**
 * Stands in for the coordination service over the real NATS connection: answers AssignAgent from
 * a map of agents (first eligible one, or in turn with `rotate`) and records every grant and release.
 */
export class FakeCoordination {
  readonly agents = new Map<string, FakeAgent>();
  readonly grants: { taskId: string; agentId: string }[] = [];
  readonly releases: { taskId: string; agentId: string; reason: string }[] = [];
  /** Give each request the next eligible agent in turn, so racing replicas get different ones. */
  rotate = false;
  private turn = 0;
  private readonly server: CommandServer;

  constructor(nc: NatsConnection, names: Naming) {
    this.server = new CommandServer(nc, names, 'coordination', testLogger());
    this.server.handle(commandInfo('coordination.AssignAgent'), async (m: AssignAgent) => this.assign(m));
    this.server.handle(commandInfo('coordination.ReleaseAgent'), async (m: ReleaseAgent) => {
      this.releases.push({ taskId: m.taskId, agentId: m.agentId, reason: m.reason });
      const agent = this.agents.get(m.agentId);
      if (agent?.slots !== undefined) agent.slots++;
      return create(AgentAckSchema, { agentId: m.agentId, status: 'idle' });
    });
  }

  private assign(m: AssignAgent): AgentAssignment {
    const eligible = [...this.agents.entries()].filter(
      ([id, a]) =>
        a.healthy &&
        (a.slots === undefined || a.slots > 0) &&
        m.capabilities.every((c) => a.capabilities.includes(c)) &&
        (m.pinnedAgentId === '' || m.pinnedAgentId === id) &&
        (m.agentIds.length === 0 || m.agentIds.includes(id)),
    );
    const chosen = eligible[this.rotate ? this.turn++ % Math.max(1, eligible.length) : 0];
    if (!chosen) return create(AgentAssignmentSchema, { assigned: false, reason: 'no eligible agent' });
    const [agentId, agent] = chosen;
    if (agent.slots !== undefined) agent.slots--;
    this.grants.push({ taskId: m.taskId, agentId });
    return create(AgentAssignmentSchema, {
      assigned: true,
      agentId,
      selection: { strategy: m.strategy || 'weighted', agentId, eligible: eligible.length },
    });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

type TaskInit = MessageInitShape<typeof SessionStartedSchema>['tasks'];

/**
 * Distribution services on real PostgreSQL and NATS, in schemas and a namespace of their own, with
 * a fake coordination, a command bus, a reader of the store and a publisher of coordination events.
 */
export class TestDistribution {
  readonly services: DistributionService[] = [];
  private readonly eventStoreSchema = uniqueName('es');
  private readonly schema = uniqueName('distribution');

  private constructor(
    readonly names: Naming,
    readonly nc: NatsConnection,
    readonly bus: CommandBus,
    readonly coordination: FakeCoordination,
    private readonly env: Record<string, string>,
  ) {}

  /** Started with one service instance. */
  static async start(env: Record<string, string> = {}): Promise<TestDistribution> {
    const names = naming(uniqueName('dist'));
    const nc = await connect({ servers: testNatsUrl() });
    const harness = new TestDistribution(
      names,
      nc,
      new CommandBus(nc, names),
      new FakeCoordination(nc, names),
      env,
    );
    await harness.startInstance();
    return harness;
  }

  /** One more service instance on the same store and broker. */
  async startInstance(): Promise<DistributionService> {
    const config = loadConfig({
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      ORCH_NAMESPACE: this.names.namespace,
      EVENTSTORE_SCHEMA: this.eventStoreSchema,
      DISTRIBUTION_SCHEMA: this.schema,
      DISTRIBUTION_OPS_PORT: '0',
      DISTRIBUTION_OPS_HOST: '127.0.0.1',
      RETRY_BASE_MS: '20',
      RETRY_MAX_MS: '100',
      DISPATCH_RETRY_INTERVAL_MS: '50',
      ...this.env,
    });
    const service = await startDistribution(config, { logger: testLogger() });
    this.services.push(service);
    return service;
  }

  async stopInstance(service: DistributionService): Promise<void> {
    this.services.splice(this.services.indexOf(service), 1);
    await service.close();
  }

  /** Sends `distribution.<name>` as an agent or a user would, through the gateway. */
  request<Reply extends Message>(name: string, payload: Message): Promise<Reply> {
    return this.bus.request<Reply>(commandInfo(`distribution.${name}`), payload, {
      correlationId: randomUUID(),
      timeoutMs: 40_000,
    });
  }

  /** Publishes a coordination event the way its relay would. */
  async publish(type: string, data: Message, streamId: string): Promise<void> {
    const info = findEventType(type);
    if (!info) throw new Error(`no event ${type}`);
    const json = toJson(info.schema, data, { registry: protoRegistry, alwaysEmitImplicit: true });
    await publishRecordedEvent(
      jetstream(this.nc),
      this.names,
      recordedEvent({
        type,
        source: 'coordination',
        streamId,
        data: json,
        metadata: { correlationId: streamId },
      }),
    );
  }

  /** Starts a session as coordination would (SessionStarted; a new id unless given); returns its id. */
  async startSession(
    tasks: TaskInit,
    more: Omit<MessageInitShape<typeof SessionStartedSchema>, 'tasks' | '$typeName'> = {},
  ): Promise<string> {
    const started = create(SessionStartedSchema, {
      sessionId: randomUUID(),
      goal: 'test goal',
      pattern: 'swarm',
      strategy: 'weighted',
      startedAt: timestampFromDate(new Date()),
      ...more,
      tasks,
    });
    await this.publish('SessionStarted', started, `session-${started.sessionId}`);
    return started.sessionId;
  }

  /** The workflow stream of a session, read from the store. */
  async events(sessionId: string): Promise<RecordedEvent[]> {
    const store = await this.store();
    try {
      return await store.readStream(`workflow-${sessionId}`);
    } finally {
      await store.close();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.services.splice(0).map((s) => s.close()));
    await this.coordination.close();
    await deleteStreams(this.nc, this.names);
    await this.nc.close();
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${this.eventStoreSchema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await pg.end();
  }

  private store(): Promise<PostgresEventStore> {
    return PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: this.eventStoreSchema,
      source: 'test',
      migrate: false,
      poolSize: 1,
    });
  }
}
