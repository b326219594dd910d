/** This service's name: the source of the events it appends, its NATS subjects and metrics label. */
export const SERVICE = 'resources';

export const RESOURCES_OPTIONS = Symbol.for('orch.resources.options');
/** Injection token of the EventStore. */
export const EVENT_STORE = Symbol.for('orch.resources.EventStore');
/** Injection token of the service's ServiceMetrics. */
export const METRICS = Symbol.for('orch.resources.Metrics');
export const CLOCK = Symbol.for('orch.resources.Clock');

/** Time reaches deciders only through commands; this is where adapters read it. */
export interface Clock {
  now(): Date;
}

export interface ResourcesModuleOptions {
  readonly natsUrl: string;
  readonly namespace: string;
  readonly eventStoreSchema: string;
  /** The service's own schema: relay checkpoint, consumer inbox. */
  readonly schema: string;
  readonly agingStepMs: number;
  readonly tickMaxMs: number;
}
