/**
 * Test helpers for the replay specs (not exported): a store-like recorder that gives events global
 * positions and stream versions, keeps data and metadata as JSON the way PostgreSQL's jsonb does
 * (keys reordered), and records each decision's command on its first event; and a stream runner
 * that decides commands with the real deciders and records what they emit.
 */
import { rfc3339, type Decider } from '@orch/domain-kit';
import { recordDecision } from '@orch/domain-kit';
import type { ReplayEvent } from './replay-event';

export const T0 = new Date('2026-11-21T10:00:00.000Z');
export const later = (ms: number, from: Date = T0): Date => new Date(from.getTime() + ms);
export const iso = (d: Date): string => rfc3339(d);

/** JSON as jsonb gives it back: the same values, object keys in another order. */
export function asStored<T>(value: T): T {
  return reorder(JSON.parse(JSON.stringify(value))) as T;
}

function reorder(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reorder);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(
    Object.entries(v)
      .sort(([a], [b]) => (a < b ? 1 : a > b ? -1 : 0))
      .map(([k, x]) => [k, reorder(x)]),
  );
}

export interface AppendMeta {
  readonly correlationId: string;
  /** The recorded command; undefined appends a legacy group (before commands were recorded). */
  readonly decision?: unknown;
  readonly causationId?: string;
}

/** A global log and its streams, as the event store keeps them. */
export class Recorder {
  readonly log: ReplayEvent[] = [];
  private position = 0n;
  private readonly versions = new Map<string, bigint>();
  private ids = 0;
  private causations = 0;

  /** Leaves `n` positions to events of no interest (other sessions' writes to other streams). */
  skip(n: number): void {
    this.position += BigInt(n);
  }

  append(
    streamId: string,
    events: readonly { readonly type: string; readonly data: unknown }[],
    meta: AppendMeta,
    at: Date,
    source = 'test',
    schemaVersion = 1,
  ): ReplayEvent[] {
    const causationId = meta.causationId ?? `cause-${++this.causations}`;
    const appended = events.map((e, i): ReplayEvent => {
      const version = (this.versions.get(streamId) ?? 0n) + 1n;
      this.versions.set(streamId, version);
      this.position += 1n;
      const metadata: Record<string, unknown> = { correlationId: meta.correlationId, causationId };
      if (i === 0 && meta.decision !== undefined) metadata['decision'] = asStored(meta.decision);
      return {
        position: this.position,
        eventId: `event-${++this.ids}`,
        type: e.type,
        source,
        streamId,
        streamVersion: version,
        occurredAt: at,
        data: asStored(e.data),
        metadata: asStored(metadata),
        schemaVersion,
      };
    });
    this.log.push(...appended);
    return appended;
  }

  /** A session's history, in global order (readByCorrelation). */
  byCorrelation(correlationId: string): ReplayEvent[] {
    return this.log.filter((e) => e.metadata['correlationId'] === correlationId);
  }

  /** One stream, in version order (readStream). */
  stream(streamId: string): ReplayEvent[] {
    return this.log.filter((e) => e.streamId === streamId);
  }

  /** Every stream the session's history touches, whole (what verify is given). */
  streamsOf(correlationId: string): Map<string, ReplayEvent[]> {
    const ids = new Set(this.byCorrelation(correlationId).map((e) => e.streamId));
    return new Map([...ids].map((id) => [id, this.stream(id)]));
  }
}

/** One decision as recorded: its command and the events it appended. */
export interface Decided<C, E> {
  readonly command: C;
  readonly events: readonly E[];
  readonly recorded: readonly ReplayEvent[];
}

/**
 * Decides commands on one stream with a real decider, folding and recording what it emits, as a
 * service's command handler does. A rejected command throws and records nothing.
 */
export class StreamRun<
  C extends { readonly at: Date },
  E extends { readonly type: string; readonly data: unknown },
  S,
> {
  state: S;
  readonly decisions: Decided<C, E>[] = [];

  constructor(
    readonly recorder: Recorder,
    readonly streamId: string,
    readonly decider: Decider<C, E, S>,
    readonly source = 'test',
  ) {
    this.state = decider.initialState();
  }

  exec(command: C, correlationId: string, options: { legacy?: boolean } = {}): readonly E[] {
    const events = this.decider.decide(command, this.state);
    if (events.length === 0) return events;
    this.state = events.reduce(this.decider.evolve, this.state);
    const recorded = this.recorder.append(
      this.streamId,
      events,
      { correlationId, ...(options.legacy ? {} : { decision: recordDecision(command) }) },
      command.at,
      this.source,
    );
    this.decisions.push({ command, events, recorded });
    return events;
  }

  /** `exec`, but a domain rejection (a command the service would refuse) records nothing and returns []. */
  try(command: C, correlationId: string): readonly E[] {
    try {
      return this.exec(command, correlationId);
    } catch (err) {
      if (err instanceof Error && 'code' in err) return [];
      throw err;
    }
  }
}
