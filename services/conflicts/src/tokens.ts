/** This service's name: its NATS subjects and queue group, the source of its store adapter, its metrics label. */
export const SERVICE = 'conflicts';

/** The service whose allocator records conflicts (source of ConflictDetected / ConflictResolved). */
export const ALLOCATOR_SERVICE = 'resources';

export const CONFLICTS_OPTIONS = Symbol.for('orch.conflicts.options');
/** Injection token of the EventStore. */
export const EVENT_STORE = Symbol.for('orch.conflicts.EventStore');
/** Injection token of the service's ServiceMetrics. */
export const METRICS = Symbol.for('orch.conflicts.Metrics');
export const CLOCK = Symbol.for('orch.conflicts.Clock');

/** Where adapters read the time. */
export interface Clock {
  now(): Date;
}

export interface ConflictsModuleOptions {
  readonly natsUrl: string;
  readonly namespace: string;
  readonly eventStoreSchema: string;
  /** The service's own schema (messaging tables). */
  readonly schema: string;
  /** Resolved conflicts kept in memory (the most recently resolved); open ones are always kept. */
  readonly keepResolved: number;
}
