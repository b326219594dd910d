export const DISTRIBUTION_OPTIONS = Symbol.for('orch.distribution.options');

export interface DistributionModuleOptions {
  readonly natsUrl: string;
  readonly namespace: string;
  readonly maxTasks: number;
}
