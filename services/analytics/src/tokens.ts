/** This service's name: its NATS subjects, its store adapter's source and its metrics label. */
export const SERVICE = 'analytics';

export const ANALYTICS_OPTIONS = Symbol.for('orch.analytics.options');
/** Injection token of the EventStore. */
export const EVENT_STORE = Symbol.for('orch.analytics.EventStore');
/** Injection token of the service's ServiceMetrics. */
export const METRICS = Symbol.for('orch.analytics.Metrics');
export const CLOCK = Symbol.for('orch.analytics.Clock');

/** The wall clock views are computed at; time reaches the pure views only as an argument. */
export interface Clock {
  now(): Date;
}

export interface AnalyticsModuleOptions {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  readonly namespace: string;
  readonly eventStoreSchema: string;
  /** The service's own schema: the projection checkpoint. */
  readonly schema: string;
  readonly checkpoint: {
    /** Events applied after which the projection is checkpointed. */
    readonly everyEvents: number;
    /** Longest time applied events stay without a checkpoint. */
    readonly intervalMs: number;
  };
  /** The allocator's aging step (the resources service's value), for deciding its commands again in verify. */
  readonly allocatorAgingStepMs: number;
}
