import { DEFAULT_BREAKER_OPTIONS, type BreakerOptions, type CircuitState } from '@orch/coordination';

export type { BreakerOptions, CircuitState } from '@orch/coordination';
export { DEFAULT_BREAKER_OPTIONS } from '@orch/coordination';

/** The outcomes and failures that opened a circuit, and when. */
export interface Trip {
  readonly at: number;
  readonly outcomes: number;
  readonly failures: number;
}

/**
 * The circuit of an agent or a provider as coordination's breaker computes it, followed from the
 * outcomes in the log (coordination keeps its breakers in memory only). Same rules and default
 * options (`DEFAULT_BREAKER_OPTIONS`): open when at least `minOutcomes` outcomes in `windowMs` failed
 * at `failureRate` or more; half-open after `cooldownMs`; the first outcome while half-open closes
 * or reopens it. Coordination also holds back work while a half-open trial runs; that changes
 * which tasks run, not the state seen here.
 *
 * Serialisable (plain fields), so it is part of the projection's snapshot.
 */
export class Breaker {
  /**
   * Outcomes in the current window while closed: times (ms) and whether each succeeded, from index
   * `head` on (older entries are dropped lazily, so recording stays O(1) at any rate).
   */
  at: number[] = [];
  ok: boolean[] = [];
  head = 0;
  /** Failures among the outcomes in the window. */
  failures = 0;
  /** When the circuit opened; -1 while closed. */
  openedAt = -1;
  trips = 0;
  lastTrip: Trip | undefined = undefined;
  /** Successes recorded since the last trip (late results while open included). */
  successesSinceTrip = 0;

  state(now: number, options: BreakerOptions = DEFAULT_BREAKER_OPTIONS): CircuitState {
    if (this.openedAt < 0) return 'closed';
    return now - this.openedAt >= options.cooldownMs ? 'half_open' : 'open';
  }

  /** Outcomes in the window. */
  get outcomes(): number {
    return this.at.length - this.head;
  }

  record(ok: boolean, at: number, options: BreakerOptions = DEFAULT_BREAKER_OPTIONS): void {
    if (ok && this.trips > 0) this.successesSinceTrip++;
    switch (this.state(at, options)) {
      case 'open':
        return; // Late results of work started before it opened say nothing new.
      case 'half_open':
        if (ok) this.close();
        else this.open(at, 1, 1);
        return;
      case 'closed': {
        this.at.push(at);
        this.ok.push(ok);
        if (!ok) this.failures++;
        this.forgetBefore(at - options.windowMs);
        const total = this.outcomes;
        if (total >= options.minOutcomes && this.failures / total >= options.failureRate)
          this.open(at, total, this.failures);
      }
    }
  }

  /** Drops outcomes older than `cutoff`, and beyond the 1,000 coordination keeps at most. */
  private forgetBefore(cutoff: number): void {
    while (
      this.head < this.at.length &&
      (this.at[this.head]! < cutoff || this.at.length - this.head > 1_000)
    ) {
      if (!this.ok[this.head]) this.failures--;
      this.head++;
    }
    if (this.head > 64 && this.head * 2 > this.at.length) this.compact();
  }

  /** Forgets the dropped entries for good. */
  compact(): void {
    if (this.head === 0) return;
    this.at = this.at.slice(this.head);
    this.ok = this.ok.slice(this.head);
    this.head = 0;
  }

  private open(at: number, outcomes: number, failures: number): void {
    this.openedAt = at;
    this.trips++;
    this.lastTrip = { at, outcomes, failures };
    this.successesSinceTrip = 0;
    this.reset();
  }

  private close(): void {
    this.openedAt = -1;
    this.reset();
  }

  private reset(): void {
    this.at = [];
    this.ok = [];
    this.head = 0;
    this.failures = 0;
  }
}
