/** This service's name: the source of the events it appends, its NATS subjects and metrics label. */
export const SERVICE = 'coordination';

/** Injection token of the EventStore. */
export const EVENT_STORE = Symbol.for('orch.coordination.EventStore');
/** Injection token of the pg Pool used by the consumer inbox. */
export const PG_POOL = Symbol.for('orch.coordination.PgPool');
export const CLOCK = Symbol.for('orch.coordination.Clock');
/** Injection token of the AgentReader (pool and schema of the agents read model). */
export const AGENT_READER = Symbol.for('orch.coordination.AgentReader');
/** Injection token of the CoordinationMetrics (selection, assignments, agents by status). */
export const COORDINATION_METRICS = Symbol.for('orch.coordination.CoordinationMetrics');
export const COORDINATION_OPTIONS = Symbol.for('orch.coordination.options');

/** Time reaches deciders only through commands; this is where adapters read it. */
export interface Clock {
  now(): Date;
}

export interface CoordinationModuleOptions {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  readonly namespace: string;
  readonly eventStoreSchema: string;
  /** The service's own schema: read models, relay checkpoint, consumer inbox. */
  readonly schema: string;
  /** An agent not heard from for this long becomes unhealthy. */
  readonly heartbeatTimeoutMs: number;
  /** How often the liveness monitor looks. */
  readonly livenessIntervalMs: number;
  /** Longest long-poll of ListMessages. */
  readonly messagesMaxWaitMs: number;
}
