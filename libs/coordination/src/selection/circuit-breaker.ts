/**
 * A circuit breaker over the recent outcomes of an agent or a provider. Time is passed in, so the
 * same outcomes always give the same state.
 *
 * closed: work goes through; outcomes are counted over a sliding window. When at least
 * `minOutcomes` outcomes in the window failed at `failureRate` or more, it opens.
 * open: no work goes through until `cooldownMs` have passed; then it is half-open.
 * half_open: one trial task goes through; a success closes the circuit, a failure opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  readonly windowMs: number;
  readonly minOutcomes: number;
  /** Share of failures (0..1) that opens the circuit. */
  readonly failureRate: number;
  readonly cooldownMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  windowMs: 60_000,
  minOutcomes: 5,
  failureRate: 0.5,
  cooldownMs: 30_000,
};

/** Outcomes kept at most, whatever the rate: enough for any failure rate to be measured. */
const MAX_WINDOW_OUTCOMES = 1_000;

export class CircuitBreaker {
  private outcomes: { readonly at: number; readonly ok: boolean }[] = [];
  private openedAt: number | undefined;
  /** The task let through while half-open, until its outcome arrives. */
  private trial: string | undefined;

  constructor(private readonly options: BreakerOptions = DEFAULT_BREAKER_OPTIONS) {}

  state(now: Date): CircuitState {
    if (this.openedAt === undefined) return 'closed';
    return now.getTime() - this.openedAt >= this.options.cooldownMs ? 'half_open' : 'open';
  }

  /** Whether new work may go through now. */
  admits(now: Date): boolean {
    const state = this.state(now);
    return state === 'closed' || (state === 'half_open' && this.trial === undefined);
  }

  /** True while a half-open circuit waits for the outcome of its one trial. */
  awaitingTrial(now: Date): boolean {
    return this.state(now) === 'half_open' && this.trial !== undefined;
  }

  /** Notes that `taskId` went through; when half-open it is the trial. */
  taskStarted(taskId: string, now: Date): void {
    if (this.state(now) === 'half_open' && this.trial === undefined) this.trial = taskId;
  }

  /** Notes that `taskId` ended without an outcome (cancelled, handed off): the trial slot is free again. */
  taskEnded(taskId: string): void {
    if (this.trial === taskId) this.trial = undefined;
  }

  record(ok: boolean, at: Date): void {
    const now = at.getTime();
    switch (this.state(at)) {
      case 'open':
        return; // Late results of work started before it opened say nothing new.
      case 'half_open':
        if (ok) this.close();
        else this.open(now);
        return;
      case 'closed':
        this.outcomes.push({ at: now, ok });
        this.forgetBefore(now - this.options.windowMs);
        if (this.tripped()) this.open(now);
    }
  }

  private tripped(): boolean {
    const total = this.outcomes.length;
    const failures = this.outcomes.filter((o) => !o.ok).length;
    return total >= this.options.minOutcomes && failures / total >= this.options.failureRate;
  }

  private forgetBefore(cutoff: number): void {
    let drop = 0;
    while (drop < this.outcomes.length && this.outcomes[drop]!.at < cutoff) drop++;
    drop = Math.max(drop, this.outcomes.length - MAX_WINDOW_OUTCOMES);
    if (drop > 0) this.outcomes = this.outcomes.slice(drop);
  }

  private open(now: number): void {
    this.openedAt = now;
    this.trial = undefined;
    this.outcomes = [];
  }

  private close(): void {
    this.openedAt = undefined;
    this.trial = undefined;
    this.outcomes = [];
  }
}
