/**
 * Liveness and readiness. Live means the process can answer at all; ready means every
 * dependency the service needs (PostgreSQL, NATS, its consumers...) answers, and the report
 * says which one does not, so an operator reading a failed probe knows where to look.
 */

/** A dependency check: resolves when the dependency is usable, throws (or rejects) when not. */
export type HealthCheck = () => Promise<unknown> | unknown;

export interface CheckResult {
  readonly status: 'up' | 'down';
  /** Why the check failed (the error message); absent when up. */
  readonly error?: string;
}

export interface ReadinessReport {
  readonly status: 'ok' | 'unavailable';
  readonly checks: Readonly<Record<string, CheckResult>>;
}

export interface LivenessReport {
  readonly status: 'ok';
}

/** Thrown by {@link HealthRegistry.register} when a check of that name exists. */
export class DuplicateHealthCheckError extends Error {
  override readonly name = 'DuplicateHealthCheckError';
  readonly code = 'duplicate_health_check';
  constructor(readonly check: string) {
    super(`a health check named "${check}" is already registered`);
  }
}

export interface HealthRegistryOptions {
  /** How long a readiness report is reused; probes hit it every few seconds. Default 1000 ms. */
  readonly cacheTtlMs?: number;
  /** A check slower than this counts as down. Default 2000 ms. */
  readonly checkTimeoutMs?: number;
  /** Clock, injectable so cache expiry is testable without waiting. */
  readonly now?: () => number;
}

/** Named async dependency checks behind `/health/live` and `/health/ready`. */
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private readonly cacheTtlMs: number;
  private readonly checkTimeoutMs: number;
  private readonly now: () => number;
  private cached: { report: ReadinessReport; at: number } | undefined;
  // Probes arriving while a round of checks runs share it instead of starting another.
  private inFlight: Promise<ReadinessReport> | undefined;

  constructor(options: HealthRegistryOptions = {}) {
    this.cacheTtlMs = options.cacheTtlMs ?? 1000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /** Adds a readiness check. Throws {@link DuplicateHealthCheckError} when `name` is taken. */
  register(name: string, check: HealthCheck): this {
    if (this.checks.has(name)) throw new DuplicateHealthCheckError(name);
    this.checks.set(name, check);
    this.cached = undefined;
    return this;
  }

  unregister(name: string): void {
    this.checks.delete(name);
    this.cached = undefined;
  }

  /** Names of the registered checks, in registration order. */
  names(): string[] {
    return [...this.checks.keys()];
  }

  live(): LivenessReport {
    return { status: 'ok' };
  }

  /** Runs every check (or reuses a report younger than the cache TTL). */
  async ready(): Promise<ReadinessReport> {
    const cached = this.cached;
    if (cached && this.now() - cached.at < this.cacheTtlMs) return cached.report;
    if (this.inFlight) return this.inFlight;
    this.inFlight = this.runChecks().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async runChecks(): Promise<ReadinessReport> {
    const entries = [...this.checks.entries()];
    const results = await Promise.all(entries.map(([, check]) => this.runOne(check)));
    const checks: Record<string, CheckResult> = {};
    entries.forEach(([name], i) => {
      checks[name] = results[i] ?? { status: 'down', error: 'no result' };
    });
    const report: ReadinessReport = {
      status: results.every((r) => r.status === 'up') ? 'ok' : 'unavailable',
      checks,
    };
    this.cached = { report, at: this.now() };
    return report;
  }

  private async runOne(check: HealthCheck): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`check timed out after ${this.checkTimeoutMs} ms`)),
        this.checkTimeoutMs,
      );
      timer.unref();
    });
    try {
      await Promise.race([Promise.resolve().then(check), timeout]);
      return { status: 'up' };
    } catch (err) {
      return { status: 'down', error: err instanceof Error ? err.message : String(err) };
    } finally {
      clearTimeout(timer);
    }
  }
}
