import { randomUUID } from 'node:crypto';
import { create, toJson, type Message, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import {
  ConflictDetectedSchema,
  ConflictResolutionSchema,
  ConflictResolvedSchema,
  ListConflictsSchema,
  ResolveConflictRequestSchema,
  commandInfo,
  protoRegistry,
  type ConflictPage,
  type ConflictResolution,
  type ConflictView,
  type ResolveConflict,
} from '@orch/contracts';
import { PostgresEventStore } from '@orch/eventstore';
import { CommandBus, CommandServer, naming, type CommandContext, type Naming } from '@orch/messaging';
import { deleteStreams, testLogger } from '@orch/messaging/testing';
import { testDatabaseUrl, testNatsUrl, uniqueName } from '@orch/testing';
import { Client } from 'pg';
import { startConflicts, type ConflictsService } from '../app';
import { loadConfig } from '../config';

/** The allocator's stream, where the resources service records conflicts. */
export const ALLOCATOR_STREAM = 'resources-allocator';

type DetectedInit = Omit<MessageInitShape<typeof ConflictDetectedSchema>, '$typeName'>;
type ResolvedInit = Omit<MessageInitShape<typeof ConflictResolvedSchema>, '$typeName'>;

/** What the resolution strategies become, as the allocator would answer them. */
const RESOLUTION_OF: Readonly<Record<string, string>> = {
  queue: 'manual',
  preempt: 'preempted',
  abort: 'aborted',
  grant: 'granted',
};

/** A request the fake allocator received, with the context it came with. */
export interface ReceivedResolve {
  readonly conflictId: string;
  readonly strategy: string;
  readonly winner: string;
  readonly context: CommandContext;
}

/**
 * Stands in for the resources service over the real NATS connection: answers
 * `resources.ResolveConflict`, records each request, and by default behaves as the allocator
 * does - appends ConflictResolved to its stream, then replies. `answer` replaces that behaviour
 * (throw a domain error to reject).
 */
export class FakeResources {
  readonly received: ReceivedResolve[] = [];
  answer: (m: ResolveConflict) => Promise<ConflictResolution>;
  private readonly server: CommandServer;

  constructor(nc: NatsConnection, names: Naming, appendResolved: (init: ResolvedInit) => Promise<void>) {
    this.answer = async (m) => {
      const resolution = RESOLUTION_OF[m.strategy] ?? 'manual';
      await appendResolved({
        conflictId: m.conflictId,
        resolution,
        winner: m.winner,
        strategy: m.strategy,
        reason: `an operator chose ${m.strategy}`,
        at: timestampFromDate(new Date()),
      });
      return create(ConflictResolutionSchema, {
        conflictId: m.conflictId,
        resolution,
        winner: m.winner,
        strategy: m.strategy,
      });
    };
    this.server = new CommandServer(nc, names, 'resources', testLogger());
    this.server.handle(commandInfo('resources.ResolveConflict'), async (m: ResolveConflict, ctx) => {
      this.received.push({ conflictId: m.conflictId, strategy: m.strategy, winner: m.winner, context: ctx });
      return this.answer(m);
    });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

/**
 * Conflicts services on real PostgreSQL and NATS, in schemas and a namespace of their own, with
 * the store written as the resources service writes it, a fake allocator and a command bus.
 */
export class TestConflicts {
  readonly services: ConflictsService[] = [];
  readonly resources: FakeResources;
  private readonly schema = uniqueName('conflicts');

  private constructor(
    readonly names: Naming,
    readonly nc: NatsConnection,
    readonly bus: CommandBus,
    /** The store as the resources service sees it (source `resources`). */
    readonly store: PostgresEventStore,
    private readonly eventStoreSchema: string,
    private readonly env: Record<string, string>,
  ) {
    this.resources = new FakeResources(nc, names, (init) => this.resolved(init));
  }

  /** The store, the broker and the fake allocator, with no service started yet. */
  static async create(env: Record<string, string> = {}): Promise<TestConflicts> {
    const names = naming(uniqueName('conflicts'));
    const eventStoreSchema = uniqueName('es');
    const nc = await connect({ servers: testNatsUrl() });
    const store = await PostgresEventStore.create({
      connectionString: testDatabaseUrl(),
      schema: eventStoreSchema,
      source: 'resources',
      poolSize: 2,
      logger: testLogger(),
    });
    return new TestConflicts(names, nc, new CommandBus(nc, names), store, eventStoreSchema, env);
  }

  /** One more service instance on the same store and broker. */
  async startInstance(): Promise<ConflictsService> {
    const config = loadConfig({
      DATABASE_URL: testDatabaseUrl(),
      NATS_URL: testNatsUrl(),
      ORCH_NAMESPACE: this.names.namespace,
      EVENTSTORE_SCHEMA: this.eventStoreSchema,
      CONFLICTS_SCHEMA: this.schema,
      CONFLICTS_OPS_PORT: '0',
      CONFLICTS_OPS_HOST: '127.0.0.1',
      ...this.env,
    });
    const service = await startConflicts(config, { logger: testLogger() });
    this.services.push(service);
    return service;
  }

  async stopInstance(service: ConflictsService): Promise<void> {
    this.services.splice(this.services.indexOf(service), 1);
    await service.close();
  }

  /** Appends ConflictDetected as the allocator does (every field present); returns the conflict id. */
  async detected(init: DetectedInit): Promise<string> {
    const message = create(ConflictDetectedSchema, {
      kind: 'lock',
      resource: 'repo:acme/api:src/**',
      policy: 'manual',
      at: timestampFromDate(new Date()),
      ...init,
    });
    await this.append('ConflictDetected', toJson(ConflictDetectedSchema, message, json));
    return message.conflictId;
  }

  /** Appends ConflictResolved as the allocator does. */
  async resolved(init: ResolvedInit): Promise<void> {
    const message = create(ConflictResolvedSchema, { at: timestampFromDate(new Date()), ...init });
    await this.append('ConflictResolved', toJson(ConflictResolvedSchema, message, json));
  }

  /** Sends `conflicts.ListConflicts` as the gateway would. */
  list(query: { status?: string; limit?: number; cursor?: string } = {}): Promise<ConflictPage> {
    return this.request(commandInfo('conflicts.ListConflicts'), create(ListConflictsSchema, query));
  }

  /** Every conflict listed, page after page. */
  async listAll(status = '', limit = 2): Promise<ConflictView[]> {
    const all: ConflictView[] = [];
    let cursor = '';
    do {
      const page = await this.list({ status, limit, cursor });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== '');
    return all;
  }

  /** Sends `conflicts.ResolveConflict` as the gateway would. */
  resolve(
    conflictId: string,
    strategy: string,
    winner = '',
    correlationId: string = randomUUID(),
  ): Promise<ConflictView> {
    return this.request(
      commandInfo('conflicts.ResolveConflict'),
      create(ResolveConflictRequestSchema, { conflictId, strategy, winner }),
      correlationId,
    );
  }

  async close(): Promise<void> {
    await Promise.all(this.services.splice(0).map((s) => s.close()));
    await this.resources.close();
    await this.store.close();
    await deleteStreams(this.nc, this.names);
    await this.nc.close();
    const pg = new Client({ connectionString: testDatabaseUrl() });
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${this.eventStoreSchema}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    await pg.end();
  }

  private request<Reply extends Message>(
    info: ReturnType<typeof commandInfo>,
    payload: Message,
    correlationId: string = randomUUID(),
  ): Promise<Reply> {
    return this.bus.request<Reply>(info, payload, {
      correlationId,
      principal: { id: 'operator-1', role: 'operator' },
      timeoutMs: 10_000,
    });
  }

  private async append(type: string, data: unknown): Promise<void> {
    await this.store.append(ALLOCATOR_STREAM, 'any', [{ eventId: randomUUID(), type, data }]);
  }
}

const json = { registry: protoRegistry, alwaysEmitImplicit: true };
