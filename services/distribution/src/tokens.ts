import type { WorkflowPolicy } from '@orch/distribution';

/** This service's name: the source of the events it appends, its NATS subjects and metrics label. */
export const SERVICE = 'distribution';

export const DISTRIBUTION_OPTIONS = Symbol.for('orch.distribution.options');
/** Injection token of the EventStore. */
export const EVENT_STORE = Symbol.for('orch.distribution.EventStore');
/** Injection token of the service's ServiceMetrics. */
export const METRICS = Symbol.for('orch.distribution.Metrics');
export const CLOCK = Symbol.for('orch.distribution.Clock');

/** Time reaches deciders only through commands; this is where adapters read it. */
export interface Clock {
  now(): Date;
}

export interface DistributionModuleOptions {
  readonly natsUrl: string;
  readonly namespace: string;
  readonly eventStoreSchema: string;
  /** The service's own schema: relay checkpoint, consumer inbox. */
  readonly schema: string;
  /** Defaults and limits of every workflow, passed to the decider in its commands. */
  readonly policy: WorkflowPolicy;
  readonly dispatch: {
    /** Ready tasks offered to coordination at once. */
    readonly concurrency: number;
    /** How often tasks no agent could take are offered again without a capacity event. */
    readonly retryIntervalMs: number;
  };
}
