import {
  Inject,
  Injectable,
  type BeforeApplicationShutdown,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import {
  evolve,
  initialAnalyticsState,
  restore,
  snapshot,
  type AnalyticsSnapshot,
  type AnalyticsState,
} from '@orch/analytics';
import { LogFollower, type EventStore, type RecordedEvent } from '@orch/eventstore';
import { MESSAGING_LOGGER } from '@orch/messaging';
import type { Logger } from 'pino';
import { ANALYTICS_OPTIONS, EVENT_STORE, type AnalyticsModuleOptions } from '../tokens';
import { CheckpointCadence } from './checkpoint-cadence';
import { CheckpointStore } from './checkpoint-store';
import { logFrom, toAnalyticsEvent } from './log-from';

/** The projection's row in `projection_checkpoint`. */
export const PROJECTION_NAME = 'analytics';
/** Events per read while catching up or rebuilding. */
const PAGE = 2_000;

/** What a rebuild did. */
export interface RebuildOutcome {
  /** Events folded into the new state. */
  readonly events: number;
  /** Global position of the last of them (0n for an empty log). */
  readonly position: bigint;
  readonly durationMs: number;
}

/** Observers of the live projection (metrics). */
export interface ProjectionListener {
  /** Called once a checkpoint write ended. */
  checkpointed?(outcome: 'written' | 'failed'): void;
}

/**
 * The analytics projection, live: one state folded over the whole global log (every type and
 * source; `evolve` counts what it does not read) and checkpointed to the service's schema.
 *
 * At start the checkpoint is restored and the log is followed from its position: caught up before
 * anything is served (module init), then followed as it grows (bootstrap) until shutdown. A
 * checkpoint is the snapshot and its position written in one transaction, every N events or T ms
 * (CheckpointCadence), and once more at shutdown.
 *
 * `rebuild` folds the log from position 0 into a fresh state while the live one keeps serving,
 * switches to it once it has caught up with the live one, and checkpoints it.
 */
@Injectable()
export class ProjectionHost implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private live: AnalyticsState = initialAnalyticsState();
  private follower: LogFollower | undefined;
  private readonly cadence: CheckpointCadence;
  private readonly listeners: ProjectionListener[] = [];
  private saving: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private rebuilding: Promise<RebuildOutcome> | undefined;
  private closed = false;
  private applied = 0;
  private checkpointPosition = 0n;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(ANALYTICS_OPTIONS) options: AnalyticsModuleOptions,
    private readonly checkpoints: CheckpointStore,
    @Inject(MESSAGING_LOGGER) private readonly logger: Logger,
  ) {
    this.cadence = new CheckpointCadence(
      options.checkpoint.everyEvents,
      options.checkpoint.intervalMs,
      Date.now(),
    );
  }

  // ---------------------------------------------------------------- reads

  /** The live state. Views read it synchronously, so each answer sees one consistent state. */
  get state(): AnalyticsState {
    return this.live;
  }

  /** Global position of the last event folded (0n before any). */
  get position(): bigint {
    return this.live.position < 0n ? 0n : this.live.position;
  }

  /** Events the live projection applied since this process started (redeliveries included). */
  get appliedTotal(): number {
    return this.applied;
  }

  /** Position of the last checkpoint written or restored. */
  get checkpointedAt(): bigint {
    return this.checkpointPosition;
  }

  /** Head of the store's log, for the lag. */
  headPosition(): Promise<bigint> {
    return this.store.headPosition();
  }

  listen(listener: ProjectionListener): void {
    this.listeners.push(listener);
  }

  // ---------------------------------------------------------------- lifecycle

  /** Restores the checkpoint and catches up with the log before anything is served. */
  async onModuleInit(): Promise<void> {
    const started = performance.now();
    const restored = await this.restoreCheckpoint();
    this.live = restored;
    const restoredAt = this.position;
    this.checkpointPosition = restoredAt;
    this.follower = new LogFollower(logFrom(this.store, this.position), {
      filter: {},
      pageSize: PAGE,
      apply: (recorded) => this.apply(recorded),
      onError: (err, recorded) =>
        this.logger.warn(
          { err, eventId: recorded.eventId, type: recorded.type },
          'could not fold an event into the analytics projection',
        ),
    });
    const caughtUp = await this.follower.catchUp();
    await this.flush();
    this.logger.info(
      {
        checkpoint: restoredAt.toString(),
        events: caughtUp.events,
        position: this.position.toString(),
        ms: Math.round(performance.now() - started),
      },
      'analytics projection restored and caught up',
    );
  }

  onApplicationBootstrap(): void {
    this.follower?.start((err) => this.logger.error({ err }, 'following the event store stopped'));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.follower?.stop();
    await this.rebuilding?.catch(() => undefined);
    await this.flush();
  }

  // ---------------------------------------------------------------- rebuild

  /**
   * Folds the whole log from position 0 into a fresh state, then serves from it and checkpoints
   * it. A rebuild asked for while one runs shares its outcome.
   */
  rebuild(): Promise<RebuildOutcome> {
    this.rebuilding ??= this.foldFromStart().finally(() => {
      this.rebuilding = undefined;
    });
    return this.rebuilding;
  }

  private async foldFromStart(): Promise<RebuildOutcome> {
    const started = performance.now();
    const fresh = initialAnalyticsState(this.live.options);
    let events = 0;
    for (;;) {
      const page = await this.store.readAll(fresh.position < 0n ? 0n : fresh.position, PAGE);
      for (const recorded of page) evolve(fresh, toAnalyticsEvent(recorded));
      events += page.length;
      // The live state moves on meanwhile: switch only once the fresh one has caught up with it,
      // with no await between this check and the switch, so no event of the follower falls between
      // the two states. Events the follower applies afterwards that the fresh state already holds
      // are ignored by `evolve` (at or below its position).
      if (page.length < PAGE && fresh.position >= this.live.position) break;
    }
    this.live = fresh;
    const position = this.position;
    await this.flush(true);
    const durationMs = Math.round(performance.now() - started);
    this.logger.info(
      { events, position: position.toString(), ms: durationMs },
      'analytics projection rebuilt from the start of the log',
    );
    return { events, position, durationMs };
  }

  // ---------------------------------------------------------------- folding and checkpoints

  /**
   * The state of the checkpoint, or a fresh one when there is none, it cannot be read (another
   * snapshot version), or it lies beyond the head of the log (the store was reset under it).
   */
  private async restoreCheckpoint(): Promise<AnalyticsState> {
    const stored = await this.checkpoints.load();
    if (!stored) return initialAnalyticsState();
    let state: AnalyticsState;
    try {
      state = restore(stored.snapshot as AnalyticsSnapshot);
    } catch (err) {
      this.logger.warn(
        { err, position: stored.position.toString() },
        'the analytics checkpoint cannot be restored; folding the log from the start',
      );
      return initialAnalyticsState();
    }
    const head = await this.store.headPosition();
    if (state.position > head) {
      this.logger.warn(
        { position: state.position.toString(), head: head.toString() },
        'the analytics checkpoint is ahead of the log (was the store reset?); folding the log from the start',
      );
      return initialAnalyticsState();
    }
    return state;
  }

  private apply(recorded: RecordedEvent): void {
    evolve(this.live, toAnalyticsEvent(recorded));
    this.applied++;
    this.cadence.applied();
    this.maybeCheckpoint();
  }

  /** Starts a checkpoint when one is due, or arms the timer for when time makes one due. */
  private maybeCheckpoint(): void {
    if (this.closed || this.saving) return;
    const now = Date.now();
    if (this.cadence.due(now)) {
      this.startCheckpoint(now);
      return;
    }
    if (this.timer) return;
    const ms = this.cadence.msUntilDue(now);
    if (ms === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.maybeCheckpoint();
    }, ms);
    this.timer.unref();
  }

  /** Snapshots the live state now and writes it in the background. */
  private startCheckpoint(now: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const state = this.live;
    const position = state.position < 0n ? 0n : state.position;
    const data = snapshot(state);
    const events = this.cadence.taken(now);
    this.saving = this.checkpoints
      .save(position, data, new Date(now))
      .then(() => {
        this.checkpointPosition = position;
        for (const l of this.listeners) l.checkpointed?.('written');
      })
      .catch((err: unknown) => {
        this.cadence.failed(events, Date.now());
        for (const l of this.listeners) l.checkpointed?.('failed');
        this.logger.warn({ err, position: position.toString() }, 'writing the analytics checkpoint failed');
      })
      .finally(() => {
        this.saving = undefined;
        // Events applied meanwhile may make the next one due; after a failure this arms the retry.
        this.maybeCheckpoint();
      });
  }

  /**
   * Waits for the checkpoint being written, then writes one of the live state if events were
   * applied since (or always with `force`, after a rebuild switched states).
   */
  private async flush(force = false): Promise<void> {
    while (this.saving) await this.saving;
    if (!force && this.cadence.unsaved === 0) return;
    this.startCheckpoint(Date.now());
    await this.saving;
  }
}
