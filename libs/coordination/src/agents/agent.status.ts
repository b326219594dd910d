/** An agent's status as the API shows it. */
export type AgentStatus = 'idle' | 'busy' | 'unhealthy' | 'draining' | 'offline';

export type AgentHealth = 'healthy' | 'unhealthy';

/** What the status is derived from. */
export interface StatusFacts {
  readonly offline: boolean;
  readonly health: AgentHealth;
  readonly draining: boolean;
  readonly activeTasks: number;
}

/**
 * The one status worth showing, by precedence: offline (deregistered) > unhealthy > draining >
 * busy (holds a task) > idle.
 */
export function statusOf(f: StatusFacts): AgentStatus {
  if (f.offline) return 'offline';
  if (f.health === 'unhealthy') return 'unhealthy';
  if (f.draining) return 'draining';
  return f.activeTasks > 0 ? 'busy' : 'idle';
}
